/**
 * The volumes of a disk: its partitions (MBR, GPT or none) and the LVs of any LVM PVs among them,
 * each with what is inside (a file system the registry names, or BitLocker, LUKS, swap, VMFS, LDM,
 * an LVM PV). `openVolume` gives one of them as a device; `openFileSystem` the reader on it.
 */
import { DiskchainError, usageError } from '../../shared/errors.js';
import { readBytes, readingThrough, sliceDevice, type BlockDevice } from './block-device.js';
import { DRIVERS, probeFileSystem } from './drivers.js';
import { assembleVolumeGroups, openLogicalVolume, readPhysicalVolume, type PhysicalVolume } from './lvm/index.js';
import { gptType, mbrType, readPartitionTable, type PartitionEntry, type TableScheme } from './partitions/index.js';
import type { FileSystemDriver, FileSystemType, GuestFileSystem, OpenOptions } from './types.js';

export interface Volume {
  /** The partition number as Linux numbers it, or `vg/lv` for a logical volume. */
  index: number | string;
  scheme: TableScheme | 'lvm';
  /** Bytes from the start of the disk; null for an LV (its extents may be anywhere). */
  start: number | null;
  size: number;
  /** The partition type (`Linux`, `Microsoft basic data`), or the LV kind (`LVM linear`). */
  type: string;
  /** The GPT partition name, or the LV name. */
  name: string | null;
  /** What is in it when it is not a file system: `LVM2 PV (vg0)`, `BitLocker`, `LUKS`, `swap`, `VMFS`, `Windows LDM`. */
  content: string | null;
  fileSystem: FileSystemType | null;
  label: string | null;
  uuid: string | null;
  notes: string[];
}

export interface DiskVolumes {
  scheme: TableScheme;
  sectorSize: number;
  /** About the table: the backup GPT was read, a hybrid MBR, 4Kn. */
  notes: string[];
  volumes: Volume[];
}

interface Opened {
  volume: Volume;
  open: () => BlockDevice;
  /** The same bytes for probing: small reads served from windows read once (probeCache). */
  probe: () => BlockDevice;
}

/** Probing reads small structures in windows of this size; at most PROBE_WINDOWS of them are kept. */
const PROBE_WINDOW = 64 * 1024;
const PROBE_WINDOWS = 32;

/**
 * The device for probing: finding the volumes reads the same few sectors many times over (each
 * driver its magic, the partition table, LVM labels, signatures, then the chosen volume again), 36
 * reads through the chain for a disk of two partitions. Small reads come from 64 KiB windows, each
 * read once; anything else, or a window that cannot be read, goes to the device as asked.
 */
function probeCache(device: BlockDevice): BlockDevice {
  const windows = new Map<number, Buffer>();
  return readingThrough(device, (buf, offset) => {
    const index = Math.floor(offset / PROBE_WINDOW);
    const start = index * PROBE_WINDOW;
    const inside = Number.isSafeInteger(offset) && offset >= 0 && offset + buf.length <= Math.min(device.size, start + PROBE_WINDOW);
    let bytes = inside ? windows.get(index) : undefined;
    if (inside && !bytes && windows.size < PROBE_WINDOWS) {
      const window = Buffer.allocUnsafe(Math.min(PROBE_WINDOW, device.size - start));
      try {
        device.read(window, start);
        windows.set(index, window);
        bytes = window;
      } catch (e) {
        if (!(e instanceof DiskchainError)) throw e;
      }
    }
    if (bytes) bytes.copy(buf, 0, offset - start, offset - start + buf.length);
    else device.read(buf, offset);
  });
}

/** The partition table, its notes and every volume (partitions, then LVs). */
export function readVolumes(device: BlockDevice, drivers: readonly FileSystemDriver[] = DRIVERS): DiskVolumes {
  const found = discover(device, probeCache(device), drivers);
  return { scheme: found.scheme, sectorSize: found.sectorSize, notes: found.notes, volumes: found.items.map((i) => i.volume) };
}

export function listVolumes(device: BlockDevice, drivers: readonly FileSystemDriver[] = DRIVERS): Volume[] {
  return readVolumes(device, drivers).volumes;
}

/**
 * One volume as a device. `selector` is a partition number, an LV name (`root`, `vg0/root`,
 * `vg0-root`), or undefined when exactly one volume holds a file system.
 */
export function openVolume(device: BlockDevice, selector?: string, drivers: readonly FileSystemDriver[] = DRIVERS): { volume: Volume; device: BlockDevice } {
  const item = selectVolume(device, selector, drivers);
  return { volume: item.volume, device: item.open() };
}

function selectVolume(device: BlockDevice, selector: string | undefined, drivers: readonly FileSystemDriver[]): Opened {
  return select(device, discover(device, probeCache(device), drivers).items, selector);
}

