import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { Catalog } from '../../../main/catalog/catalog.js';
import { openCatalogDb } from '../../../main/catalog/db.js';
import { defaultCatalogPath } from '../../../main/catalog/default-path.js';
import { APPLICATION_ID, LATEST_VERSION, MIGRATIONS, type Migration } from '../../../main/catalog/schema.js';
import { qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sha256Of } from './fixtures.js';

function caught(work: () => unknown): DiskchainError {
  try {
    work();
  } catch (e) {
    expect(e).toBeInstanceOf(DiskchainError);
    return e as DiskchainError;
  }
  throw new Error('expected a DiskchainError');
}

describe('catalog database', () => {
  const dir = tmpDir();

  it('a new catalog is created with its folder, the schema, WAL and foreign keys', () => {
    const file = path.join(dir, 'deep', 'er', 'catalog.db');
    const db = openCatalogDb(file);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
      expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
      expect(tables).toEqual(expect.arrayContaining(['archive_disks', 'archive_files', 'archives', 'disks', 'entries', 'entries_fts', 'scans']));
      // Foreign keys are enforced: a detail row needs its entry.
      expect(() => db.prepare("INSERT INTO disks (entry_id, chain, problems) VALUES (999, '[]', '[]')").run()).toThrow(/FOREIGN KEY/);
    } finally {
      db.close();
    }
    // Opening again migrates nothing and keeps the data.
    const again = openCatalogDb(file);
    expect(again.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    again.close();
  });

  it('an empty file is taken as a new catalog', () => {
    const file = path.join(dir, 'empty.db');
    fs.writeFileSync(file, '');
    Catalog.open(file).close();
    expect(fs.statSync(file).size).toBeGreaterThan(0);
  });

  it('refuses a catalog with a newer schema version and leaves it as it is', () => {
    const file = path.join(dir, 'newer.db');
    const raw = new Database(file);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.exec('CREATE TABLE future (x)');
    raw.close();
    const before = sha256Of(file);
    const e = caught(() => Catalog.open(file));
    expect(e.code).toBe('E_UNSUPPORTED');
    expect(e.file).toBe(file);
    expect(e.message).toMatch(new RegExp(`schema version ${LATEST_VERSION + 1} is newer than this diskchain understands \\(${LATEST_VERSION}\\)`));
    expect(e.message).not.toContain('\n');
    expect(sha256Of(file)).toBe(before);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a file that is not SQLite with a clear one-line error and does not touch it', () => {
    const file = path.join(dir, 'garbage.db');
    fs.writeFileSync(file, 'this is a shopping list, not a database\n'.repeat(200));
    const before = sha256Of(file);
    const e = caught(() => Catalog.open(file));
    expect(e.code).toBe('E_FORMAT');
    expect(e.message).toMatch(/not a catalog: the file is not an SQLite database/);
    expect(e.message).not.toContain('\n');
    expect(sha256Of(file)).toBe(before);
  });

  it('refuses a VMDK passed as --db by mistake', () => {
    const file = path.join(dir, 'oops.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', file, '1M');
    const before = sha256Of(file);
    expect(caught(() => Catalog.open(file)).code).toBe('E_FORMAT');
    expect(sha256Of(file)).toBe(before);
  });

  it("refuses another program's SQLite database", () => {
    const file = path.join(dir, 'other-app.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE contacts (name TEXT)');
    raw.close();
    const e = caught(() => Catalog.open(file));
    expect(e).toMatchObject({ code: 'E_FORMAT' });
    expect(e.message).toMatch(/some other program/);
    const tables = new Database(file, { readonly: true });
    expect(tables.prepare('SELECT name FROM sqlite_schema').all()).toEqual([{ name: 'contacts' }]);
    tables.close();
  });

  it('a damaged catalog gives a clear error on open or on first use, never a crash or an empty answer', () => {
    const file = path.join(dir, 'damaged.db');
    const db = openCatalogDb(file);
    const insert = db.prepare(
      `INSERT INTO entries (type, path, name, size_bytes, date_ms, status, first_seen_ms, last_seen_ms)
       VALUES ('disk', ?, ?, 0, 0, 'ok', 0, 0)`,
    );
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`/disks/${'x'.repeat(100)}-${i}.vmdk`, `disk-${i}.vmdk`);
    })();
    db.close(); // checkpoints the WAL into the main file
    const pageSize = fs.readFileSync(file).readUInt16BE(16);
    const fd = fs.openSync(file, 'r+');
    const size = fs.fstatSync(fd).size;
    // Keep page 1 (header and schema); scribble over every other page.
    fs.writeSync(fd, Buffer.alloc(size - pageSize, 0xa5), 0, size - pageSize, pageSize);
    fs.closeSync(fd);
    const e = caught(() => {
      const c = Catalog.open(file);
      try {
        c.list({ limit: 1000 });
        c.search({ text: 'disk' });
      } finally {
        c.close();
      }
    });
    expect(e).toMatchObject({ code: 'E_FORMAT', file });
    expect(e.message).toMatch(/the catalog database is damaged .*; it was left as it is/);
    expect(e.message).not.toContain('\n');
  });

  it('applies missing migrations in order, each with its version, and refuses once it is newer than the code', () => {
    const file = path.join(dir, 'migrate.db');
    openCatalogDb(file).close();
    const v2: Migration = { version: LATEST_VERSION + 1, description: 'test', up: (db) => db.exec('CREATE TABLE tags (entry_id INTEGER, tag TEXT)') };
    const db = openCatalogDb(file, { migrations: [...MIGRATIONS, v2] });
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION + 1);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'tags'").get()).toEqual({ name: 'tags' });
    db.close();
    expect(caught(() => openCatalogDb(file)).code).toBe('E_UNSUPPORTED');
  });

  it('a migration that fails leaves the catalog at its old version with nothing half-done', () => {
    const file = path.join(dir, 'failed-migration.db');
    openCatalogDb(file).close();
    const bad: Migration = {
      version: LATEST_VERSION + 1,
      description: 'fails half-way',
      up: (db) => {
        db.exec('CREATE TABLE half (x)');
        throw new Error('disk on fire');
      },
    };
    expect(() => openCatalogDb(file, { migrations: [...MIGRATIONS, bad] })).toThrow(/disk on fire/);
    const db = openCatalogDb(file);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });

  it('a folder given as --db is refused', () => {
    expect(caught(() => Catalog.open(dir)).code).toBe('E_USAGE');
  });
});

