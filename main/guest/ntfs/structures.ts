/**
 * NTFS on-disk structures: the boot sector, MFT records with their update-sequence fixups, and the
 * attributes in a record. Every offset a structure gives is checked against the bytes it sits in;
 * parsers throw plain Error messages that the volume turns into one-line DiskchainErrors.
 */
import { decodeRuns, type Run } from './runlist.js';

export interface BootSector {
  bytesPerSector: number;
  clusterSize: number;
  totalClusters: number;
  mftLcn: number;
  recordSize: number;
  indexRecordSize: number;
  serial: string;
}

const MAX_CLUSTER = 2 * 1024 * 1024;

/** True when the first sector says NTFS (cheap; for probe). */
export function looksLikeNtfs(sector: Buffer): boolean {
  return sector.length >= 512 && sector.toString('latin1', 3, 11) === 'NTFS    ';
}

/** Parses and checks the boot sector against the device size. */
export function parseBootSector(sector: Buffer, deviceSize: number): BootSector {
  if (!looksLikeNtfs(sector)) throw new Error('boot sector: no "NTFS" signature');
  if (sector.readUInt16LE(510) !== 0xaa55) throw new Error('boot sector: no 0x55AA end marker');
  const bytesPerSector = sector.readUInt16LE(0x0b);
  if (![256, 512, 1024, 2048, 4096].includes(bytesPerSector)) throw new Error(`boot sector: ${bytesPerSector} bytes per sector is not valid`);
  const spcByte = sector[0x0d] as number;
  // Since Windows 10, clusters over 64 KiB store the sectors per cluster as a negative power of two.
  const sectorsPerCluster = spcByte > 0x80 ? 2 ** (256 - spcByte) : spcByte;
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) {
    throw new Error(`boot sector: sectors per cluster 0x${spcByte.toString(16)} is not a power of two`);
  }
  const clusterSize = bytesPerSector * sectorsPerCluster;
  if (clusterSize > MAX_CLUSTER) throw new Error(`boot sector: cluster size ${clusterSize} is over 2 MiB`);
  const totalSectors = Number(sector.readBigUInt64LE(0x28));
  if (!Number.isSafeInteger(totalSectors) || totalSectors === 0) throw new Error('boot sector: the sector count is not valid');
  const volumeBytes = totalSectors * bytesPerSector;
  if (volumeBytes > deviceSize + bytesPerSector) {
    throw new Error(`the volume (${volumeBytes} bytes) is larger than its device (${deviceSize} bytes): truncated`);
  }
  const totalClusters = Math.floor(totalSectors / sectorsPerCluster);
  const mftLcn = Number(sector.readBigUInt64LE(0x30));
  if (!Number.isSafeInteger(mftLcn) || mftLcn >= totalClusters) throw new Error(`boot sector: the MFT at cluster ${mftLcn} lies past the volume`);
  const recordSize = recordBytes(sector.readInt8(0x40), clusterSize, 'MFT record');
  if (recordSize < 256 || recordSize > 65536) throw new Error(`boot sector: MFT record size ${recordSize} is not valid`);
  const indexRecordSize = recordBytes(sector.readInt8(0x44), clusterSize, 'index record');
  if (indexRecordSize < 256 || indexRecordSize > 65536) throw new Error(`boot sector: index record size ${indexRecordSize} is not valid`);
  const serial = sector.readBigUInt64LE(0x48).toString(16).toUpperCase().padStart(16, '0');
  return { bytesPerSector, clusterSize, totalClusters, mftLcn, recordSize, indexRecordSize, serial };
}

/** A positive count is clusters; a negative one is log2 of the size in bytes. */
function recordBytes(value: number, clusterSize: number, what: string): number {
  if (value > 0) return value * clusterSize;
  if (value < 0 && value >= -31) return 2 ** -value;
  throw new Error(`boot sector: ${what} size byte ${value} is not valid`);
}

/**
 * Applies the update-sequence fixups of a FILE or INDX record in place: the last two bytes of every
 * 512-byte stride must hold the sequence number, and are replaced by the saved bytes.
 */
export function applyFixups(record: Buffer, magic: string): void {
  if (record.toString('latin1', 0, 4) !== magic) throw new Error(`has no "${magic}" signature`);
  const usaOffset = record.readUInt16LE(4);
  const usaCount = record.readUInt16LE(6);
  const strides = record.length / 512;
  if (usaCount !== strides + 1 || usaOffset < 8 || usaOffset + usaCount * 2 > record.length || usaOffset % 2 !== 0) {
    throw new Error(`update sequence (${usaCount} entries at ${usaOffset}) does not fit the ${record.length}-byte record`);
  }
  const usn = record.readUInt16LE(usaOffset);
  for (let i = 1; i <= strides; i++) {
    const at = i * 512 - 2;
    if (record.readUInt16LE(at) !== usn) throw new Error(`is torn: the update sequence of sector ${i - 1} does not match`);
    record.writeUInt16LE(record.readUInt16LE(usaOffset + i * 2), at);
  }
}

