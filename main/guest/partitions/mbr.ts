/**
 * The MBR and its chain of EBRs. Logical partitions: each EBR's first entry is relative to that
 * EBR, its second (the next EBR) relative to the start of the extended partition. The chain is
 * walked with a visited set and a cap, so a damaged or hostile chain is refused, never followed forever.
 */
import { DiskchainError } from '../../../shared/errors.js';
import { readBytes, type BlockDevice } from '../block-device.js';
import { hex2, isExtendedType, mbrType } from './type-names.js';
import type { PartitionEntry } from './types.js';

/** Linux gives up after about as many; a real disk has a handful. */
export const MAX_LOGICALS = 128;

export interface MbrSlot {
  /** 0–3. */
  slot: number;
  bootable: boolean;
  type: number;
  startLba: number;
  sectors: number;
}

/**
 * The four slots of a boot sector, or null when it is not an MBR: no 0x55AA, or a used slot whose
 * status byte is neither 0x00 nor 0x80 (boot code of a file system's boot sector, most likely).
 */
export function mbrSlots(sector: Buffer): MbrSlot[] | null {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return null;
  const slots: MbrSlot[] = [];
  for (let slot = 0; slot < 4; slot++) {
    const at = 446 + slot * 16;
    const status = sector[at]!;
    const type = sector[at + 4]!;
    const startLba = sector.readUInt32LE(at + 8);
    const sectors = sector.readUInt32LE(at + 12);
    if (type === 0 && sectors === 0) continue;
    if (status !== 0x00 && status !== 0x80) return null;
    slots.push({ slot, bootable: status === 0x80, type, startLba, sectors });
  }
  return slots;
}

/** The primaries (1–4 by slot) and the logicals (5 on) of an MBR disk; the extended container itself is not listed. */
export function mbrPartitions(device: BlockDevice, slots: MbrSlot[], sectorSize: number): PartitionEntry[] {
  const partitions: PartitionEntry[] = [];
  const extended = slots.filter((s) => isExtendedType(s.type));
  for (const s of slots) {
    if (isExtendedType(s.type) || s.sectors === 0) continue;
    partitions.push(entry(device, s.slot + 1, s.type, s.startLba, s.sectors, s.bootable, sectorSize));
  }
  if (extended.length > 1) {
    throw new DiskchainError('E_FORMAT', `MBR: ${extended.length} extended partitions (slots ${extended.map((s) => s.slot + 1).join(', ')}); a disk has at most one`, device.file);
  }
  if (extended[0]) partitions.push(...logicals(device, extended[0], sectorSize));
  return partitions;
}

function logicals(device: BlockDevice, ext: MbrSlot, sectorSize: number): PartitionEntry[] {
  const found: PartitionEntry[] = [];
  const visited = new Set<number>();
  let ebrRel = 0;
  for (;;) {
    const ebrLba = ext.startLba + ebrRel;
    if (visited.has(ebrRel)) {
      throw new DiskchainError('E_FORMAT', `MBR extended partition: the EBR chain loops back to sector ${ebrLba}`, device.file, ebrLba * sectorSize);
    }
    if (visited.size >= MAX_LOGICALS) {
      throw new DiskchainError('E_FORMAT', `MBR extended partition: the EBR chain has more than ${MAX_LOGICALS} links`, device.file, ebrLba * sectorSize);
    }
    visited.add(ebrRel);
    if (ebrRel >= ext.sectors || (ebrLba + 1) * sectorSize > device.size) {
      throw new DiskchainError('E_FORMAT', `MBR extended partition: EBR at sector ${ebrLba} lies outside the extended partition`, device.file, ebrLba * sectorSize);
    }
    const ebr = readBytes(device, ebrLba * sectorSize, 512);
    if (ebr[510] !== 0x55 || ebr[511] !== 0xaa) {
      // Linux stops here too; the logicals found so far stand.
      if (found.length > 0) found[found.length - 1]!.notes.push(`the EBR chain ends at sector ${ebrLba}, which has no 0x55AA signature`);
      return found;
    }
    const type = ebr[446 + 4]!;
    const start = ebr.readUInt32LE(446 + 8);
    const sectors = ebr.readUInt32LE(446 + 12);
    if (type !== 0 && sectors !== 0 && !isExtendedType(type)) {
      found.push(entry(device, 5 + found.length, type, ebrLba + start, sectors, ebr[446] === 0x80, sectorSize));
    }
    const nextType = ebr[462 + 4]!;
    const nextStart = ebr.readUInt32LE(462 + 8);
    const nextSectors = ebr.readUInt32LE(462 + 12);
    if (!isExtendedType(nextType) || nextSectors === 0) return found;
    ebrRel = nextStart;
  }
}

function entry(device: BlockDevice, index: number, type: number, startLba: number, sectors: number, bootable: boolean, sectorSize: number): PartitionEntry {
  const start = startLba * sectorSize;
  const size = sectors * sectorSize;
  const notes: string[] = [];
  if (start + size > device.size) notes.push(`runs past the end of the disk (ends at ${start + size}, the disk has ${device.size} bytes)`);
  return { index, scheme: 'mbr', start, size, typeCode: `0x${hex2(type)}`, typeName: mbrType(type).name, name: null, partUuid: null, bootable, notes };
}
