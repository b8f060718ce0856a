/**
 * One free-space estimate for the preflight and the job (issue 9): where the old formulas
 * disagreed (the dialog said "enough", the job refused; or the other way round), the preflight's
 * verdict and the job's own refusal now agree. statfs is faked for this file only; everything else
 * is real files, real chains and the real jobs, run in this thread.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { JobSpec } from '../../../shared/jobs.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { runSpec } from '../../../main/jobs/registry.js';
import { queries } from '../../../main/services/worker/queries.js';
import { buildEsx2Chain } from '../../fixtures/cowd-builder.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const free = vi.hoisted(() => ({ bytes: null as number | null }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const mocked = {
    ...real,
    statfsSync: ((file: fs.PathLike) => {
      const st = real.statfsSync(file);
      return free.bytes === null ? st : { ...st, bavail: Math.floor(free.bytes / st.bsize) };
    }) as typeof real.statfsSync,
  };
  return { ...mocked, default: mocked };
});

const MiB = 1024 * 1024;

/** The preflight's verdict and whether the job itself then ran, with `bytes` free on every file system. */
async function verdicts(spec: JobSpec, bytes: number): Promise<{ preflightSaysEnough: boolean; jobRan: boolean; refusal: string | null }> {
  free.bytes = bytes;
  try {
    const preflight = queries.space({ spec });
    const preflightSaysEnough = preflight.availableBytes === null || preflight.availableBytes >= preflight.requiredBytes;
    try {
      await runSpec(spec, inlineContext());
      return { preflightSaysEnough, jobRan: true, refusal: null };
    } catch (e) {
      const message = (e as Error).message;
      if (!/not enough free space/.test(message)) throw e;
      return { preflightSaysEnough, jobRan: false, refusal: message };
    }
  } finally {
    free.bytes = null;
  }
}

describe('preflight and job agree on free space', () => {
  it('convert to a sparse kind of a small disk: 4 MiB free (the dialog used to say enough, the job refused)', async () => {
    const dir = tmpDir();
    const src = path.join(dir, 'small.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', src, '8M');
    qemuFill(src, 0, MiB, 0x5a);
    const spec: JobSpec = { kind: 'convert', src, dst: path.join(dir, 'out.vmdk'), to: 'monolithicSparse' };
    const needed = queries.space({ spec }).requiredBytes;
    expect(needed).toBeLessThan(4 * MiB);
    for (const bytes of [needed - 1, 4 * MiB]) {
      const v = await verdicts({ ...spec, dst: path.join(dir, `out-${bytes}.vmdk`) }, bytes);
      expect(v.jobRan).toBe(v.preflightSaysEnough);
    }
    expect((await verdicts(spec, needed - 1)).refusal).toMatch(/not enough free space to write out\.vmdk: needs about [\d.]+ MiB more/);
  });

  it('convert to raw: a sparse file needs the data, not the capacity (the dialog used to refuse what the job could do)', async () => {
    const dir = tmpDir();
    const src = path.join(dir, 'wide.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', src, '64M');
    qemuFill(src, 0, MiB, 0x5a);
    const v = await verdicts({ kind: 'convert', src, dst: path.join(dir, 'wide.img'), to: 'raw' }, 32 * MiB);
    expect(v).toMatchObject({ preflightSaysEnough: true, jobRan: true });
    expect(fs.statSync(path.join(dir, 'wide.img')).size).toBe(64 * MiB);
  });

  it('commit of a hosted child: 2 MiB free (the dialog counted only the data and said enough, the job refused)', async () => {
    const dir = tmpDir();
    qemuImg('create', '-q', '-f', 'vmdk', path.join(dir, 'base.vmdk'), '16M');
    const top = path.join(dir, 'top.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
    qemuFill(top, 4 * MiB, MiB, 0x77);
    const spec: JobSpec = { kind: 'commit', top };
    const v = await verdicts(spec, 2 * MiB);
    expect(v).toMatchObject({ preflightSaysEnough: false, jobRan: false });
    expect(v.refusal).toMatch(/commit top\.vmdk into base\.vmdk: needs about [\d.]+ MiB more, 2\.0 MiB is free/);
    const needed = queries.space({ spec }).requiredBytes;
    expect(await verdicts(spec, needed)).toMatchObject({ preflightSaysEnough: true, jobRan: true });
  });

  it('commit of an ESX 2 REDO into its flat .dsk writes in place: nothing free is enough for both', async () => {
    const dir = tmpDir();
    buildEsx2Chain(dir, 16 * MiB);
    const spec: JobSpec = { kind: 'commit', top: path.join(dir, 'a.dsk.REDO') };
    expect(queries.space({ spec }).requiredBytes).toBe(0);
    expect(await verdicts(spec, 0)).toMatchObject({ preflightSaysEnough: true, jobRan: true });
  });
});
