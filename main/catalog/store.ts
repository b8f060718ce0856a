/**
 * Rows in and out: the only module that writes entries, so the full-text index and the detail
 * tables always move together with them. Every statement is prepared once per connection.
 */
import * as path from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import type { Problem } from '../../shared/types.js';
import { forgetFiles } from './file-store.js';
import type { ArchiveRecord, DiskRecord, EntryRecord } from './records.js';
import { archiveStatus, type ArchiveStatus, type VerifyFileStats } from './status.js';
import type {
  ArchiveDetail,
  ArchiveDiskRecord,
  ArchiveFileDetail,
  ArchiveFileRecord,
  ArchiveFileState,
  EntryHealth,
  CatalogFile,
  DiskDetail,
  EntrySummary,
  EntryType,
  EntryStatus,
  VerifyReport,
} from './types.js';

/**
 * The columns of an EntrySummary, for every query that lists entries (aliased `e`). The status is
 * the entry's presence when it is missing, else what its scans and verifies found.
 */
export const SUMMARY_COLUMNS = `e.id, e.type, e.path, e.name, e.kind, e.vm_name, e.capacity_bytes, e.allocated_bytes,
  e.size_bytes, e.date_ms, CASE WHEN e.status = 'missing' THEN 'missing' ELSE e.health END AS status, e.status_note,
  e.error, e.first_seen_ms, e.last_seen_ms, e.missing_since_ms`;

export interface SummaryRow {
  id: number;
  type: EntryType;
  path: string;
  name: string;
  kind: string | null;
  vm_name: string | null;
  capacity_bytes: number | null;
  allocated_bytes: number | null;
  size_bytes: number;
  date_ms: number;
  status: EntryStatus;
  status_note: string | null;
  error: string | null;
  first_seen_ms: number;
  last_seen_ms: number;
  missing_since_ms: number | null;
}

