/**
 * ext directory entries (`struct ext4_dir_entry_2`). A folder is read as a linear list: htree folders
 * keep every entry in ordinary leaf blocks, and their index blocks look like one empty entry spanning
 * the block, so no hash code is needed. The metadata_csum tail is an entry with inode 0, skipped too.
 */
import { TYPE_UNKNOWN, typeCode, type NameList } from '../name-list.js';

/** rec_len as stored: 64 KiB blocks need the high bits packed into the low two (ext4_rec_len_from_disk). */
function recordLength(stored: number, blockSize: number): number {
  if (blockSize >= 65536 && (stored === 65535 || stored === 0)) return blockSize;
  return (stored & 65532) | ((stored & 3) << 16);
}

/** NameList type codes of dirent file types 0–7: 0 unknown, 1 file, 2 dir, 3–6 devices, fifos and sockets, 7 symlink. */
const TYPE_CODES: readonly number[] = [TYPE_UNKNOWN, typeCode('file'), typeCode('dir'), typeCode('other'), typeCode('other'), typeCode('other'), typeCode('other'), typeCode('symlink')];

/**
 * Appends the entries of one directory block (bytes `start` to `end` of `bytes`; or an inline-data area,
 * whose "block" is that area) to `out`; throws a message naming the offset when an entry does not fit.
 */
export function parseDirBlock(bytes: Buffer, start: number, end: number, blockSize: number, hasFileType: boolean, out: NameList): void {
  let at = start;
  while (at + 8 <= end) {
    const inode = bytes.readUInt32LE(at);
    const length = recordLength(bytes.readUInt16LE(at + 4), blockSize);
    const nameLength = bytes[at + 6]!;
    if (length < 8 || length % 4 !== 0 || at + length > end || 8 + nameLength > length) {
      throw new Error(`entry at byte ${at - start} has record length ${length} for a ${nameLength}-byte name in a ${end - start}-byte block`);
    }
    const dots = nameLength <= 2 && bytes[at + 8] === 0x2e && (nameLength === 1 || bytes[at + 9] === 0x2e);
    if (inode !== 0 && nameLength > 0 && !dots) out.add(bytes, at + 8, at + 8 + nameLength, hasFileType ? TYPE_CODES[bytes[at + 7]!] ?? TYPE_UNKNOWN : TYPE_UNKNOWN, inode);
    at += length;
  }
}
