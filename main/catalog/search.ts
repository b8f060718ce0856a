/**
 * `catalog list` and `catalog search`: one parameterised query over entries, the full-text index
 * driving when words are given. Rows come back in id order a page at a time (LIMIT/OFFSET), so
 * neither side ever holds the whole catalog.
 */
import { usageError } from '../../shared/errors.js';
import { SUMMARY_COLUMNS } from './store.js';
import { ENTRY_STATUSES, parseStatus, type EntryQuery } from './types.js';

export const DEFAULT_LIMIT = 100;
/** The largest page `search()` returns; `iterate()` streams any number. */
export const MAX_PAGE = 1000;

export interface BuiltQuery {
  sql: string;
  params: Record<string, string | number>;
  limit: number;
  offset: number;
}

const MINUTE = 60_000;
const SPAN_UNITS: Record<string, number> = { m: MINUTE, h: 60 * MINUTE, d: 24 * 60 * MINUTE, w: 7 * 24 * 60 * MINUTE };

/** Page bounds: the largest limit accepted, and the limit when none is given (-1: every row). */
export interface PageBounds {
  maxLimit: number;
  defaultLimit: number;
}

export const PAGE: PageBounds = { maxLimit: MAX_PAGE, defaultLimit: DEFAULT_LIMIT };
export const STREAM: PageBounds = { maxLimit: Number.MAX_SAFE_INTEGER, defaultLimit: -1 };

