/**
 * `npm run bench`: Diskchain against what this machine allows on the same bytes (a limit proxy:
 * `cat` from the page cache, `cp --sparse=always` + sync, a bare `node -e 0`) and against qemu-img.
 * Every row runs Diskchain, its proxy and qemu-img in turn, several times, so that all three see
 * the same moment of a noisy machine; the ratio is the median of the per-round ratios.
 *
 *   npm run bench                      every row, then the guest group's (bench/guest.ts) and the catalog's
 *   node dist/bench/run.js --only cat,export --runs 3
 *   node dist/bench/run.js --only guest --runs 3
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCowd } from '../test/fixtures/cowd-builder.js';
import { printArchiveRows, runArchiveBench } from './archive.js';
import { formatValue, runCatalogBench } from './catalog.js';
import { runGuestBench, printGuestRows } from './guest.js';
import { printVmfsRows, runVmfsBench } from './vmfs.js';
import { median, runOnce, seconds, TIME_OUT, verdict, type Command, type Sample } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/diskchain.js');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The issue's memory bound for every job, whatever the disk size. */
const RSS_LIMIT_MIB = 256;

interface Row {
  task: string;
  diskchain: Sample;
  proxyName: string;
  proxy: number;
  /** Median of Diskchain / proxy over the rounds. */
  ratio: number;
  /** Largest ratio that passes. */
  limit: number;
  qemu?: number;
  /** Largest Diskchain / qemu-img ratio that passes, when the issue sets one. */
  qemuLimit?: number;
  qemuRatio?: number;
}

function sh(cmd: string): void {
  execFileSync('/bin/bash', ['-c', cmd], { stdio: 'ignore' });
}

interface Contest {
  task: string;
  runs: number;
  diskchain: Command;
  proxyName: string;
  proxy: Command;
  limit: number;
  qemu?: Command;
  qemuLimit?: number;
  /** Untimed, before every run of every side (removing outputs, syncing, rebuilding inputs). */
  prepare?: () => void;
  /** Untimed, before Diskchain's runs only (a commit needs a fresh chain each time). */
  prepareDiskchain?: () => void;
  /** Untimed, before qemu-img's runs only. */
  prepareQemu?: () => void;
  /**
   * Untimed pause after Diskchain's run, for work it leaves to the kernel after it has reported
   * (commit's folded REDO is freed by a child, io/unlink-behind.ts): it must not land on the proxy.
   */
  settleMs?: number;
}

/** Runs the three sides in rounds: Diskchain, proxy, qemu-img, Diskchain, proxy, ... */
function contest(c: Contest): Row {
  const ours: Sample[] = [];
  const proxy: number[] = [];
  const qemu: number[] = [];
  const ratios: number[] = [];
  const qemuRatios: number[] = [];
  for (let i = 0; i < c.runs; i++) {
    c.prepare?.();
    c.prepareDiskchain?.();
    const a = runOnce(c.diskchain);
    if (c.settleMs !== undefined) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, c.settleMs);
    c.prepare?.();
    const b = runOnce(c.proxy).wall;
    ours.push(a);
    proxy.push(b);
    ratios.push(a.wall / b);
    if (c.qemu !== undefined) {
      c.prepare?.();
      c.prepareQemu?.();
      const q = runOnce(c.qemu).wall;
      qemu.push(q);
      qemuRatios.push(a.wall / q);
    }
  }
  const row: Row = {
    task: c.task,
    diskchain: { wall: median(ours.map((s) => s.wall)), cpu: median(ours.map((s) => s.cpu)), rssMiB: Math.max(...ours.map((s) => s.rssMiB)) },
    proxyName: c.proxyName,
    proxy: median(proxy),
    ratio: median(ratios),
    limit: c.limit,
  };
  if (c.qemu !== undefined) {
    row.qemu = median(qemu);
    row.qemuRatio = median(qemuRatios);
    if (c.qemuLimit !== undefined) row.qemuLimit = c.qemuLimit;
  }
  return row;
}

