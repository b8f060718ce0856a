/**
 * GPT: the primary header at LBA 1 and its entry array; when either CRC is wrong (or the header is
 * missing), the backup header at the last LBA. Which one was read is said in the table's notes.
 */
import { DiskchainError } from '../../../shared/errors.js';
import { readBytes, type BlockDevice } from '../block-device.js';
import { crc32 } from '../crc.js';
import { gptType } from './type-names.js';
import type { PartitionEntry } from './types.js';

const SIGNATURE = 'EFI PART';
/** The spec's minimum is 128 entries; tools never write more than a few hundred. */
const MAX_ENTRIES = 4096;
const MAX_ARRAY_BYTES = 1024 * 1024;

export interface GptRead {
  partitions: PartitionEntry[];
  notes: string[];
}

/** True when the sector at `lba` starts with the GPT signature. */
export function hasGptSignature(device: BlockDevice, lba: number, sectorSize: number): boolean {
  const at = lba * sectorSize;
  if (at < 0 || at + 8 > device.size) return false;
  return readBytes(device, at, 8).toString('latin1') === SIGNATURE;
}

export function readGpt(device: BlockDevice, sectorSize: number): GptRead {
  const lastLba = Math.floor(device.size / sectorSize) - 1;
  const primary = tryHeader(device, 1, sectorSize);
  if (typeof primary !== 'string') {
    const notes: string[] = [];
    const backupLba = primary.alternateLba <= lastLba && primary.alternateLba > 1 ? primary.alternateLba : lastLba;
    const backup = tryHeader(device, backupLba, sectorSize);
    if (typeof backup === 'string') notes.push(`backup GPT at LBA ${backupLba}: ${backup}`);
    else if (backupLba < lastLba) notes.push(`the backup GPT is at LBA ${backupLba}, not at the last LBA (${lastLba}): the disk grew after it was partitioned`);
    return { partitions: primary.partitions, notes };
  }
  const backup = tryHeader(device, lastLba, sectorSize);
  if (typeof backup === 'string') {
    throw new DiskchainError('E_FORMAT', `GPT: primary header at LBA 1: ${primary}; backup at LBA ${lastLba}: ${backup}`, device.file);
  }
  return { partitions: backup.partitions, notes: [`primary GPT at LBA 1: ${primary}; read the backup GPT at LBA ${lastLba}`] };
}

interface Header {
  alternateLba: number;
  partitions: PartitionEntry[];
}

/** The header at `lba` and its partitions, or why they cannot be used. */
function tryHeader(device: BlockDevice, lba: number, sectorSize: number): Header | string {
  if (lba < 1 || (lba + 1) * sectorSize > device.size) return 'lies past the end of the disk';
  const sector = readBytes(device, lba * sectorSize, sectorSize);
  if (sector.toString('latin1', 0, 8) !== SIGNATURE) return 'no "EFI PART" signature';
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < 92 || headerSize > sectorSize) return `header size ${headerSize} is out of range`;
  const stored = sector.readUInt32LE(16);
  const copy = Buffer.from(sector.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== stored) return 'header CRC is wrong';
  const myLba = u64(sector, 24);
  if (myLba !== lba) return `header says it is at LBA ${myLba}`;
  const alternateLba = u64(sector, 32);
  const entriesLba = u64(sector, 72);
  const count = sector.readUInt32LE(80);
  const entrySize = sector.readUInt32LE(84);
  const arrayCrc = sector.readUInt32LE(88);
  if (entrySize < 128 || entrySize % 8 !== 0 || entrySize > 4096) return `entry size ${entrySize} is out of range`;
  if (count > MAX_ENTRIES || count * entrySize > MAX_ARRAY_BYTES) return `${count} entries of ${entrySize} bytes is more than a GPT holds`;
  const arrayAt = entriesLba * sectorSize;
  if (!Number.isSafeInteger(arrayAt) || entriesLba < 1 || arrayAt + count * entrySize > device.size) return `entry array at LBA ${entriesLba} lies past the end of the disk`;
  const array = readBytes(device, arrayAt, count * entrySize);
  if (crc32(array) !== arrayCrc) return 'entry array CRC is wrong';
  return { alternateLba, partitions: entries(device, array, count, entrySize, sectorSize) };
}

function entries(device: BlockDevice, array: Buffer, count: number, entrySize: number, sectorSize: number): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = array.subarray(i * entrySize, (i + 1) * entrySize);
    const typeGuid = guid(e, 0);
    if (typeGuid === '00000000-0000-0000-0000-000000000000') continue;
    const first = u64(e, 32);
    const last = u64(e, 40);
    const notes: string[] = [];
    const start = first * sectorSize;
    let size = last >= first ? (last - first + 1) * sectorSize : 0;
    if (last < first) notes.push(`ends (LBA ${last}) before it starts (LBA ${first})`);
    if (!Number.isSafeInteger(start + size) || start + size > device.size) {
      notes.push(`runs past the end of the disk (LBA ${first}–${last}, the disk has ${Math.floor(device.size / sectorSize)} sectors)`);
      size = Math.max(0, Math.min(size, device.size - start));
    }
    const attributes = e.readUInt32LE(48);
    out.push({
      index: i + 1,
      scheme: 'gpt',
      start,
      size,
      typeCode: typeGuid,
      typeName: gptType(typeGuid).name,
      name: utf16z(e.subarray(56, 128)),
      partUuid: guid(e, 16),
      bootable: (attributes & 4) !== 0,
      notes,
    });
  }
  return out;
}

/** A little-endian u64 as a number; past 2^53 it is no offset on any disk, so it becomes Infinity-like. */
function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

/** The mixed-endian GUID text of EFI: the first three fields little-endian. */
export function guid(buf: Buffer, at: number): string {
  const h = (from: number, to: number, reverse: boolean): string => {
    const bytes = [...buf.subarray(at + from, at + to)];
    return (reverse ? bytes.reverse() : bytes).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`.toUpperCase();
}

function utf16z(bytes: Buffer): string {
  const text = bytes.toString('utf16le');
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}
