/** Timing one whole command for the bench: wall time from here, CPU and peak RSS from GNU time. */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** One timed run of a whole command: wall seconds, CPU seconds (user + system), peak RSS. */
export interface Sample {
  wall: number;
  cpu: number;
  rssMiB: number;
}

/** A command line (run by bash with pipefail) or an argv. */
export type Command = string | string[];

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const TIME_OUT = path.join(os.tmpdir(), `diskchain-bench-time-${process.pid}`);

/**
 * The wall clock is read by a small bash around the command ($EPOCHREALTIME, no fork), not by this
 * process: a spawn from a bench process holding a gigabyte (the catalog rows) costs 60 ms of page
 * tables before the command starts, which is the bench's cost, not the command's.
 */
const TIMED = 's=$EPOCHREALTIME; /usr/bin/time -f "%U %S %M" -o "$0" "$@"; rc=$?; e=$EPOCHREALTIME; echo "$s $e" >> "$0"; exit $rc';

export function runOnce(cmd: Command): Sample {
  return timedRun(cmd, false);
}

/** runOnce, and the command's standard output. */
export function timedRun(cmd: Command, keepStdout: true): Sample & { stdout: string };
export function timedRun(cmd: Command, keepStdout: boolean): Sample;
export function timedRun(cmd: Command, keepStdout: boolean): Sample & { stdout?: string } {
  const argv = typeof cmd === 'string' ? ['/bin/bash', '-o', 'pipefail', '-c', cmd] : cmd;
  const r = spawnSync('/bin/bash', ['-c', TIMED, TIME_OUT, ...argv], { stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.toString()}`);
  const lines = fs.readFileSync(TIME_OUT, 'utf8').trim().split('\n');
  const [user, sys, rss] = lines[lines.length - 2]!.split(' ').map(Number);
  const [start, end] = lines[lines.length - 1]!.split(' ').map(Number);
  const sample = { wall: end! - start!, cpu: user! + sys!, rssMiB: rss! / 1024 };
  return keepStdout ? { ...sample, stdout: r.stdout.toString() } : sample;
}

export function seconds(s: number): string {
  return `${s.toFixed(3)} s`;
}

export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}

/** Incompressible bytes for bench inputs: a random MiB, each copy stamped with its index and `seed` so that none repeat; returns the SHA-256. */
export function randomFile(file: string, bytes: number, seed = 0): string {
  const MiB = 1024 * 1024;
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < bytes / MiB; i++) {
      block.writeUInt32LE(i, 0);
      block.writeUInt32LE(seed, 4);
      fs.writeSync(fd, block);
      hash.update(block);
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}
