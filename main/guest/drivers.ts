/**
 * The file-system readers, and probes that at least name a file system no reader handles yet, so
 * `parts` shows "ntfs" and `ls` says "no reader for NTFS yet" instead of "unknown".
 */
import { readBytes, type BlockDevice } from './block-device.js';
import { fatDriver } from './fat/index.js';
import type { FileSystemDriver, FileSystemType } from './types.js';

/**
 * The readers, tried in order. The FAT/exFAT (`fatDriver`, main/guest/fat/) and ext (`extDriver`,
 * main/guest/ext/) readers are added here as they land; NTFS and XFS follow.
 */
export const DRIVERS: readonly FileSystemDriver[] = [fatDriver];

export interface ProbedFileSystem {
  type: FileSystemType;
  label: string | null;
  uuid: string | null;
  /** The reader for it, or null when none is written yet. */
  driver: FileSystemDriver | null;
}

/** What file system a volume holds, from its first 64 KiB; null when none we know. */
export function probeFileSystem(device: BlockDevice, drivers: readonly FileSystemDriver[] = DRIVERS): ProbedFileSystem | null {
  const named = nameFileSystem(device);
  for (const driver of drivers) {
    const type = driver.probe(device);
    if (type !== null) return { type, label: named?.type === type ? named.label : null, uuid: named?.type === type ? named.uuid : null, driver };
  }
  return named ? { ...named, driver: null } : null;
}

/** Names the file system from its boot sector or superblock, with the label and UUID found there. */
export function nameFileSystem(device: BlockDevice): Omit<ProbedFileSystem, 'driver'> | null {
  if (device.size < 512) return null;
  const head = readBytes(device, 0, Math.min(device.size, 4096));
  return ntfs(head) ?? exfat(head) ?? fat(head) ?? xfs(head) ?? (device.size >= 2048 ? ext(readBytes(device, 1024, 1024)) : null);
}

function ntfs(b: Buffer): Omit<ProbedFileSystem, 'driver'> | null {
  if (b.toString('latin1', 3, 11) !== 'NTFS    ') return null;
  // The label lives in the $Volume MFT record; the serial is in the boot sector.
  return { type: 'ntfs', label: null, uuid: b.readBigUInt64LE(0x48).toString(16).toUpperCase().padStart(16, '0') };
}

function exfat(b: Buffer): Omit<ProbedFileSystem, 'driver'> | null {
  if (b.toString('latin1', 3, 11) !== 'EXFAT   ') return null;
  return { type: 'exfat', label: null, uuid: serial(b.readUInt32LE(100)) };
}

/** A FAT BPB: sane sector size, power-of-two cluster, one or two FATs; the cluster count decides 12/16/32. */
function fat(b: Buffer): Omit<ProbedFileSystem, 'driver'> | null {
  if (b[510] !== 0x55 || b[511] !== 0xaa) return null;
  const bytesPerSector = b.readUInt16LE(11);
  const sectorsPerCluster = b[13]!;
  const reserved = b.readUInt16LE(14);
  const fats = b[16]!;
  const rootEntries = b.readUInt16LE(17);
  const media = b[21]!;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) return null;
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) return null;
  if (reserved === 0 || fats < 1 || fats > 2 || (media !== 0xf0 && media < 0xf8)) return null;
  const total = b.readUInt16LE(19) || b.readUInt32LE(32);
  const fatSize = b.readUInt16LE(22) || b.readUInt32LE(36);
  if (total === 0 || fatSize === 0) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const clusters = Math.floor((total - reserved - fats * fatSize - rootSectors) / sectorsPerCluster);
  if (clusters <= 0) return null;
  // FAT32 has no 16-bit FAT size and no fixed root folder (small FAT32 volumes exist despite fatgen103's counts).
  const fat32 = b.readUInt16LE(22) === 0 && rootEntries === 0;
  const type: FileSystemType = fat32 ? 'fat32' : clusters < 4085 ? 'fat12' : 'fat16';
  // The extended boot record sits after the FAT32 fields; signature 0x29 says label and serial are there.
  const ebr = type === 'fat32' ? 0x40 : 0x24;
  if (b[ebr + 2] !== 0x29) return { type, label: null, uuid: null };
  const label = b.toString('latin1', ebr + 7, ebr + 18).trimEnd();
  return { type, label: label === '' || label === 'NO NAME' ? null : label, uuid: serial(b.readUInt32LE(ebr + 3)) };
}

function xfs(b: Buffer): Omit<ProbedFileSystem, 'driver'> | null {
  if (b.toString('latin1', 0, 4) !== 'XFSB') return null;
  return { type: 'xfs', label: cString(b.subarray(108, 120)), uuid: uuidText(b.subarray(32, 48)) };
}

/** The ext superblock (at byte 1024): journal → ext3; extents, flex_bg or 64bit → ext4. */
function ext(sb: Buffer): Omit<ProbedFileSystem, 'driver'> | null {
  if (sb.readUInt16LE(56) !== 0xef53) return null;
  const compat = sb.readUInt32LE(92);
  const incompat = sb.readUInt32LE(96);
  const roCompat = sb.readUInt32LE(100);
  const ext4 = (incompat & (0x40 | 0x80 | 0x200)) !== 0 || (roCompat & (0x8 | 0x10 | 0x400)) !== 0;
  const type: FileSystemType = ext4 ? 'ext4' : (compat & 0x4) !== 0 ? 'ext3' : 'ext2';
  return { type, label: cString(sb.subarray(120, 136)), uuid: uuidText(sb.subarray(104, 120)) };
}

function serial(n: number): string {
  const h = n.toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

function uuidText(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function cString(b: Buffer): string | null {
  const nul = b.indexOf(0);
  const text = b.toString('utf8', 0, nul < 0 ? b.length : nul);
  return text === '' ? null : text;
}
