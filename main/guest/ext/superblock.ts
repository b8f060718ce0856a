/**
 * The ext2/3/4 superblock (1024 bytes at byte 1024 of the volume), validated before anything is read
 * through it. Field offsets: the kernel's `struct ext4_super_block`, libyal's "Extended File System" notes.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import { readBytes } from '../block-device.js';
import type { FileSystemType } from '../types.js';

export const SUPERBLOCK_OFFSET = 1024;
const EXT_MAGIC = 0xef53;

export const COMPAT_HAS_JOURNAL = 0x4;
export const COMPAT_SPARSE_SUPER2 = 0x200;

export const INCOMPAT_FILETYPE = 0x2;
export const INCOMPAT_RECOVER = 0x4;
export const INCOMPAT_META_BG = 0x10;
export const INCOMPAT_64BIT = 0x80;

export const RO_COMPAT_SPARSE_SUPER = 0x1;
const RO_COMPAT_BIGALLOC = 0x200;

/** Incompatible features a reader must understand to read at all, and whether we do. */
const INCOMPAT_NAMES: Record<number, [name: string, readable: boolean]> = {
  0x1: ['compression', false],
  0x2: ['filetype', true],
  0x4: ['needs_recovery', true],
  0x8: ['journal_dev', false],
  0x10: ['meta_bg', true],
  0x40: ['extent', true],
  0x80: ['64bit', true],
  0x100: ['mmp', true],
  0x200: ['flex_bg', true],
  0x400: ['ea_inode', true],
  0x1000: ['dirdata', false],
  0x2000: ['metadata_csum_seed', true],
  0x4000: ['large_dir', true],
  0x8000: ['inline_data', true],
  0x10000: ['encrypt', true], // per-inode: encrypted files and folders are refused one by one
  0x20000: ['casefold', true], // names are stored as typed; only lookups fold case
};

/** Features that only ext4 has (blkid's rule): any of them makes the volume ext4, not ext3. */
const EXT4_INCOMPAT = 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000;
const EXT4_RO_COMPAT = 0x8 | 0x10 | 0x20 | 0x40 | 0x200 | 0x400;

export interface Superblock {
  type: FileSystemType;
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodesCount: number;
  inodeSize: number;
  groupCount: number;
  /** Bytes per group descriptor: 32, or s_desc_size with 64bit. */
  descSize: number;
  firstMetaBg: number;
  featureCompat: number;
  featureIncompat: number;
  featureRoCompat: number;
  /** sparse_super2: the only two groups that hold backups. */
  backupGroups: [number, number];
  /** s_journal_inum: the inode of an internal journal, 0 when the journal is on another device or none. */
  journalInode: number;
  label: string | null;
  uuid: string | null;
  notes: string[];
}

function fail(device: BlockDevice, what: string, fs = 'ext'): never {
  throw new DiskchainError('E_FORMAT', `${fs} superblock: ${what}`, device.file, SUPERBLOCK_OFFSET);
}

/** The type a valid-looking superblock claims, or null: cheap, for probing. */
export function probeSuperblock(device: BlockDevice): FileSystemType | null {
  if (device.size < SUPERBLOCK_OFFSET * 2) return null;
  const sb = readBytes(device, SUPERBLOCK_OFFSET, 1024);
  if (sb.readUInt16LE(0x38) !== EXT_MAGIC) return null;
  return typeOf(sb);
}

function typeOf(sb: Buffer): FileSystemType {
  if (sb.readUInt32LE(0x60) & EXT4_INCOMPAT || sb.readUInt32LE(0x64) & EXT4_RO_COMPAT) return 'ext4';
  return sb.readUInt32LE(0x5c) & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
}

