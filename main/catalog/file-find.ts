/**
 * `catalog find`: every version of the files whose name matches, across every indexed archive and
 * disk. The name's full-text index picks the candidate names first (a few rows of `files`, which
 * is clustered by name), then folders, VM, dates and sizes filter them. Versions of one path (in
 * one VM) come together, newest first, each marked when its size or mtime differ from the next
 * older one.
 */
import type { Database } from 'better-sqlite3';
import { usageError } from '../../shared/errors.js';
import { FILE_KINDS } from './file-store.js';
import { addDateRange, ftsMatch } from './search.js';
import type { EntryType, FilePage, FileQuery, FileVersion } from './types.js';

export const DEFAULT_FILE_LIMIT = 1000;
export const MAX_FILE_LIMIT = 10_000;

const GLOB_CHARS = /[*?[]/;

interface VersionRow {
  entry_id: number;
  entry_type: EntryType;
  entry_name: string;
  vm_name: string | null;
  date_ms: number;
  disk: string;
  link: number;
  volume: string;
  dir: string;
  name: string;
  kind: number;
  size: number;
  mtime_ms: number | null;
  ctime_ms: number | null;
  older_size: number | null;
  older_mtime: number | null;
  has_older: number;
  volumes: number;
}

export interface BuiltFileQuery {
  sql: string;
  params: Record<string, string | number>;
  limit: number;
  offset: number;
}

export function buildFileQuery(q: FileQuery, now: number = Date.now()): BuiltFileQuery {
  const limit = count(q.limit ?? DEFAULT_FILE_LIMIT, 'limit', 1, MAX_FILE_LIMIT);
  const offset = count(q.offset ?? 0, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const where = ['v.complete = 1'];
  const params: Record<string, string | number> = {};
  const pattern = q.pattern.normalize('NFC').trim();
  if (pattern === '') throw usageError('give a file name (or the start of one, or a glob such as "*.conf") to find');
  if (GLOB_CHARS.test(pattern)) {
    const words = tokenStarts(pattern);
    if (words.length > 0) {
      where.push('f.name_id IN (SELECT rowid FROM file_names_fts WHERE file_names_fts MATCH @nameMatch)');
      params['nameMatch'] = prefixes(words);
      where.push('lower(n.name) GLOB @nameGlob');
    } else {
      // Nothing to look up: every name is compared, once each.
      where.push('f.name_id IN (SELECT id FROM file_names WHERE lower(name) GLOB @nameGlob)');
    }
    params['nameGlob'] = pattern.toLowerCase();
  } else {
    const words = pattern.match(/[\p{L}\p{N}]+/gu);
    if (!words) throw usageError(`the name "${q.pattern}" has no letters or digits to look for (use a glob such as "*" for every name)`);
    where.push('f.name_id IN (SELECT rowid FROM file_names_fts WHERE file_names_fts MATCH @nameMatch)');
    params['nameMatch'] = prefixes(words);
  }
  if (q.path !== undefined && q.path.trim() !== '') {
    let glob = q.path.normalize('NFC').trim();
    if (!glob.startsWith('/') && !glob.startsWith('*')) glob = `*/${glob}`;
    where.push("lower(CASE d.path WHEN '/' THEN '/' ELSE d.path || '/' END || n.name) GLOB @pathGlob");
    params['pathGlob'] = glob.toLowerCase();
    // Words before the glob's last '/' lie in the folder: its full-text index narrows the folders.
    const folderWords = tokenStarts(glob.slice(0, glob.lastIndexOf('/') + 1));
    if (folderWords.length > 0) {
      where.push('f.dir_id IN (SELECT rowid FROM file_dirs_fts WHERE file_dirs_fts MATCH @dirMatch)');
      params['dirMatch'] = prefixes(folderWords);
    }
  }
  const vm = ftsMatch(undefined, q.vm);
  if (vm !== null) {
    where.push('e.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH @vmMatch)');
    params['vmMatch'] = vm;
  }
  addDateRange(where, params, q.since, q.until, now);
  if (q.minSizeBytes !== undefined) {
    where.push('f.size >= @minSize');
    params['minSize'] = count(q.minSizeBytes, 'minimum size', 0, Number.MAX_SAFE_INTEGER);
  }
  if (q.maxSizeBytes !== undefined) {
    where.push('f.size <= @maxSize');
    params['maxSize'] = count(q.maxSizeBytes, 'maximum size', 0, Number.MAX_SAFE_INTEGER);
  }
  if (q.entryId !== undefined) {
    where.push('e.id = @entryId');
    params['entryId'] = count(q.entryId, 'entry id', 1, Number.MAX_SAFE_INTEGER);
  }
  const group = "coalesce(e.vm_name, ''), d.path, n.name";
  // Link 0 is the top of a --keep-chain archive: newer than its parents.
  const order = 'e.date_ms DESC, e.id DESC, v.link, v.disk, v.volume';
  const sql = `SELECT e.id AS entry_id, e.type AS entry_type, e.name AS entry_name, e.vm_name, e.date_ms, v.disk, v.link, v.volume,
      d.path AS dir, n.name, f.kind, f.size, f.mtime_ms, f.ctime_ms,
      lead(f.size) OVER w AS older_size, lead(f.mtime_ms) OVER w AS older_mtime,
      lead(1, 1, 0) OVER w AS has_older,
      (SELECT count(*) FROM file_volumes x WHERE x.entry_id = e.id AND x.link = v.link AND x.complete = 1 AND x.file_count > 0) AS volumes
    FROM files f
    JOIN file_volumes v ON v.id = f.volume_id
    JOIN entries e ON e.id = v.entry_id
    JOIN file_names n ON n.id = f.name_id
    JOIN file_dirs d ON d.id = f.dir_id
    WHERE ${where.join(' AND ')}
    WINDOW w AS (PARTITION BY ${group} ORDER BY ${order})
    ORDER BY ${group}, ${order}
    LIMIT @limit OFFSET @offset`;
  return { sql, params: { ...params, limit, offset }, limit, offset };
}

export function findFiles(db: Database, q: FileQuery, now: number = Date.now()): FilePage {
  const built = buildFileQuery(q, now);
  const rows = db.prepare<Record<string, string | number>, VersionRow>(built.sql).all({ ...built.params, limit: built.limit + 1 });
  return {
    versions: rows.slice(0, built.limit).map(toVersion),
    offset: built.offset,
    limit: built.limit,
    more: rows.length > built.limit,
  };
}

function toVersion(r: VersionRow): FileVersion {
  const path = r.dir === '/' ? `/${r.name}` : `${r.dir}/${r.name}`;
  return {
    entryId: r.entry_id,
    entryType: r.entry_type,
    entryName: r.entry_name,
    vmName: r.vm_name,
    date: new Date(r.date_ms).toISOString(),
    disk: r.disk,
    link: r.link,
    volume: r.volume,
    path,
    kind: FILE_KINDS[r.kind] ?? 'other',
    size: r.size,
    mtime: r.mtime_ms === null ? null : new Date(r.mtime_ms).toISOString(),
    ctime: r.ctime_ms === null ? null : new Date(r.ctime_ms).toISOString(),
    ref: `${r.entry_id}${r.link > 0 ? `@${r.link}` : ''}${r.volumes > 1 ? `:${r.disk}:${r.volume}` : ''}:${path}`,
    changed: r.has_older === 0 ? null : r.older_size !== r.size || r.older_mtime !== r.mtime_ms,
  };
}

/** FTS5 prefix terms, all required; users never write FTS syntax. */
function prefixes(words: string[]): string {
  return words.map((w) => `"${w}"*`).join(' AND ');
}

/**
 * The literal words of a glob that must begin a word of the matching text: at the start of the
 * glob or after a literal separator, not after a wildcard (where they may be the middle of a word),
 * and not inside a [class].
 */
export function tokenStarts(glob: string): string[] {
  const words: string[] = [];
  let i = 0;
  let afterWildcard = false;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      i = close < 0 ? glob.length : close + 1;
      afterWildcard = true;
      continue;
    }
    if (c === '*' || c === '?') {
      afterWildcard = true;
      i++;
      continue;
    }
    const word = /^[\p{L}\p{N}]+/u.exec(glob.slice(i));
    if (word) {
      if (!afterWildcard) words.push(word[0]);
      i += word[0].length;
      afterWildcard = false;
      continue;
    }
    afterWildcard = false;
    i += c.length;
  }
  return words;
}

function count(n: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw usageError(`bad ${what} ${n}: use a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
  }
  return n;
}
