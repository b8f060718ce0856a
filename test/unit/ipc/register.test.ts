import { describe, expect, it, vi } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { CHANNELS } from '../../../shared/ipc/channels.js';
import type { Channel } from '../../../shared/ipc/contract.js';
import { dispatch, originCheck, registerContract, type Handlers, type RawHandler, type SenderInfo } from '../../../main/ipc/register.js';

const ID = '0b6a4a8e-5a3c-4d7e-9f00-1a2b3c4d5e6f';
const APP: SenderInfo = { url: 'app://app/index.html', isMainFrame: true };
const isAllowed = originCheck('app://app');

/** Handlers that answer nothing useful; each test replaces the ones it needs. */
function handlers(overrides: Partial<Record<Channel, (input: never) => unknown>> = {}): Handlers {
  const all = Object.fromEntries(CHANNELS.map((c) => [c, vi.fn(() => null)]));
  return { ...all, ...overrides } as unknown as Handlers;
}

function registered(h: Handlers): Map<Channel, RawHandler> {
  const map = new Map<Channel, RawHandler>();
  registerContract({ handle: (c, f) => map.set(c, f) }, h, isAllowed);
  return map;
}

describe('registerContract', () => {
  it('registers every channel of the contract once', () => {
    expect([...registered(handlers()).keys()].sort()).toEqual([...CHANNELS].sort());
  });

  it('refuses a page that is not the app, a subframe, and a sender without a URL, without calling the service', async () => {
    const info = vi.fn(() => ({}));
    const ipc = registered(handlers({ 'disks:info': info }));
    for (const sender of [
      { url: 'https://evil.example/', isMainFrame: true },
      { url: 'app://app.evil/index.html', isMainFrame: true },
      { url: 'file:///etc/passwd', isMainFrame: true },
      { url: 'app://app/index.html', isMainFrame: false },
      { url: '', isMainFrame: true },
      { url: 'not a url', isMainFrame: true },
    ]) {
      const answer = await ipc.get('disks:info')!(sender, { diskId: ID });
      expect(answer, sender.url).toEqual({ ok: false, error: { code: 'E_USAGE', message: expect.stringContaining('refused') } });
    }
    expect(info).not.toHaveBeenCalled();
  });

  it('answers bad input with E_USAGE naming the field, without calling the service', async () => {
    const info = vi.fn(() => ({}));
    const answer = await registered(handlers({ 'disks:info': info })).get('disks:info')!(APP, { diskId: '/etc/passwd' });
    expect(answer).toEqual({ ok: false, error: { code: 'E_USAGE', message: expect.stringMatching(/^bad request to disks:info: diskId: /) } });
    expect(info).not.toHaveBeenCalled();
  });

  it('hands the service the parsed input, defaults filled in', async () => {
    const list = vi.fn((input: unknown) => ({ rows: [], total: 0, echo: input }));
    const answer = await registered(handlers({ 'catalog:list': list as never })).get('catalog:list')!(APP, {});
    expect(list).toHaveBeenCalledWith({ offset: 0, limit: 200 });
    expect(answer.ok).toBe(true);
  });

  it('answers a DiskchainError as its wire form with code and file', async () => {
    const ipc = registered(
      handlers({
        'disks:info': () => {
          throw new DiskchainError('E_CID', 'parent base.vmdk was modified after child.vmdk was made', '/d/child.vmdk');
        },
      }),
    );
    expect(await ipc.get('disks:info')!(APP, { diskId: ID })).toEqual({
      ok: false,
      error: { code: 'E_CID', message: 'parent base.vmdk was modified after child.vmdk was made', file: '/d/child.vmdk' },
    });
  });

  it('never throws: other errors, rejections and thrown non-errors become E_INTERNAL', async () => {
    const log = vi.fn();
    const map = new Map<Channel, RawHandler>();
    registerContract(
      { handle: (c, f) => map.set(c, f) },
      handlers({
        'disks:info': () => {
          throw new TypeError('boom');
        },
        'disks:check': () => Promise.reject(new Error('async boom')),
        'disks:geometry': () => {
          throw 'a string';
        },
      }),
      isAllowed,
      log,
    );
    for (const channel of ['disks:info', 'disks:check', 'disks:geometry'] as const) {
      const answer = await map.get(channel)!(APP, { diskId: ID });
      expect(answer).toEqual({ ok: false, error: { code: 'E_INTERNAL', message: expect.stringContaining(`${channel} failed unexpectedly`) } });
    }
    expect(log).toHaveBeenCalledTimes(3);
  });

  it('never throws even when the sender check itself throws', async () => {
    const answer = await dispatch('app:info', APP, {}, handlers(), () => {
      throw new Error('check broke');
    });
    expect(answer.ok).toBe(false);
  });

  it('answers every channel with an envelope for garbage input', async () => {
    const ipc = registered(handlers());
    for (const channel of CHANNELS) {
      const answer = await ipc.get(channel)!(APP, { garbage: true });
      expect(answer.ok, channel).toBe(false);
    }
  });
});
