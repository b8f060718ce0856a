import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/diskchain.js');

export interface CliResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
  text: string;
}

/** Runs the built `diskchain` binary (npm test builds first) as a user would. */
export function diskchain(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 1024 * 1024 * 1024,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString(), text: r.stdout.toString() };
}
