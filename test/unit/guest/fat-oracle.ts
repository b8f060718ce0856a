/**
 * Shared by the FAT and exFAT tests: walk a guest file system, and ask sleuthkit (an independent reader)
 * for the same listing, sizes, times and MD5s.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';

/** Oracles run in UTC: FAT stores local time, which both sides then read as UTC. */
export const UTC_ENV = { ...process.env, TZ: 'UTC', MTOOLS_SKIP_CHECK: '1' };

export interface Walked {
  entry: GuestEntry;
  path: string;
}

export function walk(fs: GuestFileSystem, dir = fs.root(), path = ''): Walked[] {
  const out: Walked[] = [];
  for (const entry of fs.list(dir)) {
    const child = `${path}/${entry.name}`;
    out.push({ entry, path: child });
    if (entry.type === 'dir') out.push(...walk(fs, entry, child));
  }
  return out;
}

/** A file's bytes through read(), in odd-sized pieces so that reads straddle clusters and runs. */
export function readWhole(fs: GuestFileSystem, entry: GuestEntry, piece = 100_003): Buffer {
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(piece);
  for (let offset = 0; ; ) {
    const n = fs.read(entry, buf, offset);
    if (n === 0) break;
    parts.push(Buffer.from(buf.subarray(0, n)));
    offset += n;
  }
  return Buffer.concat(parts);
}

export function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

export interface TskRow {
  path: string;
  type: 'file' | 'dir';
  size: number;
  md5: string;
  atime: number;
  mtime: number;
  crtime: number;
}

/** `fls -r -p -u -h -m /`: every allocated name with its MD5, size and times (Unix seconds). */
export function tskRows(image: string, offsetSectors = 0): TskRow[] {
  const out = execFileSync('fls', ['-r', '-p', '-u', '-h', '-m', '/', '-o', String(offsetSectors), image], { env: UTC_ENV, maxBuffer: 256 << 20 }).toString('utf8');
  const rows: TskRow[] = [];
  for (const line of out.split('\n')) {
    const f = line.split('|');
    if (f.length < 11) continue;
    const path = f[1]!;
    if (/^\/\$(MBR|FAT1|FAT2|OrphanFiles|ALLOC_BITMAP|UPCASE_TABLE)/.test(path) || path.endsWith('(Volume Label Entry)')) continue;
    rows.push({ path, type: f[3]!.startsWith('d') ? 'dir' : 'file', size: Number(f[6]), md5: f[0]!, atime: Number(f[7]), mtime: Number(f[8]), crtime: Number(f[10]) });
  }
  return rows;
}

/** Our listing in the same shape (sizes and MD5s of files only: sleuthkit gives a folder's allocated size). */
export function ourRows(fs: GuestFileSystem): TskRow[] {
  return walk(fs).map(({ entry, path }) => ({
    path,
    type: entry.type === 'dir' ? 'dir' : 'file',
    size: entry.type === 'dir' ? 0 : entry.size,
    md5: entry.type === 'dir' ? '' : md5(readWhole(fs, entry)),
    atime: Math.floor((entry.atimeMs ?? 0) / 1000),
    mtime: Math.floor((entry.mtimeMs ?? 0) / 1000),
    crtime: Math.floor((entry.birthtimeMs ?? 0) / 1000),
  }));
}

export function comparable(rows: TskRow[]): TskRow[] {
  return rows.map((r) => (r.type === 'dir' ? { ...r, size: 0, md5: '' } : r)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
