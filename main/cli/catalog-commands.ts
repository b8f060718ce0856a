/** `diskchain catalog …`: scan, list, search, show, verify, forget, index, find, get — a thin layer over main/catalog. */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { DiskchainError, usageError } from '../../shared/errors.js';
import type { Catalog } from '../catalog/catalog.js';
import { defaultCatalogPath } from '../catalog/default-path.js';
import {
  ENTRY_STATUSES,
  parseStatus,
  type EntryDetail,
  type EntryStatus,
  type EntryQuery,
  type EntrySummary,
  type EntryType,
  type IndexProgress,
  type IndexSummary,
  type ScanProgress,
  type ScanSummary,
  type VerifyReport,
} from '../catalog/types.js';
import { localTime, runFind, type FindOptions } from './catalog-find.js';
import { humanBytes, json } from './format.js';
import { progressMode, progressPrinter, type ProgressMode } from './progress.js';
import { parseSize } from './size.js';

interface CatalogOptions {
  db?: string;
  json?: boolean;
  progress?: string;
}

interface PageOptions extends CatalogOptions {
  limit?: string;
  offset?: string;
  type?: EntryType;
  status?: string;
}

interface SearchOptions extends PageOptions {
  kind?: string;
  vm?: string;
  since?: string;
  until?: string;
  minSize?: string;
  maxSize?: string;
  minOnDisk?: string;
  maxOnDisk?: string;
}

/** Text lines of the errors a scan met, beyond which --json has them all. */
const MAX_ERROR_LINES = 20;
const PROGRESS_MS = 100;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Options of the `catalog` command and of the subcommand, wherever on the line they were given. */
function optionsOf<T extends CatalogOptions>(command: Command): T {
  return command.optsWithGlobals<T>();
}

async function withCatalog<T>(options: CatalogOptions, use: (catalog: Catalog) => Promise<T> | T): Promise<T> {
  // Loaded here: `catalog find` answers from SQLite alone and does not pay for the disk readers.
  const { Catalog } = await import('../catalog/catalog.js');
  const catalog = Catalog.open(options.db ?? defaultCatalogPath());
  try {
    return await use(catalog);
  } finally {
    catalog.close();
  }
}

