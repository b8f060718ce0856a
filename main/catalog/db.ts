/**
 * Opening the catalog database: refuse what is not ours or is newer than we understand before
 * anything is written to it, then WAL, foreign keys, a busy timeout, and the migrations.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { DiskchainError } from '../../shared/errors.js';
import { APPLICATION_ID, MIGRATIONS, type Migration } from './schema.js';
import { sqliteAddonPath } from './sqlite-addon.js';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** How long a writer waits for another writer (a scan in another process) before giving up. */
const BUSY_TIMEOUT_MS = 10_000;

export interface OpenDbOptions {
  /** Migrations to apply (tests pass extra ones); defaults to the schema's. */
  migrations?: readonly Migration[];
}

export function openCatalogDb(file: string, options: OpenDbOptions = {}): Database {
  const migrations = options.migrations ?? MIGRATIONS;
  checkFileBeforeOpen(file);
  try {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  } catch (e) {
    throw new DiskchainError('E_IO', `cannot create the catalog's folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  let db: Database;
  try {
    const nativeBinding = sqliteAddonPath();
    db = new BetterSqlite3(file, nativeBinding === undefined ? { timeout: BUSY_TIMEOUT_MS } : { timeout: BUSY_TIMEOUT_MS, nativeBinding });
  } catch (e) {
    throw sqliteToDiskchain(e, file);
  }
  try {
    checkOwnershipAndVersion(db, file, migrations.length);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file, migrations);
    return db;
  } catch (e) {
    db.close();
    throw sqliteToDiskchain(e, file);
  }
}

/** A zero-length file is a new database to SQLite; anything else must carry SQLite's header. */
function checkFileBeforeOpen(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return; // a new catalog
  }
  if (stat.isDirectory()) throw new DiskchainError('E_USAGE', 'is a folder, not a catalog database file', file);
  if (stat.size === 0) return;
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DiskchainError('E_IO', `cannot open the catalog: ${(e as Error).message}`, file);
  }
  try {
    fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (!head.equals(SQLITE_MAGIC)) {
    throw new DiskchainError(
      'E_FORMAT',
      'not a catalog: the file is not an SQLite database (no "SQLite format 3" header); it was left as it is — move it away or pass another --db',
      file,
    );
  }
}

function checkOwnershipAndVersion(db: Database, file: string, latest: number): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const objects = (db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n;
  const ours = applicationId === APPLICATION_ID || (applicationId === 0 && version === 0 && objects === 0);
  if (!ours) {
    throw new DiskchainError(
      'E_FORMAT',
      'not a catalog: an SQLite database of some other program (application_id ' +
        `0x${applicationId.toString(16)}, user_version ${version}); it was left as it is — pass another --db`,
      file,
    );
  }
  if (version > latest) {
    throw new DiskchainError(
      'E_UNSUPPORTED',
      `catalog schema version ${version} is newer than this diskchain understands (${latest}); ` +
        'it was left as it is — use a newer diskchain, or another --db',
      file,
    );
  }
}

/** Applies the missing migrations one by one, each with its version bump in one IMMEDIATE transaction. */
export function migrate(db: Database, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  // Up to date: no write lock to take, so a find does not wait behind another process's scan.
  if ((db.pragma('user_version', { simple: true }) as number) >= migrations.length) return;
  const step = db.transaction((): boolean => {
    // Read inside the write lock: another process may have migrated meanwhile.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= migrations.length) return false;
    const next = migrations[version]!;
    if (next.version !== version + 1) {
      throw new DiskchainError('E_INTERNAL', `migration list out of order at version ${version + 1}`, file);
    }
    next.up(db);
    if (version === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${next.version}`);
    return true;
  });
  while (step.immediate()) {
    // one migration per transaction
  }
}

interface SqliteLikeError {
  code: string;
  message: string;
}

function isSqliteError(e: unknown): e is SqliteLikeError {
  return e instanceof BetterSqlite3.SqliteError;
}

/**
 * SQLite's failures as one-line Diskchain errors about the catalog file; anything else unchanged.
 * The messages say nothing was changed because SQLite stops before writing a damaged page.
 */
export function sqliteToDiskchain(e: unknown, file: string): unknown {
  if (!isSqliteError(e)) return e;
  const code = e.code;
  if (code === 'SQLITE_NOTADB') {
    return new DiskchainError('E_FORMAT', 'not a catalog: the file is not an SQLite database; it was left as it is — move it away or pass another --db', file);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new DiskchainError(
      'E_FORMAT',
      `the catalog database is damaged (${e.message}); it was left as it is — keep a copy, try sqlite3's .recover, or move it away to start a new catalog`,
      file,
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new DiskchainError('E_IO', 'the catalog is busy: another diskchain is writing to it; try again when it is done', file);
  }
  if (code.startsWith('SQLITE_READONLY')) return new DiskchainError('E_IO', `cannot write the catalog: ${e.message}`, file);
  if (code === 'SQLITE_FULL') return new DiskchainError('E_IO', 'cannot write the catalog: the disk is full', file);
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_PERM')) {
    return new DiskchainError('E_IO', `cannot use the catalog: ${e.message}`, file);
  }
  return e;
}