export function readSuperblock(device: BlockDevice): Superblock {
  if (device.size < SUPERBLOCK_OFFSET * 2) fail(device, `the volume (${device.size} bytes) is too small to hold one`);
  const sb = readBytes(device, SUPERBLOCK_OFFSET, 1024);
  if (sb.readUInt16LE(0x38) !== EXT_MAGIC) fail(device, 'bad magic (not an ext2/3/4 file system)');
  const type = typeOf(sb);
  const bad = (what: string): never => fail(device, what, type);

  const logBlockSize = sb.readUInt32LE(0x18);
  if (logBlockSize > 6) bad(`block size 2^${10 + logBlockSize} is outside 1 KiB–64 KiB`);
  const blockSize = 1024 << logBlockSize;

  const featureCompat = sb.readUInt32LE(0x5c);
  const featureIncompat = sb.readUInt32LE(0x60);
  const featureRoCompat = sb.readUInt32LE(0x64);
  for (let bit = 1; bit !== 0 && bit <= 0x80000000; bit = (bit << 1) >>> 0) {
    if (!(featureIncompat & bit)) continue;
    const known = INCOMPAT_NAMES[bit];
    if (!known) bad(`unknown incompatible feature 0x${bit.toString(16)}; this reader cannot read the volume safely`);
    if (!known[1]) {
      throw new DiskchainError('E_UNSUPPORTED', `${type} superblock: the incompatible feature ${known[0]} is not supported`, device.file, SUPERBLOCK_OFFSET);
    }
  }
  const is64 = (featureIncompat & INCOMPAT_64BIT) !== 0;

  const blocksCount = sb.readUInt32LE(0x04) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const firstDataBlock = sb.readUInt32LE(0x14);
  const blocksPerGroup = sb.readUInt32LE(0x20);
  const inodesPerGroup = sb.readUInt32LE(0x28);
  const inodesCount = sb.readUInt32LE(0x00);
  const revLevel = sb.readUInt32LE(0x4c);
  const inodeSize = revLevel === 0 ? 128 : sb.readUInt16LE(0x58);

  if (blocksCount === 0) bad('the block count is 0');
  if (blocksCount * blockSize > device.size) {
    bad(`the volume needs ${blocksCount * blockSize} bytes (${blocksCount} blocks of ${blockSize}) but the device has ${device.size} (truncated?)`);
  }
  if (firstDataBlock >= blocksCount || firstDataBlock > 1) bad(`first data block ${firstDataBlock} is impossible`);
  // bigalloc: the bitmaps count clusters, so a group spans clusterRatio times more blocks.
  const logClusterSize = featureRoCompat & RO_COMPAT_BIGALLOC ? sb.readUInt32LE(0x1c) : logBlockSize;
  if (logClusterSize < logBlockSize || logClusterSize - logBlockSize > 16) bad(`cluster size 2^${10 + logClusterSize} does not fit block size ${blockSize}`);
  const clusterRatio = 2 ** (logClusterSize - logBlockSize);
  if (blocksPerGroup === 0 || blocksPerGroup > blockSize * 8 * clusterRatio) bad(`${blocksPerGroup} blocks per group is impossible for ${blockSize}-byte blocks`);
  if (inodesPerGroup === 0 || inodesPerGroup > blockSize * 8) bad(`${inodesPerGroup} inodes per group is impossible for ${blockSize}-byte blocks`);
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) bad(`inode size ${inodeSize} is not a power of two between 128 and the block size`);

  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (inodesCount === 0 || inodesCount > groupCount * inodesPerGroup) {
    bad(`${inodesCount} inodes do not fit ${groupCount} groups of ${inodesPerGroup}`);
  }

  let descSize = 32;
  if (is64) {
    descSize = sb.readUInt16LE(0xfe);
    if (descSize < 32 || descSize > 1024 || (descSize & (descSize - 1)) !== 0) bad(`group descriptor size ${descSize} is not a power of two between 32 and 1024`);
  }

  // needs_recovery is said by the reader, which replays the journal (or was told not to).
  const notes: string[] = [];
  const state = sb.readUInt16LE(0x3a);
  if (!(state & 0x1) && !(featureIncompat & INCOMPAT_RECOVER)) {
    notes.push('not cleanly unmounted (mounted when the snapshot was taken, or a crash): recent changes may be missing or inconsistent');
  }
  if (state & 0x2) notes.push('the file system recorded errors (run fsck in the guest)');

  return {
    type,
    blockSize,
    blocksCount,
    firstDataBlock,
    blocksPerGroup,
    inodesPerGroup,
    inodesCount,
    inodeSize,
    groupCount,
    descSize,
    firstMetaBg: sb.readUInt32LE(0x104),
    featureCompat,
    featureIncompat,
    featureRoCompat,
    backupGroups: [sb.readUInt32LE(0x24c), sb.readUInt32LE(0x250)],
    journalInode: featureCompat & COMPAT_HAS_JOURNAL ? sb.readUInt32LE(0xe0) : 0,
    label: cString(sb.subarray(0x78, 0x88)) || null,
    uuid: formatUuid(sb.subarray(0x68, 0x78)),
    notes,
  };
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

function formatUuid(bytes: Buffer): string | null {
  if (bytes.every((b) => b === 0)) return null;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Whether group `group` holds a superblock backup (and so, without meta_bg, a descriptor table copy). */
export function groupHasSuper(sb: Superblock, group: number): boolean {
  if (group === 0) return true;
  if (sb.featureCompat & COMPAT_SPARSE_SUPER2) return group === sb.backupGroups[0] || group === sb.backupGroups[1];
  if (group <= 1 || !(sb.featureRoCompat & RO_COMPAT_SPARSE_SUPER)) return true;
  if (!(group & 1)) return false;
  return isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
}

function isPowerOf(n: number, base: number): boolean {
  let p = base;
  while (p < n) p *= base;
  return p === n;
}
