import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import type { Event, JobDoneEvent, JobProgressEvent, Payload } from '../../../shared/ipc/contract.js';
import type { JobProgress, JobResult, JobSpec } from '../../../shared/jobs.js';
import type { JobHandle } from '../../../main/jobs/engine.js';
import { ScriptedDialogs } from '../../../main/services/dialogs.js';
import { DiskService } from '../../../main/services/disks.js';
import { JobService, PROGRESS_MS } from '../../../main/services/jobs.js';
import { TargetService } from '../../../main/services/targets.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

/** A job engine under the test's control: each started job waits for finish/fail. */
function fakeEngine() {
  const started: Array<{ spec: JobSpec; progress: (p: JobProgress) => void; finish: (r: JobResult) => void; fail: (e: unknown) => void; cancelled: boolean }> = [];
  const startJob = (spec: JobSpec, onProgress: (p: JobProgress) => void): JobHandle => {
    let finish!: (r: JobResult) => void;
    let fail!: (e: unknown) => void;
    const done = new Promise<JobResult>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const job = { spec, progress: onProgress, finish, fail, cancelled: false };
    started.push(job);
    return {
      spec,
      done,
      cancel: () => {
        job.cancelled = true;
        fail(new DiskchainError('E_CANCELLED', 'cancelled; partial output removed'));
      },
    };
  };
  return { started, startJob };
}

async function setup() {
  const dir = tmpDir();
  const disk = writeVmfsDisk(dir, 'web01', 8 * MiB, patternBytes(MiB, 5));
  const events: Array<{ event: Event; payload: unknown }> = [];
  const emit = <E extends Event>(event: E, payload: Payload<E>): void => void events.push({ event, payload });
  const dialogs = new ScriptedDialogs({ save: [path.join(dir, 'out.vmdk')], folder: [dir, dir] });
  const disks = new DiskService(path.join(dir, 'state'), emit);
  const targets = new TargetService(dialogs);
  const engine = fakeEngine();
  const jobs = new JobService(disks, targets, emit, engine.startJob);
  const [ref] = await disks.open([disk], 'dialog');
  return { dir, disk, events, disks, targets, jobs, engine, diskId: ref!.diskId };
}

const progress = (doneBytes: number): JobProgress => ({ phase: 'copy', doneBytes, totalBytes: 100, rate: 10, eta: 1 });

afterEach(() => vi.useRealTimers());

