/**
 * `diskchain catalog find`: every indexed version of the files named. Its own module, loading only
 * SQLite and the find query (no commander, no catalog class, no disk readers): a find over ten
 * million files answers in about the time Node takes to start. `findFastPath` runs a plain find
 * line without commander; anything it does not recognise (help, an unknown option) goes to the
 * full command line, which gives the usual messages.
 */
import { usageError } from '../../shared/errors.js';
import { openCatalogDb, sqliteToDiskchain } from '../catalog/db.js';
import { defaultCatalogPath } from '../catalog/default-path.js';
import { findFiles } from '../catalog/file-find.js';
import type { FilePage, FileQuery, FileVersion } from '../catalog/types.js';
import { humanBytes, json } from './format.js';
import { parseSize } from './size.js';

export interface FindOptions {
  db?: string;
  json?: boolean;
  path?: string;
  vm?: string;
  since?: string;
  until?: string;
  minSize?: string;
  maxSize?: string;
  limit?: string;
  offset?: string;
}

/** Prints the page of versions `options` ask for. */
export function runFind(pattern: string, options: FindOptions): void {
  const query: FileQuery = {
    pattern,
    path: options.path,
    vm: options.vm,
    since: options.since,
    until: options.until,
    minSizeBytes: options.minSize === undefined ? undefined : parseSize(options.minSize, 'minimum size'),
    maxSizeBytes: options.maxSize === undefined ? undefined : parseSize(options.maxSize, 'maximum size'),
    limit: countOption(options.limit, 'limit'),
    offset: countOption(options.offset, 'offset'),
  };
  const file = options.db ?? defaultCatalogPath();
  const db = openCatalogDb(file);
  try {
    let page: FilePage;
    try {
      page = findFiles(db, query);
    } catch (e) {
      throw sqliteToDiskchain(e, file);
    }
    if (options.json) process.stdout.write(`${json(page)}\n`);
    else {
      process.stdout.write(`${findText(page.versions)}\n`);
      if (page.more) process.stderr.write(`more versions follow: --offset ${page.offset + page.limit}\n`);
    }
  } finally {
    db.close();
  }
}

const VALUE_OPTIONS: Record<string, keyof FindOptions> = {
  '--db': 'db',
  '--path': 'path',
  '--vm': 'vm',
  '--since': 'since',
  '--until': 'until',
  '--min-size': 'minSize',
  '--max-size': 'maxSize',
  '--limit': 'limit',
  '--offset': 'offset',
};

/**
 * `args` after the program name: `catalog [--db F] find [options] PATTERN`. Returns the pattern
 * and options of a plain find line, or null for anything else (the full command line handles it).
 */
export function parseFindLine(args: string[]): { pattern: string; options: FindOptions } | null {
  if (args[0] !== 'catalog') return null;
  const options: FindOptions = {};
  const set = options as Record<string, string | boolean>;
  let sawFind = false;
  let pattern: string | undefined;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--json') {
      if (!sawFind) return null;
      options.json = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const key = VALUE_OPTIONS[name];
    if (key !== undefined) {
      if (!sawFind && key !== 'db') return null;
      const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || set[key] !== undefined) return null;
      set[key] = value;
      continue;
    }
    if (arg.startsWith('-')) return null;
    if (!sawFind) {
      if (arg !== 'find') return null;
      sawFind = true;
    } else if (pattern === undefined) pattern = arg;
    else return null;
  }
  return sawFind && pattern !== undefined ? { pattern, options } : null;
}

/** Runs a plain `catalog find` line; false when the line is not one (nothing was done). */
export function findFastPath(args: string[]): boolean {
  const line = parseFindLine(args);
  if (line === null) return false;
  runFind(line.pattern, line.options);
  return true;
}

function countOption(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw usageError(`bad ${what} "${text}": use a whole number`);
  return Number(text);
}

/**
 * Versions grouped by path (and VM), newest first: `*` marks a version whose size or mtime differ
 * from the next older one shown, so the row where a file changed stands out.
 */
export function findText(versions: FileVersion[]): string {
  if (versions.length === 0) return '(no files)';
  const lines: string[] = [];
  let group = '';
  for (const v of versions) {
    const key = `${v.vmName ?? ''}\0${v.path}`;
    if (key !== group) {
      if (group !== '') lines.push('');
      lines.push(`${v.path}${v.vmName ? `  (VM ${v.vmName})` : ''}${v.kind === 'file' ? '' : `  [${v.kind}]`}`);
      group = key;
    }
    lines.push(
      [
        v.changed ? '*' : ' ',
        localTime(v.date),
        humanBytes(v.size).padStart(10),
        `modified ${v.mtime === null ? '-'.padEnd(16) : localTime(v.mtime)}`,
        v.ref,
        `(${v.entryName}${v.link > 0 ? `, link ${v.link}` : ''})`,
      ].join('  '),
    );
  }
  return lines.join('\n');
}

/** A time as the user's clock shows it, to the minute. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}
