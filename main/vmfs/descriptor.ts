/**
 * The FS descriptor at volume +2 MiB (vmfs.md §3.3) and the file descriptor, VMFS's inode (§3.5).
 */
import { DiskchainError } from '../../shared/errors.js';
import { formatUuid, textField } from './text.js';

export const FS_MAGIC = 0x2fabf15e;
export const FS_MAGIC_VMFSL = 0x2fabf15f;
export const FS_DESCRIPTOR_OFFSET = 0x200000;
export const FD_MAGIC = 0x10c00001;

export const CONFIG_DENSE_SBPC = 0x4;

export interface FsDescriptor {
  majorVersion: number;
  minorVersion: number;
  family: 3 | 5 | 6;
  uuid: string;
  config: number;
  label: string;
  fileBlockSize: number;
  subBlockSize: number;
  createdMs: number | null;
  lvUuid: string;
  mdAlignment: number;
  sfbToLfbShift: number;
}

/** The family a raw major version belongs to: 4 is VMFS-3 (3.31), 14 VMFS-5, 24 VMFS-6; below 4, VMFS-1 and -2. */
export function familyOf(major: number): { family: number; name: string } {
  if (major >= 24) return { family: 6, name: 'VMFS-6' };
  if (major >= 14) return { family: 5, name: 'VMFS-5' };
  if (major >= 4) return { family: 3, name: 'VMFS-3' };
  return major <= 1 ? { family: 1, name: 'VMFS-1' } : { family: 2, name: 'VMFS-2' };
}

const isPow2 = (n: number, min: number, max: number): boolean => Number.isSafeInteger(n) && n >= min && n <= max && (n & (n - 1)) === 0;

export function parseFsDescriptor(b: Buffer, file: string, at: number): FsDescriptor {
  const magic = b.readUInt32LE(0);
  if (magic === FS_MAGIC_VMFSL) {
    throw new DiskchainError('E_UNSUPPORTED', 'a VMFS-L volume (ESXi 7 OSDATA, the host\'s own system volume): not a datastore, Diskchain does not read it', file, at);
  }
  if (magic !== FS_MAGIC) throw new DiskchainError('E_FORMAT', `VMFS FS descriptor: no magic (0x2FABF15E) at byte ${at}`, file, at);
  const majorVersion = b.readUInt32LE(4);
  const minorVersion = b[8]!;
  const { family, name } = familyOf(majorVersion);
  if (family < 3) {
    throw new DiskchainError('E_UNSUPPORTED', `a ${name} volume (ESX ${family === 1 ? '1.x' : '2.x'}, raw major version ${majorVersion}): its layout was never published, Diskchain reads VMFS-3, 5 and 6`, file, at);
  }
  const fileBlockSize = Number(b.readBigUInt64LE(0xa1));
  const subBlockSize = b.readUInt32LE(0xd9);
  if (!isPow2(fileBlockSize, 65536, 64 * 1024 * 1024)) throw new DiskchainError('E_FORMAT', `VMFS FS descriptor: file block size ${fileBlockSize} is not a power of two from 64 KiB to 64 MiB`, file, at + 0xa1);
  if (!isPow2(subBlockSize, 512, 1024 * 1024)) throw new DiskchainError('E_FORMAT', `VMFS FS descriptor: sub-block size ${subBlockSize} is not a power of two from 512 bytes to 1 MiB`, file, at + 0xd9);
  let mdAlignment = 0;
  let sfbToLfbShift = 0;
  if (family === 6) {
    mdAlignment = b.readUInt32LE(0x134);
    sfbToLfbShift = b.readUInt16LE(0x138);
    if (!isPow2(mdAlignment, 512, 65536)) throw new DiskchainError('E_FORMAT', `VMFS FS descriptor: metadata alignment ${mdAlignment} is not a power of two from 512 to 65536`, file, at + 0x134);
    if (sfbToLfbShift > 16) throw new DiskchainError('E_FORMAT', `VMFS FS descriptor: SFB-to-LFB shift ${sfbToLfbShift} is absurd`, file, at + 0x138);
  }
  const created = b.readUInt32LE(0xa9);
  return {
    majorVersion,
    minorVersion,
    family: family as 3 | 5 | 6,
    uuid: formatUuid(b, 0x09),
    config: b.readUInt32LE(0x19),
    label: textField(b, 0x1d, 128),
    fileBlockSize,
    subBlockSize,
    createdMs: created === 0 ? null : created * 1000,
    lvUuid: formatUuid(b, 0xb1),
    mdAlignment,
    sfbToLfbShift,
  };
}

