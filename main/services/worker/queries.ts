/**
 * The engine calls of the desktop services, run inside the query worker (query-worker.ts) so that
 * a 2 TiB map or a full check never blocks Electron's main thread or the browser host's event loop.
 * Each query takes and returns plain data (structured-cloneable); paths were resolved from ids on
 * the main side.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extentDescriptorName } from '../../../shared/disk-names.js';
import type { MapSummary, OrphanExtent } from '../../../shared/ipc/contract.js';
import type { FileLocation, JobSpec } from '../../../shared/jobs.js';
import type { CheckReport, DiskInfo, GeometryReport, LayerInfo } from '../../../shared/types.js';
import type { FilePage, FileQuery, ScanSummary, VerifyReport } from '../../catalog/types.js';
import { DiskchainError } from '../../../shared/errors.js';
import { openChain, type Chain } from '../../disk/chain.js';
import { checkDisk } from '../../disk/check.js';
import { geometryReport } from '../../disk/geometry.js';
import { diskInfo, layerInfo } from '../../disk/info.js';
import { rebuildDescriptor, type RebuildResult } from '../../convert/rebuild-descriptor.js';
import { reparent, type ReparentResult } from '../../mutate/reparent.js';
import { freeBytes, type SpaceEstimate } from '../../io/space.js';
import { jobSafety, type JobSafety } from '../../jobs/safety.js';
import { estimateSpace } from '../../jobs/estimate.js';
import { summarizeMap } from '../map-summary.js';
import { guestQueries } from './guest-queries.js';
import { vmfsQueries } from './vmfs-queries.js';

const MAP_CACHE = 8;

interface ChainQuery {
  path: string;
  ignoreCid?: boolean | undefined;
}

export interface SpaceAnswer extends SpaceEstimate {
  /** null when the file system cannot tell (no statfs). */
  availableBytes: number | null;
}

const maps = new Map<string, MapSummary>();
const catalogs = new Map<string, import('../../catalog/catalog.js').Catalog>();

export const queries = {
  info: (q: ChainQuery): DiskInfo => withChain(q, diskInfo),
  geometry: (q: ChainQuery): GeometryReport => withChain(q, geometryReport),
  check: (q: { path: string }): CheckReport => checkDisk(q.path),
  layer: (q: ChainQuery & { layer: number }): LayerInfo =>
    withChain(q, (chain) => {
      const link = chain.links[q.layer];
      if (!link) throw new DiskchainError('E_USAGE', `the chain has ${chain.links.length} links; there is no link ${q.layer}`, chain.top.path);
      return layerInfo(link);
    }),
  map: (q: ChainQuery & { start?: number | undefined; length?: number | undefined; buckets: number }): MapSummary => withChain(q, (chain) => cachedMap(chain, q)),
  /** What a job needs on its destination and what is free there: the jobs' own refusal runs the same estimate. */
  space: (q: { spec: JobSpec }): SpaceAnswer => {
    const estimate = estimateSpace(q.spec);
    return { ...estimate, availableBytes: freeBytes(estimate.folder) };
  },
  /** What a job's dialog warns of before Start: lock files, the VMs using the disk, outputs that exist. */
  safety: (q: { spec: JobSpec }): JobSafety => jobSafety(q.spec),
  /** An extent named file (web01-flat.vmdk) whose descriptor by that name (web01.vmdk) is missing: only that one name is looked up. */
  orphan: (q: { path: string }): OrphanExtent | null => {
    const descriptorName = extentDescriptorName(q.path);
    if (descriptorName === null || fs.existsSync(path.join(path.dirname(q.path), descriptorName))) return null;
    return { descriptorName };
  },
  /** Writes the lost descriptor beside the extent (never replaces a file). */
  rebuildDescriptor: (q: { path: string }): RebuildResult => rebuildDescriptor(q.path),
  /** Points the link of the disk's chain whose parent is missing (else the disk itself) at `parent`. */
  reparent: (q: { path: string; parent: string; fixCid: boolean }): Promise<ReparentResult> => {
    const broken = withChain(q, (chain) => chain.missingParent?.file ?? null);
    return reparent(broken ?? q.path, q.parent, { fixCid: q.fixCid });
  },
  catalogScan: async (q: { db: string; folders: string[] }): Promise<ScanSummary> => (await catalogOf(q.db)).scan(q.folders),
  catalogVerify: async (q: { db: string; id: number }): Promise<VerifyReport> => (await catalogOf(q.db)).verify(q.id),
  catalogFindFiles: async (q: { db: string; query: FileQuery }): Promise<FilePage> => (await catalogOf(q.db)).findFiles(q.query),
  /** The disk file, volume and path of an indexed version, for the restore-file job. */
  catalogLocateFile: async (q: { db: string; ref: string }): Promise<FileLocation> =>
    (await catalogOf(q.db)).locateFile(q.ref),
  ...guestQueries,
  ...vmfsQueries,
};

export type Queries = typeof queries;
export type QueryName = keyof Queries;
export type QueryInput<N extends QueryName> = Parameters<Queries[N]>[0];
export type QueryOutput<N extends QueryName> = Awaited<ReturnType<Queries[N]>>;

function withChain<T>(q: ChainQuery, use: (chain: Chain) => T): T {
  // The app shows a damaged disk (and what it lost) instead of refusing to open it, and a chain
  // whose parent is missing down to the link that names it (to offer Locate parent…).
  const chain = openChain(q.path, { ignoreCid: q.ignoreCid === true, acceptDamage: true, stopAtMissingParent: true });
  try {
    return use(chain);
  } finally {
    chain.close();
  }
}

/**
 * Walking the allocation of a 2 TiB chain takes the engine most of a second, so answers are
 * kept (a few) while none of the chain's files changed size or modification time.
 */
function cachedMap(chain: Chain, q: ChainQuery & { start?: number | undefined; length?: number | undefined; buckets: number }): MapSummary {
  const files = chain.links.flatMap((l) => [l.path, ...l.extents.flatMap((e) => (e.path === null ? [] : [e.path]))]);
  const stamp = files.map((f) => {
    const st = fs.statSync(f, { throwIfNoEntry: false });
    return st ? `${st.size}:${st.mtimeMs}` : '-';
  });
  const key = JSON.stringify([q.path, q.ignoreCid === true, q.start ?? 0, q.length ?? null, q.buckets, stamp]);
  const cached = maps.get(key);
  if (cached) return cached;
  const summary = summarizeMap(chain, q.start ?? 0, q.length, q.buckets);
  maps.set(key, summary);
  if (maps.size > MAP_CACHE) maps.delete(maps.keys().next().value!);
  return summary;
}

/** The worker's own connection to a catalog (SQLite in WAL mode takes one writer from each thread). */
async function catalogOf(db: string): Promise<import('../../catalog/catalog.js').Catalog> {
  let catalog = catalogs.get(db);
  if (!catalog) {
    const { Catalog } = await import('../../catalog/catalog.js');
    catalog = Catalog.open(db);
    catalogs.set(db, catalog);
  }
  return catalog;
}
