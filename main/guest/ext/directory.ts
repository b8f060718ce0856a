/**
 * ext directory entries (`struct ext4_dir_entry_2`). A folder is read as a linear list: htree folders
 * keep every entry in ordinary leaf blocks, and their index blocks look like one empty entry spanning
 * the block, so no hash code is needed. The metadata_csum tail is an entry with inode 0, skipped too.
 */

/**
 * A folder's entries as parallel arrays: one object per folder, not one per entry. The first `count`
 * of each array are the folder's; reset() starts the next folder in the same arrays, so a walk reuses
 * their room instead of growing new ones for every folder.
 */
export class DirEntries {
  count = 0;
  readonly inodes: number[] = [];
  readonly names: string[] = [];
  /** The dirent's file type (1 file, 2 dir, 7 symlink…), or 0 without the filetype feature. */
  readonly types: number[] = [];

  reset(): void {
    this.count = 0;
  }

  add(inode: number, name: string, type: number): void {
    const i = this.count++;
    this.inodes[i] = inode;
    this.names[i] = name;
    this.types[i] = type;
  }
}

/** Bytes of a folder block decoded at once for its ASCII names (more than the longest name, 255). */
const TEXT_BYTES = 1024;

/** rec_len as stored: 64 KiB blocks need the high bits packed into the low two (ext4_rec_len_from_disk). */
function recordLength(stored: number, blockSize: number): number {
  if (blockSize >= 65536 && (stored === 65535 || stored === 0)) return blockSize;
  return (stored & 65532) | ((stored & 3) << 16);
}

/**
 * Appends the entries of one directory block (bytes `start` to `end` of `bytes`; or an inline-data area,
 * whose "block" is that area) to `out`; throws a message naming the offset when an entry does not fit.
 */
export function parseDirBlock(bytes: Buffer, start: number, end: number, blockSize: number, hasFileType: boolean, out: DirEntries): void {
  // ASCII names (nearly all) are cut from latin1 strings of up to TEXT_BYTES of the block: one decode
  // for many names instead of one per name (a walk of 100,000 names spent a fifth of its time there).
  // Other names decode as UTF-8 one by one.
  let text = '';
  let textStart = 0;
  let at = start;
  while (at + 8 <= end) {
    const inode = bytes.readUInt32LE(at);
    const length = recordLength(bytes.readUInt16LE(at + 4), blockSize);
    const nameLength = bytes[at + 6]!;
    if (length < 8 || length % 4 !== 0 || at + length > end || 8 + nameLength > length) {
      throw new Error(`entry at byte ${at - start} has record length ${length} for a ${nameLength}-byte name in a ${end - start}-byte block`);
    }
    // "." and ".." are skipped by their bytes, before a string is made.
    const dots = nameLength <= 2 && bytes[at + 8] === 0x2e && (nameLength === 1 || bytes[at + 9] === 0x2e);
    if (inode !== 0 && nameLength > 0 && !dots) {
      const from = at + 8;
      const to = from + nameLength;
      let ascii = true;
      for (let k = from; k < to; k++) {
        if (bytes[k]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      let name: string;
      if (!ascii) name = bytes.toString('utf8', from, to);
      else {
        if (from < textStart || to > textStart + text.length) {
          textStart = from;
          text = bytes.toString('latin1', from, Math.min(end, from + TEXT_BYTES));
        }
        name = text.slice(from - textStart, to - textStart);
      }
      out.add(inode, name, hasFileType ? bytes[at + 7]! : 0);
    }
    at += length;
  }
}

/** The entry type a dirent file type names, for entries whose inode cannot be read. */
export function direntType(fileType: number): 'file' | 'dir' | 'symlink' | 'other' {
  return fileType === 1 ? 'file' : fileType === 2 ? 'dir' : fileType === 7 ? 'symlink' : 'other';
}
