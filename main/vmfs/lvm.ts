/**
 * The VMFS LVM (vmfs.md §3.2): each device (LUN or partition) starts with a header at +1 MiB that
 * names the logical volume it belongs to and the range of 256 MiB physical extents (PEs) it holds.
 * A volume spanning several devices is their PE ranges laid end to end, ordered by the first PE.
 */
import { DiskchainError } from '../../shared/errors.js';
import { deviceRun, readBytes, type BlockDevice, type DeviceRun } from '../guest/block-device.js';
import { formatUuid, textField } from './text.js';

export const LVM_MAGIC = 0xc001d00d;
export const LVM_HEADER_OFFSET = 0x100000;
export const PE_SIZE = 256 * 1024 * 1024;
/** VMFS-3/5 volume table entry offset from the header; LVM6 uses mdAlignment instead. */
const VOLUME_TABLE_V5 = 0x200;
const MAX_EXTENTS = 32;

export interface ScsiId {
  lun: number;
  vendor: string;
  model: string;
  revision: string;
  /** The device's identifier (text, or hex when not printable): what `esxcli storage core device list` names. */
  id: string;
}

export interface LvmHeader {
  device: BlockDevice;
  /** Where the header is on the device (normally 1 MiB). */
  headerOffset: number;
  majorVersion: number;
  minorVersion: number;
  scsi: ScsiId;
  totalBytes: number;
  /** Where PE 0 of this device starts, from the device's start. */
  dataOffset: number;
  deviceUuid: string;
  createdMs: number | null;
  modifiedMs: number | null;
  mdAlignment: number;
  /** Flag 1: a VMFS-L (ESXi 7 OSDATA) volume. */
  flags: number;
  /** The logical volume this device belongs to. */
  lvUuid: string;
  lvName: string;
  logicalSize: number;
  numPEs: number;
  firstPE: number;
  lastPE: number;
  /** How many devices the volume has in all. */
  numDevs: number;
}

export function hasLvmMagic(device: BlockDevice, at: number): boolean {
  return device.size >= at + 512 && readBytes(device, at, 4).readUInt32LE(0) === LVM_MAGIC;
}

const usec = (v: bigint): number | null => (v === 0n ? null : Number(v / 1000n));

/** Reads and checks the LVM header at `at`; damage names the device and the offset. */
export function readLvmHeader(device: BlockDevice, at = LVM_HEADER_OFFSET): LvmHeader {
  const damaged = (what: string, offset: number): DiskchainError => new DiskchainError('E_FORMAT', `VMFS LVM header: ${what}`, device.file, offset);
  if (device.size < at + 0x2000) throw damaged(`the device (${device.size} bytes) ends before the LVM header`, at);
  const h = readBytes(device, at, 0x2000);
  if (h.readUInt32LE(0) !== LVM_MAGIC) throw damaged('no LVM magic (0xC001D00D)', at);
  const majorVersion = h.readUInt32LE(4);
  const mdAlignment = majorVersion >= 6 ? h.readUInt32LE(0xca) : 0;
  if (majorVersion >= 6 && (mdAlignment < 512 || mdAlignment > 0x1000 || (mdAlignment & (mdAlignment - 1)) !== 0)) {
    throw damaged(`metadata alignment ${mdAlignment} is not a power of two from 512 to 4096`, at + 0xca);
  }
  const vt = majorVersion >= 6 ? mdAlignment : VOLUME_TABLE_V5;
  const dataOffset = Number(h.readBigUInt64LE(0x7a));
  const firstPE = Number(h.readBigUInt64LE(vt + 0x78));
  const lastPE = Number(h.readBigUInt64LE(vt + 0x80));
  const numDevs = h.readUInt32LE(vt + 0x90);
  const logicalSize = Number(h.readBigUInt64LE(vt));
  if (dataOffset < at + 0x1000 || !Number.isSafeInteger(dataOffset) || dataOffset > device.size) {
    throw damaged(`data offset ${dataOffset} lies outside the device (${device.size} bytes)`, at + 0x7a);
  }
  if (!Number.isSafeInteger(lastPE) || firstPE > lastPE || lastPE > 0x40000) throw damaged(`PE range ${firstPE}–${lastPE} is not a range`, at + vt + 0x78);
  if (numDevs < 1 || numDevs > MAX_EXTENTS) throw damaged(`${numDevs} devices (1 to ${MAX_EXTENTS} expected)`, at + vt + 0x90);
  if (!Number.isSafeInteger(logicalSize) || logicalSize > (lastPE + 1) * PE_SIZE * MAX_EXTENTS) throw damaged(`logical size ${logicalSize} is absurd`, at + vt);
  return {
    device,
    headerOffset: at,
    majorVersion,
    minorVersion: h.readUInt32LE(8),
    scsi: readScsiId(h, 0x0c),
    totalBytes: Number(h.readBigUInt64LE(0x5e)),
    dataOffset,
    deviceUuid: formatUuid(h, 0x82),
    createdMs: usec(h.readBigUInt64LE(0x92)),
    modifiedMs: usec(h.readBigUInt64LE(0x9a)),
    mdAlignment,
    flags: majorVersion >= 6 ? h.readUInt32LE(0xd2) : 0,
    lvUuid: formatUuid(h, vt + 0x54),
    lvName: textField(h, vt + 0x14, 64),
    logicalSize,
    numPEs: h.readUInt32LE(vt + 0x74),
    firstPE,
    lastPE,
    numDevs,
  };
}

