/** Walking a VMFS volume's folders (ls -R, get of a folder): loops and damaged folders are reported, never followed. */
import { DiskchainError } from '../../shared/errors.js';
import type { VmfsEntry } from './types.js';
import type { VmfsVolume } from './volume.js';

export interface VmfsWalkItem {
  path: string;
  entry: VmfsEntry;
  depth: number;
}

export interface VmfsProblem {
  path: string;
  message: string;
}

/** A folder tree deeper than this is a loop the address check missed, or damage. */
const MAX_DEPTH = 256;

export const joinPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Entries below `dir`, folder by folder, each folder's entries in on-disk order; the folder itself is not yielded. */
export function* walkVmfs(volume: VmfsVolume, dir: VmfsEntry, at: string, onProblem: (p: VmfsProblem) => void): Generator<VmfsWalkItem> {
  const open = new Set<number>([dir.address]);
  function* visit(folder: VmfsEntry, folderPath: string, depth: number): Generator<VmfsWalkItem> {
    let entries: VmfsEntry[];
    try {
      entries = volume.list(folder);
    } catch (e) {
      if (!(e instanceof DiskchainError) || e.code === 'E_NOTFOUND') throw e;
      onProblem({ path: folderPath, message: `${folderPath}: ${e.message}` });
      return;
    }
    // Like ls -R: a folder's entries first, then each subfolder the same way.
    for (const entry of entries) {
      const p = joinPath(folderPath, entry.name);
      if (entry.error) onProblem({ path: p, message: `${p}: ${entry.error}` });
      yield { path: p, entry, depth };
    }
    for (const entry of entries) {
      if (entry.type !== 'dir') continue;
      const p = joinPath(folderPath, entry.name);
      if (open.has(entry.address) || depth >= MAX_DEPTH) {
        onProblem({ path: p, message: `${p}: the folder contains itself (a directory loop at FD <0x${entry.address.toString(16)}>): not followed` });
        continue;
      }
      open.add(entry.address);
      yield* visit(entry, p, depth + 1);
      open.delete(entry.address);
    }
  }
  yield* visit(dir, at, 1);
}