export const FD_TYPE = { dir: 2, file: 3, symlink: 4, system: 5, rdm: 6 } as const;

export const ZLA_DIRECT = 1;
export const ZLA_SUBBLOCK = 2;
export const ZLA_POINTER = 3;
export const ZLA_POINTER2 = 5;
export const ZLA_DOUBLE = 4304;
export const ZLA_RESIDENT = 4305;

/** One file descriptor as read: its metadata, and its bytes for the block array or resident data. */
export interface FileDescriptor {
  address: number;
  /** Logical-volume byte where the FD is, for errors. */
  volumeOffset: number;
  type: number;
  links: number;
  length: number;
  blockSize: number;
  numBlocks: number;
  mtime: number;
  ctime: number;
  atime: number;
  uid: number;
  gid: number;
  mode: number;
  zla: number;
  raw: Buffer;
}

export interface FdLayout {
  /** Bytes of one FD: 2 KiB on VMFS-3/5, 2 × mdAlignment on VMFS-6. */
  size: number;
  metadata: number;
  /** Where resident data (and an RDM's SCSI id) is. */
  residentOffset: number;
  residentSize: number;
  /** The block array: where, how many entries, 4 or 8 bytes each. */
  arrayOffset: number;
  arrayEntries: number;
  entryBytes: 4 | 8;
}

export function fdLayout(family: number, mdAlignment: number): FdLayout {
  if (family < 6) return { size: 2048, metadata: 0x200, residentOffset: 0x400, residentSize: 1024, arrayOffset: 0x400, arrayEntries: 256, entryBytes: 4 };
  const m = mdAlignment;
  const entries = m <= 4096 ? 320 : m / 16;
  return { size: 2 * m, metadata: m, residentOffset: m + 512, residentSize: m - 512, arrayOffset: 2 * m - entries * 8, arrayEntries: entries, entryBytes: 8 };
}

export function parseFd(raw: Buffer, layout: FdLayout, address: number, volumeOffset: number, file: string): FileDescriptor {
  const damaged = (what: string, at: number): DiskchainError => new DiskchainError('E_FORMAT', `VMFS FD <0x${address.toString(16)}>: ${what}`, file, volumeOffset + at);
  if (raw.readUInt32LE(0) !== FD_MAGIC) throw damaged('no FD magic (0x10C00001): not a file descriptor', 0);
  const m = layout.metadata;
  const own = raw.readUInt32LE(m);
  if (own !== address) throw damaged(own === 0 ? 'the FD is free (a deleted file?)' : `the FD says it is <0x${own.toString(16)}> (stale directory entry)`, m);
  const length = Number(raw.readBigUInt64LE(m + 0x14));
  const blockSize = Number(raw.readBigUInt64LE(m + 0x1c));
  if (!Number.isSafeInteger(length)) throw damaged(`length ${length} is absurd`, m + 0x14);
  if (!Number.isSafeInteger(blockSize)) throw damaged(`block size ${blockSize} is absurd`, m + 0x1c);
  return {
    address,
    volumeOffset,
    type: raw.readUInt32LE(m + 0x0c),
    links: raw.readUInt32LE(m + 0x08),
    length,
    blockSize,
    numBlocks: raw.readUInt32LE(m + 0x24),
    mtime: raw.readUInt32LE(m + 0x2c),
    ctime: raw.readUInt32LE(m + 0x30),
    atime: raw.readUInt32LE(m + 0x34),
    uid: raw.readUInt32LE(m + 0x38),
    gid: raw.readUInt32LE(m + 0x3c),
    mode: raw.readUInt32LE(m + 0x40),
    zla: raw.readUInt32LE(m + 0x44),
    raw,
  };
}
