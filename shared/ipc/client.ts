/**
 * Renderer-side helpers, free of DOM and Node: turn a RawApi (the preload's window.diskchain, or
 * a WebSocket) into the throwing Api the stores use, and speak the host's JSON-RPC over any
 * transport that can send text.
 */
import type { ErrorCode, WireError } from '../errors.js';
import type { Api, Channel, Event, In, Out, Payload, RawApi, Wire } from './contract.js';
import type { RpcNotification, RpcResponse } from './rpc.js';

/** An error answered by main, with its code and file intact. */
export class IpcError extends Error {
  override readonly name = 'IpcError';
  readonly code: ErrorCode;
  readonly file: string | undefined;
  constructor(error: WireError) {
    super(error.message);
    this.code = error.code;
    this.file = error.file;
  }
}

export function unwrap<T>(wire: Wire<T>): T {
  if (wire.ok) return wire.value;
  throw new IpcError(wire.error);
}

export function createApi(raw: RawApi): Api {
  return {
    invoke: async <C extends Channel>(channel: C, input: In<C>): Promise<Out<C>> => unwrap(await raw.invoke(channel, input)),
    on: (event, listener) => raw.on(event, listener),
  };
}

export interface RpcClient {
  api: RawApi;
  /** Feed every text message received from the transport. */
  receive(text: string): void;
  /** The transport closed: pending calls answer E_IO. */
  close(reason?: string): void;
}

/** A JSON-RPC client over any transport, e.g. `createRpcClient((t) => ws.send(t))` plus `ws.onmessage = (m) => c.receive(m.data)`. */
export function createRpcClient(send: (text: string) => void): RpcClient {
  let nextId = 1;
  let closed: string | null = null;
  const pending = new Map<number, (wire: Wire<unknown>) => void>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();

  const api: RawApi = {
    invoke<C extends Channel>(channel: C, input: In<C>): Promise<Wire<Out<C>>> {
      if (closed !== null) return Promise.resolve({ ok: false, error: { code: 'E_IO', message: closed } });
      const id = nextId++;
      return new Promise<Wire<Out<C>>>((resolve) => {
        pending.set(id, resolve as (wire: Wire<unknown>) => void);
        send(JSON.stringify({ jsonrpc: '2.0', id, method: channel, params: input }));
      });
    },
    on<E extends Event>(event: E, listener: (payload: Payload<E>) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const f = listener as (payload: unknown) => void;
      set.add(f);
      return () => set.delete(f);
    },
  };

  return {
    api,
    receive(text: string): void {
      let message: Partial<RpcResponse & RpcNotification>;
      try {
        message = JSON.parse(text) as Partial<RpcResponse & RpcNotification>;
      } catch {
        return;
      }
      if (typeof message.id === 'number') {
        const resolve = pending.get(message.id);
        pending.delete(message.id);
        if (!resolve) return;
        resolve(message.result ?? { ok: false, error: { code: 'E_INTERNAL', message: message.error?.message ?? 'no answer' } });
      } else if (typeof message.method === 'string') {
        for (const f of listeners.get(message.method) ?? []) f(message.params);
      }
    },
    close(reason = 'the connection to Diskchain closed'): void {
      closed = reason;
      for (const resolve of pending.values()) resolve({ ok: false, error: { code: 'E_IO', message: reason } });
      pending.clear();
    },
  };
}
