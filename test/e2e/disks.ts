/** Disks the end-to-end tests open, built at test time with the project's builders and qemu. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildCowd, writeVmfsSparseDescriptor } from '../fixtures/cowd-builder.js';
import { writeVmfsDisk } from '../fixtures/descriptor-builder.js';

export const MiB = 1024 * 1024;

/** Deterministic bytes that do not compress to nothing (so sizes and maps mean something). */
export function pattern(length: number, seed: number): Buffer {
  const buf = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  return buf;
}

/**
 * ESX 2: `a.dsk ← a.dsk.REDO ← a.dsk.REDO.REDO` (raw base, two COWD logs naming their parents,
 * the way ESX 2 lays them out). Returns the top log.
 */
export function buildEsx2Chain(dir: string, sizeBytes = 64 * MiB): string {
  const sectors = sizeBytes / 512;
  const base = path.join(dir, 'a.dsk');
  // A base with data in its first 24 MiB and a hole after it.
  fs.writeFileSync(base, pattern(24 * MiB, 1));
  fs.truncateSync(base, sizeBytes);
  buildCowd(path.join(dir, 'a.dsk.REDO'), {
    capacitySectors: sectors,
    parentFileName: 'a.dsk',
    generation: 2,
    writes: [
      { lba: 2048, data: pattern(2 * MiB, 2) },
      { lba: (40 * MiB) / 512, data: pattern(4 * MiB, 3) },
    ],
  });
  const top = path.join(dir, 'a.dsk.REDO.REDO');
  buildCowd(top, {
    capacitySectors: sectors,
    parentFileName: 'a.dsk.REDO',
    parentGeneration: 2,
    writes: [
      { lba: 4096, data: pattern(1 * MiB, 4) },
      { lba: (56 * MiB) / 512, data: pattern(2 * MiB, 5) },
    ],
  });
  return top;
}

/**
 * ESX 3+: `base.vmdk` (vmfs, CID 12345678) ← `child.vmdk` (vmfsSparse) whose parentCID is
 * 0badc0de: the base was changed after the snapshot was taken. Returns the child.
 */
export function buildCidMismatch(dir: string, sizeBytes = 32 * MiB): string {
  writeVmfsDisk(dir, 'base', sizeBytes, pattern(4 * MiB, 7), { cid: 0x12345678 });
  buildCowd(path.join(dir, 'child-delta.vmdk'), { capacitySectors: sizeBytes / 512, writes: [{ lba: 8, data: pattern(64 * 1024, 8) }] });
  const child = path.join(dir, 'child.vmdk');
  writeVmfsSparseDescriptor(child, {
    capacitySectors: sizeBytes / 512,
    deltaFileName: 'child-delta.vmdk',
    cid: 0x0aaaaaaa,
    parentCid: 0x0badc0de,
    parentFileNameHint: 'base.vmdk',
  });
  return child;
}

/**
 * A raw `.dsk` of base64 text from /dev/urandom: it compresses only somewhat, so every grain is
 * really deflated (incompressible grains are stored as they are) and writing it as
 * streamOptimized at level 9 takes a while: the data of cancel tests.
 */
export function buildBigRaw(dir: string, name: string, sizeBytes: number): string {
  const file = path.join(dir, name);
  execFileSync('sh', ['-c', `base64 -w 0 /dev/urandom | head -c ${sizeBytes} > '${file}'`]);
  return file;
}

/** A monolithicSparse disk made by qemu-img with some data written by qemu-io. */
export function buildQemuSparse(dir: string, name: string, sizeBytes: number, writes: Array<{ offset: number; length: number; byte: number }>): string {
  const file = path.join(dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse', file, String(sizeBytes)]);
  for (const w of writes) {
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -P ${w.byte} ${w.offset} ${w.length}`, file], { stdio: 'ignore' });
  }
  return file;
}

/** `qemu-img check` of an image: its exit status and what it printed. */
export function qemuCheck(file: string): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync('qemu-img', ['check', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? 1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

/** Runs the built CLI; throws with its stderr on failure. */
export function cli(...args: string[]): string {
  return execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/diskchain.js'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

/** Every file under a folder, relative, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}
