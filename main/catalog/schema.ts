/**
 * The catalog's schema, one migration per version. `PRAGMA user_version` holds the number of
 * migrations applied; each runs in its own IMMEDIATE transaction together with the version bump,
 * so a database is always at exactly one version. Never edit a migration once released: add one.
 */
import type { Database } from 'better-sqlite3';

/** `PRAGMA application_id` of a Diskchain catalog: "DKCT", so `file(1)` and we can tell it from other SQLite files. */
export const APPLICATION_ID = 0x444b4354;

export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

const V1 = `
CREATE TABLE scans (
  id          INTEGER PRIMARY KEY,
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER,
  roots       TEXT NOT NULL
);

-- One row per loose disk (one chain link) or archive folder; ids are shared by both.
CREATE TABLE entries (
  id               INTEGER PRIMARY KEY,
  type             TEXT NOT NULL CHECK (type IN ('disk', 'archive')),
  path             TEXT NOT NULL UNIQUE,
  name             TEXT NOT NULL,
  kind             TEXT,
  vm_name          TEXT,
  capacity_bytes   INTEGER,
  allocated_bytes  INTEGER,
  size_bytes       INTEGER NOT NULL,
  mtime_ms         REAL,
  date_ms          INTEGER NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('ok', 'missing', 'error')),
  error            TEXT,
  first_seen_ms    INTEGER NOT NULL,
  last_seen_ms     INTEGER NOT NULL,
  missing_since_ms INTEGER,
  last_scan_id     INTEGER REFERENCES scans(id) ON DELETE SET NULL
);
CREATE INDEX entries_kind ON entries(kind COLLATE NOCASE);
CREATE INDEX entries_date ON entries(date_ms);
CREATE INDEX entries_status ON entries(status);
CREATE INDEX entries_type ON entries(type);
CREATE INDEX entries_capacity ON entries(capacity_bytes);
CREATE INDEX entries_size ON entries(size_bytes);

-- The files an entry was read from (JSON CatalogFile[]): what a rescan compares. Kept out of
-- entries so that a search that has to look at every entry reads as few pages as possible.
CREATE TABLE entry_files (
  entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
  files    TEXT NOT NULL
);

CREATE TABLE disks (
  entry_id        INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
  adapter_type    TEXT,
  cylinders       INTEGER,
  heads           INTEGER,
  sectors         INTEGER,
  geometry_source TEXT,
  cid             TEXT,
  parent_cid      TEXT,
  parent_path     TEXT,
  chain           TEXT NOT NULL,
  problems        TEXT NOT NULL
);
CREATE INDEX disks_parent ON disks(parent_path);

CREATE TABLE archives (
  entry_id      INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
  manifest      TEXT,
  created_at    TEXT,
  source_kind   TEXT,
  source_path   TEXT,
  tool          TEXT,
  verified_ms   INTEGER,
  verify_ok     INTEGER,
  verify_report TEXT
);

CREATE TABLE archive_files (
  archive_id INTEGER NOT NULL REFERENCES archives(entry_id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  name       TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  PRIMARY KEY (archive_id, position),
  UNIQUE (archive_id, name)
) WITHOUT ROWID;

CREATE TABLE archive_disks (
  archive_id     INTEGER NOT NULL REFERENCES archives(entry_id) ON DELETE CASCADE,
  position       INTEGER NOT NULL,
  name           TEXT NOT NULL,
  source_path    TEXT,
  kind           TEXT,
  capacity_bytes INTEGER,
  adapter_type   TEXT,
  content_sha256 TEXT,
  detail         TEXT NOT NULL,
  PRIMARY KEY (archive_id, position)
) WITHOUT ROWID;
CREATE INDEX archive_disks_kind ON archive_disks(kind COLLATE NOCASE, archive_id);

-- Full text over names: rowid = entries.id, kept in step by the store (one writer).
CREATE VIRTUAL TABLE entries_fts USING fts5(
  name, vm, dir,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3'
);
`;

/**
 * Statuses that tell broken from sound (issue 16). `entries.status` stays the entry's presence
 * (ok, missing, error: its CHECK cannot change without rebuilding the table); `health` is what the
 * scans and verifies found. Archives keep the stats of their files at the last verify, so a rescan
 * can tell a file changed after it. Entries whose status cannot be told from what v1 recorded
 * (every archive, disks with problems) lose their file list, so the next scan reads them again.
 */
