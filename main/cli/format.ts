/** Human-readable output helpers for the CLI (JSON output never goes through these). */

import { formatBytes } from '../../shared/bytes.js';

/** `64.0 MiB`: one digit after the point, so columns of sizes line up. */
export function humanBytes(n: number): string {
  return formatBytes(n, 1);
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Permission bits as ls shows them: rwxr-x--- for 0o750. */
export function rwx(mode: number): string {
  let s = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    s += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return s;
}