/** Builds the SELECT for a query, rows in id order. */
export function buildQuery(q: EntryQuery, bounds: PageBounds, now: number = Date.now()): BuiltQuery {
  const limit = q.limit === undefined ? bounds.defaultLimit : checkCount(q.limit, 'limit', 1, bounds.maxLimit);
  const offset = checkCount(q.offset ?? 0, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const { from, conditions, params, fts } = buildFilter(q, now);
  let sql: string;
  if (fts) {
    // The full-text index drives and hands rows over in rowid (= id) order: no sort, and it stops at the limit.
    sql = `SELECT ${SUMMARY_COLUMNS} ${from} ${conditions} ORDER BY entries_fts.rowid LIMIT @limit OFFSET @offset`;
  } else if (limit > 0 && conditions !== '') {
    // A page: pick its ids first. Only filter columns appear in the subquery, so SQLite can answer a
    // selective filter from its index alone instead of walking every row in id order to fill the page.
    sql = `SELECT ${SUMMARY_COLUMNS} FROM entries e WHERE e.id IN
      (SELECT e.id ${from} ${conditions} ORDER BY e.id LIMIT @limit OFFSET @offset) ORDER BY e.id`;
  } else {
    sql = `SELECT ${SUMMARY_COLUMNS} ${from} ${conditions} ORDER BY e.id LIMIT @limit OFFSET @offset`;
  }
  return { sql, params: { ...params, limit, offset }, limit, offset };
}

/** The count of rows a query matches, whatever its page. */
export function buildCount(q: EntryQuery, now: number = Date.now()): { sql: string; params: Record<string, string | number> } {
  const { from, conditions, params } = buildFilter(q, now);
  return { sql: `SELECT count(*) AS n ${from} ${conditions}`, params };
}

function buildFilter(
  q: EntryQuery,
  now: number,
): { from: string; conditions: string; params: Record<string, string | number>; fts: boolean } {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  const match = ftsMatch(q.text, q.vm);
  if (match !== null) {
    where.push('entries_fts MATCH @match');
    params['match'] = match;
  }
  if (q.type !== undefined) {
    if (q.type !== 'disk' && q.type !== 'archive') throw usageError(`bad type "${String(q.type)}": use disk or archive`);
    where.push('e.type = @type');
    params['type'] = q.type;
  }
  if (q.kind !== undefined) {
    if (q.kind.toLowerCase() === 'archive') where.push("e.type = 'archive'");
    else {
      // Both sides indexed; an OR with EXISTS would make SQLite visit every entry.
      where.push(`e.id IN (SELECT id FROM entries WHERE kind = @kind COLLATE NOCASE
        UNION ALL SELECT archive_id FROM archive_disks WHERE kind = @kind COLLATE NOCASE)`);
      params['kind'] = q.kind;
    }
  }
  if (q.status !== undefined) {
    const status = parseStatus(q.status);
    if (status === null) throw usageError(`bad status "${String(q.status)}": use ${ENTRY_STATUSES.join(', ')}`);
    // Presence and health are two indexed columns; a missing entry shows as missing whatever its health.
    if (status === 'missing') where.push("e.status = 'missing'");
    else {
      where.push("e.health = @status AND e.status <> 'missing'");
      params['status'] = status;
    }
  }
  addDateRange(where, params, q.since, q.until, now);
  addRange(where, params, 'e.capacity_bytes', 'Capacity', q.minCapacityBytes, q.maxCapacityBytes);
  addRange(where, params, 'e.size_bytes', 'Size', q.minSizeBytes, q.maxSizeBytes);
  return {
    from: match !== null ? 'FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid' : 'FROM entries e',
    conditions: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '',
    params,
    fts: match !== null,
  };
}

function addRange(
  where: string[],
  params: Record<string, string | number>,
  column: string,
  name: string,
  min: number | undefined,
  max: number | undefined,
): void {
  if (min !== undefined) {
    where.push(`${column} >= @min${name}`);
    params[`min${name}`] = checkCount(min, `minimum ${name.toLowerCase()}`, 0, Number.MAX_SAFE_INTEGER);
  }
  if (max !== undefined) {
    where.push(`${column} <= @max${name}`);
    params[`max${name}`] = checkCount(max, `maximum ${name.toLowerCase()}`, 0, Number.MAX_SAFE_INTEGER);
  }
}

function checkCount(n: number, what: string, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw usageError(`bad ${what} ${n}: use a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
  }
  return n;
}

/**
 * The FTS5 expression for the user's words: each run of letters and digits becomes a quoted prefix
 * term ("web01"* matches web01-000002.vmdk), all of them required; VM words only match the VM name.
 * Users never write FTS syntax, so nothing they type can be a syntax error.
 */
export function ftsMatch(text: string | undefined, vm: string | undefined): string | null {
  const terms: string[] = [];
  if (text !== undefined && text.trim() !== '') terms.push(...words(text, 'search').map((w) => `"${w}"*`));
  if (vm !== undefined && vm.trim() !== '') terms.push(...words(vm, 'VM name').map((w) => `vm : "${w}"*`));
  return terms.length > 0 ? terms.join(' AND ') : null;
}

function words(text: string, what: string): string[] {
  const found = text.normalize('NFC').match(/[\p{L}\p{N}]+/gu);
  if (!found) throw usageError(`the ${what} "${text}" has no letters or digits to look for`);
  return found;
}

/** An entry's date from `since` (inclusive) to `until` (exclusive), as catalog list and catalog find take them. */
export function addDateRange(where: string[], params: Record<string, unknown>, since: string | undefined, until: string | undefined, now: number): void {
  if (since !== undefined) {
    where.push('e.date_ms >= @since');
    params['since'] = parseWhen(since, 'since', now);
  }
  if (until !== undefined) {
    where.push('e.date_ms < @until');
    params['until'] = parseWhen(until, 'until', now);
  }
}

/**
 * A date bound: 2024-05-01 (local midnight; as `until`, the whole day is included), an ISO
 * date-time, or a span back from now (90m, 12h, 7d, 2w). Returns ms; `until` is exclusive.
 */
export function parseWhen(text: string, which: 'since' | 'until', now: number): number {
  const t = text.trim();
  const span = /^(\d+)\s*([mhdw])$/i.exec(t);
  if (span) return now - Number(span[1]) * SPAN_UNITS[span[2]!.toLowerCase()]!;
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (day) {
    const start = new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + (which === 'until' ? 1 : 0)).getTime();
    if (!Number.isNaN(start)) return start;
  }
  const ms = Date.parse(t);
  if (Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(t)) {
    throw usageError(`bad --${which} "${text}": use a date (2024-05-01), a date-time (2024-05-01T14:30) or a span (12h, 7d, 2w)`);
  }
  return which === 'until' ? ms + 1 : ms;
}
