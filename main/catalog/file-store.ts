/**
 * Rows of the file catalog in and out (schema v3): volumes as they were indexed, and the files of
 * each, with names and folder paths interned. The only module that writes these tables; every
 * statement is prepared once per connection.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { FileKind, IndexedVolume } from './types.js';

export const FILE_KINDS: readonly FileKind[] = ['file', 'dir', 'symlink', 'other'];

/** Names interned in memory at most; past it the cache starts again (the table still has them). */
const NAME_CACHE_MAX = 200_000;

export interface VolumeStart {
  entryId: number;
  disk: string;
  /** The archived link (0 = the top). */
  link: number;
  volume: string;
  fileSystem: string | null;
  label: string | null;
  sourceKey: string;
  now: number;
}

export interface FileRow {
  dir: string;
  name: string;
  kind: FileKind;
  size: number;
  mtimeMs: number | null;
  ctimeMs: number | null;
}

interface VolumeRow {
  disk: string;
  link: number;
  volume: string;
  fs_type: string | null;
  label: string | null;
  file_count: number;
  error: string | null;
  indexed_ms: number;
  source_key: string;
}

export class FileStore {
  private readonly findName: Statement<[string], { id: number }>;
  private readonly addName: Statement<[string]>;
  private readonly findDir: Statement<[string], { id: number }>;
  private readonly addDir: Statement<[string]>;
  private readonly addFile: Statement;
  private readonly addVolume: Statement;
  private readonly endVolume: Statement;
  private readonly volumesOf: Statement<[number], VolumeRow>;
  private readonly names = new Map<string, number>();
  private dirs = new Map<string, number>();

  constructor(readonly db: Database) {
    this.findName = db.prepare('SELECT id FROM file_names WHERE name = ?');
    this.addName = db.prepare('INSERT INTO file_names (name) VALUES (?)');
    this.findDir = db.prepare('SELECT id FROM file_dirs WHERE path = ?');
    this.addDir = db.prepare('INSERT INTO file_dirs (path) VALUES (?)');
    // A damaged folder can list one name twice: the first is kept.
    this.addFile = db.prepare(
      'INSERT OR IGNORE INTO files (name_id, dir_id, volume_id, kind, size, mtime_ms, ctime_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.addVolume = db.prepare(
      `INSERT INTO file_volumes (entry_id, disk, link, volume, fs_type, label, source_key, indexed_ms)
       VALUES (@entryId, @disk, @link, @volume, @fileSystem, @label, @sourceKey, @now)`,
    );
    this.endVolume = db.prepare('UPDATE file_volumes SET file_count = ?, error = ?, label = coalesce(?, label) WHERE id = ?');
    this.volumesOf = db.prepare(
      'SELECT disk, link, volume, fs_type, label, file_count, error, indexed_ms, source_key FROM file_volumes WHERE entry_id = ? AND complete = 1 ORDER BY id',
    );
  }

  /** The source key every complete volume of an entry was indexed from; null when never indexed (or keys differ). */
  indexedKey(entryId: number): string | null {
    const rows = this.volumesOf.all(entryId);
    if (rows.length === 0) return null;
    const key = rows[0]!.source_key;
    return rows.every((r) => r.source_key === key) ? key : null;
  }

  volumes(entryId: number): IndexedVolume[] {
    return this.volumesOf.all(entryId).map((r) => ({
      disk: r.disk,
      link: r.link,
      volume: r.volume,
      fileSystem: r.fs_type,
      label: r.label,
      files: r.file_count,
      error: r.error,
      indexedAt: new Date(r.indexed_ms).toISOString(),
    }));
  }

  /** A volume row, invisible to find until `commitEntry`. */
  startVolume(v: VolumeStart): number {
    this.dirs = new Map();
    return Number(this.addVolume.run(v).lastInsertRowid);
  }

  /** `label`: as the opened file system read it (a probe does not read every file system's label). */
  finishVolume(volumeId: number, files: number, error: string | null, label: string | null = null): void {
    this.endVolume.run(files, error, label, volumeId);
  }

  addRow(volumeId: number, row: FileRow): void {
    this.addFile.run(this.nameId(row.name), this.dirId(row.dir), volumeId, FILE_KINDS.indexOf(row.kind), row.size, row.mtimeMs, row.ctimeMs);
  }

  /** The new volumes of an entry replace its old ones, in one transaction. */
  commitEntry(entryId: number): void {
    this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM files WHERE volume_id IN (SELECT id FROM file_volumes WHERE entry_id = ? AND complete = 1)')
        .run(entryId);
      this.db.prepare('DELETE FROM file_volumes WHERE entry_id = ? AND complete = 1').run(entryId);
      this.db.prepare('UPDATE file_volumes SET complete = 1 WHERE entry_id = ? AND complete = 0').run(entryId);
    })();
  }

  /** Volumes of an entry left half-written by an interrupted index (never visible to find). */
  dropIncomplete(entryId: number): void {
    this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM files WHERE volume_id IN (SELECT id FROM file_volumes WHERE entry_id = ? AND complete = 0)')
        .run(entryId);
      this.db.prepare('DELETE FROM file_volumes WHERE entry_id = ? AND complete = 0').run(entryId);
    })();
  }

  /** After a rolled-back batch the cached ids may name rows that are gone. */
  forgetCached(): void {
    this.names.clear();
    this.dirs = new Map();
  }

  private nameId(name: string): number {
    const cached = this.names.get(name);
    if (cached !== undefined) return cached;
    const id = this.findName.get(name)?.id ?? Number(this.addName.run(name).lastInsertRowid);
    if (this.names.size >= NAME_CACHE_MAX) this.names.clear();
    this.names.set(name, id);
    return id;
  }

  private dirId(dir: string): number {
    const cached = this.dirs.get(dir);
    if (cached !== undefined) return cached;
    const id = this.findDir.get(dir)?.id ?? Number(this.addDir.run(dir).lastInsertRowid);
    this.dirs.set(dir, id);
    return id;
  }
}

/** Removes an entry's file rows (its volume rows go with the entry, by cascade). */
export function forgetFiles(db: Database, entryId: number): void {
  db.prepare('DELETE FROM files WHERE volume_id IN (SELECT id FROM file_volumes WHERE entry_id = ?)').run(entryId);
  db.prepare('DELETE FROM file_volumes WHERE entry_id = ?').run(entryId);
}
