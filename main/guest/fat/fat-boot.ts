import { DiskchainError } from '../../../shared/errors.js';
import { readBytes, type BlockDevice } from '../block-device.js';
import { oemLabel } from './names.js';

/** Where everything of a FAT12/16/32 volume lies, from its boot sector (BPB), checked against the device. */
export interface FatGeometry {
  type: 'fat12' | 'fat16' | 'fat32';
  bits: 12 | 16 | 32;
  bytesPerSector: number;
  clusterSize: number;
  /** The FAT in use (FAT32 may have mirroring off and another FAT active). */
  fatOffset: number;
  fatBytes: number;
  /** FAT12/16: the fixed root folder area. */
  rootOffset: number;
  rootBytes: number;
  /** FAT32: the root folder's first cluster; 0 on FAT12/16. */
  rootCluster: number;
  heapOffset: number;
  clusterCount: number;
  serial: number | null;
  label: string | null;
  /** The boot sector's "volume dirty" bit (Windows NT and Linux set bit 0 of BS_Reserved1). */
  bootDirty: boolean;
}

const FAT_NAMES = { fat12: 'FAT12', fat16: 'FAT16', fat32: 'FAT32' } as const;

export function fatName(type: FatGeometry['type']): string {
  return FAT_NAMES[type];
}

/** Cheap recognition: a jump instruction and a FAT type string or a plausible BPB. Never throws. */
export function probeFatBoot(boot: Buffer): FatGeometry['type'] | null {
  if (boot.length < 512 || !(boot[0] === 0xeb || boot[0] === 0xe9 || boot[0] === 0xe8)) return null;
  if (boot.toString('latin1', 3, 11) === 'EXFAT   ' || boot.toString('latin1', 3, 11) === 'NTFS    ') return null;
  const fat32Name = boot.toString('latin1', 82, 87) === 'FAT32';
  const fatName = boot.toString('latin1', 54, 57) === 'FAT' ? boot.toString('latin1', 54, 59) : null;
  const counted = countClusters(boot);
  if (counted) return counted.type;
  if (fat32Name) return 'fat32';
  if (fatName === 'FAT12') return 'fat12';
  if (fatName === 'FAT16' || fatName === 'FAT  ') return 'fat16';
  return null;
}

