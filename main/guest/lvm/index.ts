/**
 * The volume groups whose PVs are on one disk: each VG from its newest metadata copy (highest
 * seqno over every good metadata area of its PVs), with its PVs matched by UUID.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import { lvDevice } from './lv-device.js';
import type { PhysicalVolume } from './physical-volume.js';
import { parseVolumeGroup, type LogicalVolume, type PvRef, type VolumeGroup } from './volume-group.js';

export { hasLvmLabel, readPhysicalVolume, type PhysicalVolume } from './physical-volume.js';
export type { LogicalVolume, VolumeGroup } from './volume-group.js';

export interface FoundVolumeGroup {
  vg: VolumeGroup;
  /** PV key → the device it is on, for the PVs found on this disk. */
  pvs: Map<string, { ref: PvRef; device: BlockDevice }>;
  /** PVs of the VG that are not on this disk (another disk of the VM). */
  missing: PvRef[];
  notes: string[];
}

/** The VGs, and the metadata copies that could not be parsed (said, not fatal: another copy may be good). */
export function assembleVolumeGroups(physical: PhysicalVolume[], file: string): { groups: FoundVolumeGroup[]; problems: string[] } {
  const newest = new Map<string, VolumeGroup>();
  const notes = new Map<string, string[]>();
  const problems: string[] = [];
  for (const pv of physical) {
    for (const copy of pv.metadata) {
      let vg: VolumeGroup;
      try {
        vg = parseVolumeGroup(copy.text, file);
      } catch (e) {
        if (!(e instanceof DiskchainError)) throw e;
        problems.push(`PV ${pv.uuid}, metadata area at ${copy.areaOffset}: ${e.message}`);
        continue;
      }
      const known = newest.get(vg.uuid);
      if (known && known.seqno !== vg.seqno) {
        const list = notes.get(vg.uuid) ?? [];
        list.push(`metadata copies differ (seqno ${Math.min(known.seqno, vg.seqno)} and ${Math.max(known.seqno, vg.seqno)}); the newest is read`);
        notes.set(vg.uuid, list);
      }
      if (!known || vg.seqno > known.seqno) newest.set(vg.uuid, vg);
    }
  }
  const found: FoundVolumeGroup[] = [];
  for (const vg of newest.values()) {
    const pvs = new Map<string, { ref: PvRef; device: BlockDevice }>();
    const missing: PvRef[] = [];
    for (const ref of vg.pvs) {
      const pv = physical.find((p) => sameUuid(p.uuid, ref.uuid));
      if (pv) pvs.set(ref.key, { ref, device: pv.device });
      else missing.push(ref);
    }
    const vgNotes = [...new Set(notes.get(vg.uuid) ?? [])];
    if (missing.length > 0) vgNotes.push(`PV${missing.length > 1 ? 's' : ''} ${missing.map((m) => m.uuid).join(', ')} not on this disk`);
    found.push({ vg, pvs, missing, notes: vgNotes });
  }
  return { groups: found, problems };
}

/** The LV as a device, or E_UNSUPPORTED saying why it cannot be read. */
export function openLogicalVolume(found: FoundVolumeGroup, lv: LogicalVolume, name: string, file: string): BlockDevice {
  if (!found.vg.lvs.includes(lv)) throw new DiskchainError('E_NOTFOUND', `no LV ${lv.name} in VG ${found.vg.name}`, file);
  return lvDevice(found.vg, lv, found.pvs, name, file);
}

function sameUuid(a: string, b: string): boolean {
  return a.replace(/-/g, '') === b.replace(/-/g, '');
}
