import { describe, expect, it } from 'vitest';
import type { FileVersion } from '../../../shared/catalog-files';
import type { JobRecord, JobRequest } from '../../../shared/ipc/contract';
import { createCatalogFilesStore, groupVersions } from '../../../renderer/src/store/catalog-files';
import { fakeApi } from './fake-api';
import { TARGET_1 } from './fixtures';

const flush = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

function version(entryId: number, path: string, size: number, changed: boolean | null): FileVersion {
  return {
    entryId,
    entryType: 'archive',
    entryName: `web-${entryId}`,
    vmName: 'web',
    date: new Date(Date.UTC(2026, 10, entryId)).toISOString(),
    disk: 'web',
    link: 0,
    volume: '1',
    path,
    kind: 'file',
    size,
    mtime: null,
    ctime: null,
    ref: `${entryId}:${path}`,
    changed,
  };
}

describe('catalog files store', () => {
  it('groups the versions of one path together, in the order main gave them', () => {
    const groups = groupVersions([version(2, '/etc/hosts', 10, true), version(1, '/etc/hosts', 9, null), version(1, '/etc/nginx.conf', 5, null)]);
    expect(groups.map((g) => [g.path, g.versions.map((v) => v.entryId)])).toEqual([
      ['/etc/hosts', [2, 1]],
      ['/etc/nginx.conf', [1]],
    ]);
  });

  it('searches as you type (the last words only), selects the first path, and restores a version as a job', async () => {
    const api = fakeApi({
      'catalog:findFiles': (input) => ({
        versions: input.pattern === 'hosts' ? [version(2, '/etc/hosts', 10, true), version(1, '/etc/hosts', 9, null)] : [],
        offset: 0,
        limit: input.limit ?? 1000,
        more: false,
      }),
    });
    const started: JobRequest[] = [];
    const store = createCatalogFilesStore(api, {
      debounceMs: 0,
      chooseFolder: () => Promise.resolve({ targetId: TARGET_1, type: 'folder', path: '/restore', name: 'restore' }),
      startJob: (request) => {
        started.push(request);
        return Promise.resolve('job-1');
      },
      jobEnded: () => new Promise(() => {}),
    });
    store.getState().setPattern('ho');
    store.getState().setPattern('hosts');
    await flush();
    await flush();
    expect(store.getState().groups.map((g) => g.path)).toEqual(['/etc/hosts']);
    expect(store.getState().selectedKey).toBe('web\0/etc/hosts');
    expect(api.callsOf('catalog:findFiles').at(-1)).toMatchObject({ pattern: 'hosts' });
    expect(await store.getState().restore(store.getState().groups[0]!.versions[1]!)).toBe(true);
    expect(started).toEqual([{ kind: 'restoreFile', ref: '1:/etc/hosts', targetId: TARGET_1 }]);
    store.getState().setPattern('');
    expect(store.getState().result.status).toBe('idle');
  });

  it('Index files starts the index job, shows its summary when it ends and searches again; a cancel is said so', async () => {
    let indexed = false;
    const api = fakeApi({
      'catalog:findFiles': (input) => ({ versions: indexed ? [version(3, '/etc/hosts', 10, null)] : [], offset: 0, limit: input.limit ?? 1000, more: false }),
    });
    const started: JobRequest[] = [];
    let end: (record: JobRecord) => void = () => {};
    const store = createCatalogFilesStore(api, {
      debounceMs: 0,
      chooseFolder: () => Promise.resolve(null),
      startJob: (request) => {
        started.push(request);
        return Promise.resolve(`job-${started.length}`);
      },
      jobEnded: () => new Promise((resolve) => (end = resolve)),
    });
    store.getState().setPattern('hosts');
    await flush();
    expect(store.getState().groups).toEqual([]);
    const running = store.getState().indexAll();
    expect(store.getState().index.status).toBe('loading');
    await flush();
    expect(started).toEqual([{ kind: 'indexFiles' }]);
    const summary = { entries: [], indexed: 1, unchanged: 0, skipped: 0, failed: 0, files: 8, elapsedMs: 120 };
    const record: JobRecord = {
      jobId: 'job-1', kind: 'indexFiles', title: 'index', status: 'done', startedAt: 0, endedAt: 1, progress: null, error: null,
      result: { outputs: [], summary: 'indexed 1 entry (8 files), 0 unchanged', index: summary },
    };
    indexed = true;
    end(record);
    await running;
    await flush();
    expect(store.getState().index).toEqual({ status: 'ready', value: summary });
    expect(store.getState().groups.map((g) => g.path)).toEqual(['/etc/hosts']);

    const cancelled = store.getState().indexAll();
    await flush();
    end({ ...record, jobId: 'job-2', status: 'cancelled', result: null, error: { code: 'E_CANCELLED', message: 'index cancelled' } });
    await cancelled;
    expect(store.getState()).toMatchObject({ index: { status: 'idle' }, indexCancelled: true });
  });
});