/** Ctrl-C cancels the work in hand (committed scan batches stay); a second Ctrl-C exits at once. */
async function cancellable<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    if (++interrupts > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const progressOption = (): Option =>
  new Option('--progress <mode>', 'json: one JSON line per update on stderr; bar: a progress line; none').choices(['json', 'bar', 'none']);
const typeOption = (): Option => new Option('--type <type>', 'only disks or only archives').choices(['disk', 'archive']);
const statusOption = (): Option => new Option('--status <status>', `only entries with this status: ${ENTRY_STATUSES.join(', ')}`);

export function addCatalogCommands(program: Command): void {
  const catalog = program
    .command('catalog')
    .description('remember where archives and disks are: scan folders, list, search, show, verify, forget')
    .option('--db <path>', 'catalog database (default: $DISKCHAIN_CATALOG, else diskchain/catalog.db in your data folder)');

  catalog
    .command('scan')
    .description('find archives (manifest.json) and disks under folders and record them; unchanged files are not read again')
    .argument('<dir...>', 'folders (or single files) to scan')
    .option('--json', 'print the scan summary as JSON (with --index: {scan, index})')
    .option('--index', 'then index the files inside the archives and disks found (as catalog index)')
    .addOption(progressOption())
    .action(async (dirs: string[], _options: CatalogOptions & { index?: boolean }, command: Command) => {
      const options = optionsOf<CatalogOptions & { index?: boolean }>(command);
      await withCatalog(options, (c) =>
        cancellable(async (signal) => {
          const show = scanProgress(progressMode(options.progress));
          const summary = await c.scan(dirs, show.update, { signal }).finally(show.finish);
          if (!options.index) {
            print(options.json ? json(summary) : scanText(summary));
            return;
          }
          if (!options.json) print(scanText(summary));
          const indexed = await runIndex(c, foundIds(c, summary), options, signal);
          print(options.json ? json({ scan: summary, index: indexed }) : indexText(indexed));
        }),
      );
    });

  catalog
    .command('index')
    .description("list every file inside catalogued archives' and disks' guest file systems (name, path, size, times; never content)")
    .argument('[id...]', 'entries to index')
    .option('--all', 'every catalogued entry')
    .option('--force', 'read again entries whose manifest (or disk files) did not change')
    .option('--json', 'print the summary as JSON')
    .addOption(progressOption())
    .action(async (ids: string[], _options: CatalogOptions & { all?: boolean; force?: boolean }, command: Command) => {
      const options = optionsOf<CatalogOptions & { all?: boolean; force?: boolean }>(command);
      if ((ids.length === 0) === (options.all !== true)) throw usageError('name entry ids, or --all');
      const summary = await withCatalog(options, (c) =>
        cancellable((signal) => runIndex(c, options.all ? undefined : ids.map(parseId), options, signal)),
      );
      print(options.json ? json(summary) : indexText(summary));
      if (summary.failed > 0) process.exitCode = 1;
    });

  catalog
    .command('find')
    .description('every indexed version of the files named, across archives and disks: newest first, changes marked')
    .argument('<pattern>', 'words that begin the file name ("nginx conf", "ngi"), or a glob over the name ("*.conf")')
    .option('--path <glob>', 'a glob over the whole path in the volume: /etc/nginx/* (* also crosses /)')
    .option('--vm <name>', 'words of the VM name')
    .option('--since <when>', 'versions in archives dated on or after: 2024-05-01, 2024-05-01T14:30, or 12h, 7d, 2w ago')
    .option('--until <when>', 'versions in archives dated before the end of (a date) or at (a date-time)')
    .option('--min-size <size>', 'file size at least, e.g. 10M')
    .option('--max-size <size>', 'file size at most')
    .option('--limit <n>', 'versions per page (at most 10000)', '1000')
    .option('--offset <n>', 'versions to skip', '0')
    .option('--json', 'print {versions, offset, limit, more} as JSON')
    .action((pattern: string, _options: FindOptions, command: Command) => runFind(pattern, optionsOf<FindOptions & CatalogOptions>(command)));

  catalog
    .command('get')
    .description('restore one version of a file (or folder) that catalog find shows, from its archive or disk')
    .argument('<file>', 'ID:/path (or ID:DISK:VOL:/path) as catalog find prints it')
    .argument('<dest>', 'a host file or folder, or - for stdout')
    .option('--at <n>', 'the archived link of a --keep-chain archive (0 = the top; find shows ID@N for link N)')
    .action(async (ref: string, dest: string, _options: CatalogOptions, command: Command) => {
      const options = optionsOf<CatalogOptions & { at?: string }>(command);
      const at = options.at === undefined ? undefined : linkNumber(options.at);
      // Loaded here: find and search do not pay for the extractor.
      const { getToHost, getToStdout } = await import('../guest/extract.js');
      await withCatalog(options, async (c) => {
        const opened = await c.openVersion(ref, at);
        try {
          if (dest === '-') {
            try {
              getToStdout(opened.fs, opened.entry, opened.path);
            } catch (e) {
              // A damaged archive names its segment: say which file needed it, as a folder's get does.
              if (e instanceof DiskchainError && opened.archive !== undefined && e.file === opened.archive) {
                throw new DiskchainError(e.code, `${opened.path}: ${e.message}`, e.file);
              }
              throw e;
            }
            return;
          }
          const report = getToHost(opened.fs, opened.entry, opened.path, dest, {
            onNote: (line) => process.stderr.write(`diskchain: ${line}\n`),
          });
          process.stderr.write(
            `#${opened.entryId} ${opened.disk}:${opened.volume}:${opened.path}: ${report.files} file${report.files === 1 ? '' : 's'}, ` +
              `${report.folders} folder${report.folders === 1 ? '' : 's'}, ${humanBytes(report.bytes)} copied\n`,
          );
          if (report.failed.length > 0) process.exitCode = 1;
        } finally {
          opened.chain.close();
        }
      });
    });

  catalog
    .command('list')
    .description('list catalogued disks and archives, oldest entry first, a page at a time')
    .option('--json', 'print {entries, offset, limit, more} as JSON')
    .option('--limit <n>', 'entries per page', '100')
    .option('--offset <n>', 'entries to skip', '0')
    .addOption(typeOption())
    .addOption(statusOption())
    .action((_options: PageOptions, command: Command) => {
      const options = optionsOf<PageOptions>(command);
      return withCatalog(options, (c) => printPage(c, pageQuery(options), options.json === true));
    });

  catalog
    .command('search')
    .description('find entries by name (whole words or their beginnings), VM, kind, date and size')
    .argument('[words...]', 'words to find in file, folder and VM names (each as a prefix; all must match)')
    .option('--json', 'print {entries, offset, limit, more} as JSON')
    .option('--kind <createType>', 'disk kind (monolithicSparse, vmfs, cowd, raw, …) or archive')
    .option('--vm <name>', 'words of the VM name')
    .option('--since <when>', 'dated on or after: 2024-05-01, 2024-05-01T14:30, or 12h, 7d, 2w ago')
    .option('--until <when>', 'dated before the end of (a date) or at (a date-time)')
    .option('--min-size <size>', 'capacity at least, e.g. 20G')
    .option('--max-size <size>', 'capacity at most')
    .option('--min-on-disk <size>', 'bytes on disk at least')
    .option('--max-on-disk <size>', 'bytes on disk at most')
    .option('--limit <n>', 'entries per page', '100')
    .option('--offset <n>', 'entries to skip', '0')
    .addOption(typeOption())
    .addOption(statusOption())
    .action((words: string[], _options: SearchOptions, command: Command) => {
      const options = optionsOf<SearchOptions>(command);
      const query: EntryQuery = {
        ...pageQuery(options),
        text: words.length > 0 ? words.join(' ') : undefined,
        kind: options.kind,
        vm: options.vm,
        since: options.since,
        until: options.until,
        minCapacityBytes: sizeOption(options.minSize, 'minimum size'),
        maxCapacityBytes: sizeOption(options.maxSize, 'maximum size'),
        minSizeBytes: sizeOption(options.minOnDisk, 'minimum size on disk'),
        maxSizeBytes: sizeOption(options.maxOnDisk, 'maximum size on disk'),
      };
      return withCatalog(options, (c) => printPage(c, query, options.json === true));
    });

  catalog
    .command('show')
    .description('everything the catalog knows about one entry: chain, geometry, files, manifest, last verify')
    .argument('<id>')
    .option('--json', 'print the entry as JSON')
    .action((id: string, _options: CatalogOptions, command: Command) => {
      const options = optionsOf<CatalogOptions>(command);
      return withCatalog(options, (c) => {
        const entry = c.show(parseId(id));
        print(options.json ? json(entry) : showText(entry));
      });
    });

  catalog
    .command('verify')
    .description('re-hash archive files against the manifest: exit 0 all good, 1 a file is missing or changed')
    .argument('[id]', 'the archive to verify')
    .option('--all', 'verify every catalogued archive')
    .option('--json', 'print the report as JSON (with --all, an array of reports)')
    .addOption(progressOption())
    .action(async (id: string | undefined, _options: CatalogOptions & { all?: boolean }, command: Command) => {
      const options = optionsOf<CatalogOptions & { all?: boolean }>(command);
      if ((id === undefined) === (options.all !== true)) throw usageError('name one archive id, or --all');
      const failed = await withCatalog(options, (c) => cancellable((signal) => verifyCommand(c, id, options, signal)));
      if (failed) process.exitCode = 1;
    });

  catalog
    .command('forget')
    .description('remove entries from the catalog (no file is touched; a later scan of their folder finds them again)')
    .argument('<id...>')
    .option('--json', 'print {forgotten: [ids]} as JSON')
    .action((ids: string[], _options: CatalogOptions, command: Command) => {
      const options = optionsOf<CatalogOptions>(command);
      const parsed = ids.map(parseId);
      return withCatalog(options, (c) => {
        const forgotten: EntrySummary[] = [];
        for (const id of parsed) {
          forgotten.push(c.show(id));
          c.forget(id);
        }
        if (options.json) print(json({ forgotten: forgotten.map((e) => e.id) }));
        else for (const e of forgotten) print(`forgot #${e.id} ${e.path}`);
      });
    });
}

/** The archives and disks a scan found, in id order: what `scan --index` indexes (unchanged ones cost nothing). */
function foundIds(catalog: Catalog, summary: ScanSummary): number[] {
  const ids: number[] = [];
  // A root that is an archive's manifest.json stands for its folder.
  for (const root of summary.roots) ids.push(...catalog.idsUnder(path.basename(root) === 'manifest.json' ? path.dirname(root) : root));
  return [...new Set(ids)].sort((a, b) => a - b);
}

async function runIndex(catalog: Catalog, ids: number[] | undefined, options: CatalogOptions & { force?: boolean }, signal: AbortSignal): Promise<IndexSummary> {
  const mode = progressMode(options.progress);
  let drawn = false;
  const onProgress = (p: IndexProgress): void => {
    if (mode === 'json') process.stderr.write(`${JSON.stringify(p)}\n`);
    else if (mode === 'bar') {
      const where = `${p.entriesDone + 1}/${p.entriesTotal} #${p.id} ${path.basename(p.path)}${p.disk ? ` ${p.disk}:${p.volume}` : ''}`;
      process.stderr.write(`\rindexing ${where}: ${p.volumeFiles} files (${p.files} in all)   `);
      drawn = true;
    }
  };
  try {
    return await catalog.index(ids, { onProgress, signal, force: options.force === true });
  } finally {
    if (drawn) process.stderr.write('\n');
  }
}

function indexText(s: IndexSummary): string {
  const lines = [
    `indexed ${s.indexed} entr${s.indexed === 1 ? 'y' : 'ies'} (${s.files} files), ${s.unchanged} unchanged, ` +
      `${s.skipped} skipped, ${s.failed} failed, in ${(s.elapsedMs / 1000).toFixed(1)} s`,
  ];
  for (const e of s.entries) {
    if (e.outcome === 'unchanged') continue;
    lines.push(`  #${e.id} ${e.path}: ${e.outcome}${e.reason ? `: ${e.reason}` : ''}`);
    if (e.outcome !== 'indexed') continue;
    for (const v of e.volumes) {
      const what = v.fileSystem ? `${v.fileSystem}${v.label ? ` "${v.label}"` : ''}, ${v.files} files` : 'not read';
      lines.push(`    ${v.disk}:${v.volume || '-'}  ${what}${v.error ? `: ${v.error}` : ''}`);
    }
  }
  return lines.join('\n');
}

function linkNumber(text: string): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) throw usageError(`bad --at "${text}": an archived link number (0 = the top)`);
  return Number(text);
}