/** Fills `bytes` of data in 64 MiB runs spread over the disk, with holes between them. */
function populate(disk: string, capacity: number, bytes: number): void {
  const run = 64 * MiB;
  const count = bytes / run;
  const stride = Math.floor(capacity / count / MiB) * MiB;
  const cmds: string[] = [];
  for (let i = 0; i < count; i++) cmds.push('-c', `write -P ${(i % 250) + 1} ${i * stride} ${run}`);
  execFileSync('qemu-io', ['-f', 'vmdk', ...cmds, disk], { stdio: 'ignore' });
}

function qemuImg(...args: string[]): void {
  execFileSync('qemu-img', args, { stdio: 'ignore' });
}

interface Options {
  only: Set<string> | null;
  runs: number;
}

export function runBench(options: Options): Row[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-bench-'));
  const want = (name: string): boolean => options.only === null || options.only.has(name);
  const runs = (n: number): number => Math.max(1, Math.round((n * options.runs) / 5));
  const dc = (...args: string[]): string[] => ['node', BIN, ...args];
  const rows: Row[] = [];
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(outDir);
  // Each side writes into an empty folder, with earlier writes already on disk.
  const fresh = (): void => sh(`rm -rf ${outDir}/* && sync`);
  try {
    if (want('start')) {
      const huge = path.join(dir, 'huge.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', huge, '2T');
      populate(huge, 2 * 1024 * GiB, 256 * MiB);
      const bare = ['node', '-e', '0'];
      rows.push(contest({ task: 'CLI start: --version', runs: runs(15), diskchain: dc('--version'), proxyName: 'node -e 0', proxy: bare, limit: 1.5 }));
      rows.push(
        contest({
          task: 'info, 2 TiB monolithicSparse (256 MiB data)',
          runs: runs(15),
          diskchain: dc('info', huge),
          proxyName: 'node -e 0',
          proxy: bare,
          limit: 1.5,
          qemu: ['qemu-img', 'info', huge],
        }),
      );
    }

    const sparse = path.join(dir, 'sparse.vmdk');
    const pageCacheRead = `cat ${sparse} > /dev/null`;
    if (['cat', 'check', 'export', 'stream'].some(want)) {
      qemuImg('create', '-q', '-f', 'vmdk', sparse, '4G');
      populate(sparse, 4 * GiB, 1 * GiB);
      // Warm the page cache: every reader below is measured against reading the same file from it.
      sh(pageCacheRead);
    }
    if (want('cat')) {
      // qemu-img cannot write to a pipe ("Could not resize file"): it writes the raw disk into RAM.
      const shm = fs.existsSync('/dev/shm') ? '/dev/shm' : outDir;
      const raw = path.join(shm, `diskchain-bench-${process.pid}.raw`);
      try {
        rows.push(
          contest({
            task: 'cat 4 GiB sparse (1 GiB data) > /dev/null',
            runs: runs(7),
            diskchain: `node ${BIN} cat ${sparse} > /dev/null`,
            proxyName: 'cat FILE',
            proxy: pageCacheRead,
            limit: 2.5,
            qemu: `qemu-img convert -O raw ${sparse} ${raw}`,
            prepare: () => fs.rmSync(raw, { force: true }),
          }),
        );
      } finally {
        fs.rmSync(raw, { force: true });
      }
      // Through a pipe the 3 GiB of holes are bytes too: the proxy pushes as many through one.
      rows.push(
        contest({
          task: 'cat 4 GiB sparse | cat > /dev/null (a pipe)',
          runs: runs(5),
          diskchain: `node ${BIN} cat ${sparse} | cat > /dev/null`,
          proxyName: 'cat FILE×4 | cat',
          proxy: `cat ${sparse} ${sparse} ${sparse} ${sparse} | cat > /dev/null`,
          limit: 2.5,
        }),
      );
    }
    if (want('check')) {
      rows.push(contest({ task: 'check 4 GiB sparse (1 GiB data)', runs: runs(5), diskchain: dc('check', sparse), proxyName: 'cat FILE', proxy: pageCacheRead, limit: 2.5, qemu: ['qemu-img', 'check', sparse] }));
      rows.push(contest({ task: 'map 4 GiB sparse (1 GiB data)', runs: runs(5), diskchain: `node ${BIN} map ${sparse} > /dev/null`, proxyName: 'cat FILE', proxy: pageCacheRead, limit: 2.5, qemu: `qemu-img map ${sparse} > /dev/null` }));
    }

    const cpSparse = `cp --sparse=always ${sparse} ${outDir}/copy.vmdk && sync ${outDir}/copy.vmdk`;
    if (want('export')) {
      rows.push(
        contest({
          task: 'export 4 GiB sparse (1 GiB data) → 2GB sparse',
          runs: runs(5),
          diskchain: dc('export', sparse, `${outDir}/e`, '--progress', 'none'),
          proxyName: 'cp --sparse + sync',
          proxy: cpSparse,
          limit: 1.3,
          qemu: ['qemu-img', 'convert', '-O', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', sparse, `${outDir}/q.vmdk`],
          prepare: fresh,
        }),
      );
      rows.push(
        contest({
          task: 'convert 4 GiB sparse → monolithicSparse',
          runs: runs(3),
          diskchain: dc('convert', sparse, `${outDir}/m.vmdk`, '--to', 'monolithicSparse', '--progress', 'none'),
          proxyName: 'cp --sparse + sync',
          proxy: cpSparse,
          limit: 1.3,
          qemu: ['qemu-img', 'convert', '-O', 'vmdk', sparse, `${outDir}/q.vmdk`],
          prepare: fresh,
        }),
      );
    }
    if (want('stream')) {
      rows.push(
        contest({
          task: 'convert 4 GiB sparse → streamOptimized',
          runs: runs(3),
          diskchain: dc('convert', sparse, `${outDir}/s.vmdk`, '--to', 'streamOptimized', '--progress', 'none'),
          proxyName: 'cp --sparse + sync',
          proxy: cpSparse,
          limit: Infinity,
          qemu: ['qemu-img', 'convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', sparse, `${outDir}/q.vmdk`],
          qemuLimit: 0.3,
          prepare: fresh,
        }),
      );
    }

    if (want('commit')) {
      // An ESX 2 REDO log holding 1 GiB over a 4 GiB .dsk. COWD has no qemu writer, so the project's
      // builder makes one REDO once; each run starts from a copy of it.
      const oneGiB = path.join(dir, 'one.raw');
      execFileSync('dd', ['if=/dev/urandom', `of=${oneGiB}`, 'bs=256K', 'count=4096', 'status=none']);
      const dsk = path.join(dir, 'esx2.dsk');
      // Kept in a folder of its own: beside esx2.dsk it would be a second child, and commit refuses that.
      fs.mkdirSync(path.join(dir, 'keep'));
      const pristine = path.join(dir, 'keep', 'pristine.REDO');
      const data = fs.readFileSync(oneGiB);
      const writes = Array.from({ length: 16 }, (_, i) => ({ lba: (i * 256 * MiB) / 512, data: data.subarray(i * 64 * MiB, (i + 1) * 64 * MiB) }));
      buildCowd(pristine, { capacitySectors: (4 * GiB) / 512, parentFileName: 'esx2.dsk', writes });
      const copyData = `cp ${oneGiB} ${outDir}/copy.raw && sync ${outDir}/copy.raw`;
      const freshRedo = (): void => {
        fs.rmSync(dsk, { force: true });
        fs.writeFileSync(dsk, '');
        fs.truncateSync(dsk, 4 * GiB);
        sh(`cp ${pristine} ${dsk}.REDO && sync`);
      };
      // The REDO reader (512-byte grains) against reading the same file from the page cache.
      freshRedo();
      sh(`cat ${dsk}.REDO > /dev/null`);
      rows.push(
        contest({
          task: 'cat an ESX 2 REDO chain (4 GiB, 1 GiB data)',
          runs: runs(5),
          diskchain: `node ${BIN} cat ${dsk}.REDO > /dev/null`,
          proxyName: 'cat FILE',
          proxy: `cat ${dsk}.REDO > /dev/null`,
          limit: 2.5,
        }),
      );
      rows.push(
        contest({
          task: 'commit an ESX 2 REDO (1 GiB) into a 4 GiB .dsk',
          runs: runs(5),
          diskchain: dc('commit', `${dsk}.REDO`, '--progress', 'none'),
          proxyName: 'cp 1 GiB + sync',
          proxy: copyData,
          limit: 1.2,
          prepare: fresh,
          prepareDiskchain: freshRedo,
          settleMs: 1000,
        }),
      );
      const base = path.join(dir, 'base.vmdk');
      const top = path.join(dir, 'base-000001.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', base, '4G');
      populate(base, 4 * GiB, 1 * GiB);
      const makeTop = (): void => {
        fs.rmSync(top, { force: true });
        qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
        execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -s ${oneGiB} ${GiB} ${GiB}`, top], { stdio: 'ignore' });
        sh('sync');
      };
      rows.push(
        contest({
          task: 'commit a hosted child (1 GiB) into a 4 GiB sparse',
          runs: runs(3),
          diskchain: dc('commit', top, '--progress', 'none'),
          proxyName: 'cp 1 GiB + sync',
          proxy: copyData,
          limit: 1.2,
          qemu: ['qemu-img', 'commit', '-q', top],
          prepare: fresh,
          prepareDiskchain: makeTop,
          prepareQemu: makeTop,
          settleMs: 1000,
        }),
      );
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(TIME_OUT, { force: true });
  }
}

function printRows(rows: Row[]): void {
  const widths = [50, 10, 18, 10, 16, 16, 9, 8];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
  console.log(line(['task', 'diskchain', 'limit proxy', 'proxy', 'ratio / target', 'qemu-img', 'rss MiB', '']));
  for (const r of rows) {
    const proxyOk = r.ratio <= r.limit;
    const qemuOk = r.qemuLimit === undefined || (r.qemuRatio ?? Infinity) <= r.qemuLimit;
    const rssOk = r.diskchain.rssMiB < RSS_LIMIT_MIB;
    const ratio = Number.isFinite(r.limit) ? `${r.ratio.toFixed(2)}× ≤ ${r.limit}×` : `${r.ratio.toFixed(2)}×`;
    const qemu = r.qemu === undefined ? '-' : `${seconds(r.qemu)} ${r.qemuRatio!.toFixed(2)}×${r.qemuLimit === undefined ? '' : ` ≤ ${r.qemuLimit}×`}`;
    console.log(line([r.task, seconds(r.diskchain.wall), r.proxyName, seconds(r.proxy), ratio, qemu, r.diskchain.rssMiB.toFixed(0), verdict(proxyOk && qemuOk && rssOk)]));
    if (r.qemuLimit !== undefined) {
      console.log(`  └ cores busy: ${(r.diskchain.cpu / r.diskchain.wall).toFixed(2)} of ${os.cpus().length} (CPU ${seconds(r.diskchain.cpu)} in ${seconds(r.diskchain.wall)})`);
    }
  }
  const peak = Math.max(...rows.map((r) => r.diskchain.rssMiB));
  console.log(line([`peak RSS of every job above (< ${RSS_LIMIT_MIB} MiB)`, `${peak.toFixed(0)} MiB`, '', '', '', '', '', verdict(peak < RSS_LIMIT_MIB)]));
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = value('--only');
  return { only: only === undefined ? null : new Set(only.split(',')), runs: Number(value('--runs') ?? 5) };
}

function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const qemu = spawnSync('qemu-img', ['--version']).stdout?.toString().match(/version ([\d.]+)/)?.[1] ?? '?';
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / GiB)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, qemu-img ${qemu}, load ${load}`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const started = Date.now();
  console.log(`Diskchain bench — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${machine()}`);
  const rows = runBench(options);
  if (rows.length > 0) printRows(rows);
  if (options.only === null || options.only.has('guest')) {
    if (rows.length > 0) console.log('\nGuest files (issue 10), beside sleuthkit on the same VMDK');
    printGuestRows(runGuestBench(options.runs));
  }
  if (options.only === null || options.only.has('archive')) printArchiveRows(await runArchiveBench(options.runs));
  if (options.only === null || options.only.has('vmfs')) printVmfsRows(runVmfsBench(options.runs));
  console.log(`(medians of interleaved rounds; load at the end ${os.loadavg()[0]!.toFixed(1)}; ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  if (options.only === null || options.only.has('catalog')) {
    console.log('\nCatalog');
    for (const r of await runCatalogBench()) {
      console.log(`${r.task.padEnd(58)} ${formatValue(r).padStart(10)} ${r.target.padStart(10)}`);
    }
  }
}

await main();
