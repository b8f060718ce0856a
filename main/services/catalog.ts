/**
 * The catalog:* channels over main/catalog's Catalog (issue 5). The module (and better-sqlite3,
 * a native addon built for one ABI) loads on first use, so a wrong build costs the catalog
 * view a clear error, not the whole app its start.
 *
 * The catalog pages rows in id order and says whether more follow; the table wants a total
 * (one SQL count) and a sort, made here by streaming the matching rows (Catalog.iterate) once
 * and keeping a bounded selection of the rows of the page asked for — never every row at once.
 *
 * Scans and verifies read whole disks and archives: they run in the query worker, on its own
 * connection to the same database, so the window never waits on them.
 */
import * as path from 'node:path';
import { DiskchainError, usageError } from '../../shared/errors.js';
import type { CatalogDetail, CatalogEntry, CatalogPage, Parsed, ScanSummary, VerifyReport } from '../../shared/ipc/contract.js';
import type { FileLocation } from '../../shared/jobs.js';
import type { Catalog } from '../catalog/catalog.js';
import type { EntryDetail, EntryQuery, EntrySummary, FilePage, FileQuery, VerifyReport as CatalogVerifyReport } from '../catalog/types.js';
import { sharedQueryClient, type QueryClient } from './query-client.js';

const TOTAL_TTL_MS = 5000;

type SortSpec = NonNullable<Parsed<'catalog:list'>['sort']>;

export interface CatalogService {
  scan(folders: string[]): Promise<ScanSummary>;
  list(query: Parsed<'catalog:list'>): CatalogPage;
  search(query: Parsed<'catalog:search'>): CatalogPage;
  show(id: number): CatalogDetail;
  verify(id: number): Promise<VerifyReport>;
  forget(id: number): void;
  /** The file of a catalogued loose disk. */
  diskPath(id: number): string;
  /** The folder of a catalogued archive. */
  archivePath(id: number): string;
  /** Every indexed version of the files matching, in the query worker. */
  findFiles(query: Parsed<'catalog:findFiles'>): Promise<FilePage>;
  /** Where an indexed version is (for the restore-file job), in the query worker. */
  locateFile(ref: string): Promise<FileLocation>;
  close(): void;
}

export async function openCatalogService(dbPath: string, queries: QueryClient = sharedQueryClient()): Promise<CatalogService> {
  let module: typeof import('../catalog/catalog.js');
  try {
    module = await import('../catalog/catalog.js');
  } catch (e) {
    throw new DiskchainError(
      'E_UNSUPPORTED',
      `the catalog cannot load its SQLite module (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); process ABI ${process.versions.modules}`,
    );
  }
  return new CatalogAdapter(module.Catalog.open(dbPath), dbPath, queries);
}

export class CatalogAdapter implements CatalogService {
  /**
   * Row counts by filter, so scrolling a big table does not count again for every page; a write
   * here clears them, and they expire soon for writes by another process (a CLI scan).
   */
  private readonly totals = new Map<string, { total: number; at: number }>();

  constructor(
    private readonly catalog: Catalog,
    private readonly dbPath: string,
    private readonly queries: QueryClient,
  ) {}

  async scan(folders: string[]): Promise<ScanSummary> {
    this.totals.clear();
    const s = await this.queries.ask('catalogScan', { db: this.dbPath, folders });
    this.totals.clear();
    return {
      folders: s.roots,
      added: s.disks.added + s.archives.added,
      updated: s.disks.changed + s.archives.changed,
      unchanged: s.disks.unchanged + s.archives.unchanged,
      missing: s.missing,
      errors: s.errors,
      durationMs: s.elapsedMs,
    };
  }

  findFiles(q: Parsed<'catalog:findFiles'>): Promise<FilePage> {
    const query: FileQuery = {
      pattern: q.pattern,
      limit: q.limit,
      offset: q.offset,
      ...(q.path === undefined || q.path.trim() === '' ? {} : { path: q.path }),
      ...(q.vm === undefined || q.vm.trim() === '' ? {} : { vm: q.vm }),
      ...(q.from === undefined ? {} : { since: new Date(q.from).toISOString() }),
      ...(q.to === undefined ? {} : { until: new Date(q.to).toISOString() }),
      ...(q.minBytes === undefined ? {} : { minSizeBytes: q.minBytes }),
      ...(q.maxBytes === undefined ? {} : { maxSizeBytes: q.maxBytes }),
      ...(q.entryId === undefined ? {} : { entryId: q.entryId }),
    };
    return this.queries.ask('catalogFindFiles', { db: this.dbPath, query });
  }

  locateFile(ref: string): Promise<FileLocation> {
    return this.queries.ask('catalogLocateFile', { db: this.dbPath, ref });
  }

  list(query: Parsed<'catalog:list'>): CatalogPage {
    return this.page(query.type === undefined ? {} : { type: query.type }, query.sort, query.offset, query.limit);
  }

