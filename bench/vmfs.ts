/**
 * The vmfs group of `npm run bench` (issue 12): `vmfs ls -R` of a VMFS-5 volume holding 10,000 files
 * (100 folders of 100), built by the test builder in a temp folder; target under 1 s. And `cat` of a
 * 4 GiB thick flat disk inside a volume image against `cat` of the same disk as plain host files:
 * at least as fast ×0.9 (the image's time at most the host's / 0.9).
 *
 *   npm run build && node dist/bench/run.js --only vmfs --runs 3
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeVmfsFlatDescriptor } from '../test/fixtures/cowd-builder.js';
import { patternBytes } from '../test/fixtures/pattern.js';
import { buildVmfs, type VmfsFileSpec } from '../test/fixtures/vmfs-builder.js';
import { median, runOnce, seconds, verdict, type Sample } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/diskchain.js');
const FILES = 10_000;
const TIME_LIMIT = 1;

export interface VmfsRow {
  task: string;
  diskchain: Sample;
  timeLimit: number;
}

export interface VmfsCatRow {
  task: string;
  image: Sample;
  host: Sample;
  /** The image may take at most the host's time / RATIO. */
  ratio: number;
}

const MiB = 1024 * 1024;
const CAT_BYTES = 4 * 1024 * MiB;
const RATIO = 0.9;

/** Both rows of the group; the cat row needs ~8 GiB of temp space for a while. */
export function runVmfsBench(runs: number): Array<VmfsRow | VmfsCatRow> {
  return [...runVmfsLsBench(runs), ...runVmfsCatBench(runs)];
}

export function runVmfsLsBench(runs: number): VmfsRow[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-vmfs-bench-'));
  try {
    const files: VmfsFileSpec[] = [];
    for (let i = 0; i < FILES; i++) files.push({ path: `/vm${String(Math.floor(i / 100)).padStart(3, '0')}/file${String(i).padStart(5, '0')}.txt`, content: Buffer.from(`${i}\n`) });
    const image = buildVmfs(dir, 'bench', { version: 5, files }).images[0]!;
    // Checked once before timing: a bench of a listing that misses files would say nothing.
    const listed = execFileSync('/bin/bash', ['-o', 'pipefail', '-c', `node ${BIN} vmfs ls -R ${image} | grep -c '^file'`], { encoding: 'utf8' });
    if (Number(listed) !== FILES) throw new Error(`diskchain vmfs ls -R listed ${listed.trim()} of the ${FILES} files`);
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) samples.push(runOnce(`node ${BIN} vmfs ls -R ${image} > /dev/null`));
    const wall = median(samples.map((s) => s.wall));
    const sample = samples.find((s) => s.wall === wall)!;
    return [{ task: `vmfs ls -R, VMFS-5 volume, ${FILES.toLocaleString('en')} files`, diskchain: sample, timeLimit: TIME_LIMIT }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `cat` of a 4 GiB thick disk (db01.vmdk + db01-flat.vmdk, every 1 MiB block allocated, through
 * pointer blocks as ESXi lays out a file that size) inside a VMFS-5 image, and of its twin as host
 * files; both read from the page cache after a first checked run, medians of `runs`.
 */
export function runVmfsCatBench(runs: number): VmfsCatRow[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-vmfs-cat-bench-'));
  try {
    const blocks = [0, 1, 2, 3].map((seed) => patternBytes(MiB, 90 + seed));
    const descriptor = path.join(dir, 'db01.vmdk');
    writeVmfsFlatDescriptor(descriptor, { capacitySectors: CAT_BYTES / 512, flatFileName: 'db01-flat.vmdk', cid: 0x0b0b0b0b });
    const sparseData = Array.from({ length: CAT_BYTES / MiB }, (_, i) => ({ offset: i * MiB, data: blocks[i % blocks.length]! }));
    const image = buildVmfs(dir, 'cat', {
      version: 5,
      files: [
        { path: '/db01/db01.vmdk', content: fs.readFileSync(descriptor) },
        { path: '/db01/db01-flat.vmdk', size: CAT_BYTES, sparseData, layout: 'pointer' },
      ],
    }).images[0]!;
    const fd = fs.openSync(path.join(dir, 'db01-flat.vmdk'), 'w');
    try {
      for (let i = 0; i < CAT_BYTES / MiB; i++) fs.writeSync(fd, blocks[i % blocks.length]!, 0, MiB, i * MiB);
    } finally {
      fs.closeSync(fd);
    }
    const inImage = `${image}:/db01/db01.vmdk`;
    // Checked once before timing (and so read into the page cache): both give the same bytes.
    const sums = [inImage, descriptor].map((d) => execFileSync('/bin/bash', ['-o', 'pipefail', '-c', `node ${BIN} cat '${d}' | md5sum`], { encoding: 'utf8' }));
    if (sums[0] !== sums[1]) throw new Error(`cat of the disk inside the image (${sums[0]!.trim()}) differs from the host copy (${sums[1]!.trim()})`);
    const timed = (d: string): Sample => {
      const samples: Sample[] = [];
      for (let i = 0; i < runs; i++) samples.push(runOnce(`node ${BIN} cat '${d}' > /dev/null`));
      const wall = median(samples.map((s) => s.wall));
      return samples.find((s) => s.wall === wall)!;
    };
    const host = timed(descriptor);
    const inside = timed(inImage);
    return [{ task: 'cat 4 GiB flat disk inside a VMFS-5 image vs host file', image: inside, host, ratio: RATIO }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function printVmfsRows(all: Array<VmfsRow | VmfsCatRow>): void {
  console.log('\nVMFS volume images (issue 12)');
  const rows = all.filter((r): r is VmfsRow => !('ratio' in r));
  const catRows = all.filter((r): r is VmfsCatRow => 'ratio' in r);
  for (const r of rows) {
    console.log(`${r.task.padEnd(58)} ${seconds(r.diskchain.wall).padStart(10)}  < ${r.timeLimit} s  ${r.diskchain.rssMiB.toFixed(0).padStart(4)} MiB  ${verdict(r.diskchain.wall < r.timeLimit)}`);
  }
  for (const r of catRows) {
    const limit = r.host.wall / r.ratio;
    console.log(`${r.task.padEnd(58)} ${seconds(r.image.wall).padStart(10)}  ≤ ${seconds(limit)} (host ${seconds(r.host.wall)} / ${r.ratio})  ${r.image.rssMiB.toFixed(0).padStart(4)} MiB  ${verdict(r.image.wall <= limit)}`);
  }
}
