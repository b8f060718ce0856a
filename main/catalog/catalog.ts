/**
 * The catalog of archived and loose disks, as the CLI and the desktop app use it:
 *
 *   const catalog = Catalog.open(defaultCatalogPath());
 *   await catalog.scan(['/mnt/nas/backups'], (p) => …);
 *   catalog.search({ text: 'web01', kind: 'vmfs', since: '2024-01-01' }).entries;
 *   await catalog.verify(12);
 *   catalog.close();
 *
 * One Catalog is one connection: keep writes (scan, verify, forget) on one of them and open
 * another for a reader thread or process; WAL lets readers run while a scan writes. Every
 * failure is a DiskchainError (SQLite's own errors are translated, naming the database file).
 */
import type { Database } from 'better-sqlite3';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { openCatalogDb, sqliteToDiskchain, type OpenDbOptions } from './db.js';
import { findFiles } from './file-find.js';
import type { FileLocation } from '../../shared/jobs.js';
import type { FileRef, OpenedVersion } from './file-get.js';
import type { IndexOptions } from './file-index.js';
import { FileStore } from './file-store.js';
import { archiveFilePath } from './manifest.js';
import { statFile } from './records.js';
import { scan, type ScanOptions } from './scan.js';
import { buildCount, buildQuery, PAGE, STREAM } from './search.js';
import { statsOf } from './status.js';
import { CatalogStore, pathRange, toSummary, type SummaryRow } from './store.js';
import type {
  CatalogPage,
  EntryDetail,
  EntryQuery,
  EntrySummary,
  FilePage,
  FileQuery,
  IndexedVolume,
  IndexSummary,
  ScanProgress,
  ScanSummary,
  VerifyReport,
} from './types.js';
import { verifyArchive, type VerifyOptions } from './verify.js';

export class Catalog {
  private readonly store: CatalogStore;

  private constructor(
    /** The database file. */
    readonly path: string,
    private readonly db: Database,
  ) {
    this.store = new CatalogStore(db);
  }

  /** Opens (creating it and its folder if need be) and migrates a catalog; refuses a damaged or newer one. */
  static open(file: string, options: OpenDbOptions = {}): Catalog {
    const db = openCatalogDb(file, options);
    try {
      return new Catalog(file, db);
    } catch (e) {
      db.close();
      throw sqliteToDiskchain(e, file);
    }
  }

  /** Scans folders (or single files) and brings their entries up to date; see scan.ts. */
  async scan(roots: string[], onProgress?: (p: ScanProgress) => void, options: Omit<ScanOptions, 'onProgress'> = {}): Promise<ScanSummary> {
    try {
      return await scan(this.store, roots, { ...options, onProgress });
    } catch (e) {
      throw sqliteToDiskchain(e, this.path);
    }
  }

  /** Every entry, a page at a time (default 100, at most 1000). */
  list(query: Pick<EntryQuery, 'limit' | 'offset' | 'type' | 'status'> = {}): CatalogPage {
    return this.search(query);
  }

  /** Entries matching every filter given, in id order, one page. */
  search(query: EntryQuery): CatalogPage {
    return this.guard(() => {
      const built = buildQuery(query, PAGE);
      const rows = this.db.prepare<Record<string, string | number>, SummaryRow>(built.sql).all({ ...built.params, limit: built.limit + 1 });
      const more = rows.length > built.limit;
      return { entries: rows.slice(0, built.limit).map(toSummary), offset: built.offset, limit: built.limit, more };
    });
  }

  /** How many entries match (limit and offset aside). */
  count(query: EntryQuery = {}): number {
    return this.guard(() => {
      const built = buildCount(query);
      return this.db.prepare<Record<string, string | number>, { n: number }>(built.sql).get(built.params)!.n;
    });
  }

  /**
   * Like search, but streams the rows one at a time: every match unless query.limit says fewer.
   * Until the loop ends, this Catalog's connection is busy with it (better-sqlite3 runs one
   * statement at a time per connection): finish or break the loop before other calls.
   */
  *iterate(query: EntryQuery = {}): Generator<EntrySummary> {
    const built = this.guard(() => buildQuery(query, STREAM));
    const rows = this.guard(() => this.db.prepare<Record<string, string | number>, SummaryRow>(built.sql).iterate(built.params));
    try {
      for (;;) {
        const next = this.guard(() => rows.next());
        if (next.done) return;
        yield toSummary(next.value);
      }
    } finally {
      rows.return?.();
    }
  }

  show(id: number): EntryDetail {
    return this.guard(() => {
      const summary = this.entry(id);
      return {
        ...summary,
        files: this.store.files(id),
        disk: summary.type === 'disk' ? this.store.diskDetail(id) : null,
        archive: summary.type === 'archive' ? this.store.archiveDetail(id) : null,
      };
    });
  }

