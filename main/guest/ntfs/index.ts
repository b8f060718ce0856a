/** The NTFS driver: probe by the boot sector's OEM id, open as an NtfsVolume. */
import type { BlockDevice } from '../block-device.js';
import type { FileSystemDriver, FileSystemType } from '../types.js';
import { looksLikeNtfs } from './structures.js';
import { NtfsVolume } from './volume.js';

export const ntfsDriver: FileSystemDriver = {
  types: ['ntfs'],
  probe(device: BlockDevice): FileSystemType | null {
    if (device.size < 512) return null;
    const sector = Buffer.alloc(512);
    device.read(sector, 0);
    return looksLikeNtfs(sector) ? 'ntfs' : null;
  },
  open: (device) => new NtfsVolume(device),
};

export { NtfsVolume };