describe('jobs', () => {
  it('turn ids into the engine spec the CLI would build (convert, export, import, commit, snapshot, extend)', async () => {
    const { dir, disk, targets, jobs, engine, diskId } = await setup();
    const file = (await targets.chooseFile({ suggestedName: 'out.vmdk' }))!;
    const folder = (await targets.chooseFolder({}))!;
    await jobs.start({ kind: 'convert', diskId, targetId: file.targetId, to: 'streamOptimized', compressLevel: 3 });
    await jobs.start({ kind: 'export', diskId, targetId: folder.targetId });
    await jobs.start({ kind: 'import', diskId, targetId: file.targetId, thin: true, adapter: 'pvscsi' });
    await jobs.start({ kind: 'commit', diskId });
    await jobs.start({ kind: 'snapshot', diskId });
    await jobs.start({ kind: 'extend', diskId, sizeBytes: 16 * MiB });
    const real = fs.realpathSync(disk);
    const realDir = fs.realpathSync(dir);
    expect(engine.started.map((j) => j.spec)).toEqual([
      { kind: 'convert', src: real, dst: path.join(realDir, 'out.vmdk'), to: 'streamOptimized', compressLevel: 3, force: false, ignoreCid: false },
      { kind: 'convert', src: real, dst: path.join(realDir, 'web01.vmdk'), to: 'twoGbMaxExtentSparse', skipZeroGrains: true, force: false, ignoreCid: false },
      { kind: 'convert', src: real, dst: path.join(realDir, 'out.vmdk'), to: 'vmfsThin', adapter: 'pvscsi', force: false, ignoreCid: false },
      // Issue 16: writers refuse a disk in use unless forced, and follow a .vmx that uses it.
      { kind: 'commit', top: real, force: false, updateVmx: true },
      { kind: 'snapshot', disk: real, force: false, updateVmx: true },
      { kind: 'extend', disk: real, sizeBytes: 16 * MiB, force: false },
    ]);
  });

  it('refuse a folder where a file is needed, and unknown ids, before starting anything', async () => {
    const { targets, jobs, engine, diskId } = await setup();
    const folder = (await targets.chooseFolder({}))!;
    await expect(jobs.start({ kind: 'convert', diskId, targetId: folder.targetId, to: 'raw' })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(jobs.start({ kind: 'snapshot', diskId: '0b6a4a8e-5a3c-4d7e-9f00-1a2b3c4d5e6f' })).rejects.toMatchObject({ code: 'E_NOTFOUND' });
    expect(engine.started).toEqual([]);
  });

  it('relay progress at most every PROGRESS_MS, the last update included, then one jobs:done', async () => {
    vi.useFakeTimers();
    const { events, jobs, engine, diskId } = await setup();
    const { jobId } = await jobs.start({ kind: 'snapshot', diskId });
    const job = engine.started[0]!;
    for (let i = 1; i <= 10; i++) job.progress(progress(i * 10));
    let sent = events.filter((e) => e.event === 'jobs:progress').map((e) => (e.payload as JobProgressEvent).doneBytes);
    expect(sent).toEqual([10]);
    vi.advanceTimersByTime(PROGRESS_MS);
    sent = events.filter((e) => e.event === 'jobs:progress').map((e) => (e.payload as JobProgressEvent).doneBytes);
    expect(sent).toEqual([10, 100]);
    expect((events.at(-1)!.payload as JobProgressEvent).jobId).toBe(jobId);
    // An update still held back when the job ends goes out just before its jobs:done.
    job.progress(progress(110));
    job.finish({ outputs: ['/x/web01-000001.vmdk'], summary: 'added web01-000001.vmdk' });
    await vi.runAllTimersAsync();
    expect(events.slice(-2).map((e) => [e.event, (e.payload as JobProgressEvent).doneBytes])).toEqual([
      ['jobs:progress', 110],
      ['jobs:done', undefined],
    ]);
    const done = events.filter((e) => e.event === 'jobs:done');
    expect(done).toHaveLength(1);
    expect(done[0]!.payload).toEqual({ jobId, status: 'done', result: { outputs: ['/x/web01-000001.vmdk'], summary: 'added web01-000001.vmdk' }, error: null });
    expect(jobs.list()[0]).toMatchObject({ jobId, status: 'done', kind: 'snapshot', title: 'snapshot web01.vmdk' });
    expect(jobs.outputOf(jobId)).toBe('/x/web01-000001.vmdk');
  });

  it('cancel ends a job as cancelled; failed jobs stay listed with their error until cleared', async () => {
    const { events, jobs, engine, diskId } = await setup();
    const a = await jobs.start({ kind: 'snapshot', diskId });
    const b = await jobs.start({ kind: 'extend', diskId, sizeBytes: 16 * MiB });
    jobs.cancel(a.jobId);
    expect(engine.started[0]!.cancelled).toBe(true);
    engine.started[1]!.fail(new DiskchainError('E_USAGE', 'cannot shrink', '/x/web01.vmdk'));
    await jobs.settle();
    const done = events.filter((e) => e.event === 'jobs:done').map((e) => e.payload as JobDoneEvent);
    expect(done.map((d) => d.status)).toEqual(['cancelled', 'failed']);
    const listed = jobs.list();
    expect(listed.map((j) => j.jobId)).toEqual([b.jobId, a.jobId]);
    expect(listed[0]!.error).toEqual({ code: 'E_USAGE', message: 'cannot shrink', file: '/x/web01.vmdk' });
    expect(() => jobs.outputOf(b.jobId)).toThrow(/not finished/);
    jobs.clear(b.jobId);
    expect(jobs.list().map((j) => j.jobId)).toEqual([a.jobId]);
    jobs.clear();
    expect(jobs.list()).toEqual([]);
  });

  it('keep a running job when clearing, and refuse to clear it by id', async () => {
    const { jobs, diskId } = await setup();
    const { jobId } = await jobs.start({ kind: 'snapshot', diskId });
    jobs.clear();
    expect(jobs.list()).toHaveLength(1);
    expect(() => jobs.clear(jobId)).toThrow(/cancel it first/);
  });

  it('preflight the free space: flat output needs the capacity, sparse the data', async () => {
    const { targets, jobs, diskId, dir, disks } = await setup();
    const file = (await targets.chooseFile({ suggestedName: 'out.vmdk' }))!;
    const flat = await jobs.preflight({ kind: 'convert', diskId, targetId: file.targetId, to: 'vmfs' });
    expect(flat.requiredBytes).toBe(8 * MiB);
    expect(flat.folder).toBe(fs.realpathSync(dir));
    expect(flat.availableBytes!).toBeGreaterThan(0);
    expect(flat.enough).toBe(flat.availableBytes! >= flat.requiredBytes);
    const source = path.join(dir, 'sparse.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', source, '8M');
    qemuFill(source, 0, MiB, 0x5a);
    const [sparseDisk] = await disks.open([source], 'dialog');
    const sparse = await jobs.preflight({ kind: 'convert', diskId: sparseDisk!.diskId, targetId: file.targetId, to: 'monolithicSparse' });
    expect(sparse.requiredBytes).toBeGreaterThanOrEqual(MiB);
    expect(sparse.requiredBytes).toBeLessThan(8 * MiB);
    expect(sparse.basis).toMatch(/allocated data/);
  });

  it('preflight names what the dialogs warn of: lock files, the VM that uses the disk, outputs that exist', async () => {
    const { targets, jobs, diskId, dir } = await setup();
    const realDir = fs.realpathSync(dir);
    const clean = await jobs.preflight({ kind: 'snapshot', diskId });
    expect([clean.locks, clean.vms, clean.existing]).toEqual([[], [], []]);
    fs.writeFileSync(path.join(dir, 'web01.vmx'), 'config.version = "8"\ndisplayName = "Web server"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "web01.vmdk"\n');
    fs.mkdirSync(path.join(dir, 'web01.vmx.lck'));
    const used = await jobs.preflight({ kind: 'commit', diskId });
    expect(used.vms).toEqual([path.join(realDir, 'web01.vmx')]);
    expect(used.vmNames).toEqual(['Web server']);
    expect(used.locks).toEqual([path.join(realDir, 'web01.vmx.lck')]);
    expect((await jobs.preflight({ kind: 'extend', diskId, sizeBytes: 16 * MiB, force: true })).locks).toHaveLength(1);
    const file = (await targets.chooseFile({ suggestedName: 'out.vmdk' }))!;
    expect((await jobs.preflight({ kind: 'convert', diskId, targetId: file.targetId, to: 'vmfs' })).existing).toEqual([]);
    fs.writeFileSync(path.join(dir, 'out-flat.vmdk'), 'old');
    const convert = await jobs.preflight({ kind: 'convert', diskId, targetId: file.targetId, to: 'vmfs' });
    expect(convert.existing).toEqual([path.join(realDir, 'out-flat.vmdk')]);
    expect(convert.locks).toEqual([path.join(realDir, 'web01.vmx.lck')]);
  });

  it('title a job with where it writes: the folder too, home as ~, a long path cut in the middle', async () => {
    const { shownPath } = await import('../../../main/services/jobs.js');
    expect(shownPath('/out/dir/db01.vmdk', '/home/me')).toBe('/out/dir/db01.vmdk');
    expect(shownPath('/home/me/exports/db01.vmdk', '/home/me')).toBe('~/exports/db01.vmdk');
    const long = '/mnt/datastore1/very-long-folder-name-of-a-vm/another-level/exports/db01.vmdk';
    expect(shownPath(long, '/home/me')).toBe('/mnt/…/another-level/exports/db01.vmdk');
    expect(shownPath(long, '/home/me').length).toBeLessThanOrEqual(60);
  });
});
