/**
 * The guest group of `npm run bench` (issue 10): reading files inside a disk, beside sleuthkit on the
 * same sparse VMDK. `ls -R` of 100,000 files (ext4 and FAT32) against `fls -r`, `ls -lR` (every inode)
 * against `fls -r -l`, `get` of a 1 GiB file against `icat`, `diff --at 0` of a snapshot link that changed
 * 3 of the 100,000 files against two `fls -r` listings (sleuthkit cannot read the child; a listing of
 * each state is what a diff from it would cost), and `parts` of a 2 TiB GPT disk against `mmls` (and an
 * absolute 0.3 s).
 *
 *   npm run build && node dist/bench/run.js --only guest --runs 3
 *
 * The images are built once per bench in a temp folder (≈ 20 s) and removed at the end.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childWithChanges } from '../test/fixtures/ext-builder.js';
import { median, randomFile, runOnce, seconds, TIME_OUT, verdict, type Command, type Sample } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/diskchain.js');
const MiB = 1024 ** 2;
/** Issue 10's memory bound for every guest command, whatever the volume size. */
const RSS_LIMIT_MIB = 300;
/** Sectors: ext4 at 1 MiB (1.5 GiB), FAT32 right after it (512 MiB). */
const EXT_START = 2048;
const EXT_SECTORS = 3 * 1024 * 1024;
const FAT_START = EXT_START + EXT_SECTORS;
const FAT_SECTORS = 1024 * 1024;
const BIG_BYTES = 1024 * MiB;

export interface GuestRow {
  task: string;
  diskchain: Sample;
  peerName: string;
  /** Median seconds of the sleuthkit command. */
  peer: number;
  /** Median of Diskchain / sleuthkit over the rounds. */
  ratio: number;
  /** Largest ratio that passes (Infinity when only the time counts). */
  ratioLimit: number;
  /** Largest Diskchain wall time that passes, seconds. */
  timeLimit: number;
}

interface GuestContest {
  task: string;
  diskchain: Command;
  peerName: string;
  peer: Command;
  ratioLimit: number;
  timeLimit: number;
}

/** Diskchain and sleuthkit in turn, `runs` rounds, so that both see the same moment of a busy machine. */
function contest(c: GuestContest, runs: number): GuestRow {
  const ours: Sample[] = [];
  const peer: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = runOnce(c.diskchain);
    const b = runOnce(c.peer).wall;
    ours.push(a);
    peer.push(b);
    ratios.push(a.wall / b);
  }
  return {
    task: c.task,
    diskchain: { wall: median(ours.map((s) => s.wall)), cpu: median(ours.map((s) => s.cpu)), rssMiB: Math.max(...ours.map((s) => s.rssMiB)) },
    peerName: c.peerName,
    peer: median(peer),
    ratio: median(ratios),
    ratioLimit: c.ratioLimit,
    timeLimit: c.timeLimit,
  };
}

function run(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], input, maxBuffer: 64 * MiB });
}

/** 100 × 10 folders of 100 files each (100,000 files); every tenth holds 100 bytes, the rest are empty. */
function makeTree(dir: string): void {
  const small = Buffer.alloc(100, 'x');
  for (let a = 0; a < 100; a++) {
    for (let b = 0; b < 10; b++) {
      const folder = path.join(dir, `d${String(a).padStart(2, '0')}`, `s${b}`);
      fs.mkdirSync(folder, { recursive: true });
      for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(folder, `file${String(f).padStart(2, '0')}.txt`), f % 10 === 0 ? small : '');
    }
  }
}

interface Images {
  /** MBR disk as a monolithicSparse VMDK: 1 = ext4 (files/ + big.bin), 2 = FAT32 (files/). */
  disk: string;
  /** A snapshot child of `disk` in which 3 files of the ext4 volume changed (one removed, one added, one rewritten). */
  child: string;
  bigInode: string;
  bigSha: string;
  /** 2 TiB GPT disk as a monolithicSparse VMDK: a 64 MiB ext4 and a partition over the rest. */
  huge: string;
}

