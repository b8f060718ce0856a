import { describe, expect, it, vi } from 'vitest';
import type { JobRecord } from '../../../shared/ipc/contract';
import { createStores } from '../../../renderer/src/store';
import { createCatalogStore, PAGE_SIZE } from '../../../renderer/src/store/catalog';
import { createDisksStore } from '../../../renderer/src/store/disks';
import { createJobsStore } from '../../../renderer/src/store/jobs';
import { fail, fakeApi } from './fake-api';
import { cidMismatchInfo, DISK_A, DISK_B, entry, esx2Info, JOB_1, ref, TARGET_1 } from './fixtures';

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('disks store', () => {
  it('adds disks main opened at startup, selects the first and reads its chain', async () => {
    const api = fakeApi({
      'disks:list': () => [ref(DISK_A, '/vm/a.dsk.REDO.REDO'), ref(DISK_B, '/vm/b.vmdk')],
      'recent:list': () => [],
      'disks:info': () => esx2Info(),
    });
    const store = createDisksStore(api);
    await store.getState().init();
    await flush();
    const s = store.getState();
    expect(s.order).toEqual([DISK_A, DISK_B]);
    expect(s.selectedId).toBe(DISK_A);
    expect(s.byId[DISK_A]!.info.status).toBe('ready');
    expect(api.callsOf('disks:info')).toEqual([{ diskId: DISK_A, ignoreCid: false }]);
  });

  it('keeps an E_CID refusal with its reason, and reads again with ignoreCid when asked', async () => {
    let ignore = false;
    const api = fakeApi({
      'disks:info': (input) => {
        ignore = input.ignoreCid === true;
        return ignore ? cidMismatchInfo() : fail({ code: 'E_CID', message: 'child.vmdk: parent base.vmdk was modified (CID 12345678, expected 0badc0de)', file: '/vm/child.vmdk' });
      },
      'recent:list': () => [],
    });
    const store = createDisksStore(api);
    store.getState().add([ref(DISK_A, '/vm/child.vmdk')], true);
    await flush();
    const failed = store.getState().byId[DISK_A]!.info;
    expect(failed.status).toBe('error');
    expect(failed.status === 'error' && failed.error.code).toBe('E_CID');
    await store.getState().ignoreCid(DISK_A);
    expect(ignore).toBe(true);
    expect(store.getState().byId[DISK_A]!.info.status).toBe('ready');
  });

  it('follows disks:opened events and closing selects the neighbour', async () => {
    const api = fakeApi({ 'disks:info': () => esx2Info(), 'recent:list': () => [], 'disks:close': () => null });
    const store = createDisksStore(api);
    api.emit('disks:opened', { disks: [ref(DISK_A, '/vm/a.dsk'), ref(DISK_B, '/vm/b.vmdk')], source: 'dialog' });
    expect(store.getState().order).toEqual([DISK_A, DISK_B]);
    store.getState().select(DISK_B);
    await store.getState().close(DISK_B);
    expect(store.getState().order).toEqual([DISK_A]);
    expect(store.getState().selectedId).toBe(DISK_A);
  });

  it('remembers that the open dialog offered nothing (a host with no scripted answer left)', async () => {
    const api = fakeApi({ 'disks:open': () => [], 'recent:list': () => [] });
    const store = createDisksStore(api);
    await store.getState().openDialog();
    expect(store.getState().lastOpenEmpty).toBe(true);
    expect(store.getState().order).toEqual([]);
  });

  it('shows why the open dialog failed', async () => {
    const api = fakeApi({ 'disks:open': () => fail({ code: 'E_FORMAT', message: 'not a VMware disk', file: '/tmp/x' }) });
    const store = createDisksStore(api);
    await store.getState().openDialog();
    expect(store.getState().openError).toEqual({ code: 'E_FORMAT', message: 'not a VMware disk', file: '/tmp/x' });
    expect(store.getState().opening).toBe(false);
  });
});

describe('jobs store', () => {
  const running = (over: Partial<JobRecord> = {}): JobRecord => ({
    jobId: JOB_1,
    kind: 'export',
    title: 'export a.dsk → out',
    status: 'running',
    startedAt: 1,
    endedAt: null,
    progress: null,
    result: null,
    error: null,
    ...over,
  });

  it('starts a job and follows its progress and end by events', async () => {
    const api = fakeApi({ 'jobs:start': () => running(), 'jobs:list': () => [running()] });
    const store = createJobsStore(api);
    const id = await store.getState().start({ kind: 'export', diskId: DISK_A, targetId: TARGET_1 });
    expect(id).toBe(JOB_1);
    expect(store.getState().byId[JOB_1]!.title).toBe('export a.dsk → out');
    api.emit('jobs:progress', { jobId: JOB_1, phase: 'copy', doneBytes: 50, totalBytes: 100, rate: 10, eta: 5 });
    expect(store.getState().byId[JOB_1]!.progress?.doneBytes).toBe(50);
    api.emit('jobs:done', { jobId: JOB_1, status: 'done', result: { outputs: ['/out/a.vmdk'], summary: 'wrote a.vmdk' }, error: null });
    const done = store.getState().byId[JOB_1]!;
    expect(done.status).toBe('done');
    expect(done.progress?.doneBytes).toBe(100);
    expect(done.result?.summary).toBe('wrote a.vmdk');
  });

  it('keeps failed jobs with their error until cleared; running ones stay', async () => {
    const other = '55555555-5555-4555-8555-555555555555';
    const api = fakeApi({ 'jobs:list': () => [running(), running({ jobId: other, status: 'failed', error: { code: 'E_IO', message: 'disk full' } })], 'jobs:clear': () => null });
    const store = createJobsStore(api);
    await store.getState().init();
    expect(store.getState().byId[other]!.error?.message).toBe('disk full');
    await store.getState().clear();
    expect(Object.keys(store.getState().byId)).toEqual([JOB_1]);
  });

  it('a progress event that arrives after the end does not bring a job back to life', () => {
    const api = fakeApi({ 'jobs:list': () => [] });
    const store = createJobsStore(api);
    api.emit('jobs:done', { jobId: JOB_1, status: 'cancelled', result: null, error: null });
    api.emit('jobs:progress', { jobId: JOB_1, phase: 'copy', doneBytes: 5, totalBytes: 10, rate: 1, eta: 5 });
    expect(store.getState().byId[JOB_1]!.status).toBe('cancelled');
  });
});

