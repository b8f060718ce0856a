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
 * The block is copied into `out` whole and its entries written to the columns here, field by field:
 * the loop runs once per file of a walk, mostly before V8 has optimised it, so it makes no call per entry.
 */
export function parseDirBlock(bytes: Buffer, start: number, end: number, blockSize: number, hasFileType: boolean, out: NameList): void {
  const base = out.append(bytes, start, end) - start;
  // An entry with a name takes at least 12 bytes.
  out.reserve(Math.ceil((end - start) / 12));
  const { starts, lengths, types, ids } = out;
  let n = out.count;
  let unknown = 0;
  const big = blockSize >= 65536;
  let at = start;
  while (at + 8 <= end) {
    const inode = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 16777216;
    const stored = bytes[at + 4]! | (bytes[at + 5]! << 8);
    // Blocks under 64 KiB store rec_len as it is (no call per entry for the rare big-block case).
    const length = big ? recordLength(stored, blockSize) : stored;
    const nameLength = bytes[at + 6]!;
    if (length < 8 || length % 4 !== 0 || at + length > end || 8 + nameLength > length) {
      out.count = n;
      out.unknown += unknown;
      throw new Error(`entry at byte ${at - start} has record length ${length} for a ${nameLength}-byte name in a ${end - start}-byte block`);
    }
    // "." and ".." are skipped by their bytes.
    const dots = nameLength <= 2 && bytes[at + 8] === 0x2e && (nameLength === 1 || bytes[at + 9] === 0x2e);
    if (inode !== 0 && nameLength > 0 && !dots) {
      const type = hasFileType ? (TYPE_CODES[bytes[at + 7]!] ?? TYPE_UNKNOWN) : TYPE_UNKNOWN;
      if (type === TYPE_UNKNOWN) unknown++;
      starts[n] = base + at + 8;
      lengths[n] = nameLength;
      types[n] = type;
      ids[n] = inode;
      n++;
    }
    at += length;
  }
  out.count = n;
  out.unknown += unknown;
}