function parseId(text: string): number {
  const id = /^#?(\d+)$/.exec(text.trim());
  if (!id || !Number.isSafeInteger(Number(id[1])) || Number(id[1]) === 0) {
    throw usageError(`bad catalog id "${text}": use the number shown by catalog list or search`);
  }
  return Number(id[1]);
}

function countOption(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw usageError(`bad ${what} "${text}": use a whole number`);
  return Number(text);
}

function sizeOption(text: string | undefined, what: string): number | undefined {
  return text === undefined ? undefined : parseSize(text, what);
}

function pageQuery(options: PageOptions): EntryQuery {
  return {
    limit: countOption(options.limit, 'limit'),
    offset: countOption(options.offset, 'offset'),
    type: options.type,
    status: statusOf(options.status),
  };
}

/** `--status chain broken` and `--status chain-broken` alike. */
function statusOf(text: string | undefined): EntryQuery['status'] {
  if (text === undefined) return undefined;
  const status = parseStatus(text);
  if (status === null) throw usageError(`bad --status "${text}": use ${ENTRY_STATUSES.join(', ')}`);
  return status;
}

/**
 * Prints one page, streaming rows as the database yields them, so a --limit of a million rows
 * never sits in memory. One row past the page tells whether more follow.
 */
function printPage(catalog: Catalog, query: EntryQuery, asJson: boolean): void {
  const limit = query.limit ?? 100;
  const offset = query.offset ?? 0;
  if (limit < 1) throw usageError('bad limit 0: use a whole number from 1');
  let count = 0;
  let more = false;
  if (asJson) process.stdout.write(`{\n  "offset": ${offset},\n  "limit": ${limit},\n  "entries": [`);
  else print(rowText(['ID', 'KIND', 'CAPACITY', 'ON DISK', 'DATE', 'STATUS', 'VM', 'PATH']));
  for (const entry of catalog.iterate({ ...query, limit: limit + 1 })) {
    if (count === limit) {
      more = true;
      break;
    }
    if (asJson) process.stdout.write(`${count === 0 ? '\n' : ',\n'}    ${JSON.stringify(entry)}`);
    else print(entryRow(entry));
    count++;
  }
  if (asJson) process.stdout.write(`${count === 0 ? '' : '\n  '}],\n  "more": ${more}\n}\n`);
  else if (count === 0) print('(no entries)');
  else if (more) process.stderr.write(`more entries follow: --offset ${offset + limit}\n`);
}

