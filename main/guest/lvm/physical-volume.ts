/**
 * An LVM2 physical volume: the `LABELONE` label in one of the first four sectors, the PV header
 * (UUID, data and metadata areas) and, in each metadata area, the current copy of the VG's text
 * metadata (a circular buffer after the 512-byte area header). Every CRC is checked; every offset
 * and size is checked against the device before it is read.
 */
import { DiskchainError } from '../../../shared/errors.js';
import { readBytes, type BlockDevice } from '../block-device.js';
import { lvmCrc } from '../crc.js';

const LABEL_SCAN_SECTORS = 4;
const MDA_MAGIC = ' LVM2 x[5A%r0N*>';
const MDA_HEADER_SIZE = 512;
/** lvm.conf caps metadata areas far below this; a text this big is damage. */
const MAX_METADATA_TEXT = 16 * 1024 * 1024;
const MAX_AREAS = 8;

export interface DiskArea {
  offset: number;
  size: number;
}

export interface MetadataCopy {
  /** Byte offset of the metadata area on the PV. */
  areaOffset: number;
  text: string;
}

export interface PhysicalVolume {
  device: BlockDevice;
  /** As LVM prints it: 6-4-4-4-4-4-6 characters. */
  uuid: string;
  dataAreas: DiskArea[];
  /** The current text of each metadata area whose header and checksum are good. */
  metadata: MetadataCopy[];
  /** Damaged metadata areas, said rather than hidden. */
  notes: string[];
}

/** True when one of the first four sectors holds an LVM2 label. */
export function hasLvmLabel(device: BlockDevice): boolean {
  return findLabelSector(device) !== null;
}

function findLabelSector(device: BlockDevice): { sector: number; bytes: Buffer } | null {
  for (let sector = 0; sector < LABEL_SCAN_SECTORS && (sector + 1) * 512 <= device.size; sector++) {
    const bytes = readBytes(device, sector * 512, 512);
    if (bytes.toString('latin1', 0, 8) === 'LABELONE' && bytes.toString('latin1', 24, 32) === 'LVM2 001') return { sector, bytes };
  }
  return null;
}

/** The PV on a device, or null when it has no LVM2 label. */
export function readPhysicalVolume(device: BlockDevice): PhysicalVolume | null {
  const label = findLabelSector(device);
  if (!label) return null;
  const fail = (what: string): never => {
    throw new DiskchainError('E_FORMAT', `LVM PV label of ${device.name}: ${what}`, device.file, label.sector * 512);
  };
  const { bytes } = label;
  if (Number(bytes.readBigUInt64LE(8)) !== label.sector) fail(`says it is in sector ${bytes.readBigUInt64LE(8)}, found in sector ${label.sector}`);
  if (lvmCrc(bytes.subarray(20, 512)) !== bytes.readUInt32LE(16)) fail('CRC is wrong');
  const headerAt = bytes.readUInt32LE(20);
  if (headerAt < 32 || headerAt > 512 - 40) fail(`PV header offset ${headerAt} is out of range`);
  const header = bytes.subarray(headerAt);
  const uuid = pvUuid(header.toString('latin1', 0, 32));
  let at = 40;
  const areaList = (): DiskArea[] => {
    const areas: DiskArea[] = [];
    for (;;) {
      if (at + 16 > header.length) fail('area list runs past the label sector');
      const offset = u64(header, at);
      const size = u64(header, at + 8);
      at += 16;
      if (offset === 0) return areas;
      if (areas.length >= MAX_AREAS) fail(`more than ${MAX_AREAS} areas`);
      areas.push({ offset, size });
    }
  };
  const dataAreas = areaList();
  const metadataAreas = areaList();
  const notes: string[] = [];
  const metadata: MetadataCopy[] = [];
  for (const area of metadataAreas) {
    const text = readMetadataArea(device, area);
    if (typeof text === 'string') metadata.push({ areaOffset: area.offset, text });
    else notes.push(`metadata area at ${area.offset}: ${text.problem}`);
  }
  return { device, uuid, dataAreas, metadata, notes };
}

/** The current metadata text of one area, or what is wrong with it. */
function readMetadataArea(device: BlockDevice, area: DiskArea): string | { problem: string } {
  if (area.size <= MDA_HEADER_SIZE || area.offset + area.size > device.size) return { problem: `area of ${area.size} bytes lies past the end of the PV` };
  const header = readBytes(device, area.offset, MDA_HEADER_SIZE);
  if (header.toString('latin1', 4, 20) !== MDA_MAGIC) return { problem: 'no metadata area header' };
  if (lvmCrc(header.subarray(4)) !== header.readUInt32LE(0)) return { problem: 'header CRC is wrong' };
  if (u64(header, 24) !== area.offset) return { problem: `header says it starts at ${u64(header, 24)}` };
  const offset = u64(header, 40);
  const size = u64(header, 48);
  const checksum = header.readUInt32LE(56);
  if (offset === 0 || size === 0) return { problem: 'holds no metadata' };
  if (offset < MDA_HEADER_SIZE || offset >= area.size || size > area.size - MDA_HEADER_SIZE || size > MAX_METADATA_TEXT) {
    return { problem: `metadata of ${size} bytes at ${offset} does not fit the area` };
  }
  // A circular buffer: text that runs past the end continues right after the header.
  const first = Math.min(size, area.size - offset);
  const text = Buffer.alloc(size);
  device.read(text.subarray(0, first), area.offset + offset);
  if (first < size) device.read(text.subarray(first), area.offset + MDA_HEADER_SIZE);
  if (lvmCrc(text) !== checksum) return { problem: 'metadata checksum is wrong' };
  const nul = text.indexOf(0);
  return text.toString('utf8', 0, nul < 0 ? text.length : nul);
}

function pvUuid(raw: string): string {
  const cuts = [6, 4, 4, 4, 4, 4, 6];
  const parts: string[] = [];
  let at = 0;
  for (const n of cuts) {
    parts.push(raw.slice(at, at + n));
    at += n;
  }
  return parts.join('-');
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}
