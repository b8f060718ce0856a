/**
 * A small seeded fuzz of the open path: bytes of headers and descriptors of every kind flipped,
 * fields set to extremes, files cut short. Whatever comes of it, info, check and a read of the
 * disk each end in success or one DiskchainError line, quickly and in bounded memory: never a
 * hang, a TypeError or RangeError, a stack trace or a buffer sized by a lying field. And one
 * verdict: a disk check finds no error in reads without an error.
 *
 * The cases run in a child process (the compiled engine) so that a hang fails the test by its
 * timeout instead of blocking the test runner.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildEsx2Chain } from '../../fixtures/cowd-builder.js';
import { buildSeSparseDisk } from '../../fixtures/sesparse-builder.js';
import { builtEngine } from '../../helpers/dist.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const CASES_PER_KIND = Number(process.env.FUZZ_CASES ?? 24);
/** A case may take this long under load; a hang takes for ever. */
const CASE_MS = 5000;

/** Deterministic PRNG (mulberry32), so that a failing case can be rebuilt from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Kind {
  name: string;
  /** Builds the pristine disk in `dir`; returns the file to open and the file to damage with the region worth damaging. */
  build(dir: string): { open: string; target: string; regionBytes: number };
}

const kinds: Kind[] = [
  {
    name: 'monolithicSparse',
    build(dir) {
      const disk = path.join(dir, 'd.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', disk, '8M');
      qemuFill(disk, 0, MiB, 0x11);
      qemuFill(disk, 6 * MiB, 64 * 1024, 0x22);
      // Header, embedded descriptor, directories and the first tables.
      return { open: disk, target: disk, regionBytes: 64 * 1024 };
    },
  },
  {
    name: 'streamOptimized',
    build(dir) {
      const src = path.join(dir, 'src.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', src, '8M');
      qemuFill(src, 0, MiB, 0x11);
      qemuFill(src, 6 * MiB, 64 * 1024, 0x22);
      const disk = path.join(dir, 'd.vmdk');
      qemuImg('convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', src, disk);
      fs.rmSync(src);
      return { open: disk, target: disk, regionBytes: fs.statSync(disk).size };
    },
  },
  {
    name: 'twoGbMaxExtentSparse descriptor',
    build(dir) {
      const disk = path.join(dir, 'd.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', disk, '8M');
      qemuFill(disk, MiB, MiB, 0x33);
      return { open: disk, target: disk, regionBytes: fs.statSync(disk).size };
    },
  },
  {
    name: 'monolithicFlat descriptor',
    build(dir) {
      const disk = path.join(dir, 'd.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', disk, '8M');
      qemuFill(disk, MiB, MiB, 0x44);
      return { open: disk, target: disk, regionBytes: fs.statSync(disk).size };
    },
  },
  {
    name: 'qemu chain (the child damaged)',
    build(dir) {
      const base = path.join(dir, 'base.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', base, '8M');
      qemuFill(base, 0, 2 * MiB, 0x55);
      const child = path.join(dir, 'child.vmdk');
      qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
      qemuFill(child, MiB, MiB, 0x66);
      // Header and embedded descriptor (parentCID, parentFileNameHint), directories, first tables.
      return { open: child, target: child, regionBytes: 64 * 1024 };
    },
  },
  {
    name: 'COWD REDO',
    build(dir) {
      const { top } = buildEsx2Chain(dir, 8 * MiB);
      return { open: top, target: top, regionBytes: 8192 };
    },
  },
  {
    name: 'seSparse',
    build(dir) {
      const { descriptor, layout } = buildSeSparseDisk(dir, 'd', {
        capacitySectors: (32 * MiB) / 512,
        data: [
          [0, Buffer.alloc(4096, 0x55)],
          [4097, Buffer.alloc(4096, 0x66)],
        ],
        zero: [3],
      });
      return { open: descriptor, target: layout.file, regionBytes: Math.min(fs.statSync(layout.file).size, 256 * 1024) };
    },
  },
];

/** One damage, chosen by the PRNG: flipped bytes, a field set to an extreme, or a cut. */
function damage(file: string, regionBytes: number, random: () => number): string {
  const bytes = fs.readFileSync(file);
  const region = Math.min(regionBytes, bytes.length);
  const pick = random();
  if (pick < 0.45) {
    const count = 1 + Math.floor(random() * 8);
    for (let i = 0; i < count; i++) bytes[Math.floor(random() * region)] = Math.floor(random() * 256);
    fs.writeFileSync(file, bytes);
    return `${count} bytes flipped`;
  }
  if (pick < 0.8) {
    const at = Math.floor(random() * Math.max(1, region - 8)) & ~3;
    const extremes = [0, 0xffffffff, 0x7fffffff, 1, 0x80000000];
    const value = extremes[Math.floor(random() * extremes.length)]!;
    bytes.writeUInt32LE(value, Math.min(at, bytes.length - 4));
    fs.writeFileSync(file, bytes);
    return `u32 at ${at} set to ${value}`;
  }
  const length = Math.floor(random() * bytes.length);
  fs.truncateSync(file, length);
  return `cut to ${length} bytes`;
}