export const ATTR = {
  standardInformation: 0x10,
  attributeList: 0x20,
  fileName: 0x30,
  volumeName: 0x60,
  volumeInformation: 0x70,
  data: 0x80,
  indexRoot: 0x90,
  indexAllocation: 0xa0,
  reparsePoint: 0xc0,
  end: 0xffffffff,
} as const;

export const ATTR_FLAG = { compressed: 0x0001, encrypted: 0x4000, sparse: 0x8000 } as const;

export interface Attribute {
  type: number;
  name: string;
  flags: number;
  id: number;
  /** The record the attribute lives in. */
  record: number;
  /** Resident value, or null when non-resident. */
  value: Buffer | null;
  startVcn: number;
  lastVcn: number;
  /** log2 of the compression unit in clusters (0 = not compressed). */
  compressionUnit: number;
  allocatedSize: number;
  dataSize: number;
  initializedSize: number;
  runs: Run[];
}

export interface MftRecord {
  number: number;
  sequence: number;
  flags: number;
  /** Base record number, or the record itself. */
  base: number;
  attributes: Attribute[];
}

export const RECORD_IN_USE = 0x0001;
export const RECORD_DIRECTORY = 0x0002;

/** Parses a fixed-up FILE record; throws a message naming what is wrong (the caller names the record). */
export function parseRecord(bytes: Buffer, number: number, totalClusters: number): MftRecord {
  const sequence = bytes.readUInt16LE(0x10);
  const firstAttribute = bytes.readUInt16LE(0x14);
  const flags = bytes.readUInt16LE(0x16);
  const used = bytes.readUInt32LE(0x18);
  if (used > bytes.length || firstAttribute < 0x18 || firstAttribute >= used) {
    throw new Error(`header sizes (first attribute at ${firstAttribute}, ${used} bytes used) do not fit the record`);
  }
  const baseRef = bytes.readBigUInt64LE(0x20) & 0xffffffffffffn;
  const base = baseRef === 0n ? number : Number(baseRef);
  const attributes: Attribute[] = [];
  let pos = firstAttribute;
  for (;;) {
    if (pos + 4 > used) throw new Error('attributes run past the record end');
    const type = bytes.readUInt32LE(pos);
    if (type === ATTR.end) break;
    if (pos + 16 > used) throw new Error('attributes run past the record end');
    const length = bytes.readUInt32LE(pos + 4);
    if (length < 16 || pos + length > used || length % 8 !== 0) throw new Error(`attribute 0x${type.toString(16)} at ${pos} runs past the record end`);
    attributes.push(parseAttribute(bytes.subarray(pos, pos + length), number, totalClusters));
    pos += length;
  }
  return { number, sequence, flags, base, attributes };
}

