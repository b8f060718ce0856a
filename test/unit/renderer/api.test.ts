import { describe, expect, it } from 'vitest';
import { createApi } from '../../../shared/ipc/client';
import { createSocketRawApi, LOST_CONNECTION, rpcUrl, toWireError, type SocketLike } from '../../../renderer/src/api';
import { DISK_A } from './fixtures';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  private listeners: Record<string, Array<(e: { data: unknown }) => void>> = {};
  send(data: string): void {
    this.sent.push(data);
  }
  addEventListener(type: string, listener: (e: { data: unknown }) => void): void {
    (this.listeners[type] ??= []).push(listener);
  }
  fire(type: string, data?: unknown): void {
    for (const l of this.listeners[type] ?? []) l({ data });
  }
  open(): void {
    this.readyState = 1;
    this.fire('open');
  }
}

describe('WebSocket api client', () => {
  it('turns the page address into the /rpc address with the token', () => {
    expect(rpcUrl({ protocol: 'http:', host: '127.0.0.1:4711', search: '?token=ab%2Bc' })).toBe('ws://127.0.0.1:4711/rpc?token=ab%2Bc');
  });

  it('holds calls until the socket opens, then answers from the Wire envelope', async () => {
    const socket = new FakeSocket();
    const api = createApi(createSocketRawApi(socket));
    const answer = api.invoke('disks:close', { diskId: DISK_A });
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent).toHaveLength(1);
    const request = JSON.parse(socket.sent[0]!) as { id: number; method: string; params: unknown; jsonrpc: string };
    expect(request).toMatchObject({ jsonrpc: '2.0', method: 'disks:close', params: { diskId: DISK_A } });
    socket.fire('message', JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { ok: true, value: null } }));
    await expect(answer).resolves.toBeNull();
  });

  it('rethrows {ok:false} with its code and file, and delivers events', async () => {
    const socket = new FakeSocket();
    socket.open();
    const api = createApi(createSocketRawApi(socket));
    const seen: number[] = [];
    const off = api.on('jobs:progress', (p) => seen.push(p.doneBytes));
    const answer = api.invoke('disks:info', { diskId: DISK_A });
    const { id } = JSON.parse(socket.sent[0]!) as { id: number };
    socket.fire('message', JSON.stringify({ jsonrpc: '2.0', id, result: { ok: false, error: { code: 'E_CID', message: 'parent changed', file: '/vm/c.vmdk' } } }));
    const error = await answer.catch((e: unknown) => e);
    expect(toWireError(error)).toEqual({ code: 'E_CID', message: 'parent changed', file: '/vm/c.vmdk' });
    socket.fire('message', JSON.stringify({ jsonrpc: '2.0', method: 'jobs:progress', params: { jobId: 'j', phase: 'copy', doneBytes: 7, totalBytes: 10, rate: 1, eta: 3 } }));
    off();
    socket.fire('message', JSON.stringify({ jsonrpc: '2.0', method: 'jobs:progress', params: { jobId: 'j', phase: 'copy', doneBytes: 8, totalBytes: 10, rate: 1, eta: 2 } }));
    expect(seen).toEqual([7]);
  });

  it('answers pending and later calls with E_IO once the connection is lost', async () => {
    const socket = new FakeSocket();
    socket.open();
    const api = createApi(createSocketRawApi(socket));
    const pending = api.invoke('disks:list', {});
    socket.fire('close');
    expect(toWireError(await pending.catch((e: unknown) => e))).toEqual({ code: 'E_IO', message: LOST_CONNECTION });
    expect(toWireError(await api.invoke('disks:list', {}).catch((e: unknown) => e)).code).toBe('E_IO');
  });
});
