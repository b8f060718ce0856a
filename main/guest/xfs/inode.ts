import { crcMatches } from './crc32c.js';
import type { XfsVolume } from './volume.js';

export const FORMAT_DEV = 0;
export const FORMAT_LOCAL = 1;
export const FORMAT_EXTENTS = 2;
export const FORMAT_BTREE = 3;

const INODE_MAGIC = 0x494e; // "IN"
const FLAG_REALTIME = 0x1;
const FLAGS2_BIGTIME = 0x8n;
const FLAGS2_NREXT64 = 0x10n;
const BIGTIME_EPOCH_OFFSET_S = 2n ** 31n;

export interface Inode {
  ino: number;
  mode: number;
  format: number;
  uid: number;
  gid: number;
  size: number;
  nextents: number;
  realtime: boolean;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number | null;
  /** The data fork's literal area (short-form dir, inline symlink, extent list or bmbt root). */
  dataFork: Buffer;
}

export function isDir(inode: Inode): boolean {
  return (inode.mode & 0o170000) === 0o040000;
}
export function isSymlink(inode: Inode): boolean {
  return (inode.mode & 0o170000) === 0o120000;
}
export function isRegular(inode: Inode): boolean {
  return (inode.mode & 0o170000) === 0o100000;
}

function timeMs(raw: Buffer, at: number, bigtime: boolean): number {
  if (bigtime) {
    const ns = raw.readBigUInt64BE(at);
    return Number(ns / 1_000_000n - BIGTIME_EPOCH_OFFSET_S * 1000n);
  }
  return raw.readInt32BE(at) * 1000 + Math.floor(raw.readUInt32BE(at + 4) / 1_000_000);
}

/** Reads and checks inode ino (magic, version, v3 CRC and self-number, fork bounds). */
export function readInode(volume: XfsVolume, ino: number): Inode {
  const { sb } = volume;
  const where = `inode ${ino}`;
  const offset = volume.inodeOffset(ino);
  if (offset === null) throw volume.damaged(where, 'the number points outside the volume');
  const { bytes, at } = volume.inodeCluster(offset);
  const raw = bytes.subarray(at, at + sb.inodeSize);
  if (raw.readUInt16BE(0) !== INODE_MAGIC) throw volume.damaged(where, 'no IN magic', offset);
  const version = raw.readUInt8(4);
  if (version < 1 || version > 3 || (sb.version === 5) !== (version === 3)) {
    throw volume.damaged(where, `version ${version} does not fit a v${sb.version} file system`, offset);
  }
  const coreSize = version === 3 ? 176 : 100;
  let flags2 = 0n;
  if (version === 3) {
    if (!crcMatches(raw, 100)) throw volume.damaged(where, 'CRC mismatch', offset);
    if (raw.readBigUInt64BE(152) !== BigInt(ino)) throw volume.damaged(where, `records itself as inode ${raw.readBigUInt64BE(152)}`, offset);
    flags2 = raw.readBigUInt64BE(120);
  }
  const forkOffset = raw.readUInt8(82) * 8;
  const literalSize = sb.inodeSize - coreSize;
  if (forkOffset >= literalSize) throw volume.damaged(where, `attribute fork offset ${forkOffset} lies past the inode`, offset);
  const dataForkSize = forkOffset === 0 ? literalSize : forkOffset;
  const size = raw.readBigUInt64BE(56);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw volume.damaged(where, `size ${size} is absurd`, offset);
  const nextents = flags2 & FLAGS2_NREXT64 ? raw.readBigUInt64BE(24) : BigInt(raw.readUInt32BE(76));
  if (nextents > BigInt(sb.dataBlocks)) throw volume.damaged(where, `${nextents} extents is more than the volume has blocks`, offset);
  const bigtime = (flags2 & FLAGS2_BIGTIME) !== 0n;
  return {
    ino,
    mode: raw.readUInt16BE(2),
    format: raw.readUInt8(5),
    uid: raw.readUInt32BE(8),
    gid: raw.readUInt32BE(12),
    size: Number(size),
    nextents: Number(nextents),
    realtime: (raw.readUInt16BE(90) & FLAG_REALTIME) !== 0,
    atimeMs: timeMs(raw, 32, bigtime),
    mtimeMs: timeMs(raw, 40, bigtime),
    ctimeMs: timeMs(raw, 48, bigtime),
    birthtimeMs: version === 3 ? timeMs(raw, 144, bigtime) : null,
    dataFork: Buffer.from(raw.subarray(coreSize, coreSize + dataForkSize)),
  };
}