describe('catalog store', () => {
  it('lists when the query is empty, searches as you type (debounced), and drops stale answers', async () => {
    vi.useFakeTimers();
    try {
      const api = fakeApi({
        'catalog:list': () => ({ rows: [entry(1, 'web01.vmdk'), entry(2, 'db01.vmdk')], total: 2 }),
        'catalog:search': (input) => ({ rows: [entry(1, `${input.query}-hit.vmdk`)], total: 1 }),
      });
      const store = createCatalogStore(api, { debounceMs: 100 });
      await store.getState().refresh();
      await vi.runAllTimersAsync();
      expect(store.getState().total).toBe(2);
      store.getState().setQuery('w');
      store.getState().setQuery('we');
      store.getState().setQuery('web');
      await vi.advanceTimersByTimeAsync(150);
      expect(api.callsOf('catalog:search').map((c) => c.query)).toEqual(['web']);
      expect(store.getState().rows[0]!.name).toBe('web-hit.vmdk');
      store.getState().setType('archive');
      await vi.runAllTimersAsync();
      expect(api.callsOf('catalog:search').at(-1)).toMatchObject({ query: 'web', type: 'archive', offset: 0, limit: PAGE_SIZE });
    } finally {
      vi.useRealTimers();
    }
  });

  it('loads further pages only for the rows in view', async () => {
    const api = fakeApi({
      'catalog:list': (input) => ({
        rows: Array.from({ length: Math.min(input.limit ?? 200, 1000 - (input.offset ?? 0)) }, (_, i) => entry((input.offset ?? 0) + i, `d${(input.offset ?? 0) + i}`)),
        total: 1000,
      }),
    });
    const store = createCatalogStore(api, { debounceMs: 0 });
    await store.getState().refresh();
    await flush();
    store.getState().ensureRange(600, 640);
    await flush();
    expect(api.callsOf('catalog:list').map((c) => c.offset)).toEqual([0, 600]);
    expect(store.getState().rows[639]!.name).toBe('d639');
    expect(store.getState().rows[300]).toBeUndefined();
  });

  it('sorts by a column, then the other way on a second click', async () => {
    const api = fakeApi({ 'catalog:list': () => ({ rows: [], total: 0 }) });
    const store = createCatalogStore(api, { debounceMs: 0 });
    store.getState().sortBy('capacityBytes');
    store.getState().sortBy('capacityBytes');
    await flush();
    expect(store.getState().sort).toEqual({ column: 'capacityBytes', dir: 'desc' });
    expect(api.callsOf('catalog:list').at(-1)?.sort).toEqual({ column: 'capacityBytes', dir: 'desc' });
  });

  it('verifies an entry and keeps the per-file report', async () => {
    const api = fakeApi({
      'catalog:verify': (input) => ({ id: input.id, ok: false, files: [{ path: '/a/web01-s002.vmdk', status: 'changed', message: 'SHA-256 differs' }] }),
    });
    const store = createCatalogStore(api);
    await store.getState().runVerify(7);
    const v = store.getState().verify[7];
    expect(v?.status).toBe('ready');
    expect(v?.status === 'ready' && v.value.files[0]!.status).toBe('changed');
  });

  it('scans the folder main chose, and does nothing when the dialog is cancelled', async () => {
    let answer: { targetId: string; type: 'folder'; path: string; name: string } | null = null;
    const api = fakeApi({
      'targets:chooseFolder': () => answer,
      'catalog:scan': () => ({ folders: ['/nas'], added: 3, updated: 0, unchanged: 0, missing: 0, errors: [], durationMs: 12 }),
      'catalog:list': () => ({ rows: [], total: 3 }),
    });
    const store = createCatalogStore(api);
    await store.getState().scanFolder();
    expect(api.callsOf('catalog:scan')).toHaveLength(0);
    answer = { targetId: TARGET_1, type: 'folder', path: '/nas', name: 'nas' };
    await store.getState().scanFolder();
    expect(api.callsOf('catalog:scan')).toEqual([{ folderTargetIds: [TARGET_1] }]);
    expect(store.getState().scan.status).toBe('ready');
  });
});

describe('createStores', () => {
  it('makes one set of stores around one api', () => {
    const stores = createStores(fakeApi());
    expect(stores.ui.getState().screen).toBe('disks');
    expect(stores.jobs.getState().order).toEqual([]);
  });
});