/** The FAT type by the cluster count (Microsoft's fatgen103 rule), or null when the BPB is not sane. */
function countClusters(boot: Buffer): { type: FatGeometry['type']; count: number } | null {
  const bytesPerSector = boot.readUInt16LE(11);
  const sectorsPerCluster = boot[13]!;
  const reserved = boot.readUInt16LE(14);
  const fats = boot[16]!;
  const rootEntries = boot.readUInt16LE(17);
  const totalSectors = boot.readUInt16LE(19) || boot.readUInt32LE(32);
  const fatSectors = boot.readUInt16LE(22) || boot.readUInt32LE(36);
  if (!isPowerOfTwo(bytesPerSector) || bytesPerSector < 512 || bytesPerSector > 4096) return null;
  if (!isPowerOfTwo(sectorsPerCluster) || reserved === 0 || fats === 0 || fats > 4 || fatSectors === 0) return null;
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const dataStart = reserved + fats * fatSectors + rootSectors;
  if (dataStart >= totalSectors) return null;
  const count = Math.floor((totalSectors - dataStart) / sectorsPerCluster);
  // Linux (and sleuthkit) take a zero 16-bit FAT size as FAT32, whatever the count.
  if (boot.readUInt16LE(22) === 0) return { type: 'fat32', count };
  return { type: count < 4085 ? 'fat12' : 'fat16', count };
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Reads and checks the boot sector; every failure names the field and the volume. */
export function readFatGeometry(device: BlockDevice): FatGeometry {
  if (device.size < 512) throw new DiskchainError('E_FORMAT', `FAT boot sector: the volume is only ${device.size} bytes`, device.file);
  const boot = readBytes(device, 0, 512);
  const guess = probeFatBoot(boot) ?? 'fat16';
  const fail = (reason: string): DiskchainError => new DiskchainError('E_FORMAT', `${FAT_NAMES[guess]} boot sector: ${reason}`, device.file);

  const bytesPerSector = boot.readUInt16LE(11);
  if (!isPowerOfTwo(bytesPerSector) || bytesPerSector < 512 || bytesPerSector > 4096) {
    throw fail(`bytes per sector is ${bytesPerSector} (must be a power of two from 512 to 4096)`);
  }
  const sectorsPerCluster = boot[13]!;
  if (!isPowerOfTwo(sectorsPerCluster)) throw fail(`sectors per cluster is ${sectorsPerCluster} (must be a power of two)`);
  const reserved = boot.readUInt16LE(14);
  if (reserved === 0) throw fail('no reserved sectors (the boot sector itself is one)');
  const fats = boot[16]!;
  if (fats === 0 || fats > 4) throw fail(`${fats} FATs (1 or 2 expected)`);
  const totalSectors = boot.readUInt16LE(19) || boot.readUInt32LE(32);
  if (totalSectors === 0) throw fail('the volume has 0 sectors');
  const volumeBytes = totalSectors * bytesPerSector;
  if (volumeBytes > device.size) {
    throw fail(`the volume is ${volumeBytes} bytes but ${device.name} holds only ${device.size} (truncated?)`);
  }
  const fatSectors = boot.readUInt16LE(22) || boot.readUInt32LE(36);
  if (fatSectors === 0) throw fail('the FAT has 0 sectors');
  const counted = countClusters(boot);
  if (!counted) throw fail(`the FATs and root folder (${reserved + fats * fatSectors} sectors and more) do not fit in the volume's ${totalSectors} sectors`);
  const { type, count } = counted;
  if (count < 1) throw fail('the volume has no data clusters');
  const bits = type === 'fat12' ? 12 : type === 'fat16' ? 16 : 32;
  const fatBytes = fatSectors * bytesPerSector;
  if (Math.ceil(((count + 2) * bits) / 8) > fatBytes) {
    throw fail(`the FAT (${fatBytes} bytes) is too small for ${count} clusters`);
  }
  if (type === 'fat32' && count > 0x0ffffff5) throw fail(`${count} clusters is more than FAT32 can address`);

  const rootEntries = boot.readUInt16LE(17);
  let activeFat = 0;
  let rootCluster = 0;
  if (type === 'fat32') {
    if (rootEntries !== 0) throw fail(`a FAT32 volume with a fixed root folder of ${rootEntries} entries`);
    const extFlags = boot.readUInt16LE(40);
    if (extFlags & 0x80) activeFat = extFlags & 0x0f; // mirroring off: only this FAT is kept up to date
    if (activeFat >= fats) throw fail(`the active FAT is number ${activeFat} of ${fats}`);
    rootCluster = boot.readUInt32LE(44);
    if (rootCluster < 2 || rootCluster > count + 1) throw fail(`the root folder's cluster ${rootCluster} lies outside the volume (clusters 2–${count + 1})`);
  } else if (rootEntries === 0) {
    throw fail('the root folder has 0 entries');
  }
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const extended = type === 'fat32' ? 64 : 36; // the extended BPB: drive, reserved (dirty), signature, serial, label
  const hasSerial = boot[extended + 2] === 0x29 || boot[extended + 2] === 0x28;
  return {
    type,
    bits,
    bytesPerSector,
    clusterSize: sectorsPerCluster * bytesPerSector,
    fatOffset: (reserved + activeFat * fatSectors) * bytesPerSector,
    fatBytes,
    rootOffset: (reserved + fats * fatSectors) * bytesPerSector,
    rootBytes: rootEntries * 32,
    rootCluster,
    heapOffset: (reserved + fats * fatSectors + rootSectors) * bytesPerSector,
    clusterCount: count,
    serial: hasSerial ? boot.readUInt32LE(extended + 3) : null,
    label: boot[extended + 2] === 0x29 ? oemLabel(boot.subarray(extended + 7, extended + 18)) : null,
    bootDirty: type !== 'fat12' && (boot[extended + 1]! & 1) === 1,
  };
}
