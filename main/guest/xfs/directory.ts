import { readExtents, readMapped } from './bmap.js';
import { crcMatches } from './crc32c.js';
import { FORMAT_LOCAL, type Inode } from './inode.js';
import type { XfsVolume } from './volume.js';

/** One name in a directory, before its inode is read. */
export interface DirectoryName {
  name: string;
  ino: number;
}

const DATA_MAGICS_V4 = new Set([0x58443242 /* XD2B */, 0x58443244 /* XD2D */]);
const DATA_MAGICS_V5 = new Set([0x58444233 /* XDB3 */, 0x58444433 /* XDD3 */]);
const BLOCK_FORM_MAGICS = new Set([0x58443242, 0x58444233]);
/** Directory data blocks live below this logical byte offset; leaf and free-index blocks above it. */
const LEAF_OFFSET = 2 ** 35;
/** Far beyond real folders; keeps a forged one from filling memory. */
const MAX_ENTRIES = 4_000_000;
/** Folder blocks are read in runs of up to this many bytes. */
const CHUNK_BYTES = 256 * 1024;

/** The names of a folder in on-disk order, without "." and "..". Any v2 form: short-form, block, leaf, node, btree. */
export function readDirectory(volume: XfsVolume, dir: Inode): DirectoryName[] {
  if (dir.format === FORMAT_LOCAL) return readShortForm(volume, dir);
  const { blockSize, dirBlockSize } = volume.sb;
  const extents = readExtents(volume, dir);
  const names: DirectoryName[] = [];
  const blocksPerDirBlock = dirBlockSize / blockSize;
  const lastDataBlock = LEAF_OFFSET / dirBlockSize - 1;
  const chunk = Buffer.alloc(Math.max(1, Math.floor(CHUNK_BYTES / dirBlockSize)) * dirBlockSize);
  let nextDirBlock = 0;
  for (const extent of extents) {
    const first = Math.max(nextDirBlock, Math.floor(extent.fileBlock / blocksPerDirBlock));
    const last = Math.min(lastDataBlock, Math.floor((extent.fileBlock + extent.count - 1) / blocksPerDirBlock));
    let dirBlock = first;
    while (dirBlock <= last) {
      const startBlock = dirBlock * blocksPerDirBlock;
      const inside = !extent.unwritten && startBlock >= extent.fileBlock && startBlock + blocksPerDirBlock <= extent.fileBlock + extent.count;
      if (!inside) {
        // A folder block split across extents: assemble it through the block map.
        const one = chunk.subarray(0, dirBlockSize);
        readMapped(volume, extents, Number.MAX_SAFE_INTEGER, one, dirBlock * dirBlockSize);
        parseDataBlock(volume, dir, dirBlock, one, names);
        dirBlock++;
        continue;
      }
      // Whole folder blocks inside one extent: one device read for a run of them.
      const fitting = Math.floor((extent.fileBlock + extent.count - startBlock) / blocksPerDirBlock);
      const run = Math.min(fitting, last - dirBlock + 1, chunk.length / dirBlockSize);
      const bytes = chunk.subarray(0, run * dirBlockSize);
      volume.device.read(bytes, extent.diskOffset + (startBlock - extent.fileBlock) * blockSize);
      for (let i = 0; i < run; i++) parseDataBlock(volume, dir, dirBlock + i, bytes.subarray(i * dirBlockSize, (i + 1) * dirBlockSize), names);
      dirBlock += run;
    }
    nextDirBlock = Math.max(nextDirBlock, last + 1);
    if (last >= lastDataBlock) break;
  }
  return names;
}

function readShortForm(volume: XfsVolume, dir: Inode): DirectoryName[] {
  const where = `directory inode ${dir.ino} (short form)`;
  const fork = dir.dataFork;
  if (dir.size > fork.length || dir.size < 6) throw volume.damaged(where, `size ${dir.size} does not fit the inode's data fork (${fork.length} bytes)`);
  const bytes = fork.subarray(0, dir.size);
  const count = bytes.readUInt8(0);
  const inoSize = bytes.readUInt8(1) > 0 ? 8 : 4;
  let at = 2 + inoSize;
  const names: DirectoryName[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 3 > bytes.length) throw volume.damaged(where, `entry ${i} runs past the folder's ${dir.size} bytes`);
    const nameLength = bytes.readUInt8(at);
    const nameStart = at + 3;
    const inoAt = nameStart + nameLength + (volume.sb.hasFtype ? 1 : 0);
    if (nameLength === 0 || inoAt + inoSize > bytes.length) throw volume.damaged(where, `entry ${i} runs past the folder's ${dir.size} bytes`);
    const ino = inoSize === 8 ? Number(bytes.readBigUInt64BE(inoAt)) : bytes.readUInt32BE(inoAt);
    names.push({ name: bytes.subarray(nameStart, nameStart + nameLength).toString('utf8'), ino });
    at = inoAt + inoSize;
  }
  return names;
}

function parseDataBlock(volume: XfsVolume, dir: Inode, dirBlock: number, buffer: Buffer, names: DirectoryName[]): void {
  const { sb } = volume;
  const where = `directory inode ${dir.ino} data block ${dirBlock}`;
  const magic = buffer.readUInt32BE(0);
  const v5 = sb.version === 5;
  if (!(v5 ? DATA_MAGICS_V5 : DATA_MAGICS_V4).has(magic)) throw volume.damaged(where, `bad magic 0x${magic.toString(16)}`);
  if (v5) {
    if (!crcMatches(buffer, 4)) throw volume.damaged(where, 'CRC mismatch');
    if (buffer.readBigUInt64BE(40) !== BigInt(dir.ino)) throw volume.damaged(where, 'belongs to another inode');
  }
  let end = buffer.length;
  if (BLOCK_FORM_MAGICS.has(magic)) {
    // A single-block folder keeps its hash leaf and a tail (leaf count, stale count) at the end.
    const leafCount = buffer.readUInt32BE(buffer.length - 8);
    end = buffer.length - 8 - leafCount * 8;
    if (leafCount > buffer.length / 8 || end < (v5 ? 64 : 16)) throw volume.damaged(where, `leaf count ${leafCount} does not fit the block`);
  }
  let at = v5 ? 64 : 16;
  while (at < end) {
    if (buffer.readUInt16BE(at) === 0xffff) {
      const freeLength = buffer.readUInt16BE(at + 2);
      if (freeLength < 8 || freeLength % 8 !== 0 || at + freeLength > end) throw volume.damaged(where, `free space of ${freeLength} bytes at ${at} is not a whole entry inside the block`);
      at += freeLength;
      continue;
    }
    if (at + 16 > end) throw volume.damaged(where, `entry at ${at} runs past the block`);
    const ino = Number(buffer.readBigUInt64BE(at));
    const nameLength = buffer.readUInt8(at + 8);
    const entrySize = Math.ceil((8 + 1 + nameLength + (sb.hasFtype ? 1 : 0) + 2) / 8) * 8;
    if (nameLength === 0 || at + entrySize > end) throw volume.damaged(where, `entry at ${at} runs past the block`);
    const name = buffer.subarray(at + 9, at + 9 + nameLength).toString('utf8');
    if (name !== '.' && name !== '..') {
      if (names.length >= MAX_ENTRIES) throw volume.damaged(`directory inode ${dir.ino}`, `more than ${MAX_ENTRIES} entries`);
      names.push({ name, ino });
    }
    at += entrySize;
  }
}
