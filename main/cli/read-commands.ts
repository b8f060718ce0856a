/** The read-side commands: info, geometry, map, check, cat. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { DiskchainError, usageError } from '../../shared/errors.js';
import type { DiskInfo, GeometryReport, LayerInfo, MapRun, Problem } from '../../shared/types.js';
import { openChain, type Chain } from '../disk/chain.js';
import { geometryReport } from '../disk/geometry.js';
import { diskInfo } from '../disk/info.js';
import type { ByteSink } from '../io/sink.js';
import { humanBytes, json } from './format.js';

interface ReadOptions {
  json?: boolean;
  ignoreCid?: boolean;
  allowDevices?: boolean;
}

/** A damaged disk gets the same one-line verdict from info, geometry, map and cat; check lists what it lost. */
function withChain<T>(disk: string, options: ReadOptions, use: (chain: Chain) => T): T {
  const chain = openChain(disk, { ignoreCid: options.ignoreCid === true, allowDevices: options.allowDevices === true });
  try {
    return use(chain);
  } finally {
    chain.close();
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

const IGNORE_CID = ['--ignore-cid', "read a child even when its parentCID differs from its parent's CID"] as const;
const ALLOW_DEVICES = ['--allow-devices', 'read extents on host devices (/dev/...) that a descriptor names'] as const;

/**
 * What each read command does with its disk and options: commander's actions, and index.ts's plain
 * path. What only one command needs is imported when it runs (info's start-up loads no more).
 */
export const readActions = {
  info(disk: string, options: ReadOptions): void {
    const info = withChain(disk, options, diskInfo);
    print(options.json ? json(info) : infoText(info));
  },

  geometry(disk: string, options: ReadOptions): void {
    const report = withChain(disk, options, geometryReport);
    print(options.json ? json(report) : geometryText(report));
  },

  async map(disk: string, options: ReadOptions & { all?: boolean; hex?: boolean }): Promise<void> {
    const { diskMap } = await import('../disk/map.js');
    withChain(disk, options, (chain) => printMap(diskMap(chain), chain, options.json === true, options.all === true, options.hex === true));
  },

  async check(disk: string, options: ReadOptions): Promise<void> {
    const { checkDisk } = await import('../disk/check.js');
    let report;
    try {
      report = checkDisk(disk);
    } catch (e) {
      if (e instanceof DiskchainError) throw Object.assign(e, { exitCode: 2 });
      throw e;
    }
    if (options.json) print(json(report));
    else if (report.problems.length === 0) print(`${report.path}: no problems found`);
    else {
      for (const line of problemLines(report.problems)) print(line);
      print(`${report.errors} error(s), ${report.warnings} warning(s)`);
    }
    // A warning alone (an IDE geometry over the cap, an unclean shutdown flag) is not a failure.
    if (report.errors > 0) process.exitCode = 1;
  },

  async cat(disk: string, options: ReadOptions & { force?: boolean }): Promise<void> {
    if (process.stdout.isTTY && !options.force) {
      throw usageError('refusing to write disk bytes to a terminal: pipe or redirect stdout (or use --force)');
    }
    const [{ flatChunks }, { FdSink }] = await Promise.all([import('../disk/stream.js'), import('../io/sink.js')]);
    const chain = openChain(disk, { ignoreCid: options.ignoreCid === true, allowDevices: options.allowDevices === true });
    try {
      writeAll(flatChunks(chain), FdSink.blocking(1));
    } finally {
      chain.close();
    }
  },
};

export function addReadCommands(program: Command): void {
  program
    .command('info')
    .description('show a disk: its kind, capacity, geometry and every link of its chain')
    .argument('<disk>', 'a .vmdk descriptor, sparse or COWD file, .dsk or .REDO log')
    .option('--json', 'print the DiskInfo object as JSON')
    .option(...IGNORE_CID)
    .option(...ALLOW_DEVICES)
    .action(readActions.info);

  program
    .command('geometry')
    .description('show C/H/S geometry, BIOS geometry and adapter, and whether they fit the capacity')
    .argument('<disk>')
    .option('--json', 'print the geometry report as JSON')
    .option(...IGNORE_CID)
    .option(...ALLOW_DEVICES)
    .action(readActions.geometry);

  program
    .command('map')
    .description('list the allocated ranges of the flattened disk and the link that holds each')
    .argument('<disk>')
    .option('--json', 'print a JSON array of {start, length, state, layer, file}')
    .option('--all', 'also list ranges no link holds (they read as zeros)')
    .option('--hex', 'offsets and lengths as exact hexadecimal bytes instead of human sizes')
    .option(...IGNORE_CID)
    .option(...ALLOW_DEVICES)
    .action(readActions.map);

  program
    .command('check')
    .description('check the structure of every link: exit 0 clean (warnings allowed), 1 errors found, 2 cannot open')
    .argument('<disk>')
    .option('--json', 'print the check report as JSON')
    .action(readActions.check);

  program
    .command('cat')
    .description('write the flattened virtual disk (its full capacity, holes as zeros) to stdout')
    .argument('<disk>')
    .option('--force', 'write even when stdout is a terminal')
    .option(...IGNORE_CID)
    .option(...ALLOW_DEVICES)
    .action(readActions.cat);
}

/**
 * Writes chunks to stdout with plain synchronous writes: each is done before the next chunk is
 * read, as flatChunks' reused buffers need, and a full pipe blocks (FdSink.blocking). (Through
 * process.stdout, the promise per chunk cost more than the reads.) A reader that went away
 * (`| head`) ends it quietly with the status a shell gives SIGPIPE.
 */
function writeAll(chunks: Iterable<Buffer>, out: ByteSink & { close(): void }): void {
  try {
    for (const chunk of chunks) out.write(chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    process.exitCode = 141;
  } finally {
    out.close();
  }
}

function printMap(runs: Iterable<MapRun>, chain: Chain, asJson: boolean, all: boolean, hexSizes: boolean): void {
  const keep = (r: MapRun): boolean => all || r.layer !== null;
  if (asJson) {
    // Streamed element by element: a fragmented 2 TiB disk has more runs than one string should hold.
    process.stdout.write('[');
    let first = true;
    for (const run of runs) {
      if (!keep(run)) continue;
      process.stdout.write(`${first ? '\n' : ',\n'}  ${JSON.stringify(run)}`);
      first = false;
    }
    process.stdout.write(first ? ']\n' : '\n]\n');
    return;
  }
  const dir = path.dirname(chain.top.path);
  // Fixed column widths, so that a map of millions of runs streams and still lines up.
  const size = hexSizes ? hex : (n: number): string => humanBytes(n);
  const width = hexSizes ? 18 : 10;
  const row = (offset: string, length: string, state: string, file: string): string =>
    `${offset.padStart(width)}  ${length.padStart(width)}  ${state.padEnd(5)}  ${file}`;
  print(row('Offset', 'Length', 'State', 'File'));
  for (const run of runs) {
    if (!keep(run)) continue;
    const file = run.file === null ? '-' : path.relative(dir, run.file) || run.file;
    print(row(size(run.start), size(run.length), run.state, file));
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(16, '0')}`;
}

function infoText(info: DiskInfo): string {
  const g = info.geometry;
  const lines = [
    `${info.path}`,
    ...(info.extentOf ? [`  extent of   this is an extent of ${path.basename(info.extentOf)} (beside it): open that for the disk`] : []),
    `  kind        ${info.createType}`,
    `  capacity    ${humanBytes(info.capacityBytes)} (${info.capacityBytes} bytes, ${info.capacityBytes / 512} sectors)`,
    `  geometry    ${g.cylinders}/${g.heads}/${g.sectors} (C/H/S), adapter ${info.adapterType}`,
    `  chain       ${info.layers.length} link${info.layers.length === 1 ? '' : 's'}, top first:`,
  ];
  info.layers.forEach((layer, i) => lines.push(...layerText(layer, i, path.dirname(info.path))));
  for (const p of info.problems) lines.push(`  ${p.severity}: ${p.file}: ${p.message}`);
  return lines.join('\n');
}

function layerText(layer: LayerInfo, index: number, dir: string): string[] {
  const rel = (p: string): string => path.relative(dir, p) || path.basename(p);
  const cids = layer.cid === null ? '' : `  CID ${layer.cid}${layer.parentCid === null ? '' : ` parentCID ${layer.parentCid}`}`;
  const lines = [
    `  [${index}] ${rel(layer.path)}  ${layer.createType}  ${humanBytes(layer.capacityBytes)}  allocated ${humanBytes(layer.allocatedBytes)}${cids}`,
  ];
  if (layer.parent) lines.push(`      parent ${layer.parent.name} (from ${layer.parent.source})`);
  if (layer.rdm) {
    const mode = layer.rdm.mode === 'physical' ? 'physical (pass-through)' : 'virtual';
    lines.push(`      raw device mapping, ${mode} mode, mapping file ${rel(layer.rdm.mapping)}: the data is on the ESX host's LUN`);
  }
  for (const e of layer.extents) {
    const file = e.path === null ? '' : ` ${e.device ? e.path : rel(e.path)}`;
    const device = e.device ? (e.device.readable ? '  (device)' : '  (device, not readable here)') : '';
    lines.push(`      extent ${e.access} ${e.sectors} ${e.type}${file}${e.offset ? ` offset ${e.offset}` : ''}${device}`);
  }
  for (const w of layer.warnings) lines.push(`      warning: ${w}`);
  return lines;
}

/** At most this many lines of one kind of problem; a damaged disk's full list is for --json. */
const SAME_KIND_SHOWN = 6;

/**
 * The problems as text, a screenful: neighbouring problems of one kind (the same message but for
 * its numbers: "1.0 MiB lost…" at many LBA ranges) show their first few lines and a count.
 */
export function problemLines(problems: Problem[]): string[] {
  const lines: string[] = [];
  const kindOf = (p: Problem): string => `${p.severity}\0${p.file}\0${p.message.replace(/\d+(\.\d+)?( ?[KMGTP]?i?B\b)?/g, '#')}`;
  for (let i = 0; i < problems.length; ) {
    let end = i + 1;
    while (end < problems.length && kindOf(problems[end]!) === kindOf(problems[i]!)) end++;
    for (const p of problems.slice(i, Math.min(end, i + SAME_KIND_SHOWN))) {
      lines.push(`${p.severity}: ${p.file}${p.location ? ` (${p.location})` : ''}: ${p.message}`);
    }
    const more = end - i - SAME_KIND_SHOWN;
    if (more > 0) lines.push(`${problems[i]!.severity}: ${problems[i]!.file}: … and ${more} more like these (check --json lists them all)`);
    i = end;
  }
  return lines;
}

function geometryText(r: GeometryReport): string {
  const chs = (g: { cylinders: number; heads: number; sectors: number }): string => `${g.cylinders}/${g.heads}/${g.sectors}`;
  const lines = [
    `geometry          ${chs(r.geometry)} (C/H/S, from ${r.source})`,
    `default geometry  ${chs(r.defaultGeometry)} for adapter ${r.adapterType}`,
  ];
  if (r.biosGeometry) lines.push(`BIOS geometry     ${chs(r.biosGeometry)}`);
  lines.push(`adapter           ${r.adapterType}`);
  lines.push(r.mismatch ? `mismatch          yes` : `mismatch          no`);
  for (const reason of r.reasons) lines.push(`  ${reason}`);
  return lines.join('\n');
}
