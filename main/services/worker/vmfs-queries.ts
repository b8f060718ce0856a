/**
 * The app's view of a VMFS volume image, answered in the query worker: whether a file opened is one,
 * and its VM folders (.vmx files and the disks to open, descriptors and lone extents that are no
 * extent of a descriptor beside them).
 */
import * as posix from 'node:path/posix';
import { DiskchainError } from '../../../shared/errors.js';
import type { VolumeTree, VolumeTreeFolder } from '../../../shared/vmfs-tree.js';
import { vmfsInfo } from '../../vmfs/open.js';
import { joinVmfsPath, withVolume } from '../../vmfs/paths.js';
import { walkVmfs } from '../../vmfs/walk.js';

/** File names of extents that belong to a descriptor (they are opened through it). */
const EXTENT_NAME = /-(flat|delta|sesparse|ctk|rdm|rdmp|s\d{3}|f\d{3})\.vmdk$/i;

export const vmfsQueries = {
  /** Whether the file holds a VMFS volume (a LUN copy, a partition, a bare volume). */
  vmfsProbe: (q: { path: string }): boolean => {
    try {
      return withVolume([q.path], () => true);
    } catch (e) {
      // Not a volume Diskchain reads (none, VMFS-2, damaged, unreadable): the file is opened as a disk, which says why not.
      if (e instanceof DiskchainError) return false;
      throw e;
    }
  },
  vmfsTree: (q: { path: string }): VolumeTree =>
    withVolume([q.path], (opened) => {
      const { volume } = opened;
      const info = vmfsInfo(opened);
      const folders = new Map<string, VolumeTreeFolder>();
      const problems: string[] = [];
      const folderOf = (dir: string): VolumeTreeFolder => {
        let f = folders.get(dir);
        if (!f) folders.set(dir, (f = { folder: dir, vmx: [], disks: [] }));
        return f;
      };
      let entry = 0;
      for (const item of walkVmfs(volume, volume.lookup('/'), '/', (p) => problems.push(p.message))) {
        if (item.entry.type !== 'file' && item.entry.type !== 'rdm') continue;
        const dir = posix.dirname(item.path);
        if (/\.vmx$/i.test(item.entry.name)) folderOf(dir).vmx.push(item.entry.name);
        else if (/\.vmdk$/i.test(item.entry.name) && !EXTENT_NAME.test(item.entry.name)) {
          folderOf(dir).disks.push({ entry: entry++, name: item.entry.name, path: joinVmfsPath([q.path], item.path), sizeBytes: item.entry.size });
        }
      }
      const sorted = [...folders.values()].sort((a, b) => a.folder.localeCompare(b.folder));
      for (const f of sorted) {
        f.vmx.sort();
        f.disks.sort((a, b) => a.name.localeCompare(b.name));
      }
      return { image: q.path, label: info.label, version: info.version, folders: sorted, problems };
    }),
};
