import { crcMatches } from './crc32c.js';
import { FORMAT_BTREE, FORMAT_EXTENTS, type Inode } from './inode.js';
import type { XfsVolume } from './volume.js';

/** One mapping of a file's blocks: fileBlock..fileBlock+count-1 live at diskOffset. */
export interface Extent {
  fileBlock: number;
  count: number;
  diskOffset: number;
  /** Preallocated but never written: reads as zeros. */
  unwritten: boolean;
}

const BMAP_MAGIC_V4 = 0x424d4150; // "BMAP"
const BMAP_MAGIC_V5 = 0x424d4133; // "BMA3"
const MAX_BTREE_LEVELS = 9;
/** Far beyond any real file's extent count, but keeps a forged tree from filling memory. */
const MAX_EXTENTS = 1_000_000;

/** The data fork's extents in file order, checked for order, overlap and bounds. Holes are the gaps. */
export function readExtents(volume: XfsVolume, inode: Inode): Extent[] {
  const where = `inode ${inode.ino}`;
  const extents: Extent[] = [];
  if (inode.format === FORMAT_EXTENTS) {
    if (inode.nextents * 16 > inode.dataFork.length) {
      throw volume.damaged(where, `${inode.nextents} extents do not fit in the data fork (${inode.dataFork.length} bytes)`);
    }
    decodeRecords(volume, inode, inode.dataFork, 0, inode.nextents, extents);
  } else if (inode.format === FORMAT_BTREE) {
    readBtreeRoot(volume, inode, extents);
  } else {
    throw volume.damaged(where, `data fork format ${inode.format} has no extents`);
  }
  return extents;
}

function decodeRecords(volume: XfsVolume, inode: Inode, bytes: Buffer, at: number, count: number, into: Extent[]): void {
  const where = `inode ${inode.ino}`;
  if (into.length + count > MAX_EXTENTS) throw volume.damaged(`${where} block map`, `more than ${MAX_EXTENTS} extents`);
  for (let i = 0; i < count; i++) {
    const p = at + i * 16;
    const w0 = bytes.readUInt32BE(p);
    const w1 = bytes.readUInt32BE(p + 4);
    const w2 = bytes.readUInt32BE(p + 8);
    const w3 = bytes.readUInt32BE(p + 12);
    const fileBlock = (w0 & 0x7fffffff) * 2 ** 23 + (w1 >>> 9);
    const diskBlock = (w1 & 0x1ff) * 2 ** 43 + w2 * 2 ** 11 + (w3 >>> 21);
    const count = w3 & 0x1fffff;
    const previous = into[into.length - 1];
    if (count === 0) throw volume.damaged(`${where} extent at file block ${fileBlock}`, 'has no blocks');
    if (!Number.isSafeInteger(fileBlock) || (previous && fileBlock < previous.fileBlock + previous.count)) {
      throw volume.damaged(`${where} extent at file block ${fileBlock}`, 'overlaps or precedes the extent before it');
    }
    const diskOffset = volume.blockOffset(diskBlock, count);
    if (diskOffset === null) throw volume.damaged(`${where} extent at file block ${fileBlock}`, `${count} blocks at block ${diskBlock} lie outside the volume`);
    const unwritten = w0 >>> 31 === 1;
    if (previous && previous.unwritten === unwritten && previous.fileBlock + previous.count === fileBlock && previous.diskOffset + previous.count * volume.sb.blockSize === diskOffset) {
      // Adjacent on disk too (the 21-bit count splits long runs): one device read covers both.
      previous.count += count;
    } else {
      into.push({ fileBlock, count, diskOffset, unwritten });
    }
  }
}