function parseAttribute(a: Buffer, record: number, totalClusters: number): Attribute {
  const type = a.readUInt32LE(0);
  const nonResident = a[8] !== 0;
  const nameLength = a[9] as number;
  const nameOffset = a.readUInt16LE(0x0a);
  if (nameLength > 0 && nameOffset + nameLength * 2 > a.length) throw new Error(`attribute 0x${type.toString(16)}: its name runs past the attribute`);
  const name = nameLength > 0 ? utf16(a, nameOffset, nameLength * 2) : '';
  const flags = a.readUInt16LE(0x0c);
  const id = a.readUInt16LE(0x0e);
  const what = `attribute 0x${type.toString(16)}${name ? ` "${name}"` : ''}`;
  if (!nonResident) {
    if (a.length < 0x18) throw new Error(`${what} is too short`);
    const valueLength = a.readUInt32LE(0x10);
    const valueOffset = a.readUInt16LE(0x14);
    if (valueOffset + valueLength > a.length) throw new Error(`${what}: its value runs past the attribute`);
    const value = a.subarray(valueOffset, valueOffset + valueLength); // the record is already a private copy
    return { type, name, flags, id, record, value, startVcn: 0, lastVcn: -1, compressionUnit: 0, allocatedSize: valueLength, dataSize: valueLength, initializedSize: valueLength, runs: [] };
  }
  if (a.length < 0x40) throw new Error(`${what} is too short`);
  const startVcn = safe(a.readBigUInt64LE(0x10), what);
  const lastVcnRaw = a.readBigInt64LE(0x18);
  const lastVcn = lastVcnRaw < 0n ? -1 : safe(lastVcnRaw, what);
  const runsOffset = a.readUInt16LE(0x20);
  const compressionUnit = a.readUInt16LE(0x22);
  if (compressionUnit > 16) throw new Error(`${what}: compression unit 2^${compressionUnit} clusters is not valid`);
  const allocatedSize = safe(a.readBigUInt64LE(0x28), what);
  const dataSize = safe(a.readBigUInt64LE(0x30), what);
  const initializedSize = safe(a.readBigUInt64LE(0x38), what);
  if (runsOffset < 0x40 || runsOffset > a.length) throw new Error(`${what}: its runlist lies outside the attribute`);
  const runs: Run[] = [];
  try {
    decodeRuns(a, runsOffset, a.length, startVcn, totalClusters, runs);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
  const covered = runs.length ? (runs[runs.length - 1] as Run).vcn + (runs[runs.length - 1] as Run).length - startVcn : 0;
  if (lastVcn >= startVcn && covered < lastVcn - startVcn + 1) throw new Error(`${what}: runlist covers ${covered} clusters, not VCNs ${startVcn}-${lastVcn}`);
  return { type, name, flags, id, record, value: null, startVcn, lastVcn, compressionUnit, allocatedSize, dataSize, initializedSize: Math.min(initializedSize, dataSize), runs };
}

function safe(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what}: a size or VCN (${value}) is absurd`);
  return Number(value);
}

/** UTF-16LE to a string; unpaired surrogates become U+FFFD. */
export function utf16(bytes: Buffer, offset: number, length: number): string {
  return bytes
    .toString('utf16le', offset, offset + length)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A FILETIME (100 ns since 1601) as ms since 1970, or null for 0. */
export function filetimeMs(bytes: Buffer, offset: number): number | null {
  const value = bytes.readBigUInt64LE(offset);
  if (value === 0n) return null;
  return Number(value / 10000n) - 11644473600000;
}

export interface FileName {
  parent: number;
  parentSequence: number;
  createdMs: number | null;
  modifiedMs: number | null;
  changedMs: number | null;
  accessedMs: number | null;
  realSize: number;
  flags: number;
  /** 0 POSIX, 1 Win32, 2 DOS, 3 Win32 and DOS. */
  namespace: number;
  name: string;
}

export const NAMESPACE_DOS = 2;

/** A $FILE_NAME value (also the key of a directory index entry). */
export function parseFileName(v: Buffer): FileName {
  if (v.length < 0x42) throw new Error('$FILE_NAME is too short');
  const nameLength = v[0x40] as number;
  if (0x42 + nameLength * 2 > v.length) throw new Error('$FILE_NAME name runs past its value');
  const parentRef = v.readBigUInt64LE(0);
  return {
    parent: Number(parentRef & 0xffffffffffffn),
    parentSequence: Number(parentRef >> 48n),
    createdMs: filetimeMs(v, 0x08),
    modifiedMs: filetimeMs(v, 0x10),
    changedMs: filetimeMs(v, 0x18),
    accessedMs: filetimeMs(v, 0x20),
    realSize: Number(v.readBigUInt64LE(0x30)),
    flags: v.readUInt32LE(0x38),
    namespace: v[0x41] as number,
    name: utf16(v, 0x42, nameLength * 2),
  };
}

/** File attribute bits (in $STANDARD_INFORMATION and $FILE_NAME) as the interface's words. */
export function attributeWords(flags: number): string[] {
  const words: string[] = [];
  const names: [number, string][] = [
    [0x0001, 'readonly'],
    [0x0002, 'hidden'],
    [0x0004, 'system'],
    [0x0020, 'archive'],
    [0x0200, 'sparse'],
    [0x0400, 'reparse'],
    [0x0800, 'compressed'],
    [0x4000, 'encrypted'],
  ];
  for (const [bit, word] of names) if (flags & bit) words.push(word);
  return words;
}

export const FILE_ATTR_DIRECTORY = 0x10000000;
export const FILE_ATTR_ENCRYPTED = 0x4000;

export interface Reparse {
  tag: number;
  target: string | null;
  /** The whole value (tag, length, data), for tags that carry more than a target (WOF). */
  value: Buffer;
}

export const REPARSE = { mountPoint: 0xa0000003, symlink: 0xa000000c, wof: 0x80000017, dedup: 0x80000013 } as const;

/** A $REPARSE_POINT value: the tag, and for symlinks and junctions the target (print name first). */
export function parseReparse(v: Buffer): Reparse {
  if (v.length < 8) throw new Error('$REPARSE_POINT is too short');
  const tag = v.readUInt32LE(0);
  const dataLength = v.readUInt16LE(4);
  if (8 + dataLength > v.length) throw new Error('$REPARSE_POINT data runs past its value');
  const pathsAt = tag === REPARSE.symlink ? 20 : tag === REPARSE.mountPoint ? 16 : -1;
  if (pathsAt < 0 || dataLength < pathsAt - 8) return { tag, target: null, value: v };
  const name = (offsetAt: number): string | null => {
    const offset = v.readUInt16LE(offsetAt);
    const length = v.readUInt16LE(offsetAt + 2);
    if (length === 0 || pathsAt + offset + length > 8 + dataLength) return null;
    return utf16(v, pathsAt + offset, length);
  };
  const target = name(12) ?? name(8);
  return { tag, target: target && tag === REPARSE.mountPoint ? target.replace(/^\\\?\?\\/, '') : target, value: v };
}
