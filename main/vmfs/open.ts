/**
 * Finding VMFS on the devices given (a whole LUN with GPT or MBR, a partition, a bare volume) and
 * opening the volume they make up together; `vmfsInfo` is the `vmkfstools -P` view of it.
 */
import { DiskchainError } from '../../shared/errors.js';
import { readBytes, sliceDevice, type BlockDevice } from '../guest/block-device.js';
import { readPartitionTable } from '../guest/partitions/index.js';
import { familyOf, FS_DESCRIPTOR_OFFSET, FS_MAGIC, FS_MAGIC_VMFSL, parseFsDescriptor } from './descriptor.js';
import { assembleExtents, hasLvmMagic, LVM_HEADER_OFFSET, logicalDevice, PE_SIZE, readLvmHeader, type LvmHeader } from './lvm.js';
import { formatUuid } from './text.js';
import type { VmfsHeartbeat, VmfsInfo } from './types.js';
import { VmfsVolume } from './volume.js';

/** dissect lists these as other places the LVM header has been seen; 1 MiB is by far the usual one. */
const OTHER_LVM_OFFSETS = [0x110000, 0x180000, 0x200000, 0x900000];
const HEARTBEAT_OFFSET = 0x300000;
/** A held slot; a free one says 0xABCDEF01. */
const HB_HELD = 0xabcdef02;

export interface FoundVmfs {
  /** The bytes from the VMFS partition's (or LUN's) start. */
  device: BlockDevice;
  /** Null for a bare volume (no LVM: the FS descriptor at +2 MiB of the device). */
  lvm: LvmHeader | null;
}

/**
 * Where VMFS is on one device: the device itself (a partition copy or a bare volume), a partition
 * typed VMFS, any partition with the LVM magic, and last the rarer header places dissect lists
 * (taken as a volume that starts 1 MiB before them).
 */
export function findVmfs(device: BlockDevice): FoundVmfs {
  const here = probeAt(device);
  if (here) return here;
  const table = readPartitionTable(device);
  const typed = table.partitions.filter((p) => p.typeName === 'VMware VMFS');
  const others = table.partitions.filter((p) => p.typeName !== 'VMware VMFS');
  for (const p of [...typed, ...others]) {
    const part = sliceDevice(device, p.start, p.size, `${device.name} partition ${p.index}`);
    const found = probeAt(part);
    if (found) return found;
  }
  if (typed.length > 0) {
    const p = typed[0]!;
    throw new DiskchainError(
      'E_UNSUPPORTED',
      `partition ${p.index} is typed VMware VMFS but has no VMFS-3/5/6 LVM header at 1 MiB: an older VMFS (VMFS-2 or VMFS-1, ESX 2.x and before), whose layout was never published, or a damaged one`,
      device.file,
      p.start + LVM_HEADER_OFFSET,
    );
  }
  if (table.scheme === 'none') {
    for (const at of OTHER_LVM_OFFSETS) {
      if (!hasLvmMagic(device, at)) continue;
      const start = at - LVM_HEADER_OFFSET;
      const shifted = sliceDevice(device, start, device.size - start, `${device.name} at ${start}`);
      return { device: shifted, lvm: readLvmHeader(shifted) };
    }
  }
  const scheme = table.scheme === 'none' ? 'no partition table' : `${table.scheme.toUpperCase()}, no VMFS partition`;
  throw new DiskchainError('E_FORMAT', `no VMFS volume found (${scheme}; no VMFS LVM header at 1 MiB, no FS descriptor at 2 MiB)`, device.file);
}

function probeAt(device: BlockDevice): FoundVmfs | null {
  if (hasLvmMagic(device, LVM_HEADER_OFFSET)) return { device, lvm: readLvmHeader(device) };
  if (device.size >= FS_DESCRIPTOR_OFFSET + 512) {
    const magic = readBytes(device, FS_DESCRIPTOR_OFFSET, 4).readUInt32LE(0);
    if (magic === FS_MAGIC || magic === FS_MAGIC_VMFSL) return { device, lvm: null };
  }
  return null;
}

export interface OpenedVolume {
  volume: VmfsVolume;
  found: FoundVmfs[];
  missing: string[];
}