/** The file system on a volume, or a clear refusal: "no reader for NTFS yet", "BitLocker-encrypted". */
export function openFileSystem(device: BlockDevice, selector?: string, drivers: readonly FileSystemDriver[] = DRIVERS, options: OpenOptions = {}): GuestFileSystem {
  const item = selectVolume(device, selector, drivers);
  const volume = item.volume;
  // Opened first: a volume that cannot be read (a thin LV) says why before what it holds.
  const dev = item.open();
  const where = volumeName(volume);
  if (volume.fileSystem === null) {
    const what = volume.content ?? `no file system that Diskchain knows (type ${volume.type})`;
    throw new DiskchainError('E_UNSUPPORTED', `${where}: ${what}`, device.file);
  }
  const probe = item.probe();
  const driver = drivers.find((d) => d.probe(probe) !== null);
  if (!driver) throw new DiskchainError('E_UNSUPPORTED', `${where}: no reader for ${fsName(volume.fileSystem)} yet`, device.file);
  return driver.open(dev, options);
}

export function fsName(type: FileSystemType): string {
  return type === 'exfat' ? 'exFAT' : type.toUpperCase();
}

/** The volume as errors name it: the disk file is already in front of the message. */
function volumeName(v: Volume): string {
  return typeof v.index === 'number' ? (v.scheme === 'none' ? 'the disk' : `partition ${v.index}`) : `LV ${v.index}`;
}

/** `probing` holds the same bytes as `device` (probeCache): what is only looked at is read through it, what is opened is `device`. */
function discover(device: BlockDevice, probing: BlockDevice, drivers: readonly FileSystemDriver[]): { scheme: TableScheme; sectorSize: number; notes: string[]; items: Opened[] } {
  // A disk formatted whole (no partition table) starts with a boot sector that can look like an MBR.
  const whole = probeFileSystem(probing, drivers);
  if (whole) {
    const volume: Volume = { index: 1, scheme: 'none', start: 0, size: device.size, type: 'whole disk', name: null, content: null, fileSystem: whole.type, label: whole.label, uuid: whole.uuid, notes: [] };
    return { scheme: 'none', sectorSize: device.sectorSize, notes: ['no partition table: the disk holds one file system'], items: [{ volume, open: () => device, probe: () => probing }] };
  }
  const table = readPartitionTable(probing);
  const items: Opened[] = [];
  const pvs: PhysicalVolume[] = [];
  const pvItems = new Map<PhysicalVolume, Volume>();
  const notes = [...table.notes];
  const entries: PartitionEntry[] = table.partitions;
  if (table.scheme === 'none') {
    let pv: PhysicalVolume | null = null;
    try {
      pv = readPhysicalVolume(device);
    } catch (e) {
      // A damaged label is said, as it is for a PV partition; the listing itself still answers.
      if (!(e instanceof DiskchainError)) throw e;
      notes.push(e.message);
    }
    if (pv) {
      const volume: Volume = { index: 1, scheme: 'none', start: 0, size: device.size, type: 'whole disk', name: null, content: 'LVM2 PV', fileSystem: null, label: null, uuid: pv.uuid, notes: [...pv.notes] };
      items.push({ volume, open: () => device, probe: () => probing });
      pvs.push(pv);
      pvItems.set(pv, volume);
      notes.push('no partition table: the disk is an LVM physical volume');
    } else if (notes.length === 0) {
      notes.push('no partition table and no file system found');
    }
  }
  for (const entry of entries) {
    const name = `${device.name} partition ${entry.index}`;
    const open = (): BlockDevice => sliceDevice(device, entry.start, entry.size, name, table.sectorSize);
    const probe = (): BlockDevice => sliceDevice(probing, entry.start, entry.size, name, table.sectorSize);
    const volume: Volume = {
      index: entry.index,
      scheme: entry.scheme,
      start: entry.start,
      size: entry.size,
      type: entry.scheme === 'mbr' ? `${entry.typeName} (${entry.typeCode})` : entry.typeName,
      name: entry.name,
      content: null,
      fileSystem: null,
      label: null,
      uuid: entry.partUuid,
      notes: [...entry.notes],
    };
    items.push({ volume, open, probe });
    if (entry.size === 0 || entry.start + entry.size > device.size) continue;
    const pv = describeContent(open(), probe(), entry, volume, drivers);
    if (pv) {
      pvs.push(pv);
      pvItems.set(pv, volume);
    }
  }
  const { groups, problems } = assembleVolumeGroups(pvs, device.file);
  notes.push(...problems);
  for (const group of groups) {
    for (const [pv, volume] of pvItems) {
      if ([...group.pvs.values()].some((p) => p.device === pv.device)) volume.content = `LVM2 PV (VG ${group.vg.name})`;
    }
    notes.push(...group.notes.map((n) => `VG ${group.vg.name}: ${n}`));
    for (const lv of group.vg.lvs) {
      const id = `${group.vg.name}/${lv.name}`;
      const name = `${device.name} ${id}`;
      const volume: Volume = { index: id, scheme: 'lvm', start: null, size: lv.size, type: `LVM ${lv.kind}`, name: lv.name, content: null, fileSystem: null, label: null, uuid: null, notes: [] };
      const open = (): BlockDevice => openLogicalVolume(group, lv, name, device.file);
      items.push({ volume, open, probe: open });
      if (lv.refused) {
        volume.notes.push(lv.refused);
        continue;
      }
      try {
        fillFileSystem(open(), volume, drivers);
      } catch (e) {
        if (!(e instanceof DiskchainError)) throw e;
        volume.notes.push(e.message);
      }
    }
  }
  return { scheme: table.scheme, sectorSize: table.sectorSize, notes, items };
}

