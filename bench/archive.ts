/**
 * The archive group of `npm run bench` (issue 11): restoring one 10 MiB file from a 40 GiB archive
 * reads under 64 MiB of the archive.
 *
 *   npm run build && node dist/bench/run.js --only archive
 *
 * A sparse 40 GiB disk (MBR, one ext4 partition over all of it; never 40 GiB written) holds the
 * 10 MiB file and 1 GiB of other files, so that the 2 GB segment the file lies in holds far more
 * than 64 MiB. It is backed up with `diskchain backup`, then the file is restored the way `get`
 * does it (guest-target.ts, extract.ts), in this process, counting every byte the archive source
 * reads (tables, data and hash checks); the process's own read count (/proc/self/io rchar) is
 * shown beside it as a check that nothing escaped the counter. A second row reads the same
 * archive as one made before chunk hashes (its manifest without them): whole segments are hashed.
 * Each row is a first read: hash verdicts are kept for the life of a process. Then the wall time
 * of the CLI `get` (a new process each run, so every run checks again).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openGuest, parseGuestTarget } from '../main/cli/guest-target.js';
import { getToHost } from '../main/guest/extract.js';
import { resolveGuestPath } from '../main/guest/walk.js';
import { median, randomFile, runOnce, seconds, TIME_OUT, verdict } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/diskchain.js');
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const DISK_BYTES = 40 * GiB;
const TARGET_BYTES = 10 * MiB;
const FILLER_FILES = 8;
const FILLER_BYTES = 128 * MiB;
const READ_LIMIT = 64 * MiB;

export interface ArchiveRow {
  task: string;
  /** Bytes the archive source read. */
  archiveBytes: number;
  /** rchar of this process over the same restore. */
  rcharBytes: number;
  /** The archive's limit, or null for a row shown for comparison. */
  limit: number | null;
  detail: string;
}

function rchar(): number {
  const m = /^rchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

function build(dir: string): { archive: string; targetSha: string; storedBytes: number } {
  const tree = path.join(dir, 'root');
  fs.mkdirSync(path.join(tree, 'srv', 'data'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'etc'));
  for (let i = 0; i < FILLER_FILES; i++) randomFile(path.join(tree, 'srv', 'data', `part${i}.bin`), FILLER_BYTES, i + 1);
  const targetSha = randomFile(path.join(tree, 'srv', 'report.bin'), TARGET_BYTES, 99);
  fs.writeFileSync(path.join(tree, 'etc', 'hostname'), 'bench\n');
  const raw = path.join(dir, 'disk.raw');
  fs.writeFileSync(raw, '');
  fs.truncateSync(raw, DISK_BYTES);
  execFileSync('sfdisk', ['-q', raw], { input: 'start=2048, type=83\n', stdio: ['pipe', 'ignore', 'pipe'] });
  const partBytes = DISK_BYTES - 2048 * 512;
  execFileSync('mkfs.ext4', ['-q', '-F', '-E', `offset=${2048 * 512},lazy_itable_init=1,nodiscard`, '-d', tree, raw, `${partBytes / 1024}k`], { stdio: 'ignore' });
  fs.rmSync(tree, { recursive: true });
  const disk = path.join(dir, 'disk.vmdk');
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, disk], { stdio: 'ignore' });
  fs.rmSync(raw);
  const archive = path.join(dir, 'archive');
  execFileSync('node', [BIN, 'backup', '--progress', 'none', disk, archive], { stdio: 'ignore' });
  fs.rmSync(disk);
  const storedBytes = fs.readdirSync(archive).reduce((s, n) => s + fs.statSync(path.join(archive, n)).size, 0);
  return { archive, targetSha, storedBytes };
}

/** An archive as one made before chunk hashes: the same segments (hard links), a manifest without them. */
function withoutChunks(archive: string, to: string): string {
  fs.mkdirSync(to);
  for (const name of fs.readdirSync(archive)) if (name !== 'manifest.json') fs.linkSync(path.join(archive, name), path.join(to, name));
  const manifest = JSON.parse(fs.readFileSync(path.join(archive, 'manifest.json'), 'utf8')) as { files: Array<{ chunks?: unknown }> };
  for (const f of manifest.files) delete f.chunks;
  fs.writeFileSync(path.join(to, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return to;
}

/** `get ARCHIVE/srv/report.bin DEST` in this process; returns what the archive source read. */
async function restoreOnce(archive: string, dest: string, targetSha: string): Promise<{ archiveBytes: number; rcharBytes: number }> {
  const before = rchar();
  const opened = await openGuest(parseGuestTarget(`${archive}/srv/report.bin`), {});
  try {
    const report = getToHost(opened.fs, resolveGuestPath(opened.fs, opened.path), opened.path, dest);
    if (report.failed.length > 0) throw new Error(`restore failed: ${report.failed[0]!.reason}`);
  } finally {
    opened.chain.close();
  }
  const rcharBytes = rchar() - before;
  const sha = createHash('sha256').update(fs.readFileSync(path.join(dest, 'report.bin'))).digest('hex');
  if (sha !== targetSha) throw new Error(`restored report.bin has SHA-256 ${sha}, not ${targetSha}`);
  fs.rmSync(path.join(dest, 'report.bin'));
  return { archiveBytes: opened.archive!.bytesRead, rcharBytes };
}

export async function runArchiveBench(runs: number): Promise<ArchiveRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-archive-bench-'));
  try {
    const { archive, targetSha, storedBytes } = build(dir);
    const dest = path.join(dir, 'out');
    fs.mkdirSync(dest);
    const stored = `archive of a 40 GiB disk, ${(storedBytes / GiB).toFixed(2)} GiB stored`;
    const chunked = await restoreOnce(archive, dest, targetSha);
    const old = await restoreOnce(withoutChunks(archive, path.join(dir, 'old')), dest, targetSha);
    const walls: number[] = [];
    for (let i = 0; i < runs; i++) {
      walls.push(runOnce(`node ${BIN} get ${archive}/srv/report.bin - > /dev/null`).wall);
    }
    return [
      { task: 'restore one 10 MiB file (chunk hashes)', ...chunked, limit: READ_LIMIT, detail: `${stored}; CLI get ${seconds(median(walls))}` },
      { task: 'same, archive without chunk hashes (older)', ...old, limit: null, detail: 'whole 2 GB segments hashed: for comparison' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(TIME_OUT, { force: true });
  }
}

export function printArchiveRows(rows: ArchiveRow[]): void {
  const mib = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;
  console.log('\nSingle-file restore from an archive (issue 11): bytes of the archive read');
  console.log(`${'task'.padEnd(44)} ${'archive read'.padStart(13)} ${'rchar'.padStart(11)} ${'target'.padStart(10)} ${''.padStart(5)}  detail`);
  for (const r of rows) {
    const target = r.limit === null ? '-' : `< ${mib(r.limit)}`;
    const ok = r.limit === null ? '' : verdict(r.archiveBytes < r.limit && r.rcharBytes < r.limit);
    console.log(`${r.task.padEnd(44)} ${mib(r.archiveBytes).padStart(13)} ${mib(r.rcharBytes).padStart(11)} ${target.padStart(10)} ${ok.padStart(5)}  ${r.detail}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  printArchiveRows(await runArchiveBench(3));
}