/** Opens the volume that one or more devices (its extents, in any order) make up. */
export function openVmfsVolume(devices: BlockDevice[]): OpenedVolume {
  if (devices.length === 0) throw new DiskchainError('E_USAGE', 'no image given');
  const found = devices.map(findVmfs);
  const bare = found.filter((f) => f.lvm === null);
  if (bare.length > 0) {
    if (found.length > 1) throw new DiskchainError('E_FORMAT', 'a volume without an LVM header has one extent only: give it alone', bare[0]!.device.file);
    const device = found[0]!.device;
    return { volume: openFs(device, device.name), found, missing: [] };
  }
  const headers = found.map((f) => f.lvm!);
  for (const h of headers) {
    if (h.majorVersion < 3) {
      throw new DiskchainError('E_UNSUPPORTED', `a VMFS-2 (or older) volume (LVM version ${h.majorVersion}, ESX 2.x): its layout was never published, Diskchain reads VMFS-3, 5 and 6`, h.device.file, h.headerOffset);
    }
    if (h.flags & 1) throw new DiskchainError('E_UNSUPPORTED', "a VMFS-L volume (ESXi 7 OSDATA, the host's own system volume): not a datastore, Diskchain does not read it", h.device.file, h.headerOffset);
  }
  const { runs, missing } = assembleExtents(headers);
  const first = runs[0]!.header;
  if (first.firstPE !== 0) {
    throw new DiskchainError('E_NOTFOUND', `${headers.length === 1 ? 'this image holds' : 'these images hold'} PEs ${first.firstPE}–${Math.max(...runs.map((r) => r.lastPE))} of a spanned volume; its first extent (PE 0, which holds the file system's metadata) is missing: ${missing.join('; ')}`, first.device.file);
  }
  const size = Math.min(first.logicalSize || Infinity, (Math.max(...runs.map((r) => r.lastPE)) + 1) * PE_SIZE, Number.MAX_SAFE_INTEGER);
  const name = devices.length === 1 ? devices[0]!.name : `${devices[0]!.name} (+${devices.length - 1} extent${devices.length > 2 ? 's' : ''})`;
  const logical = logicalDevice(runs, missing, missing.length ? Math.max(size, first.logicalSize) : size, name);
  const volume = openFs(logical, name);
  if (volume.fs.lvUuid !== first.lvUuid) {
    throw new DiskchainError('E_FORMAT', `the file system belongs to LV ${volume.fs.lvUuid}, not to this device's LV ${first.lvUuid} (a header from another volume?)`, first.device.file);
  }
  return { volume, found, missing };
}

function openFs(device: BlockDevice, name: string): VmfsVolume {
  if (device.size < FS_DESCRIPTOR_OFFSET + 0x200) throw new DiskchainError('E_FORMAT', `${name}: the volume (${device.size} bytes) ends before its FS descriptor at 2 MiB`, device.file);
  const fs = parseFsDescriptor(readBytes(device, FS_DESCRIPTOR_OFFSET, 0x200), device.file, FS_DESCRIPTOR_OFFSET);
  return new VmfsVolume(device, fs, name);
}

/** The `vmkfstools -P` view: version, label, UUID, sizes, free space, extents, heartbeats in use. */
export function vmfsInfo(opened: OpenedVolume): VmfsInfo {
  const { volume, found, missing } = opened;
  const fs = volume.fs;
  const lvm = found[0]!.lvm;
  const free = volume.freeBlocks();
  const notes: string[] = [];
  const heartbeats = readHeartbeats(volume);
  if (heartbeats.length > 0) notes.push(`${heartbeats.length} heartbeat slot${heartbeats.length === 1 ? ' is' : 's are'} held: a host had the volume mounted when this copy was taken (its last changes may be in the journal)`);
  if (fs.family === 6) notes.push('VMFS-6 support is experimental: checked against self-made volumes only, not yet against one ESXi wrote');
  if (missing.length) notes.push(`missing extents: ${missing.join('; ')}`);
  const flags: string[] = [];
  if (fs.config & 0x4) flags.push('dense-sbpc');
  if (fs.config & 0x100) flags.push('local');
  if (fs.config & 0x400) flags.push('shared');
  if (fs.config & 0x800) flags.push('osdata');
  return {
    version: `${familyOf(fs.majorVersion).name}.${fs.minorVersion}`,
    family: fs.family,
    majorVersion: fs.majorVersion,
    minorVersion: fs.minorVersion,
    lvmVersion: lvm ? `${lvm.majorVersion}.${lvm.minorVersion}` : null,
    experimental: fs.family === 6,
    label: fs.label,
    uuid: fs.uuid,
    flags,
    blockSize: fs.fileBlockSize,
    subBlockSize: fs.subBlockSize,
    capacityBytes: lvm?.logicalSize || volume.device.size,
    fileBlocks: free?.total ?? Math.floor(volume.device.size / fs.fileBlockSize),
    freeBlocks: free?.free ?? null,
    freeBytes: free ? free.free * fs.fileBlockSize : null,
    createdMs: fs.createdMs,
    lvUuid: lvm?.lvUuid ?? null,
    extents: found
      .filter((f) => f.lvm !== null)
      .map((f) => f.lvm!)
      .sort((a, b) => a.firstPE - b.firstPE)
      .map((h) => ({ file: h.device.name, deviceUuid: h.deviceUuid, scsi: h.scsi, firstPE: h.firstPE, lastPE: h.lastPE, bytes: (h.lastPE - h.firstPE + 1) * PE_SIZE })),
    missing,
    heartbeats,
    notes,
  };
}

/** Heartbeat slots at volume +3 MiB: 2,048 × 512 B (VMFS-3/5) or 1,024 × 4 KiB (VMFS-6). */
function readHeartbeats(volume: VmfsVolume): VmfsHeartbeat[] {
  const [count, size] = volume.family === 6 ? [1024, 4096] : [2048, 512];
  if (volume.device.size < HEARTBEAT_OFFSET + count * size) return [];
  const region = readBytes(volume.device, HEARTBEAT_OFFSET, count * size);
  const out: VmfsHeartbeat[] = [];
  for (let slot = 0; slot < count; slot++) {
    const at = slot * size;
    const magic = region.readUInt32LE(at);
    if (magic !== HB_HELD) continue;
    out.push({ slot, hostUuid: formatUuid(region, at + 0x1c), sequence: Number(region.readBigUInt64LE(at + 0x0c)) });
  }
  return out;
}