const WIDTHS = [6, 20, 10, 10, 16, 20, 16];

function rowText(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const width = WIDTHS[i];
      if (width === undefined) return cell;
      return i === 0 || i === 2 || i === 3 ? cell.padStart(width) : cell.padEnd(width);
    })
    .join('  ');
}

function entryRow(e: EntrySummary): string {
  return rowText([
    String(e.id),
    e.kind ?? '?',
    e.capacityBytes === null ? '-' : humanBytes(e.capacityBytes),
    humanBytes(e.sizeBytes),
    localTime(e.date),
    e.status,
    e.vmName ?? '-',
    e.path,
  ]);
}

function scanProgress(mode: ProgressMode): { update(p: ScanProgress): void; finish(): void } {
  let drawn = false;
  return {
    update(p) {
      if (mode === 'json') process.stderr.write(`${JSON.stringify(p)}\n`);
      else if (mode === 'bar') {
        const line = `scanning: ${p.directories} folders, ${p.files} files, ${p.read} read, ${p.unchanged} unchanged, ${p.errors} errors`;
        process.stderr.write(`\r${line}   `);
        drawn = true;
      }
    },
    finish() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

function scanText(s: ScanSummary): string {
  const counts = (c: ScanSummary['disks']): string =>
    `${c.added + c.changed + c.unchanged} (${c.added} new, ${c.changed} changed, ${c.unchanged} unchanged)`;
  const merged = s.merged.map((m) => `${m.root} ${m.same ? 'is the same folder as' : 'is inside'} ${m.into}`).join(', ');
  const lines = [
    `scanned ${s.roots.length} root${s.roots.length === 1 ? '' : 's'}${merged ? ` (${merged}: scanned once, as part of it)` : ''}, ` +
      `${s.directories} folders, in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `  disks     ${counts(s.disks)}`,
    `  archives  ${counts(s.archives)}`,
    `  missing   ${s.missing} newly missing${s.reappeared > 0 ? `, ${s.reappeared} back` : ''}`,
    `  errors    ${s.errorCount}`,
  ];
  for (const e of s.errors.slice(0, MAX_ERROR_LINES)) lines.push(`    ${e.path}: ${e.message}`);
  if (s.errorCount > MAX_ERROR_LINES) lines.push(`    … and ${s.errorCount - MAX_ERROR_LINES} more (see --json, or catalog search --status error)`);
  return lines.join('\n');
}

function showText(e: EntryDetail): string {
  const lines = [`#${e.id}  ${e.type}  ${e.path}`];
  const add = (label: string, value: string): void => {
    lines.push(`  ${label.padEnd(11)} ${value}`);
  };
  add('kind', e.kind ?? 'unknown');
  add('status', e.status + (e.missingSince ? ` since ${e.missingSince}` : '') + (e.statusNote && e.status !== 'missing' ? `: ${e.statusNote}` : ''));
  if (e.error) add('error', e.error);
  if (e.vmName) add('vm', e.vmName);
  if (e.capacityBytes !== null) add('capacity', `${humanBytes(e.capacityBytes)} (${e.capacityBytes} bytes)`);
  if (e.allocatedBytes !== null) add('allocated', humanBytes(e.allocatedBytes));
  add('on disk', humanBytes(e.sizeBytes));
  add(e.type === 'archive' ? 'created' : 'modified', e.date);
  if (e.disk) {
    const d = e.disk;
    if (d.geometry) {
      const g = d.geometry;
      add('geometry', `${g.cylinders}/${g.heads}/${g.sectors} (C/H/S, from ${d.geometrySource}), adapter ${d.adapterType}`);
    }
    if (d.cid) add('CID', d.cid + (d.parentCid ? `, parent CID ${d.parentCid}` : ''));
    if (d.parentPath) add('parent', d.parentPath + (d.parentId === null ? '' : ` (#${d.parentId})`));
    if (d.childIds.length > 0) add('children', d.childIds.map((id) => `#${id}`).join(', '));
    add('chain', `${d.chain.length} link${d.chain.length === 1 ? '' : 's'}: ${d.chain.map((p) => path.basename(p)).join(' <- ')}`);
    for (const p of d.problems) lines.push(`  ${p.severity}: ${path.basename(p.file)}: ${p.message}`);
  }
  if (e.archive) {
    const a = e.archive;
    if (a.sourcePath) add('source', `${a.sourceKind ?? ''} ${a.sourcePath}`.trim());
    if (a.tool) add('tool', a.tool);
    for (const d of a.disks) {
      const capacity = d.capacityBytes === null ? '' : `  ${humanBytes(d.capacityBytes)}`;
      add('disk', `${d.name}  ${d.kind ?? '?'}${capacity}${d.sourcePath ? `  from ${d.sourcePath}` : ''}`);
    }
    add('files', `${a.files.length}`);
    for (const f of a.files) lines.push(`    ${f.name}  ${humanBytes(f.bytes)}${f.state ? `  ${f.state.toUpperCase()}` : ''}`);
    const v = a.lastVerify;
    add('verified', v === null ? 'never' : `${v.verifiedAt}: ${v.ok ? 'ok' : `${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}`}`);
    for (const p of v?.problems ?? []) lines.push(`    ${p.problem.padEnd(10)} ${p.name || '(folder)'}: ${p.message}`);
  } else {
    for (const f of e.files) lines.push(`    ${f.role.padEnd(6)} ${f.path}  ${humanBytes(f.bytes)}`);
  }
  lines.push(`  first seen  ${e.firstSeen}, last seen ${e.lastSeen}`);
  return lines.join('\n');
}

/**
 * Verifies one archive or all of them, printing each report as it finishes (--all --json streams
 * a JSON array), so nothing accumulates. Returns whether any archive had a problem.
 */
async function verifyCommand(catalog: Catalog, id: string | undefined, options: CatalogOptions, signal: AbortSignal): Promise<boolean> {
  // One progress line per archive: finish() ends it before the archive's report is printed.
  let printer = progressPrinter(progressMode(options.progress));
  let started = Date.now();
  let lastUpdate = 0;
  const verifyOptions = {
    signal,
    onProgress: (p: { doneBytes: number; totalBytes: number }): void => {
      if (p.doneBytes < p.totalBytes && Date.now() - lastUpdate < PROGRESS_MS) return;
      lastUpdate = Date.now();
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? p.doneBytes / seconds : 0;
      const eta = rate > 0 ? (p.totalBytes - p.doneBytes) / rate : null;
      printer.update({ phase: 'verify', doneBytes: p.doneBytes, totalBytes: p.totalBytes, rate, eta });
    },
  };
  const nextArchive = (): void => {
    printer.finish();
    printer = progressPrinter(progressMode(options.progress));
    started = Date.now();
  };
  if (id !== undefined) {
    const report = await catalog.verify(parseId(id), verifyOptions);
    nextArchive();
    print(options.json ? json(report) : verifyText(report, catalog.show(report.id).status));
    return !report.ok;
  }
  let failed = false;
  let count = 0;
  if (options.json) process.stdout.write('[');
  for await (const report of catalog.verifyAll(verifyOptions)) {
    nextArchive();
    if (options.json) process.stdout.write(`${count === 0 ? '\n' : ',\n'}${json(report)}`);
    else print(verifyText(report, catalog.show(report.id).status));
    failed ||= !report.ok;
    count++;
  }
  if (options.json) process.stdout.write(count === 0 ? ']\n' : '\n]\n');
  else if (count === 0) print('(no archives in the catalog)');
  return failed;
}

/** The report, and the status it gave the entry when that is not plain ok. */
function verifyText(r: VerifyReport, status: EntryStatus): string {
  const head = `#${r.id} ${r.path}: ${r.checkedFiles} file${r.checkedFiles === 1 ? '' : 's'} hashed, ${humanBytes(r.bytesHashed)}`;
  if (r.ok && status === 'ok') return `${head}: ok`;
  const lines = [r.ok ? `${head}: ok` : `${head}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`];
  for (const p of r.problems) lines.push(`  ${p.problem.padEnd(10)} ${p.name || '(folder)'}: ${p.message}`);
  lines.push(`  status     ${status}`);
  return lines.join('\n');
}