function readBtreeRoot(volume: XfsVolume, inode: Inode, into: Extent[]): void {
  const root = inode.dataFork;
  const level = root.readUInt16BE(0);
  const records = root.readUInt16BE(2);
  const maxRecords = Math.floor((root.length - 4) / 16);
  const where = `inode ${inode.ino} block map btree root`;
  if (level === 0 || level > MAX_BTREE_LEVELS) throw volume.damaged(where, `level ${level} is not 1 to ${MAX_BTREE_LEVELS}`);
  if (records === 0 || records > maxRecords) throw volume.damaged(where, `${records} records do not fit (at most ${maxRecords})`);
  const visited = new Set<number>();
  for (let i = 0; i < records; i++) {
    readBtreeBlock(volume, inode, Number(root.readBigUInt64BE(4 + maxRecords * 8 + i * 8)), level - 1, visited, into);
  }
}

function readBtreeBlock(volume: XfsVolume, inode: Inode, fsb: number, level: number, visited: Set<number>, into: Extent[]): void {
  const { sb } = volume;
  const where = `inode ${inode.ino} block map btree block ${fsb}`;
  if (visited.has(fsb)) throw volume.damaged(where, 'is reached twice (the btree loops)');
  visited.add(fsb);
  const offset = volume.blockOffset(fsb);
  if (offset === null) throw volume.damaged(where, 'lies outside the volume');
  const block = volume.cache.read(offset, sb.blockSize);
  const v5 = sb.version === 5;
  const magic = block.readUInt32BE(0);
  if (magic !== (v5 ? BMAP_MAGIC_V5 : BMAP_MAGIC_V4)) throw volume.damaged(where, `bad magic 0x${magic.toString(16)}`, offset);
  if (v5) {
    if (!crcMatches(block, 64)) throw volume.damaged(where, 'CRC mismatch', offset);
    if (block.readBigUInt64BE(56) !== BigInt(inode.ino)) throw volume.damaged(where, 'belongs to another inode', offset);
  }
  const headerSize = v5 ? 72 : 24;
  const blockLevel = block.readUInt16BE(4);
  const records = block.readUInt16BE(6);
  const maxRecords = Math.floor((sb.blockSize - headerSize) / 16);
  if (blockLevel !== level) throw volume.damaged(where, `level ${blockLevel} where ${level} was expected (the btree loops or is damaged)`, offset);
  if (records === 0 || records > maxRecords) throw volume.damaged(where, `${records} records do not fit (at most ${maxRecords})`, offset);
  if (level === 0) {
    decodeRecords(volume, inode, block, headerSize, records, into);
    return;
  }
  // Child pointers sit after room for maxRecords keys; copy them, the cached block may be evicted below.
  const pointers: number[] = [];
  for (let i = 0; i < records; i++) pointers.push(Number(block.readBigUInt64BE(headerSize + maxRecords * 8 + i * 8)));
  for (const child of pointers) readBtreeBlock(volume, inode, child, level - 1, visited, into);
}

/**
 * Copies the fork's bytes at offset into buf: one device read per extent piece, zeros for holes and
 * unwritten extents. Returns the count (less at the end of `size`).
 */
export function readMapped(volume: XfsVolume, extents: readonly Extent[], size: number, buf: Buffer, offset: number): number {
  const length = Math.max(0, Math.min(buf.length, size - offset));
  const blockSize = volume.sb.blockSize;
  let done = 0;
  let index = firstExtentEndingAfter(extents, Math.floor(offset / blockSize));
  while (done < length) {
    const position = offset + done;
    const extent = extents[index];
    const extentStart = extent ? extent.fileBlock * blockSize : Number.POSITIVE_INFINITY;
    if (!extent || position < extentStart) {
      const gap = Math.min(length - done, extentStart - position);
      buf.fill(0, done, done + gap);
      done += gap;
      continue;
    }
    const extentEnd = extentStart + extent.count * blockSize;
    const piece = Math.min(length - done, extentEnd - position);
    if (extent.unwritten) buf.fill(0, done, done + piece);
    else volume.device.read(buf.subarray(done, done + piece), extent.diskOffset + (position - extentStart));
    done += piece;
    index++;
  }
  return length;
}

function firstExtentEndingAfter(extents: readonly Extent[], block: number): number {
  let low = 0;
  let high = extents.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    const e = extents[mid]!;
    if (e.fileBlock + e.count <= block) low = mid + 1;
    else high = mid;
  }
  return low;
}
