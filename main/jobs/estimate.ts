/**
 * The one space estimator of the jobs: what a job will add on its destination's file system. The
 * jobs that refuse for lack of space (convert, commit) refuse with the same estimate
 * (convert/space.ts, mutate/commit-space.ts), and the desktop preflight shows it, so the dialog
 * never says "enough" to a job that then refuses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobSpec } from '../../shared/jobs.js';
import { openChain, type Chain } from '../disk/chain.js';
import { dataBytes } from '../disk/source.js';
import type { SpaceEstimate } from '../io/space.js';
import { convertSpace } from '../convert/space.js';
import { defaultKind } from '../convert/recover.js';
import { openSalvaged } from '../disk/salvage.js';
import { estimateCommit } from '../mutate/commit-space.js';
import { resolveGuestPath } from '../guest/walk.js';
import { extractBytes, withGuestFileSystem } from './extract.js';

/** Grain tables and directory of a sparse link: 4 bytes per 64 KiB grain, and a MiB for the rest. */
const sparseMetadataBytes = (capacityBytes: number): number => Math.ceil(capacityBytes / 16384) + 1024 * 1024;

export function estimateSpace(spec: JobSpec): SpaceEstimate {
  switch (spec.kind) {
    case 'convert':
      return withChain(spec.src, spec.ignoreCid === true, (chain) => convertSpace(chain, spec), spec.allowDevices === true);
    case 'commit':
      return estimateCommit(spec);
    case 'snapshot':
      return withChain(spec.disk, true, (chain) => ({
        folder: path.dirname(chain.top.path),
        requiredBytes: sparseMetadataBytes(chain.capacityBytes),
        basis: 'an empty child: its grain directory and tables',
        purpose: `snapshot ${path.basename(chain.top.path)}`,
      }));
    case 'extend':
      return withChain(spec.disk, true, (chain) => {
        const growth = Math.max(0, spec.sizeBytes - chain.capacityBytes);
        const flat = chain.top.extents.some((e) => e.type === 'FLAT' || e.type === 'VMFS');
        const folder = path.dirname(chain.top.path);
        const purpose = `extend ${path.basename(chain.top.path)}`;
        return flat
          ? { folder, requiredBytes: growth, basis: 'the added capacity (flat extents grow fully allocated)', purpose }
          : { folder, requiredBytes: sparseMetadataBytes(growth), basis: 'grain tables for the added capacity (sparse)', purpose };
      });
    case 'backup': {
      const folder = existingParent(spec.archiveDir);
      const purpose = `back up ${path.basename(spec.source)}`;
      if (/\.vmx$/i.test(spec.source)) return { folder, requiredBytes: filesBytes(path.dirname(spec.source)), basis: "the size of the VM's folder (an upper bound)", purpose };
      return withChain(
        spec.source,
        true,
        (chain) => ({ folder, requiredBytes: dataBytes(chain) + 1024 * 1024, basis: 'the allocated data of the flattened chain', purpose }),
        spec.allowDevices === true,
      );
    }
    case 'restore':
      return {
        folder: spec.destDir,
        requiredBytes: filesBytes(spec.archiveDir),
        basis: "the size of the archive's files (sparse restores need less)",
        purpose: `restore ${path.basename(spec.archiveDir)}`,
      };
    case 'extract':
      return withGuestFileSystem(spec, (fsys) => ({
        folder: spec.destDir,
        requiredBytes: extractBytes(fsys, spec.paths.map((p) => ({ entry: resolveGuestPath(fsys, p), path: p }))),
        basis: 'the size of the chosen files',
        purpose: `extract ${spec.paths.length === 1 ? spec.paths[0]! : `${spec.paths.length} items`}`,
      }));
    case 'restoreFile':
      return withGuestFileSystem(spec, (fsys) => ({
        folder: spec.destDir,
        requiredBytes: extractBytes(fsys, [{ entry: resolveGuestPath(fsys, spec.path), path: spec.path }]),
        basis: 'the size of the file (or folder) restored',
        purpose: `restore ${spec.path} from ${spec.from}`,
      }));
    case 'indexFiles':
      // Not known before the walks: the index adds well under 150 bytes a file (README, Benchmarks).
      return { folder: path.dirname(spec.db), requiredBytes: 0, basis: 'about 150 bytes per file listed, not known before the walks', purpose: 'index files' };
    case 'recover': {
      const { chain } = openSalvaged(spec.src, { ignoreCid: spec.ignoreCid === true, allowDevices: spec.allowDevices === true });
      try {
        return convertSpace(chain, { kind: 'convert', src: spec.src, dst: spec.dst, to: spec.to ?? defaultKind(chain.capacityBytes) });
      } finally {
        chain.close();
      }
    }
  }
}

function withChain<T>(file: string, ignoreCid: boolean, use: (chain: Chain) => T, allowDevices = false): T {
  const chain = openChain(file, { ignoreCid, allowDevices });
  try {
    return use(chain);
  } finally {
    chain.close();
  }
}

/** The nearest folder that exists on the way to `p` (an archive folder is made by its job). */
function existingParent(p: string): string {
  let dir = path.dirname(p);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Bytes of the regular files directly inside a folder. */
function filesBytes(folder: string): number {
  let total = 0;
  for (const name of fs.readdirSync(folder)) {
    const st = fs.statSync(path.join(folder, name), { throwIfNoEntry: false });
    if (st?.isFile()) total += st.size;
  }
  return total;
}