/** Fills a partition's content or file system; returns its PV when it is an LVM PV (on `dev`; `probing` is for looking only). */
function describeContent(dev: BlockDevice, probing: BlockDevice, entry: PartitionEntry, volume: Volume, drivers: readonly FileSystemDriver[]): PhysicalVolume | null {
  const typed = entry.scheme === 'mbr' ? mbrType(Number(entry.typeCode)).content : gptType(entry.typeCode).content;
  try {
    // Looked for through the probing view; a PV found is read again on the device its LVs will read.
    const pv = readPhysicalVolume(probing) && readPhysicalVolume(dev);
    if (pv) {
      volume.content = 'LVM2 PV';
      // As blkid shows it: the PV's UUID, not the partition's.
      volume.uuid = pv.uuid;
      volume.notes.push(...pv.notes);
      return pv;
    }
    const signature = contentSignature(probing);
    if (signature) volume.content = signature;
    else if (!fillFileSystem(probing, volume, drivers) && typed) volume.content = TYPED_CONTENT[typed];
  } catch (e) {
    if (!(e instanceof DiskchainError)) throw e;
    volume.notes.push(e.message);
  }
  if (typed === 'vmfs' && volume.content === null) volume.content = TYPED_CONTENT.vmfs;
  return null;
}

const TYPED_CONTENT = {
  ldm: 'Windows LDM (dynamic disk): not read',
  vmfs: 'VMware VMFS: not read',
  'lvm-pv': 'LVM PV without a readable label',
  swap: 'swap',
  luks: 'LUKS-encrypted: not read',
  raid: 'Linux RAID member: not read',
} as const;

/** Contents recognised by their own signature, whatever the partition type says. */
function contentSignature(dev: BlockDevice): string | null {
  if (dev.size < 4096) return null;
  const head = readBytes(dev, 0, 4096);
  if (head.toString('latin1', 3, 11) === '-FVE-FS-') return 'BitLocker-encrypted: not read';
  if (head.subarray(0, 6).equals(Buffer.from('LUKS\xba\xbe', 'latin1'))) return 'LUKS-encrypted: not read';
  const swap = head.toString('latin1', 4086, 4096);
  if (swap === 'SWAPSPACE2' || swap === 'SWAP-SPACE') return 'swap';
  // VMFS volume header, 1 MiB in.
  if (dev.size >= 0x100004 && readBytes(dev, 0x100000, 4).readUInt32LE(0) === 0xc001d00d) return TYPED_CONTENT.vmfs;
  return null;
}

function fillFileSystem(dev: BlockDevice, volume: Volume, drivers: readonly FileSystemDriver[]): boolean {
  const fs = probeFileSystem(dev, drivers);
  if (!fs) return false;
  volume.fileSystem = fs.type;
  volume.label = fs.label;
  volume.uuid = fs.uuid ?? volume.uuid;
  return true;
}

function select(device: BlockDevice, items: Opened[], selector: string | undefined): Opened {
  if (selector === undefined) {
    const readable = items.filter((i) => i.volume.fileSystem !== null);
    if (readable.length === 1) return readable[0]!;
    if (items.length === 1) return items[0]!;
    const choices = items.map((i) => String(i.volume.index)).join(', ');
    throw usageError(
      readable.length === 0
        ? `${device.name}: no volume with a file system found (volumes: ${choices || 'none'})`
        : `${device.name} has ${readable.length} volumes with a file system: name one as DISK:VOL (${readable.map((i) => i.volume.index).join(', ')})`,
    );
  }
  const match = items.filter((i) => {
    const v = i.volume;
    if (typeof v.index === 'number') return /^\d+$/.test(selector) && Number(selector) === v.index;
    const [vg, lv] = v.index.split('/') as [string, string];
    return selector === v.index || selector === lv || selector === `${vg}-${lv}`;
  });
  if (match.length === 1) return match[0]!;
  if (match.length > 1) throw usageError(`${device.name}: volume "${selector}" is ambiguous (${match.map((m) => m.volume.index).join(', ')})`);
  throw new DiskchainError('E_NOTFOUND', `no volume "${selector}" (volumes: ${items.map((i) => i.volume.index).join(', ') || 'none'})`, device.file);
}
