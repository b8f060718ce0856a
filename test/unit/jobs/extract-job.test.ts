import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import type { JobProgress } from '../../../shared/jobs.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { startJob } from '../../../main/jobs/engine.js';
import { estimateSpace } from '../../../main/jobs/estimate.js';
import { extractJob } from '../../../main/jobs/extract.js';
import { fatChain, fatStates, hostTree as tree } from '../../helpers/fat-states.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-extract-');
const states = fatStates(dir);
const { top } = fatChain(dir, 'files', states);

/** mtools' own copy of `what` from a FAT image into a fresh folder. */
function mtoolsCopy(image: string, what: string[]): string {
  const into = fs.mkdtempSync(path.join(dir, 'mcopy-'));
  execFileSync('mcopy', ['-s', '-n', '-m', '-i', image, ...what.map((w) => `::${w}`), into], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  return into;
}

describe('the extract job', () => {
  it('copies folders and files of link 0 in a worker thread, bytes as mtools copies them, progress to 100 %', async () => {
    const dest = fs.mkdtempSync(path.join(dir, 'out-'));
    const seen: JobProgress[] = [];
    const result = await startJob({ kind: 'extract', disk: top, volume: '1', paths: ['/logs', '/etc/app.conf', '/new'], destDir: dest }, (p) => seen.push(p)).done;
    expect(tree(dest)).toEqual(tree(mtoolsCopy(states.after, ['/logs', '/etc/app.conf', '/new'])));
    expect(result.summary).toBe('extracted 5 files, 3 folders (300.1 KiB)');
    const last = seen[seen.length - 1]!;
    expect(last).toMatchObject({ phase: 'extracting', doneBytes: last.totalBytes });
    expect(last.totalBytes).toBe(states.big.length + 11 + 11 + 20 + 17);
    // Times kept: app.conf was written in the guest at 2024-05-02 12:30 UTC.
    expect(fs.statSync(path.join(dest, 'app.conf')).mtime.toISOString()).toBe('2024-05-02T12:30:00.000Z');
  });

  it('reads the guest as it was at link 1 (the parent) with at', async () => {
    const dest = fs.mkdtempSync(path.join(dir, 'out-'));
    await startJob({ kind: 'extract', disk: top, at: 1, paths: ['/old', '/etc/app.conf'], destDir: dest }).done;
    expect(tree(dest)).toEqual(tree(mtoolsCopy(states.before, ['/old', '/etc/app.conf'])));
  });

  it('estimates the bytes it will write for the preflight', () => {
    expect(estimateSpace({ kind: 'extract', disk: top, paths: ['/logs'], destDir: dir })).toMatchObject({ folder: dir, requiredBytes: states.big.length + 22 });
  });

  it('stops on cancel and leaves no partial file behind', async () => {
    const dest = fs.mkdtempSync(path.join(dir, 'out-'));
    let cancel = false;
    const ctx = inlineContext((phase, done) => {
      if (phase === 'extracting' && done > 0) cancel = true;
    }, () => cancel);
    const run = extractJob({ kind: 'extract', disk: top, paths: ['/logs'], destDir: dest }, ctx);
    await expect(run).rejects.toThrow(DiskchainError);
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const left = Object.keys(tree(dest));
    expect(left.filter((f) => f.includes('diskchain-part'))).toEqual([]);
    expect(left.length).toBeLessThan(3);
  });

  it('refuses a path that is not in the volume with one line', async () => {
    await expect(startJob({ kind: 'extract', disk: top, paths: ['/nope/x'], destDir: dir }).done).rejects.toThrow(/^\/nope: no such file or folder$/);
  });
});