/** Runs info, check and a bounded read of every case in one child process; one JSON line per case. */
const RUNNER = `
import { openChain } from '${pathToFileURL(builtEngine('disk/chain.js')).href}';
import { checkDisk } from '${pathToFileURL(builtEngine('disk/check.js')).href}';
import { diskInfo } from '${pathToFileURL(builtEngine('disk/info.js')).href}';
const READ_LIMIT = 64 * 1024 * 1024;
function outcome(fn) {
  const started = Date.now();
  try {
    const errors = fn();
    return { ok: true, ms: Date.now() - started, errors };
  } catch (e) {
    return { ok: false, ms: Date.now() - started, name: e?.constructor?.name, code: e?.code, message: String(e?.message) };
  }
}
function cat(disk) {
  const chain = openChain(disk);
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let read = 0;
    for (const run of chain.mapRuns(0, chain.capacityBytes)) {
      if (run.state !== 'data') continue;
      for (let at = run.offset; at < run.offset + run.length && read < READ_LIMIT; at += buf.length) {
        const piece = buf.subarray(0, Math.min(buf.length, run.offset + run.length - at));
        chain.read(piece, at);
        read += piece.length;
      }
    }
  } finally {
    chain.close();
  }
}
let rss = 0;
for (const disk of JSON.parse(process.argv[2])) {
  const info = outcome(() => { const c = openChain(disk, { acceptDamage: true }); try { diskInfo(c); } finally { c.close(); } });
  const check = outcome(() => checkDisk(disk).errors);
  const read = outcome(() => cat(disk));
  rss = Math.max(rss, process.memoryUsage().rss);
  console.log(JSON.stringify({ disk, info, check, read, rss }));
}
`;

interface Outcome {
  ok: boolean;
  ms: number;
  /** check: the errors it found. */
  errors?: number;
  name?: string;
  code?: string;
  message?: string;
}

describe('fuzzed headers and descriptors', () => {
  const root = tmpDir('diskchain-fuzz-');

  it.each(kinds.map((k, i) => [k.name, k, i] as const))('%s: every command ends in success or one DiskchainError line, quickly', (_name, kind, index) => {
    const pristine = path.join(root, `kind${index}`, 'pristine');
    fs.mkdirSync(pristine, { recursive: true });
    const built = kind.build(pristine);
    const random = prng(1000 + index);
    const cases: string[] = [];
    const what = new Map<string, string>();
    for (let n = 0; n < CASES_PER_KIND; n++) {
      const dir = path.join(root, `kind${index}`, `case${n}`);
      fs.cpSync(pristine, dir, { recursive: true });
      const open = path.join(dir, path.relative(pristine, built.open));
      what.set(open, damage(path.join(dir, path.relative(pristine, built.target)), built.regionBytes, random));
      cases.push(open);
    }
    const runner = path.join(root, 'runner.mjs');
    fs.writeFileSync(runner, RUNNER);
    const child = spawnSync(process.execPath, [runner, JSON.stringify(cases)], { encoding: 'utf8', timeout: CASES_PER_KIND * 3 * CASE_MS });
    expect(child.error, 'the runner hung or could not start').toBeUndefined();
    expect(child.stderr).toBe('');
    const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as { disk: string; rss: number } & Record<'info' | 'check' | 'read', Outcome>);
    expect(lines).toHaveLength(CASES_PER_KIND);
    for (const line of lines) {
      for (const command of ['info', 'check', 'read'] as const) {
        const result = line[command];
        const label = `${command} of ${kind.name} with ${what.get(line.disk)}: ${result.name ?? ''} ${result.message ?? ''}`;
        expect(result.ms, label).toBeLessThan(CASE_MS);
        if (result.ok) continue;
        expect(result.name, label).toBe('DiskchainError');
        expect(result.code, label).toMatch(/^E_[A-Z]+$/);
        expect(result.message, label).not.toMatch(/\n/);
      }
      // One verdict: what a read fails on, check reports.
      if (line.check.ok && line.check.errors === 0) {
        expect(line.read.ok, `check found nothing wrong with ${kind.name} with ${what.get(line.disk)} but the read failed: ${line.read.message}`).toBe(true);
      }
      expect(line.rss, `memory after ${what.get(line.disk)}`).toBeLessThan(768 * MiB);
    }
  });
});