  /** Re-hashes an archive's files against its catalogued manifest and records the result. */
  async verify(id: number, options: VerifyOptions = {}): Promise<VerifyReport> {
    const input = this.guard(() => {
      const summary = this.entry(id);
      if (summary.type !== 'archive') {
        throw usageError(`entry ${id} is a disk, not an archive: verify re-hashes archives (use diskchain check for a disk)`);
      }
      return { id, path: summary.path, files: this.store.archiveFiles(id), manifestText: this.store.manifestText(id) };
    });
    // Taken before hashing: a file changed while it is hashed shows as changed since the verify.
    const stats = statsOf(input.files, (name) => {
      const file = archiveFilePath(input.path, name);
      return file === null ? null : statFile(file);
    });
    const report = await verifyArchive(input, options);
    this.guard(() => this.store.recordVerify(report, stats));
    return report;
  }

  /** Verifies every archive in id order, reading the ids a page at a time. */
  async *verifyAll(options: VerifyOptions = {}): AsyncGenerator<VerifyReport> {
    let after = 0;
    for (;;) {
      const ids = this.guard(() => this.store.archiveIdsAfter(after, 100));
      if (ids.length === 0) return;
      for (const id of ids) yield await this.verify(id, options);
      after = ids[ids.length - 1]!;
    }
  }

  /**
   * Lists every file of the entries' guest file systems into the file catalog (`ids` undefined:
   * every entry); an entry whose manifest (or disk files) is the one it was indexed from is not opened.
   */
  async index(ids: number[] | undefined, options: IndexOptions = {}): Promise<IndexSummary> {
    // Loaded here: list, search and find do not pay for the guest readers.
    const { FileIndexer } = await import('./file-index.js');
    const all = ids ?? this.guard(() => this.db.prepare<[], { id: number }>('SELECT id FROM entries ORDER BY id').all().map((r) => r.id));
    if (ids) for (const id of ids) this.guard(() => this.entry(id));
    try {
      return await new FileIndexer(this.store, options).run(all);
    } catch (e) {
      throw sqliteToDiskchain(e, this.path);
    }
  }

  /** Ids of the entries at or under a folder (what a scan of it found), in id order. */
  idsUnder(root: string): number[] {
    const { lo, hi } = pathRange(root);
    return this.guard(() =>
      this.db
        .prepare<[string, string, string], { id: number }>('SELECT id FROM entries WHERE path = ? OR (path >= ? AND path < ?) ORDER BY id')
        .all(root, lo, hi)
        .map((r) => r.id),
    );
  }

  /** Every indexed version of the files matching, grouped by path, newest first; one page. */
  findFiles(query: FileQuery): FilePage {
    return this.guard(() => findFiles(this.db, query));
  }

  /** The volumes of an entry as the last index left them. */
  indexedVolumes(id: number): IndexedVolume[] {
    return this.guard(() => {
      this.entry(id);
      return new FileStore(this.db).volumes(id);
    });
  }

  /** Opens the version `ref` names (ID[:DISK][:VOL]:/path) on its disk and volume; close its chain when done. */
  async openVersion(ref: string | FileRef, at?: number): Promise<OpenedVersion> {
    const { openVersion, parseFileRef } = await import('./file-get.js');
    return this.guard(() => {
      const parsed = typeof ref === 'string' ? parseFileRef(ref) : ref;
      if (at !== undefined) {
        if (parsed.link !== 0 && parsed.link !== at) throw usageError(`--at ${at} and the reference's @${parsed.link} name different links: give one`);
        parsed.link = at;
      }
      return openVersion(this.store, parsed);
    });
  }

  /** Where the version `ref` names is (the disk file, volume and path); nothing is opened. */
  async locateFile(ref: string): Promise<FileLocation> {
    const { parseFileRef, versionFile } = await import('./file-get.js');
    return this.guard(() => {
      const found = versionFile(this.store, parseFileRef(ref));
      const where = { volume: found.volume, path: found.path, from: found.from };
      // An archived disk is read through its archive (chunk-checked), as the extract job reads one.
      return found.archive ? { disk: found.archive.path, archiveDisk: found.archive.disk, at: found.archive.at, ...where } : { disk: found.file, ...where };
    });
  }

  /** Removes an entry from the catalog (never any file); a later scan of its folder finds it again. */
  forget(id: number): void {
    this.guard(() => {
      this.entry(id);
      this.db.transaction(() => this.store.forget(id))();
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private entry(id: number): EntrySummary {
    if (!Number.isSafeInteger(id) || id <= 0) throw usageError(`bad catalog id "${id}": ids are whole numbers from 1`);
    const summary = this.store.summary(id);
    if (!summary) throw new DiskchainError('E_NOTFOUND', `no entry ${id} in the catalog`, this.path);
    return summary;
  }

  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (e) {
      throw sqliteToDiskchain(e, this.path);
    }
  }
}
