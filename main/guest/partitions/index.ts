/**
 * Which partition table a disk has, and its partitions: GPT (512-byte or 4Kn sectors, told apart by
 * where the header is), MBR with logicals, a hybrid MBR (the GPT is used and the MBR's extra entries
 * noted), or none (the caller decides whether the first sector is a file system or an LVM PV).
 */
import { readBytes, type BlockDevice } from '../block-device.js';
import { hasGptSignature, readGpt } from './gpt.js';
import { mbrPartitions, mbrSlots } from './mbr.js';
import { hex2 } from './type-names.js';
import type { PartitionTable } from './types.js';

export type { PartitionEntry, PartitionTable, TableScheme } from './types.js';
export { gptType, mbrType, type TypedContent } from './type-names.js';

const PROTECTIVE = 0xee;

export function readPartitionTable(device: BlockDevice): PartitionTable {
  const none: PartitionTable = { scheme: 'none', sectorSize: device.sectorSize, partitions: [], notes: [] };
  if (device.size < 512) return none;
  const slots = mbrSlots(readBytes(device, 0, 512));
  const protective = slots?.some((s) => s.type === PROTECTIVE) ?? false;
  const gptSectorSize = [512, 4096].find((ss) => hasGptSignature(device, 1, ss));
  if (gptSectorSize !== undefined || protective) {
    const sectorSize = gptSectorSize ?? backupSectorSize(device) ?? 512;
    const gpt = readGpt(device, sectorSize);
    const notes = [...gpt.notes];
    if (sectorSize === 4096) notes.push('4096-byte sectors (4Kn)');
    const others = (slots ?? []).filter((s) => s.type !== PROTECTIVE);
    if (protective && others.length > 0) {
      notes.push(`hybrid MBR: the MBR also lists ${others.map((s) => `slot ${s.slot + 1} (type 0x${hex2(s.type)})`).join(', ')}; the GPT is used`);
    } else if (!protective) {
      notes.push('the MBR has no protective (0xEE) entry');
    }
    return { scheme: 'gpt', sectorSize, partitions: gpt.partitions, notes };
  }
  if (slots && slots.length > 0) {
    const sectorSize = device.sectorSize;
    return { scheme: 'mbr', sectorSize, partitions: mbrPartitions(device, slots, sectorSize), notes: [] };
  }
  return none;
}

/** A protective MBR whose primary GPT header is gone: the backup's place tells the sector size. */
function backupSectorSize(device: BlockDevice): number | undefined {
  return [512, 4096].find((ss) => hasGptSignature(device, Math.floor(device.size / ss) - 1, ss));
}