function buildImages(dir: string): Images {
  const tree = path.join(dir, 'root');
  makeTree(path.join(tree, 'files'));
  const bigSha = randomFile(path.join(tree, 'big.bin'), BIG_BYTES);
  const raw = path.join(dir, 'disk.raw');
  fs.writeFileSync(raw, '');
  fs.truncateSync(raw, (FAT_START + FAT_SECTORS) * 512 + MiB);
  execFileSync('sfdisk', ['-q', raw], { input: `start=${EXT_START}, size=${EXT_SECTORS}, type=83\nstart=${FAT_START}, size=${FAT_SECTORS}, type=c\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  run('mkfs.ext4', ['-q', '-F', '-N', '120000', '-E', `offset=${EXT_START * 512}`, '-d', tree, raw, `${(EXT_SECTORS * 512) / 1024}k`]);
  run('mkfs.vfat', ['-F', '32', '--offset', String(FAT_START), raw, String((FAT_SECTORS * 512) / 1024)]);
  run('mcopy', ['-s', '-i', `${raw}@@${FAT_START * 512}`, path.join(tree, 'files'), '::/']);
  fs.rmSync(tree, { recursive: true });
  const disk = path.join(dir, 'disk.vmdk');
  run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, disk]);
  // The snapshot: debugfs changes 3 files in a copy, and the child holds the grains that differ.
  const changed = path.join(dir, 'changed.raw');
  run('cp', ['--sparse=always', raw, changed]);
  const note = path.join(dir, 'note.txt');
  fs.writeFileSync(note, 'changed\n');
  run('debugfs', ['-w', '-f', '-', `${changed}?offset=${EXT_START * 512}`], `rm /files/d07/s3/file05.txt\nwrite ${note} /files/d42/s1/new.txt\nrm /files/d88/s9/file50.txt\nwrite ${note} /files/d88/s9/file50.txt\n`);
  const child = path.join(dir, 'child.vmdk');
  childWithChanges(disk, raw, changed, 0, child);
  fs.rmSync(raw);
  fs.rmSync(changed);

  const hugeRaw = path.join(dir, 'huge.raw');
  fs.writeFileSync(hugeRaw, '');
  fs.truncateSync(hugeRaw, 2 * 1024 ** 4);
  run('sgdisk', ['-n', '1:2048:+64M', '-t', '1:8300', '-c', '1:root', '-n', '2:0:0', '-t', '2:0700', '-c', '2:data', hugeRaw]);
  run('mkfs.ext4', ['-q', '-F', '-E', `offset=${2048 * 512}`, hugeRaw, '65536k']);
  const huge = path.join(dir, 'huge.vmdk');
  run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', hugeRaw, huge]);
  fs.rmSync(hugeRaw);

  const bigInode = run('ifind', ['-i', 'vmdk', '-o', String(EXT_START), '-n', '/big.bin', disk]).trim();
  return { disk, child, bigInode, bigSha, huge };
}

/** Checked once before timing: a bench of a command that reads wrong would say nothing. */
function checkOutputs(img: Images): void {
  const sha = execFileSync('/bin/bash', ['-o', 'pipefail', '-c', `node ${BIN} get ${img.disk}:1/big.bin - | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
  if (sha !== img.bigSha) throw new Error(`diskchain get of big.bin gave SHA-256 ${sha}, not ${img.bigSha}`);
  for (const vol of [1, 2]) {
    const count = Number(execFileSync('/bin/bash', ['-o', 'pipefail', '-c', `node ${BIN} find ${img.disk}:${vol} 'file*.txt' | wc -l`], { encoding: 'utf8' }));
    if (count !== 100_000) throw new Error(`diskchain find saw ${count} of the 100,000 files on volume ${vol}`);
  }
  const changes = execFileSync('node', [BIN, 'diff', `${img.child}:1`, '--at', '0'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.slice(0, 2)).sort().join('');
  if (changes !== 'A D M ') throw new Error(`diskchain diff --at 0 gave "${changes}", not one added, one removed and one changed file`);
}

export function runGuestBench(runs: number): GuestRow[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-guest-bench-'));
  try {
    const img = buildImages(dir);
    // Both sides read the VMDK from the page cache.
    execFileSync('/bin/bash', ['-c', `cat ${img.disk} ${img.huge} > /dev/null`]);
    checkOutputs(img);
    const dc = `node ${BIN}`;
    const fls = `fls -r -i vmdk`;
    return [
      contest(
        { task: 'ls -R ext4, 100,000 files (sparse VMDK)', diskchain: `${dc} ls -R ${img.disk}:1/ > /dev/null`, peerName: 'fls -r -i vmdk', peer: `${fls} -o ${EXT_START} ${img.disk} > /dev/null`, ratioLimit: 1, timeLimit: 3 },
        runs,
      ),
      contest(
        { task: 'ls -lR ext4, 100,000 files (every inode read)', diskchain: `${dc} ls -lR ${img.disk}:1/ > /dev/null`, peerName: 'fls -rl -i vmdk', peer: `${fls} -l -o ${EXT_START} ${img.disk} > /dev/null`, ratioLimit: 1, timeLimit: 3 },
        runs,
      ),
      contest(
        { task: 'ls -R FAT32, 100,000 files (sparse VMDK)', diskchain: `${dc} ls -R ${img.disk}:2/ > /dev/null`, peerName: 'fls -r -i vmdk', peer: `${fls} -o ${FAT_START} ${img.disk} > /dev/null`, ratioLimit: 1, timeLimit: 3 },
        runs,
      ),
      contest(
        {
          task: 'get 1 GiB file from ext4 (sparse VMDK) > /dev/null',
          diskchain: `${dc} get ${img.disk}:1/big.bin - > /dev/null`,
          peerName: 'icat -i vmdk',
          peer: `icat -i vmdk -o ${EXT_START} ${img.disk} ${img.bigInode} > /dev/null`,
          ratioLimit: 1,
          timeLimit: Infinity,
        },
        runs,
      ),
      contest(
        {
          task: 'diff --at 0, ext4 link that changed 3 of 100,000',
          diskchain: `${dc} diff ${img.child}:1 --at 0 > /dev/null`,
          peerName: 'fls -r ×2',
          peer: `${fls} -o ${EXT_START} ${img.disk} > /dev/null && ${fls} -o ${EXT_START} ${img.disk} > /dev/null`,
          ratioLimit: 1,
          timeLimit: 3,
        },
        runs,
      ),
      contest({ task: 'parts, 2 TiB GPT disk (sparse VMDK)', diskchain: `${dc} parts ${img.huge} > /dev/null`, peerName: 'mmls -i vmdk', peer: `mmls -i vmdk ${img.huge} > /dev/null`, ratioLimit: Infinity, timeLimit: 0.3 }, runs),
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(TIME_OUT, { force: true });
  }
}

export function printGuestRows(rows: GuestRow[]): void {
  const widths = [50, 10, 16, 10, 16, 10, 9, 6];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
  console.log(line(['task', 'diskchain', 'sleuthkit', 'time', 'ratio / target', 'target', 'rss MiB', '']));
  for (const r of rows) {
    const ok = r.ratio <= r.ratioLimit && r.diskchain.wall <= r.timeLimit && r.diskchain.rssMiB < RSS_LIMIT_MIB;
    const ratio = Number.isFinite(r.ratioLimit) ? `${r.ratio.toFixed(2)}× ≤ ${r.ratioLimit}×` : `${r.ratio.toFixed(2)}×`;
    const time = Number.isFinite(r.timeLimit) ? `< ${r.timeLimit} s` : '-';
    console.log(line([r.task, seconds(r.diskchain.wall), r.peerName, seconds(r.peer), ratio, time, r.diskchain.rssMiB.toFixed(0), verdict(ok)]));
  }
  const peak = Math.max(...rows.map((r) => r.diskchain.rssMiB));
  console.log(line([`peak RSS of every guest command (< ${RSS_LIMIT_MIB} MiB)`, `${peak.toFixed(0)} MiB`, '', '', '', '', '', verdict(peak < RSS_LIMIT_MIB)]));
}
