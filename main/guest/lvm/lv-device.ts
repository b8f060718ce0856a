/**
 * A linear or striped LV as a block device: each read is split where a segment or a stripe chunk
 * ends, and each piece is one read of the PV that holds it (a linear LV reads in one piece).
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import type { LogicalVolume, PvRef, VolumeGroup } from './volume-group.js';

/** `pvs` maps each PV key of the VG to the device it is on. */
export function lvDevice(vg: VolumeGroup, lv: LogicalVolume, pvs: Map<string, { ref: PvRef; device: BlockDevice }>, name: string, file: string): BlockDevice {
  if (lv.refused) throw new DiskchainError('E_UNSUPPORTED', lv.refused, file);
  const extent = vg.extentSize;
  // Checked once here, so that a read can never land outside a PV's data.
  for (const s of lv.segments) {
    for (const area of s.stripes) {
      const pv = pvs.get(area.pv);
      if (!pv) throw new DiskchainError('E_UNSUPPORTED', `${vg.name}/${lv.name} needs PV ${area.pv}, which is not on this disk`, file);
      const end = pv.ref.peStart + (area.startExtent + s.extentCount / s.stripes.length) * extent;
      if (end > pv.device.size) {
        throw new DiskchainError('E_FORMAT', `LVM ${vg.name}/${lv.name}: maps to byte ${end} of ${area.pv}, past its end (${pv.device.size} bytes)`, file);
      }
    }
  }
  const segments = lv.segments;
  const read = (buf: Buffer, offset: number): void => {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + buf.length > lv.size) {
      throw new DiskchainError('E_FORMAT', `${name}: a read of ${buf.length} bytes at ${offset} lies past the end (${lv.size} bytes)`, file, offset);
    }
    let done = 0;
    while (done < buf.length) {
      const at = offset + done;
      const seg = segments[findSegment(at, extent)]!;
      const inSeg = at - seg.startExtent * extent;
      const segEnd = seg.extentCount * extent;
      const stripes = seg.stripes.length;
      let pvOffset: number;
      let length = Math.min(buf.length - done, segEnd - inSeg);
      let area = seg.stripes[0]!;
      if (stripes === 1) {
        pvOffset = inSeg;
      } else {
        const chunk = Math.floor(inSeg / seg.stripeSize);
        const within = inSeg % seg.stripeSize;
        area = seg.stripes[chunk % stripes]!;
        pvOffset = Math.floor(chunk / stripes) * seg.stripeSize + within;
        length = Math.min(length, seg.stripeSize - within);
      }
      const pv = pvs.get(area.pv)!;
      pv.device.read(buf.subarray(done, done + length), pv.ref.peStart + area.startExtent * extent + pvOffset);
      done += length;
    }
  };
  const findSegment = (at: number, extentSize: number): number => {
    const e = Math.floor(at / extentSize);
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid]!.startExtent <= e) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const first = [...pvs.values()][0]?.device;
  return { size: lv.size, sectorSize: first?.sectorSize ?? 512, name, file, read };
}
