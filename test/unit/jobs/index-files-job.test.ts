import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobProgress } from '../../../shared/jobs.js';
import { Catalog } from '../../../main/catalog/catalog.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { startJob } from '../../../main/jobs/engine.js';
import { indexFilesJob } from '../../../main/jobs/index-files.js';
import { diskchain } from '../../helpers/cli.js';
import { guestFiles, twoBackups } from '../../helpers/file-catalog.js';
import { blankDisk, run, toVmdk } from '../../helpers/guest-images.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-index-job-');

/** Half-written rows an index leaves behind: none once a job has ended, whatever way. */
function incompleteRows(db: string): { volumes: number; files: number } {
  const sql = new BetterSqlite3(db, { readonly: true });
  try {
    const volumes = sql.prepare<[], { n: number }>('SELECT count(*) AS n FROM file_volumes WHERE complete = 0').get()!.n;
    const files = sql.prepare<[], { n: number }>('SELECT count(*) AS n FROM files WHERE volume_id IN (SELECT id FROM file_volumes WHERE complete = 0)').get()!.n;
    return { volumes, files };
  } finally {
    sql.close();
  }
}

async function scanned(db: string, folder: string): Promise<Catalog> {
  const catalog = Catalog.open(db);
  await catalog.scan([folder]);
  return catalog;
}

describe('the index-files job: two backups of a VM with ext4 and NTFS volumes', () => {
  const db = path.join(dir, 'two.db');
  let catalog: Catalog;
  let ids: { first: number; second: number };

  beforeAll(async () => {
    catalog = await scanned(db, twoBackups(path.join(dir, 'two')).nas);
    const id = (name: string): number => catalog.search({ text: name, type: 'archive' }).entries.find((e) => e.name === name)!.id;
    ids = { first: id('web-1'), second: id('web-2') };
  });
  afterAll(() => catalog.close());

  it('indexes in a worker thread with progress over entries (files and bytes read beside), and the rows land', async () => {
    const seen: JobProgress[] = [];
    const result = await startJob({ kind: 'indexFiles', db }, (p) => seen.push(p)).done;
    expect(result.index).toMatchObject({ indexed: 2, unchanged: 0, failed: 0, skipped: 0 });
    expect(result.summary).toMatch(/^indexed 2 entries \(\d+ files\), 0 unchanged$/);
    expect(result.outputs).toEqual([db]);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((p) => p.phase === 'indexing' && p.totalBytes === 2 && p.counts?.unit === 'entries')).toBe(true);
    // Files and bytes read only grow, and something was read from each volume.
    const files = seen.map((p) => p.counts!.files);
    expect(files).toEqual([...files].sort((a, b) => a - b));
    expect(seen.some((p) => p.counts!.current.startsWith('web-2 (web:'))).toBe(true);
    const last = seen[seen.length - 1]!;
    expect(last).toMatchObject({ doneBytes: 2, totalBytes: 2, eta: 0 });
    expect(last.counts!.files).toBe(result.index!.files);
    expect(last.counts!.readBytes).toBeGreaterThan(0);

    // The job's own connection committed: another connection finds both versions.
    const versions = catalog.findFiles({ pattern: 'nginx.conf' }).versions;
    expect(versions.map((v) => [v.entryId, v.size])).toEqual([
      [ids.second, guestFiles(2).ext['/etc/nginx/nginx.conf']!.length],
      [ids.first, guestFiles(1).ext['/etc/nginx/nginx.conf']!.length],
    ]);
    expect(incompleteRows(db)).toEqual({ volumes: 0, files: 0 });
  });

  it('a second run finds both archives unchanged and opens nothing', async () => {
    const result = await startJob({ kind: 'indexFiles', db }).done;
    expect(result.summary).toBe('indexed 0 entries (0 files), 2 unchanged');
  });

  it('cancelled between archives: the first keeps its new index, the second its old one, and a re-run completes', async () => {
    const before = catalog.indexedVolumes(ids.second);
    let cancel = false;
    const ctx = inlineContext(
      (_phase, done) => {
        if (done === 1) cancel = true;
      },
      () => cancel,
    );
    await expect(indexFilesJob({ kind: 'indexFiles', db, force: true }, ctx)).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(catalog.indexedVolumes(ids.second)).toEqual(before);
    expect(catalog.indexedVolumes(ids.first)[0]!.indexedAt >= before[0]!.indexedAt).toBe(true);
    expect(catalog.findFiles({ pattern: 'nginx.conf' }).versions).toHaveLength(2);
    expect(incompleteRows(db)).toEqual({ volumes: 0, files: 0 });
    const again = await startJob({ kind: 'indexFiles', db, ids: [ids.second], force: true }).done;
    expect(again.index).toMatchObject({ indexed: 1 });
  });
});