/** A SCSI disk id (LVM header @0x0C, an RDM's FD data area): type, length, LUN, inquiry strings, identifier. */
export function readScsiId(b: Buffer, at: number): ScsiId {
  const idLength = Math.min(b[at + 1]!, 0x40);
  const raw = b.subarray(at + 0x22, at + 0x22 + (idLength || 0x40));
  const printable = raw.every((c) => c === 0 || (c >= 0x20 && c < 0x7f));
  return {
    lun: b.readUInt16LE(at + 2),
    vendor: textField(b, at + 6, 8).trim(),
    model: textField(b, at + 14, 16).trim(),
    revision: textField(b, at + 30, 4).trim(),
    id: printable ? textField(raw, 0, raw.length) : raw.toString('hex'),
  };
}

/** One device's run of the logical volume. */
export interface ExtentRun {
  header: LvmHeader;
  firstPE: number;
  lastPE: number;
}

/**
 * Lays the devices' PE ranges end to end. Every device must belong to the same logical volume;
 * ranges must not overlap; gaps are missing extents, named when a read needs them.
 */
export function assembleExtents(headers: LvmHeader[]): { runs: ExtentRun[]; missing: string[] } {
  const first = headers[0]!;
  for (const h of headers) {
    if (h.lvUuid !== first.lvUuid) {
      throw new DiskchainError('E_FORMAT', `belongs to another VMFS volume (LV ${h.lvUuid}, not ${first.lvUuid} of ${first.device.file})`, h.device.file);
    }
  }
  const sorted = [...headers].sort((a, b) => a.firstPE - b.firstPE);
  const runs: ExtentRun[] = [];
  const missing: string[] = [];
  let next = 0;
  sorted.forEach((h, i) => {
    if (h.firstPE < next) {
      throw new DiskchainError('E_FORMAT', `its PEs ${h.firstPE}–${h.lastPE} overlap those of ${sorted[i - 1]!.device.file} (the same extent given twice?)`, h.device.file);
    }
    if (h.firstPE > next) missing.push(gap(next, h.firstPE - 1));
    runs.push({ header: h, firstPE: h.firstPE, lastPE: h.lastPE });
    next = h.lastPE + 1;
  });
  const lastNeeded = Math.ceil(first.logicalSize / PE_SIZE) - 1;
  if (next <= lastNeeded) missing.push(gap(next, lastNeeded));
  if (sorted.length < first.numDevs && missing.length === 0) missing.push(`${first.numDevs - sorted.length} of ${first.numDevs} extents`);
  return { runs, missing };
}

const gap = (from: number, to: number): string => `the extent holding PEs ${from}–${to} (bytes ${from * PE_SIZE}–${(to + 1) * PE_SIZE - 1} of the volume)`;

/** The logical volume as one device; reads are split at extent boundaries, a missing extent is named. */
export function logicalDevice(runs: ExtentRun[], missing: string[], size: number, name: string): BlockDevice {
  const file = runs[0]!.header.device.file;
  const read = (buf: Buffer, offset: number): void => {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + buf.length > size) {
      throw new DiskchainError('E_FORMAT', `a read of ${buf.length} bytes at ${offset} lies past the end of the volume (${size} bytes)`, file, offset);
    }
    let done = 0;
    while (done < buf.length) {
      const at = offset + done;
      const pe = Math.floor(at / PE_SIZE);
      const run = runs.find((r) => pe >= r.firstPE && pe <= r.lastPE);
      if (!run) {
        const what = missing.length ? missing.join('; ') : `PE ${pe}`;
        throw new DiskchainError('E_NOTFOUND', `byte ${at} of the volume is on a missing extent (${what}): give every extent's image`, file, at);
      }
      const h = run.header;
      const runEnd = (run.lastPE + 1) * PE_SIZE;
      const n = Math.min(buf.length - done, runEnd - at);
      const physical = h.dataOffset + (at - run.firstPE * PE_SIZE);
      if (physical + n > h.device.size) {
        throw new DiskchainError('E_FORMAT', `the extent image ends at ${h.device.size} bytes, the volume needs byte ${physical + n - 1} of it (a truncated copy?)`, h.device.file, physical);
      }
      h.device.read(buf.subarray(done, done + n), physical);
      done += n;
    }
  };
  /** Where the volume's bytes lie on its extents' devices (and through them in host files); a missing extent is left to read() to refuse. */
  const hostRuns = (offset: number, length: number): DeviceRun[] => {
    const out: DeviceRun[] = [];
    for (let at = offset; at < offset + length; ) {
      const pe = Math.floor(at / PE_SIZE);
      const run = runs.find((r) => pe >= r.firstPE && pe <= r.lastPE);
      const h = run?.header;
      const n = run ? Math.min(offset + length - at, (run.lastPE + 1) * PE_SIZE - at) : Math.min(offset + length - at, (pe + 1) * PE_SIZE - at);
      const physical = run && h ? h.dataOffset + (at - run.firstPE * PE_SIZE) : 0;
      if (!run || !h || !h.device.hostRuns || physical + n > h.device.size) out.push(deviceRun(at, n));
      else for (const r of h.device.hostRuns(physical, n)) out.push(deviceRun(at + (r.offset - physical), r.length, r.zero, r.file, r.position));
      at += n;
    }
    return out;
  };
  return { size, sectorSize: 512, name, file, read, hostRuns };
}