export function toSummary(r: SummaryRow): EntrySummary {
  return {
    id: r.id,
    type: r.type,
    path: r.path,
    name: r.name,
    kind: r.kind,
    vmName: r.vm_name,
    capacityBytes: r.capacity_bytes,
    allocatedBytes: r.allocated_bytes,
    sizeBytes: r.size_bytes,
    date: iso(r.date_ms),
    status: r.status,
    statusNote: r.status === 'missing' ? 'not found at the last scan' : r.status_note,
    error: r.error,
    firstSeen: iso(r.first_seen_ms),
    lastSeen: iso(r.last_seen_ms),
    missingSince: r.missing_since_ms === null ? null : iso(r.missing_since_ms),
  };
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/** What a rescan needs to know about a path it meets again. */
export interface KnownEntry {
  id: number;
  type: EntryType;
  status: EntryStatus;
  error: string | null;
  files: CatalogFile[];
  vmName: string | null;
  parentPath: string | null;
}

interface KnownRow {
  id: number;
  type: EntryType;
  status: EntryStatus;
  error: string | null;
  files: string | null;
  vm_name: string | null;
  parent_path: string | null;
}

export type WriteOutcome = 'added' | 'changed';

export class CatalogStore {
  private readonly findByPath: Statement<[string], KnownRow>;
  private readonly touch: Statement;
  private readonly setVm: Statement;
  private readonly insertEntry: Statement;
  private readonly updateEntry: Statement;
  private readonly deleteEntryRow: Statement;
  private readonly upsertFiles: Statement;
  private readonly upsertDiskRow: Statement;
  private readonly deleteDiskRow: Statement;
  private readonly upsertArchiveRow: Statement;
  private readonly findVerify: Statement<[number], VerifyRow>;
  private readonly deleteArchiveRow: Statement;
  private readonly deleteArchiveFiles: Statement;
  private readonly deleteArchiveDisks: Statement;
  private readonly insertArchiveFile: Statement;
  private readonly insertArchiveDisk: Statement;
  private readonly ftsDelete: Statement;
  private readonly ftsInsert: Statement;

  constructor(readonly db: Database) {
    this.findByPath = db.prepare(
      `SELECT e.id, e.type, e.status, e.error, f.files, e.vm_name, d.parent_path
       FROM entries e LEFT JOIN entry_files f ON f.entry_id = e.id LEFT JOIN disks d ON d.entry_id = e.id
       WHERE e.path = ?`,
    );
    this.touch = db.prepare(
      `UPDATE entries SET last_scan_id = @scanId, last_seen_ms = @now, missing_since_ms = NULL,
         status = CASE WHEN error IS NULL THEN 'ok' ELSE 'error' END
       WHERE id = @id`,
    );
    this.setVm = db.prepare('UPDATE entries SET vm_name = @vm WHERE id = @id');
    const entryColumns = `type = @type, name = @name, kind = @kind, vm_name = @vm, capacity_bytes = @capacity,
      allocated_bytes = @allocated, size_bytes = @size, mtime_ms = @mtime, date_ms = @date, status = @status,
      health = @health, status_note = @note, error = @error, last_seen_ms = @now, missing_since_ms = NULL, last_scan_id = @scanId`;
    this.insertEntry = db.prepare(
      `INSERT INTO entries (type, path, name, kind, vm_name, capacity_bytes, allocated_bytes, size_bytes, mtime_ms,
         date_ms, status, health, status_note, error, first_seen_ms, last_seen_ms, last_scan_id)
       VALUES (@type, @path, @name, @kind, @vm, @capacity, @allocated, @size, @mtime, @date, @status, @health, @note,
         @error, @now, @now, @scanId)`,
    );
    this.updateEntry = db.prepare(`UPDATE entries SET ${entryColumns} WHERE id = @id`);
    this.deleteEntryRow = db.prepare('DELETE FROM entries WHERE id = ?');
    this.upsertFiles = db.prepare(
      'INSERT INTO entry_files (entry_id, files) VALUES (?, ?) ON CONFLICT (entry_id) DO UPDATE SET files = excluded.files',
    );
    this.upsertDiskRow = db.prepare(
      `INSERT OR REPLACE INTO disks (entry_id, adapter_type, cylinders, heads, sectors, geometry_source, cid, parent_cid,
         parent_path, chain, problems)
       VALUES (@id, @adapter, @cylinders, @heads, @sectors, @geometrySource, @cid, @parentCid, @parentPath, @chain, @problems)`,
    );
    this.deleteDiskRow = db.prepare('DELETE FROM disks WHERE entry_id = ?');
    this.upsertArchiveRow = db.prepare(
      `INSERT INTO archives (entry_id, manifest, created_at, source_kind, source_path, tool, verified_ms, verify_ok,
         verify_report, verify_files, file_states)
       VALUES (@id, @manifest, @createdAt, @sourceKind, @sourcePath, @tool, @verifiedMs, @verifyOk, @verifyReport,
         @verifyFiles, @fileStates)
       ON CONFLICT (entry_id) DO UPDATE SET manifest = excluded.manifest, created_at = excluded.created_at,
         source_kind = excluded.source_kind, source_path = excluded.source_path, tool = excluded.tool,
         verified_ms = excluded.verified_ms, verify_ok = excluded.verify_ok, verify_report = excluded.verify_report,
         verify_files = excluded.verify_files, file_states = excluded.file_states`,
    );
    this.findVerify = db.prepare('SELECT manifest, verified_ms, verify_ok, verify_report, verify_files FROM archives WHERE entry_id = ?');
    this.deleteArchiveRow = db.prepare('DELETE FROM archives WHERE entry_id = ?');
    this.deleteArchiveFiles = db.prepare('DELETE FROM archive_files WHERE archive_id = ?');
    this.deleteArchiveDisks = db.prepare('DELETE FROM archive_disks WHERE archive_id = ?');
    this.insertArchiveFile = db.prepare('INSERT INTO archive_files (archive_id, position, name, bytes, sha256) VALUES (?, ?, ?, ?, ?)');
    this.insertArchiveDisk = db.prepare(
      `INSERT INTO archive_disks (archive_id, position, name, source_path, kind, capacity_bytes, adapter_type,
         content_sha256, detail)
       VALUES (@id, @position, @name, @sourcePath, @kind, @capacity, @adapter, @contentSha256, @detail)`,
    );
    this.ftsDelete = db.prepare('DELETE FROM entries_fts WHERE rowid = ?');
    this.ftsInsert = db.prepare('INSERT INTO entries_fts (rowid, name, vm, dir) VALUES (?, ?, ?, ?)');
  }

  known(entryPath: string): KnownEntry | null {
    const row = this.findByPath.get(entryPath);
    if (!row) return null;
    return {
      id: row.id,
      type: row.type,
      status: row.status,
      error: row.error,
      files: row.files === null ? [] : (JSON.parse(row.files) as CatalogFile[]),
      vmName: row.vm_name,
      parentPath: row.parent_path,
    };
  }

  /** An unchanged entry seen again: present (again), seen by this scan; its VM may have been renamed. */
  touchUnchanged(known: KnownEntry, scanId: number, now: number, vmName: string | null, ftsName: string, dir: string): void {
    this.touch.run({ id: known.id, scanId, now });
    if (vmName !== known.vmName) {
      this.setVm.run({ id: known.id, vm: vmName });
      this.index(known.id, ftsName, vmName, dir);
    }
  }

  /** Writes a record read just now; `known` is what the catalog had for its path, if anything. */
  write(record: EntryRecord, known: KnownEntry | null, scanId: number, now: number, vmName: string | null): WriteOutcome {
    // Another scan may have added the path since `known` was read: update its row, do not insert a second.
    known ??= this.known(record.path);
    if (known && known.type !== record.type) {
      this.forget(known.id);
      known = null;
    }
    // An archive keeps its last verify while its manifest is the same; its status weighs both.
    const previous = known && record.type === 'archive' ? (this.findVerify.get(known.id) ?? null) : null;
    const verify = record.type === 'archive' && previous !== undefined && previous !== null && previous.manifest !== null && previous.manifest === record.manifestText ? previous : null;
    const archive = record.type === 'archive' && record.error === null ? archiveStatusOf(record, verify) : null;
    const params = {
      type: record.type,
      path: record.path,
      name: record.name,
      kind: record.kind,
      vm: vmName,
      capacity: record.capacityBytes,
      allocated: record.allocatedBytes,
      size: record.sizeBytes,
      mtime: record.mtimeMs,
      date: record.dateMs,
      status: record.error === null ? 'ok' : 'error',
      health: archive?.health ?? record.health,
      note: archive?.note ?? record.note,
      error: record.error,
      now,
      scanId,
    };
    let id: number;
    if (known) {
      id = known.id;
      this.updateEntry.run({ ...params, id });
    } else {
      id = Number(this.insertEntry.run(params).lastInsertRowid);
    }
    this.upsertFiles.run(id, JSON.stringify(record.files));
    if (record.type === 'disk') this.writeDisk(id, record);
    else this.writeArchive(id, record, verify, archive);
    this.index(id, ftsNameOf(record), vmName, path.dirname(record.path));
    return known ? 'changed' : 'added';
  }

  private writeDisk(id: number, r: DiskRecord): void {
    const d = r.detail;
    if (!d) {
      this.deleteDiskRow.run(id);
      return;
    }
    this.upsertDiskRow.run({
      id,
      adapter: d.adapterType,
      cylinders: d.geometry.cylinders,
      heads: d.geometry.heads,
      sectors: d.geometry.sectors,
      geometrySource: d.geometrySource,
      cid: d.cid,
      parentCid: d.parentCid,
      parentPath: d.parentPath,
      chain: JSON.stringify(d.chain),
      problems: JSON.stringify(d.problems),
    });
  }

  private writeArchive(id: number, r: ArchiveRecord, verify: VerifyRow | null, status: ArchiveStatus | null): void {
    const m = r.manifest;
    this.upsertArchiveRow.run({
      id,
      manifest: r.manifestText,
      createdAt: m?.createdAt ?? null,
      sourceKind: m?.source.kind ?? null,
      sourcePath: m?.source.path ?? null,
      tool: m ? `${m.tool.name} ${m.tool.version}` : null,
      verifiedMs: verify?.verified_ms ?? null,
      verifyOk: verify?.verify_ok ?? null,
      verifyReport: verify?.verify_report ?? null,
      verifyFiles: verify?.verify_files ?? null,
      fileStates: status === null ? null : JSON.stringify(status.fileStates),
    });
    this.deleteArchiveFiles.run(id);
    this.deleteArchiveDisks.run(id);
    if (!m) return;
    m.files.forEach((f, position) => this.insertArchiveFile.run(id, position, f.name, f.bytes, f.sha256.toLowerCase()));
    m.disks.forEach((d, position) => {
      this.insertArchiveDisk.run({
        id,
        position,
        name: d.name,
        sourcePath: d.sourcePath,
        kind: d.kind,
        capacity: d.capacityBytes,
        adapter: d.adapterType,
        contentSha256: d.contentSha256,
        detail: JSON.stringify(d),
      });
    });
  }

  private index(id: number, name: string, vmName: string | null, dir: string): void {
    this.ftsDelete.run(id);
    this.ftsInsert.run(id, name, vmName ?? '', dir);
  }

  /** Removes an entry and everything about it (detail rows cascade). */
  forget(id: number): boolean {
    forgetFiles(this.db, id);
    this.ftsDelete.run(id);
    this.deleteDiskRow.run(id);
    this.deleteArchiveRow.run(id);
    return this.deleteEntryRow.run(id).changes > 0;
  }

  /** Entries under `root` (or `root` itself) not seen by this scan become missing; returns how many. */
  markMissingUnder(root: string, scanId: number, now: number): number {
    const { lo, hi } = pathRange(root);
    return this.db
      .prepare(
        `UPDATE entries SET status = 'missing', missing_since_ms = @now
         WHERE (path = @root OR (path >= @lo AND path < @hi))
           AND last_scan_id IS NOT @scanId AND status <> 'missing'`,
      )
      .run({ root, lo, hi, scanId, now }).changes;
  }

  /** Entries under a folder that could not be listed are not missing: we could not look. */
  keepUnder(dir: string, scanId: number): void {
    const { lo, hi } = pathRange(dir);
    this.db
      .prepare('UPDATE entries SET last_scan_id = @scanId WHERE path = @dir OR (path >= @lo AND path < @hi)')
      .run({ dir, lo, hi, scanId });
  }

  startScan(roots: string[], now: number): number {
    return Number(this.db.prepare('INSERT INTO scans (started_ms, roots) VALUES (?, ?)').run(now, JSON.stringify(roots)).lastInsertRowid);
  }

  finishScan(scanId: number, now: number): void {
    this.db.prepare('UPDATE scans SET finished_ms = ? WHERE id = ?').run(now, scanId);
  }

  /**
   * Refreshes the planner's statistics where they are missing or stale (cheap when they are not),
   * so that a filter matching few rows is looked up through its index instead of a full scan.
   */
  optimize(): void {
    this.db.pragma('optimize = 0x10002');
  }

  diskDetail(id: number): DiskDetail | null {
    const row = this.db
      .prepare<[number], DiskRow>(
        `SELECT d.*, e.kind FROM disks d JOIN entries e ON e.id = d.entry_id WHERE d.entry_id = ?`,
      )
      .get(id);
    if (!row) return null;
    const parent =
      row.parent_path === null
        ? undefined
        : this.db.prepare<[string], { id: number }>('SELECT id FROM entries WHERE path = ?').get(row.parent_path);
    const children = this.db
      .prepare<[string], { entry_id: number }>('SELECT entry_id FROM disks WHERE parent_path = ? ORDER BY entry_id')
      .all(this.pathOf(id));
    return {
      createType: row.kind ?? 'unknown',
      adapterType: row.adapter_type,
      geometry: row.cylinders === null ? null : { cylinders: row.cylinders, heads: row.heads ?? 0, sectors: row.sectors ?? 0 },
      geometrySource: row.geometry_source,
      cid: row.cid,
      parentCid: row.parent_cid,
      parentPath: row.parent_path,
      parentId: parent?.id ?? null,
      childIds: children.map((c) => c.entry_id),
      chain: JSON.parse(row.chain) as string[],
      problems: JSON.parse(row.problems) as Problem[],
    };
  }

  archiveDetail(id: number): ArchiveDetail | null {
    const row = this.db.prepare<[number], ArchiveRow>('SELECT * FROM archives WHERE entry_id = ?').get(id);
    if (!row) return null;
    const states = (parseObject(row.file_states) ?? {}) as Record<string, ArchiveFileState>;
    const files = this.archiveFiles(id).map((f): ArchiveFileDetail => ({ ...f, state: states[f.name] ?? null }));
    const disks = this.db
      .prepare<[number], ArchiveDiskRow>('SELECT * FROM archive_disks WHERE archive_id = ? ORDER BY position')
      .all(id)
      .map(
        (d): ArchiveDiskRecord => ({
          name: d.name,
          sourcePath: d.source_path,
          kind: d.kind,
          capacityBytes: d.capacity_bytes,
          adapterType: d.adapter_type,
          contentSha256: d.content_sha256,
          manifest: JSON.parse(d.detail) as Record<string, unknown>,
        }),
      );
    return {
      createdAt: row.created_at,
      sourceKind: row.source_kind,
      sourcePath: row.source_path,
      tool: row.tool,
      files,
      disks,
      manifest: parseObject(row.manifest),
      lastVerify: row.verify_report === null ? null : (JSON.parse(row.verify_report) as VerifyReport),
    };
  }

  archiveFiles(id: number): ArchiveFileRecord[] {
    return this.db
      .prepare<[number], ArchiveFileRecord>('SELECT name, bytes, sha256 FROM archive_files WHERE archive_id = ? ORDER BY position')
      .all(id);
  }

  manifestText(id: number): string | null {
    return this.db.prepare<[number], { manifest: string | null }>('SELECT manifest FROM archives WHERE entry_id = ?').get(id)?.manifest ?? null;
  }

  /** Records a verify, the files' stats taken as it began, and the status it gives. */
  recordVerify(report: VerifyReport, stats: VerifyFileStats): EntryHealth {
    const status = archiveStatus({ files: this.archiveFiles(report.id), verify: report, verifyStats: stats });
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE archives SET verified_ms = ?, verify_ok = ?, verify_report = ?, verify_files = ?, file_states = ? WHERE entry_id = ?')
        .run(Date.parse(report.verifiedAt), report.ok ? 1 : 0, JSON.stringify(report), JSON.stringify(stats), JSON.stringify(status.fileStates), report.id);
      // An archive whose manifest did not read keeps its error status: the verify checked the catalogued one.
      this.db
        .prepare('UPDATE entries SET health = @health, status_note = @note WHERE id = @id AND error IS NULL')
        .run({ id: report.id, health: status.health, note: status.note });
    })();
    return status.health;
  }

  summary(id: number): EntrySummary | null {
    const row = this.db.prepare<[number], SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM entries e WHERE e.id = ?`).get(id);
    return row ? toSummary(row) : null;
  }

  files(id: number): CatalogFile[] {
    const row = this.db.prepare<[number], { files: string }>('SELECT files FROM entry_files WHERE entry_id = ?').get(id);
    return row ? (JSON.parse(row.files) as CatalogFile[]) : [];
  }

  /** Archive ids after `afterId`, a page at a time, so `verify --all` never holds every row. */
  archiveIdsAfter(afterId: number, limit: number): number[] {
    return this.db
      .prepare<[number, number], { id: number }>("SELECT id FROM entries WHERE type = 'archive' AND id > ? ORDER BY id LIMIT ?")
      .all(afterId, limit)
      .map((r) => r.id);
  }

  private pathOf(id: number): string {
    return this.db.prepare<[number], { path: string }>('SELECT path FROM entries WHERE id = ?').get(id)?.path ?? '';
  }
}

interface DiskRow {
  entry_id: number;
  kind: string | null;
  adapter_type: string | null;
  cylinders: number | null;
  heads: number | null;
  sectors: number | null;
  geometry_source: string | null;
  cid: string | null;
  parent_cid: string | null;
  parent_path: string | null;
  chain: string;
  problems: string;
}

interface ArchiveRow {
  entry_id: number;
  manifest: string | null;
  created_at: string | null;
  source_kind: string | null;
  source_path: string | null;
  tool: string | null;
  verify_report: string | null;
  file_states: string | null;
}

interface VerifyRow {
  manifest: string | null;
  verified_ms: number | null;
  verify_ok: number | null;
  verify_report: string | null;
  verify_files: string | null;
}

function archiveStatusOf(record: ArchiveRecord, verify: VerifyRow | null): ArchiveStatus {
  return archiveStatus({
    files: record.manifest?.files ?? [],
    now: record.fileStats,
    verify: verify?.verify_report ? (JSON.parse(verify.verify_report) as VerifyReport) : null,
    verifyStats: verify?.verify_files ? (JSON.parse(verify.verify_files) as VerifyFileStats) : null,
  });
}

interface ArchiveDiskRow {
  name: string;
  source_path: string | null;
  kind: string | null;
  capacity_bytes: number | null;
  adapter_type: string | null;
  content_sha256: string | null;
  detail: string;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** What full-text search sees as an entry's name: for an archive, its folder and every disk it holds. */
export function ftsNameOf(record: EntryRecord): string {
  if (record.type === 'disk' || !record.manifest) return record.name;
  const m = record.manifest;
  const names = [record.name];
  for (const d of m.disks) {
    names.push(d.name, baseName(d.sourcePath));
  }
  names.push(baseName(m.source.path));
  return [...new Set(names)].join(' ');
}

function baseName(p: string): string {
  return path.posix.basename(p.replace(/\\/g, '/'));
}

/**
 * The half-open range of paths strictly under `dir`: every path that starts with `dir` and a
 * separator sorts at or after `dir/` and before `dir` followed by the separator's successor.
 */
export function pathRange(dir: string): { lo: string; hi: string } {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : path.sep;
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  const stem = prefix.slice(0, -1);
  return { lo: prefix, hi: stem + String.fromCharCode(sep.charCodeAt(0) + 1) };
}
