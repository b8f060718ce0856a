/**
 * `npm run bench`: Diskchain against qemu-img on the same inputs, on this machine.
 * Timings are wall-clock medians of several runs of whole commands, as a user would see them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCowd } from '../test/fixtures/cowd-builder.js';
import { runCatalogBench } from './catalog.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/diskchain.js');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

interface Row {
  task: string;
  diskchain: number;
  qemu?: number;
  /** For commit: the time of copying the same data with cp. */
  copy?: number;
  unit?: 'MiB';
  target: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Peak resident memory of a whole command, from GNU time. */
function peakRssMiB(cmd: string): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '/bin/bash', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = r.stderr.toString().trim().split('\n');
  return Number(lines[lines.length - 1]) / 1024;
}

function timeIt(cmd: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync('/bin/bash', ['-o', 'pipefail', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString()}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function qemuImg(...args: string[]): void {
  execFileSync('qemu-img', args, { stdio: 'ignore' });
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

export function runBench(): Row[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-bench-'));
  const dc = (args: string): string => `node ${BIN} ${args}`;
  const rows: Row[] = [];
  try {
    const huge = path.join(dir, 'huge.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', huge, '2T');
    populate(huge, 2 * 1024 * GiB, 256 * MiB);
    rows.push({
      task: 'info, 2 TiB monolithicSparse (256 MiB allocated)',
      diskchain: timeIt(dc(`info ${huge}`), 5),
      qemu: timeIt(`qemu-img info ${huge}`, 5),
      target: '< 0.3 s',
    });

    const sparse = path.join(dir, 'sparse.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', sparse, '4G');
    populate(sparse, 4 * GiB, 1 * GiB);
    // qemu-img cannot write to a pipe ("Could not resize file"), so both write the whole raw
    // disk through stdout into a regular file in RAM (/dev/shm): same bytes, same destination.
    const shm = fs.existsSync('/dev/shm') ? '/dev/shm' : dir;
    const out = path.join(shm, `diskchain-bench-${process.pid}.raw`);
    try {
      rows.push({
        task: 'cat (stdout), 4 GiB sparse (1 GiB allocated)',
        diskchain: timeIt(`${dc(`cat ${sparse}`)} > ${out}`, 3),
        qemu: timeIt(`qemu-img dd -f vmdk -O raw if=${sparse} of=/dev/stdout bs=4M > ${out}`, 3),
        target: '<= qemu-img',
      });
    } finally {
      fs.rmSync(out, { force: true });
    }

    // Issue 4: writing. Each output is removed before the next run so both tools write the same thing.
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(outDir);
    const fresh = (cmd: string): string => `rm -rf ${outDir}/* && ${cmd}`;
    rows.push({
      task: 'convert 4 GiB sparse (1 GiB data) → twoGbMaxExtentSparse',
      diskchain: timeIt(fresh(dc(`convert ${sparse} ${outDir}/a.vmdk --to twoGbMaxExtentSparse --progress none`)), 3),
      qemu: timeIt(fresh(`qemu-img convert -O vmdk -o subformat=twoGbMaxExtentSparse ${sparse} ${outDir}/q.vmdk`), 3),
      target: '<= qemu-img',
    });
    rows.push({
      task: 'convert 4 GiB sparse (1 GiB data) → streamOptimized',
      diskchain: timeIt(fresh(dc(`convert ${sparse} ${outDir}/a.vmdk --to streamOptimized --progress none`)), 3),
      qemu: timeIt(fresh(`qemu-img convert -O vmdk -o subformat=streamOptimized ${sparse} ${outDir}/q.vmdk`), 3),
      target: '<= 0.7 × qemu-img',
    });

    // The issue's case: an ESX 2 REDO log holding 1 GiB over a 4 GiB .dsk. COWD has no qemu writer,
    // so the project's builder makes one REDO once; each run starts from a copy of it.
    const oneGiB = path.join(dir, 'one.raw');
    execFileSync('dd', ['if=/dev/urandom', `of=${oneGiB}`, 'bs=256K', 'count=4096', 'status=none']);
    const dsk = path.join(dir, 'esx2.dsk');
    // Kept in a folder of its own: beside esx2.dsk it would be a second child, and commit refuses that.
    fs.mkdirSync(path.join(dir, 'keep'));
    const pristine = path.join(dir, 'keep', 'pristine.REDO');
    const data = fs.readFileSync(oneGiB);
    const writes = Array.from({ length: 16 }, (_, i) => ({ lba: (i * 256 * MiB) / 512, data: data.subarray(i * 64 * MiB, (i + 1) * 64 * MiB) }));
    buildCowd(pristine, { capacitySectors: (4 * GiB) / 512, parentFileName: 'esx2.dsk', writes });
    const commitTimes: number[] = [];
    const copyTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      fs.rmSync(dsk, { force: true });
      fs.writeFileSync(dsk, '');
      fs.truncateSync(dsk, 4 * GiB);
      execFileSync('cp', [pristine, `${dsk}.REDO`]);
      execFileSync('sync');
      commitTimes.push(timeIt(dc(`commit ${dsk}.REDO --progress none`), 1));
      copyTimes.push(timeIt(`rm -f ${outDir}/copy.raw && cp ${oneGiB} ${outDir}/copy.raw && sync ${outDir}/copy.raw`, 1));
    }
    rows.push({
      task: 'commit an ESX 2 REDO holding 1 GiB into a 4 GiB .dsk',
      diskchain: median(commitTimes),
      copy: median(copyTimes),
      target: '<= 1.5 × cp + sync of 1 GiB',
    });

    const base = path.join(dir, 'base.vmdk');
    const top = path.join(dir, 'base-000001.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '4G');
    populate(base, 4 * GiB, 1 * GiB);
    const hostedTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      fs.rmSync(top, { force: true });
      qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
      execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -s ${oneGiB} ${GiB} ${GiB}`, top], { stdio: 'ignore' });
      hostedTimes.push(timeIt(dc(`commit ${top} --progress none`), 1));
    }
    rows.push({ task: 'commit a hosted child holding 1 GiB into a 4 GiB sparse base', diskchain: median(hostedTimes), copy: median(copyTimes), target: '-' });

    for (const [task, cmd] of [
      ['peak RSS: convert → streamOptimized', `convert ${sparse} ${outDir}/r.vmdk --to streamOptimized --progress none`],
      ['peak RSS: cat 4 GiB', `cat ${sparse}`],
    ] as const) {
      fs.rmSync(path.join(outDir, 'r.vmdk'), { force: true });
      rows.push({ task, diskchain: peakRssMiB(`node ${BIN} ${cmd} > /dev/null`), unit: 'MiB', target: '< 300 MiB' });
    }
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Diskchain bench — ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / GiB)} GiB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  const rows = runBench();
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(58) : c.padStart(14))).join(' ');
  console.log(line(['task', 'diskchain', 'qemu-img', 'target']));
  for (const r of rows) {
    const ours = r.unit === 'MiB' ? `${r.diskchain.toFixed(0)} MiB` : `${r.diskchain.toFixed(3)} s`;
    const theirs = r.qemu !== undefined ? `${r.qemu.toFixed(3)} s` : r.copy !== undefined ? `cp ${r.copy.toFixed(3)} s` : '-';
    console.log(line([r.task, ours, theirs, r.target]));
  }
  console.log('\nCatalog');
  for (const r of await runCatalogBench()) {
    const value = r.unit === 's' ? `${r.value.toFixed(2)} s` : `${r.value.toFixed(2)} ms`;
    console.log(line([r.task, value, '', r.target]));
  }
}

await main();
