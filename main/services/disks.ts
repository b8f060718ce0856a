/**
 * Open disks as opaque ids (electron.md §6.7): main keeps id → real path; the renderer holds
 * only ids. Files are registered from main-side dialogs, drops (paths read in the preload),
 * recent files, the catalog, job outputs or the `serve` command line — never from a path the
 * renderer sends.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { DiskRef, DisksOpenedEvent, MapSummary, RecentEntry } from '../../shared/ipc/contract.js';
import type { CheckReport, DiskInfo, GeometryReport, LayerInfo } from '../../shared/types.js';
import { openChain, type Chain } from '../disk/chain.js';
import { checkDisk } from '../disk/check.js';
import { geometryReport } from '../disk/geometry.js';
import { diskInfo, layerInfo } from '../disk/info.js';
import { summarizeMap } from './map-summary.js';
import type { Emit } from './events.js';
import { StateFile } from './state.js';

const RECENT_MAX = 20;
const MAP_CACHE = 8;

interface RecentRecord {
  path: string;
  openedAt: number;
}

export class DiskService {
  private readonly disks = new Map<string, DiskRef>();
  private readonly recentIds = new Map<string, string>();
  private readonly recentFile: StateFile<RecentRecord[]>;
  private readonly maps = new Map<string, MapSummary>();

  constructor(
    stateDir: string,
    private readonly emit: Emit,
  ) {
    this.recentFile = new StateFile(path.join(stateDir, 'recent.json'), parseRecent, () => []);
  }

  /** Registers files (already chosen by main) and tells every window. Unreadable files are refused before any is added. */
  open(files: readonly string[], source: DisksOpenedEvent['source']): DiskRef[] {
    const reals = files.map(realFile);
    const refs = reals.map((real) => this.register(real));
    if (refs.length > 0) this.emit('disks:opened', { disks: refs, source });
    return refs;
  }

  list(): DiskRef[] {
    return [...this.disks.values()];
  }

  close(diskId: string): void {
    this.ref(diskId);
    this.disks.delete(diskId);
  }

  /** The real path behind an id, for jobs. */
  pathOf(diskId: string): string {
    return this.ref(diskId).path;
  }

  info(diskId: string, ignoreCid = false): DiskInfo {
    return this.withChain(diskId, ignoreCid, diskInfo);
  }

  geometry(diskId: string, ignoreCid = false): GeometryReport {
    return this.withChain(diskId, ignoreCid, geometryReport);
  }

  check(diskId: string): CheckReport {
    return checkDisk(this.pathOf(diskId));
  }

  layer(diskId: string, layer: number, ignoreCid = false): LayerInfo {
    return this.withChain(diskId, ignoreCid, (chain) => {
      const link = chain.links[layer];
      if (!link) throw new DiskchainError('E_USAGE', `the chain has ${chain.links.length} links; there is no link ${layer}`, chain.top.path);
      return layerInfo(link);
    });
  }

  /**
   * Walking the allocation of a 2 TiB chain takes the engine most of a second, so answers are
   * kept (a few) while none of the chain's files changed size or modification time.
   */
  map(diskId: string, range: { start?: number | undefined; length?: number | undefined; buckets: number }, ignoreCid = false): MapSummary {
    return this.withChain(diskId, ignoreCid, (chain) => {
      const files = chain.links.flatMap((l) => [l.path, ...l.extents.flatMap((e) => (e.path === null ? [] : [e.path]))]);
      const stamp = files.map((f) => {
        const st = fs.statSync(f, { throwIfNoEntry: false });
        return `${f}:${st?.size}:${st?.mtimeMs}`;
      });
      const key = JSON.stringify([diskId, ignoreCid, range.start ?? 0, range.length ?? null, range.buckets, stamp]);
      const cached = this.maps.get(key);
      if (cached) return cached;
      const summary = summarizeMap(chain, range.start ?? 0, range.length, range.buckets);
      this.maps.set(key, summary);
      if (this.maps.size > MAP_CACHE) this.maps.delete(this.maps.keys().next().value!);
      return summary;
    });
  }

  recent(): RecentEntry[] {
    return this.recentFile.read().map((r) => ({
      recentId: this.recentId(r.path),
      path: r.path,
      name: path.basename(r.path),
      openedAt: r.openedAt,
      exists: isFile(r.path),
    }));
  }

  openRecent(recentId: string): DiskRef {
    const entry = this.recentFile.read().find((r) => this.recentIds.get(r.path) === recentId);
    if (!entry) throw new DiskchainError('E_NOTFOUND', 'that recent file is no longer in the list');
    return this.open([entry.path], 'recent')[0]!;
  }

  clearRecent(): void {
    this.recentFile.write([]);
  }

  private register(real: string): DiskRef {
    this.remember(real);
    const existing = [...this.disks.values()].find((d) => d.path === real);
    if (existing) return existing;
    const ref: DiskRef = { diskId: randomUUID(), path: real, name: path.basename(real), openedAt: Date.now() };
    this.disks.set(ref.diskId, ref);
    return ref;
  }

  private remember(real: string): void {
    const list = this.recentFile.read().filter((r) => r.path !== real);
    list.unshift({ path: real, openedAt: Date.now() });
    try {
      this.recentFile.write(list.slice(0, RECENT_MAX));
    } catch {
      // A read-only state folder costs the recent list, not the open.
    }
  }

  private recentId(file: string): string {
    let id = this.recentIds.get(file);
    if (!id) {
      id = randomUUID();
      this.recentIds.set(file, id);
    }
    return id;
  }

  private ref(diskId: string): DiskRef {
    const ref = this.disks.get(diskId);
    if (!ref) throw new DiskchainError('E_NOTFOUND', 'that disk is not open (it was closed, or the app restarted)');
    return ref;
  }

  private withChain<T>(diskId: string, ignoreCid: boolean, use: (chain: Chain) => T): T {
    const chain = openChain(this.pathOf(diskId), { ignoreCid });
    try {
      return use(chain);
    } finally {
      chain.close();
    }
  }
}

/** The real path of an existing regular file, or a clear error naming it. */
export function realFile(file: string): string {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    throw new DiskchainError('E_NOTFOUND', 'no such file', file);
  }
  if (!fs.statSync(real).isFile()) throw new DiskchainError('E_USAGE', 'not a file (choose a .vmdk, .dsk or .REDO file)', file);
  return real;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function parseRecent(value: unknown): RecentRecord[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v: unknown) => {
    if (typeof v !== 'object' || v === null) return [];
    const r = v as Record<string, unknown>;
    return typeof r['path'] === 'string' && typeof r['openedAt'] === 'number' ? [{ path: r['path'], openedAt: r['openedAt'] }] : [];
  });
}