/** Folders × files of the big volume: more than two of the indexer's 20,000-row batches. */
const FOLDERS = 45;
const FILES_PER_FOLDER = 1000;

/** A backup (by `diskchain backup`) of a disk whose one ext4 volume holds 45,000 files. */
function bigArchive(root: string): string {
  const src = path.join(root, 'src');
  for (let d = 0; d < FOLDERS; d++) {
    const folder = path.join(src, `d${String(d).padStart(2, '0')}`);
    fs.mkdirSync(folder, { recursive: true });
    for (let f = 0; f < FILES_PER_FOLDER; f++) fs.writeFileSync(path.join(folder, `f${String(d * FILES_PER_FOLDER + f).padStart(5, '0')}.txt`), '');
  }
  const raw = blankDisk(path.join(root, 'big.img'), 160 * 1024 * 1024);
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-N', '50000', '-L', 'big', '-d', src, raw]);
  const vmdk = toVmdk(raw);
  const nas = path.join(root, 'nas');
  const r = diskchain(['backup', '--progress', 'none', vmdk, path.join(nas, 'big-1')]);
  if (r.status !== 0) throw new Error(`diskchain backup failed: ${r.stderr}`);
  return nas;
}

describe('the index-files job: cancel inside a long walk', () => {
  const db = path.join(dir, 'big.db');
  let catalog: Catalog;
  let id: number;

  beforeAll(async () => {
    const root = path.join(dir, 'big');
    fs.mkdirSync(root);
    catalog = await scanned(db, bigArchive(root));
    id = catalog.search({ type: 'archive' }).entries[0]!.id;
  }, 120_000);
  afterAll(() => catalog.close());

  /** Starts the job and cancels it once the first batch of the walk is in; resolves with what it saw. */
  async function cancelMidWalk(force: boolean): Promise<{ error: unknown; seen: JobProgress[] }> {
    const seen: JobProgress[] = [];
    const job = startJob({ kind: 'indexFiles', db, force }, (p) => {
      seen.push(p);
      if ((p.counts?.files ?? 0) > 0) job.cancel();
    });
    const error = await job.done.then(
      () => null,
      (e: unknown) => e,
    );
    return { error, seen };
  }

  it('a cancel lands within the volume: nothing of it is committed, and a re-run indexes every file', async () => {
    const { error, seen } = await cancelMidWalk(false);
    expect(error).toMatchObject({ code: 'E_CANCELLED' });
    const listed = Math.max(...seen.map((p) => p.counts?.files ?? 0));
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(FOLDERS * FILES_PER_FOLDER);
    expect(catalog.indexedVolumes(id)).toEqual([]);
    expect(catalog.findFiles({ pattern: 'f00007.txt' }).versions).toEqual([]);
    expect(incompleteRows(db)).toEqual({ volumes: 0, files: 0 });

    const result = await startJob({ kind: 'indexFiles', db }).done;
    expect(result.index).toMatchObject({ indexed: 1, failed: 0 });
    // The files, their folders, the root's lost+found.
    expect(catalog.indexedVolumes(id).map((v) => [v.fileSystem, v.files, v.error])).toEqual([['ext4', FOLDERS * FILES_PER_FOLDER + FOLDERS + 1, null]]);
    expect(catalog.findFiles({ pattern: 'f44999.txt' }).versions.map((v) => v.path)).toEqual(['/d44/f44999.txt']);
  });

  it('a forced re-index cancelled mid-walk keeps the earlier index whole', async () => {
    const before = catalog.indexedVolumes(id);
    const { error } = await cancelMidWalk(true);
    expect(error).toMatchObject({ code: 'E_CANCELLED' });
    expect(catalog.indexedVolumes(id)).toEqual(before);
    expect(catalog.findFiles({ pattern: 'f00007.txt' }).versions.map((v) => v.path)).toEqual(['/d00/f00007.txt']);
    expect(incompleteRows(db)).toEqual({ volumes: 0, files: 0 });
  });
});
