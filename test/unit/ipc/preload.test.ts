import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DROP_CHANNEL } from '../../../shared/ipc/channels.js';

/** The preload against a fake Electron: what it exposes, and what it lets through. */
const exposed: Record<string, unknown> = {};
const invoke = vi.fn(async (..._args: unknown[]) => ({ ok: true, value: 'answer' }));
const on = vi.fn();
const off = vi.fn();
let dropListener: ((e: unknown) => void) | null = null;

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
  ipcRenderer: { invoke, on, off },
  webUtils: { getPathForFile: (f: { path?: string }) => f.path ?? '' },
}));

interface Exposed {
  invoke(channel: unknown, input: unknown): Promise<unknown>;
  on(event: unknown, listener: unknown): () => void;
}

beforeAll(async () => {
  (globalThis as unknown as { addEventListener: unknown }).addEventListener = (type: string, listener: (e: unknown) => void) => {
    if (type === 'drop') dropListener = listener;
  };
  await import('../../../main/electron/preload.js');
});

describe('the preload', () => {
  it('exposes only invoke and on, as window.diskchain', () => {
    expect(Object.keys(exposed)).toEqual(['diskchain']);
    expect(Object.keys(exposed['diskchain'] as object).sort()).toEqual(['invoke', 'on']);
  });

  it('passes contract channels to ipcRenderer.invoke and answers their envelope', async () => {
    const api = exposed['diskchain'] as Exposed;
    expect(await api.invoke('disks:list', {})).toEqual({ ok: true, value: 'answer' });
    expect(invoke).toHaveBeenLastCalledWith('disks:list', {});
  });

  it('refuses other channels without touching IPC, the drop channel included', async () => {
    const api = exposed['diskchain'] as Exposed;
    invoke.mockClear();
    for (const channel of [DROP_CHANNEL, 'electron:anything', '', 42, null]) {
      expect(await api.invoke(channel, {})).toEqual({ ok: false, error: { code: 'E_USAGE', message: expect.stringContaining('no such channel') } });
    }
    expect(invoke).not.toHaveBeenCalled();
  });

  it('subscribes only to contract events, hands over the payload without the IPC event, and unsubscribes', () => {
    const api = exposed['diskchain'] as Exposed;
    const seen: unknown[] = [];
    const stop = api.on('jobs:progress', (p: unknown) => seen.push(p));
    const relay = on.mock.calls.at(-1)![1] as (e: unknown, p: unknown) => void;
    relay({ sender: 'secret' }, { jobId: 'j', doneBytes: 1 });
    expect(seen).toEqual([{ jobId: 'j', doneBytes: 1 }]);
    stop();
    expect(off).toHaveBeenCalledWith('jobs:progress', relay);
    on.mockClear();
    api.on('some:other', () => {});
    expect(on).not.toHaveBeenCalled();
  });

  it('sends the paths of dropped files to main on its own channel', () => {
    invoke.mockClear();
    dropListener!({ dataTransfer: { files: [{ path: '/d/a.vmdk' }, { path: '' }, { path: '/d/b.dsk.REDO' }] } });
    expect(invoke).toHaveBeenCalledWith(DROP_CHANNEL, ['/d/a.vmdk', '/d/b.dsk.REDO']);
    invoke.mockClear();
    dropListener!({ dataTransfer: { files: [{}] } });
    expect(invoke).not.toHaveBeenCalled();
  });
});
