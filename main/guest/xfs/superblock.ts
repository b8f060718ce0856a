import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import { readBytes } from '../block-device.js';
import { crcMatches } from './crc32c.js';

export const XFS_MAGIC = 0x58465342; // "XFSB"

// sb_versionnum bits (v4 feature flags live here; v5 keeps them set for compatibility).
const VERSION_DIRV2 = 0x2000;
const VERSION_BORG = 0x4000; // ASCII case-insensitive names: names still read as stored
const VERSION_MOREBITS = 0x8000;
const FEATURES2_FTYPE = 0x200;

// sb_features_incompat (v5): the ones this reader understands.
const INCOMPAT_NAMES: Record<number, string> = {
  0x1: 'ftype',
  0x2: 'sparse inodes',
  0x4: 'meta_uuid',
  0x8: 'bigtime',
  0x10: 'needsrepair',
  0x20: 'nrext64',
  0x40: 'exchange-range',
  0x80: 'parent pointers',
  0x100: 'metadir',
};
const INCOMPAT_KNOWN = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x80;

/** The superblock fields a reader needs, validated against each other and against the device. */
export interface Superblock {
  version: 4 | 5;
  blockSize: number;
  sectorSize: number;
  inodeSize: number;
  inodesPerBlockLog: number;
  agBlocks: number;
  agCount: number;
  agBlockLog: number;
  dataBlocks: number;
  rootIno: number;
  dirBlockSize: number;
  /** Directory entries carry a file-type byte. */
  hasFtype: boolean;
  label: string | null;
  uuid: string;
  logStart: number;
  logBlocks: number;
  notes: string[];
}

function refuse(device: BlockDevice, what: string): DiskchainError {
  return new DiskchainError('E_FORMAT', `XFS superblock: ${what}`, device.file, 0);
}

function u64(buf: Buffer, at: number): number {
  const value = buf.readBigUInt64BE(at);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(value);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function probeSuperblock(device: BlockDevice): boolean {
  if (device.size < 512) return false;
  const head = readBytes(device, 0, 104);
  const version = head.readUInt16BE(100) & 0xf;
  return head.readUInt32BE(0) === XFS_MAGIC && (version === 4 || version === 5);
}

export function readSuperblock(device: BlockDevice): Superblock {
  if (device.size < 512) throw refuse(device, `the volume (${device.size} bytes) is too small to hold one`);
  const sb = readBytes(device, 0, 512);
  if (sb.readUInt32BE(0) !== XFS_MAGIC) throw refuse(device, 'no XFSB magic');
  const versionNum = sb.readUInt16BE(100);
  const version = versionNum & 0xf;
  if (version !== 4 && version !== 5) throw refuse(device, `version ${version} is not 4 or 5`);
  const blockSize = sb.readUInt32BE(4);
  const blockLog = sb.readUInt8(120);
  if (!isPowerOfTwo(blockSize) || blockSize < 512 || blockSize > 65536 || 1 << blockLog !== blockSize) {
    throw refuse(device, `block size ${blockSize} (log ${blockLog}) is not a power of two from 512 to 65536`);
  }
  const sectorSize = sb.readUInt16BE(102);
  if (!isPowerOfTwo(sectorSize) || sectorSize < 512 || sectorSize > blockSize) {
    throw refuse(device, `sector size ${sectorSize} is not a power of two from 512 to the block size`);
  }
  const inodeSize = sb.readUInt16BE(104);
  const inodeLog = sb.readUInt8(122);
  const inodesPerBlockLog = sb.readUInt8(123);
  if (!isPowerOfTwo(inodeSize) || inodeSize < 256 || inodeSize > 2048 || 1 << inodeLog !== inodeSize || inodeSize > blockSize) {
    throw refuse(device, `inode size ${inodeSize} is not a power of two from 256 to 2048 within the block size`);
  }
  if (1 << inodesPerBlockLog !== blockSize / inodeSize) throw refuse(device, `inodes per block log ${inodesPerBlockLog} does not fit block size ${blockSize} and inode size ${inodeSize}`);
  const agBlocks = sb.readUInt32BE(84);
  const agCount = sb.readUInt32BE(88);
  const agBlockLog = sb.readUInt8(124);
  if (agBlocks < 5 || agBlockLog > 31 || 2 ** agBlockLog < agBlocks || 2 ** (agBlockLog - 1) >= agBlocks) {
    throw refuse(device, `allocation group size ${agBlocks} blocks does not fit its log ${agBlockLog}`);
  }
  const dataBlocks = u64(sb, 8);
  if (agCount < 1 || !(dataBlocks > (agCount - 1) * agBlocks && dataBlocks <= agCount * agBlocks)) {
    throw refuse(device, `data block count ${dataBlocks} does not match ${agCount} allocation groups of ${agBlocks} blocks`);
  }
  if (dataBlocks * blockSize > device.size) {
    throw refuse(device, `the volume needs ${dataBlocks * blockSize} bytes but the device has ${device.size} (truncated?)`);
  }
  if ((versionNum & VERSION_DIRV2) === 0 && version === 4) throw new DiskchainError('E_UNSUPPORTED', 'XFS superblock: version 1 directories are not readable (only v2)', device.file, 0);
  const features2 = versionNum & VERSION_MOREBITS ? sb.readUInt32BE(200) : 0;
  const notes: string[] = [];
  let hasFtype = (features2 & FEATURES2_FTYPE) !== 0;
  if (version === 5) {
    const full = readBytes(device, 0, sectorSize);
    if (!crcMatches(full, 224)) throw refuse(device, 'CRC mismatch');
    const incompat = full.readUInt32BE(216);
    const unknown = incompat & ~INCOMPAT_KNOWN;
    if (unknown !== 0) {
      const names = Object.entries(INCOMPAT_NAMES)
        .filter(([bit]) => unknown & Number(bit))
        .map(([, name]) => name);
      const rest = unknown & ~Object.keys(INCOMPAT_NAMES).reduce((all, bit) => all | Number(bit), 0);
      if (rest) names.push(`0x${rest.toString(16)}`);
      throw new DiskchainError('E_UNSUPPORTED', `XFS superblock: incompatible features this reader does not know: ${names.join(', ')}`, device.file, 0);
    }
    hasFtype = (incompat & 0x1) !== 0;
  }
  if (versionNum & VERSION_BORG) notes.push('names are ASCII case-insensitive on this volume (listed as stored)');
  const rootIno = u64(sb, 56);
  const dirBlockLog = sb.readUInt8(192);
  if (dirBlockLog > 8 || blockSize << dirBlockLog > 65536) throw refuse(device, `directory block log ${dirBlockLog} makes blocks over 64 KiB`);
  if (sb.readUInt8(126) !== 0) notes.push('mkfs did not finish on this volume (sb_inprogress)');
  if (u64(sb, 16) !== 0) notes.push('the realtime section is not read');
  const rawLabel = sb.subarray(108, 120);
  const end = rawLabel.indexOf(0);
  const label = rawLabel.subarray(0, end < 0 ? 12 : end).toString('utf8');
  return {
    version,
    blockSize,
    sectorSize,
    inodeSize,
    inodesPerBlockLog,
    agBlocks,
    agCount,
    agBlockLog,
    dataBlocks,
    rootIno,
    dirBlockSize: blockSize << dirBlockLog,
    hasFtype,
    label: label.length > 0 ? label : null,
    uuid: formatUuid(sb.subarray(32, 48)),
    logStart: u64(sb, 48),
    logBlocks: sb.readUInt32BE(96),
    notes,
  };
}
