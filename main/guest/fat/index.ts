import { readBytes, type BlockDevice } from '../block-device.js';
import type { FileSystemDriver, FileSystemType, GuestFileSystem } from '../types.js';
import { probeExfatBoot, ExfatFileSystem } from './exfat.js';
import { probeFatBoot } from './fat-boot.js';
import { FatFileSystem } from './fat.js';

/** FAT12/16/32 and exFAT, read-only. */
export const fatDriver: FileSystemDriver = {
  types: ['fat12', 'fat16', 'fat32', 'exfat'],
  probe(device: BlockDevice): FileSystemType | null {
    if (device.size < 512) return null;
    const boot = readBytes(device, 0, 512);
    return probeExfatBoot(boot) ? 'exfat' : probeFatBoot(boot);
  },
  open(device: BlockDevice): GuestFileSystem {
    return probeExfatBoot(readBytes(device, 0, Math.min(512, device.size))) ? new ExfatFileSystem(device) : new FatFileSystem(device);
  },
};
