/**
 * ext directory entries (`struct ext4_dir_entry_2`). A folder is read as a linear list: htree folders
 * keep every entry in ordinary leaf blocks, and their index blocks look like one empty entry spanning
 * the block, so no hash code is needed. The metadata_csum tail is an entry with inode 0, skipped too.
 */

export interface DirEntry {
  inode: number;
  name: string;
  /** The dirent's file type (1 file, 2 dir, 7 symlink…), or 0 without the filetype feature. */
  fileType: number;
}

/** rec_len as stored: 64 KiB blocks need the high bits packed into the low two (ext4_rec_len_from_disk). */
function recordLength(stored: number, blockSize: number): number {
  if (blockSize >= 65536 && (stored === 65535 || stored === 0)) return blockSize;
  return (stored & 65532) | ((stored & 3) << 16);
}

/**
 * Appends the entries of one directory block (or of an inline-data area, whose "block" is that area)
 * to `out`; throws a message naming the offset when an entry does not fit.
 */
export function parseDirBlock(bytes: Buffer, blockSize: number, hasFileType: boolean, out: DirEntry[]): void {
  let at = 0;
  while (at + 8 <= bytes.length) {
    const inode = bytes.readUInt32LE(at);
    const length = recordLength(bytes.readUInt16LE(at + 4), blockSize);
    const nameLength = hasFileType ? bytes[at + 6] : bytes.readUInt16LE(at + 6) & 0xff;
    if (length < 8 || length % 4 !== 0 || at + length > bytes.length || 8 + nameLength > length) {
      throw new Error(`entry at byte ${at} has record length ${length} for a ${nameLength}-byte name in a ${bytes.length}-byte block`);
    }
    if (inode !== 0 && nameLength > 0) {
      const name = bytes.toString('utf8', at + 8, at + 8 + nameLength);
      if (name !== '.' && name !== '..') out.push({ inode, name, fileType: hasFileType ? bytes[at + 7] : 0 });
    }
    at += length;
  }
}

/** The entry type a dirent file type names, for entries whose inode cannot be read. */
export function direntType(fileType: number): 'file' | 'dir' | 'symlink' | 'other' {
  return fileType === 1 ? 'file' : fileType === 2 ? 'dir' : fileType === 7 ? 'symlink' : 'other';
}
