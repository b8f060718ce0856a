/** A fake Api for renderer tests: handlers per channel, a call log, and events the test emits. */
import { IpcError } from '../../../shared/ipc/client';
import type { Api, Channel, Event, In, Out, Payload, WireError } from '../../../shared/ipc/contract';

export type Handlers = { [C in Channel]?: (input: In<C>) => Out<C> | Promise<Out<C>> };

export interface FakeApi extends Api {
  calls: Array<{ channel: Channel; input: unknown }>;
  emit<E extends Event>(event: E, payload: Payload<E>): void;
  handlers: Handlers;
  callsOf<C extends Channel>(channel: C): Array<In<C>>;
}

/** Throw this from a handler to answer `{ok:false, error}`. */
export function fail(error: WireError): never {
  throw new IpcError(error);
}

export function fakeApi(handlers: Handlers = {}): FakeApi {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const calls: Array<{ channel: Channel; input: unknown }> = [];
  const api: FakeApi = {
    calls,
    handlers,
    async invoke<C extends Channel>(channel: C, input: In<C>): Promise<Out<C>> {
      calls.push({ channel, input });
      const handler = api.handlers[channel] as ((input: In<C>) => Out<C> | Promise<Out<C>>) | undefined;
      if (!handler) throw new IpcError({ code: 'E_INTERNAL', message: `no fake for ${channel}` });
      return handler(input);
    },
    on<E extends Event>(event: E, listener: (payload: Payload<E>) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener as (p: unknown) => void);
      return () => set.delete(listener as (p: unknown) => void);
    },
    emit(event, payload) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },
    callsOf<C extends Channel>(channel: C): Array<In<C>> {
      return calls.filter((c) => c.channel === channel).map((c) => c.input as In<C>);
    },
  };
  return api;
}