describe('default catalog path', () => {
  const home = '/home/ann';

  it('is under XDG_DATA_HOME, else ~/.local/share, on Linux', () => {
    expect(defaultCatalogPath({}, 'linux', home)).toBe('/home/ann/.local/share/diskchain/catalog.db');
    expect(defaultCatalogPath({ XDG_DATA_HOME: '/data/ann' }, 'linux', home)).toBe('/data/ann/diskchain/catalog.db');
    // A relative XDG_DATA_HOME is invalid per the spec and ignored.
    expect(defaultCatalogPath({ XDG_DATA_HOME: 'rel/dir' }, 'linux', home)).toBe('/home/ann/.local/share/diskchain/catalog.db');
  });

  it('is in Application Support on macOS and %APPDATA% on Windows', () => {
    expect(defaultCatalogPath({}, 'darwin', '/Users/ann')).toBe('/Users/ann/Library/Application Support/diskchain/catalog.db');
    expect(defaultCatalogPath({ APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'win32', 'C:\\Users\\ann')).toBe(
      'C:\\Users\\ann\\AppData\\Roaming\\diskchain\\catalog.db',
    );
    expect(defaultCatalogPath({}, 'win32', 'C:\\Users\\ann')).toBe('C:\\Users\\ann\\AppData\\Roaming\\diskchain\\catalog.db');
  });

  it('DISKCHAIN_CATALOG overrides it everywhere', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(defaultCatalogPath({ DISKCHAIN_CATALOG: '/tmp/c.db', XDG_DATA_HOME: '/x', APPDATA: 'C:\\x' }, platform, home)).toBe('/tmp/c.db');
    }
  });
});