  search(query: Parsed<'catalog:search'>): CatalogPage {
    const filters: EntryQuery = {
      ...(query.query.trim() === '' ? {} : { text: query.query }),
      ...(query.type === undefined ? {} : { type: query.type }),
      ...(query.kind === undefined || query.kind === '' ? {} : { kind: query.kind }),
      ...(query.from === undefined ? {} : { since: new Date(query.from).toISOString() }),
      ...(query.to === undefined ? {} : { until: new Date(query.to).toISOString() }),
      ...(query.minBytes === undefined ? {} : { minCapacityBytes: query.minBytes }),
      ...(query.maxBytes === undefined ? {} : { maxCapacityBytes: query.maxBytes }),
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.vm === undefined || query.vm.trim() === '' ? {} : { vm: query.vm }),
    };
    return this.page(filters, query.sort, query.offset, query.limit);
  }

  show(id: number): CatalogDetail {
    const detail = this.catalog.show(id);
    const archive = detail.archive;
    return {
      entry: entryOf(detail),
      // Disks inside an archive are not catalogue entries: they get negative ids, unique in this answer.
      disks: (archive?.disks ?? []).map((d, i) => ({
        id: -(i + 1),
        type: 'disk',
        name: d.name,
        path: d.sourcePath ?? d.name,
        kind: d.kind,
        vm: detail.vmName,
        capacityBytes: d.capacityBytes,
        sizeBytes: null,
        mtime: null,
        missing: false,
        status: detail.status,
        error: null,
      })),
      segments: (archive?.files ?? []).map((f) => ({ path: path.join(detail.path, f.name), sizeBytes: f.bytes, sha256: f.sha256, state: f.state })),
      lastVerify: archive?.lastVerify ? { verifiedAt: archive.lastVerify.verifiedAt, ...verifyOf(detail, archive.lastVerify) } : null,
      chain: detail.disk?.chain ?? [],
      raw: JSON.stringify(archive?.manifest ?? detail, null, 2),
    };
  }

  async verify(id: number): Promise<VerifyReport> {
    this.totals.clear();
    const detail = this.catalog.show(id);
    const report = await this.queries.ask('catalogVerify', { db: this.dbPath, id });
    return verifyOf(detail, report);
  }

  forget(id: number): void {
    this.totals.clear();
    this.catalog.forget(id);
  }

  diskPath(id: number): string {
    const detail = this.catalog.show(id);
    if (detail.type !== 'disk') throw usageError(`entry ${id} is an archive: restore it, or open one of its disks after restoring`);
    if (detail.status === 'missing') throw new DiskchainError('E_NOTFOUND', 'the disk was not found at the last scan', detail.path);
    return detail.path;
  }

  archivePath(id: number): string {
    const detail = this.catalog.show(id);
    if (detail.type !== 'archive') throw usageError(`entry ${id} is a disk, not an archive`);
    return detail.path;
  }

  close(): void {
    this.catalog.close();
  }

  private page(filters: EntryQuery, sort: SortSpec | undefined, offset: number, limit: number): CatalogPage {
    const key = JSON.stringify(filters);
    if (sort === undefined) {
      const known = this.totals.get(key);
      let total = known !== undefined && Date.now() - known.at < TOTAL_TTL_MS ? known.total : undefined;
      if (total === undefined) {
        total = this.catalog.count(filters);
        this.totals.set(key, { total, at: Date.now() });
      }
      const page = this.catalog.search({ ...filters, offset, limit });
      return { rows: page.entries.map(entryOf), total };
    }
    let total = 0;
    // Keep only the offset+limit first rows in sort order while streaming (a bounded selection).
    const keep = offset + limit;
    const compare = comparator(sort);
    let best: CatalogEntry[] = [];
    for (const summary of this.catalog.iterate(filters)) {
      total++;
      const row = entryOf(summary);
      if (best.length >= keep && compare(row, best[best.length - 1]!) >= 0) continue;
      best.splice(insertionPoint(best, row, compare), 0, row);
      if (best.length > keep) best = best.slice(0, keep);
    }
    this.totals.set(key, { total, at: Date.now() });
    return { rows: best.slice(offset, keep), total };
  }
}

function entryOf(s: EntrySummary): CatalogEntry {
  const mtime = Date.parse(s.date);
  return {
    id: s.id,
    type: s.type,
    name: s.name,
    path: s.path,
    kind: s.kind,
    vm: s.vmName,
    capacityBytes: s.capacityBytes,
    sizeBytes: s.sizeBytes,
    mtime: Number.isNaN(mtime) ? null : mtime,
    missing: s.status === 'missing',
    status: s.status,
    statusNote: s.statusNote,
    error: s.error,
  };
}

function verifyOf(detail: EntryDetail, report: CatalogVerifyReport): VerifyReport {
  const byName = new Map(report.problems.map((p) => [p.name, p]));
  const files: VerifyReport['files'] = (detail.archive?.files ?? []).map((f) => {
    const problem = byName.get(f.name);
    byName.delete(f.name);
    return {
      path: path.join(detail.path, f.name),
      status: problem === undefined ? 'ok' : problem.problem === 'missing' ? 'missing' : 'changed',
      message: problem?.message ?? null,
    };
  });
  for (const p of byName.values()) {
    files.push({ path: p.name === '' ? detail.path : path.join(detail.path, p.name), status: p.problem === 'missing' ? 'missing' : 'changed', message: p.message });
  }
  return { id: report.id, ok: report.ok, files };
}

function comparator(sort: SortSpec): (a: CatalogEntry, b: CatalogEntry) => number {
  const sign = sort.dir === 'asc' ? 1 : -1;
  const key = sort.column;
  return (a, b) => {
    const x = a[key];
    const y = b[key];
    // Unknown values sort last whatever the direction; ties keep id order.
    if (x === null || y === null) return x === y ? a.id - b.id : x === null ? 1 : -1;
    const c = typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y, undefined, { sensitivity: 'base', numeric: true }) : Number(x) - Number(y);
    return c !== 0 ? sign * c : a.id - b.id;
  };
}

function insertionPoint(rows: CatalogEntry[], row: CatalogEntry, compare: (a: CatalogEntry, b: CatalogEntry) => number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(rows[mid]!, row) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
