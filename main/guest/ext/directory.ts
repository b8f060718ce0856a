/**
 * ext directory entries (`struct ext4_dir_entry_2`). A folder is read as a linear list: htree folders
 * keep every entry in ordinary leaf blocks, and their index blocks look like one empty entry spanning
 * the block, so no hash code is needed. The metadata_csum tail is an entry with inode 0, skipped too.
 */

/** A folder's entries as parallel arrays: one object per folder, not one per entry. */
export class DirEntries {
  readonly inodes: number[] = [];
  readonly names: string[] = [];
  /** The dirent's file type (1 file, 2 dir, 7 symlink…), or 0 without the filetype feature. */
  readonly types: number[] = [];
}

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
      out.inodes.push(inode);
      out.names.push(bytes.toString('utf8', at + 8, at + 8 + nameLength));
      out.types.push(hasFileType ? bytes[at + 7]! : 0);
    }
    at += length;
  }
}

/** The entry type a dirent file type names, for entries whose inode cannot be read. */
export function direntType(fileType: number): 'file' | 'dir' | 'symlink' | 'other' {
  return fileType === 1 ? 'file' : fileType === 2 ? 'dir' : fileType === 7 ? 'symlink' : 'other';
}
