/**
 * The vmfs group of `npm run bench` (issue 12): `vmfs ls -R` of a VMFS-5 volume holding 10,000 files
 * (100 folders of 100), built by the test builder in a temp folder; target under 1 s.
 *
 *   npm run build && node dist/bench/run.js --only vmfs --runs 3
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
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

export function runVmfsBench(runs: number): VmfsRow[] {
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

export function printVmfsRows(rows: VmfsRow[]): void {
  console.log('\nVMFS volume images (issue 12)');
  for (const r of rows) {
    console.log(`${r.task.padEnd(58)} ${seconds(r.diskchain.wall).padStart(10)}  < ${r.timeLimit} s  ${r.diskchain.rssMiB.toFixed(0).padStart(4)} MiB  ${verdict(r.diskchain.wall < r.timeLimit)}`);
  }
}