const V2 = `
ALTER TABLE entries ADD COLUMN health TEXT NOT NULL DEFAULT 'ok';
ALTER TABLE entries ADD COLUMN status_note TEXT;
CREATE INDEX entries_health ON entries(health);
ALTER TABLE archives ADD COLUMN verify_files TEXT;
ALTER TABLE archives ADD COLUMN file_states TEXT;

UPDATE entries SET health = 'error' WHERE error IS NOT NULL;
UPDATE entries SET health = (
  SELECT CASE
    WHEN a.verified_ms IS NULL THEN 'unverified'
    WHEN a.verify_ok = 1 THEN 'ok'
    WHEN a.verify_report LIKE '%"problem":"missing"%' THEN 'missing-file'
    ELSE 'damaged' END
  FROM archives a WHERE a.entry_id = entries.id)
WHERE type = 'archive' AND error IS NULL;
UPDATE entries SET health = 'unverified', status_note = 'catalogued by an older diskchain: scan again to check it'
WHERE type = 'disk' AND error IS NULL
  AND id IN (SELECT entry_id FROM disks WHERE problems LIKE '%"severity":"error"%');
DELETE FROM entry_files WHERE entry_id IN (
  SELECT id FROM entries WHERE (type = 'archive' OR health = 'unverified') AND error IS NULL);
`;

/**
 * The file catalog (issue 11): every file of every indexed volume, never its content. Directory
 * paths and names are interned once for all volumes (a file seen in ten backups costs one name),
 * so a row is a few small integers; names and folder paths are in external-content FTS5 tables
 * (the text is kept once, in file_names and file_dirs) for as-you-type prefix search. `file_volumes` says what was indexed, from
 * what (`source_key`: the manifest's hash, or a loose disk's size+mtime+CID), when, and why a
 * volume could not be read. A volume being indexed has `complete = 0` and is invisible to find.
 */
/** The archived link (0 = the top) a volume was read at; a --keep-chain archive has one set of volumes per link. */
const V4 = `
ALTER TABLE file_volumes ADD COLUMN link INTEGER NOT NULL DEFAULT 0;
`;

const V3 = `
CREATE TABLE file_volumes (
  id          INTEGER PRIMARY KEY,
  entry_id    INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  disk        TEXT NOT NULL,
  volume      TEXT NOT NULL,
  fs_type     TEXT,
  label       TEXT,
  source_key  TEXT NOT NULL,
  indexed_ms  INTEGER NOT NULL,
  file_count  INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  notes       TEXT,
  complete    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX file_volumes_entry ON file_volumes(entry_id);

CREATE TABLE file_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE file_dirs (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);

-- kind: 0 file, 1 folder, 2 symlink, 3 other. Times in ms since 1970 (UTC). Clustered by name,
-- so every version of a name across all volumes is one range of the table.
CREATE TABLE files (
  name_id   INTEGER NOT NULL,
  dir_id    INTEGER NOT NULL,
  volume_id INTEGER NOT NULL,
  kind      INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  mtime_ms  INTEGER,
  ctime_ms  INTEGER,
  PRIMARY KEY (name_id, dir_id, volume_id)
) WITHOUT ROWID;
CREATE INDEX files_volume ON files(volume_id);

CREATE VIRTUAL TABLE file_names_fts USING fts5(
  name, content = 'file_names', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2', detail = none
);
CREATE VIRTUAL TABLE file_dirs_fts USING fts5(
  path, content = 'file_dirs', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2', detail = none
);
CREATE TRIGGER file_names_ai AFTER INSERT ON file_names BEGIN
  INSERT INTO file_names_fts (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER file_names_ad AFTER DELETE ON file_names BEGIN
  INSERT INTO file_names_fts (file_names_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER file_dirs_ai AFTER INSERT ON file_dirs BEGIN
  INSERT INTO file_dirs_fts (rowid, path) VALUES (new.id, new.path);
END;
CREATE TRIGGER file_dirs_ad AFTER DELETE ON file_dirs BEGIN
  INSERT INTO file_dirs_fts (file_dirs_fts, rowid, path) VALUES ('delete', old.id, old.path);
END;
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'entries (disks, archives), scans, archive files and disks, full-text index',
    up: (db) => db.exec(V1),
  },
  {
    version: 2,
    description: 'entry health (damaged, chain broken, missing file, changed since verify…) and verify-time file stats',
    up: (db) => db.exec(V2),
  },
  {
    version: 3,
    description: 'file catalog: every file of every indexed volume (names and folders interned, in FTS5), and what was indexed',
    up: (db) => db.exec(V3),
  },
  {
    version: 4,
    description: 'file catalog: the archived link a volume was read at (a --keep-chain archive is indexed at every link)',
    up: (db) => db.exec(V4),
  },
];

export const LATEST_VERSION = MIGRATIONS.length;
