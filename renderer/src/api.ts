/**
 * The renderer's one door to main. In Electron the preload exposes `window.diskchain` (a RawApi over
 * the contract's channels); in a browser behind `diskchain serve` the same RawApi is a WebSocket
 * JSON-RPC client at /rpc with the page's token (electron.md §3.1, shared/ipc/rpc.ts). Stores and
 * components only see the `Api` type, so they never know which one they have.
 */
import { createApi, createRpcClient, IpcError } from '../../shared/ipc/client';
import type { Api, RawApi, WireError } from '../../shared/ipc/contract';
import { RPC_PATH } from '../../shared/ipc/rpc';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a plain browser. */
    diskchain?: RawApi;
  }
}

/** Any thrown value as a WireError, for showing next to what failed. */
export function toWireError(e: unknown): WireError {
  if (e instanceof IpcError) return e.file === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, file: e.file };
  if (e instanceof Error) return { code: 'E_INTERNAL', message: e.message };
  return { code: 'E_INTERNAL', message: String(e) };
}

/** The minimal WebSocket surface the client needs, so tests can hand in a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

const OPEN = 1;

export const LOST_CONNECTION =
  'Lost the connection to `diskchain serve`. Start it again and open the address it prints (with its token).';

/** A RawApi over one WebSocket; calls made before it opens are sent when it does. */
export function createSocketRawApi(socket: SocketLike): RawApi {
  const waiting: string[] = [];
  const client = createRpcClient((text) => {
    if (socket.readyState === OPEN) socket.send(text);
    else waiting.push(text);
  });
  socket.addEventListener('open', () => {
    for (const text of waiting.splice(0)) socket.send(text);
  });
  socket.addEventListener('message', (event) => {
    if (typeof event.data === 'string') client.receive(event.data);
  });
  const lost = (): void => {
    waiting.length = 0;
    client.close(LOST_CONNECTION);
  };
  socket.addEventListener('close', lost);
  socket.addEventListener('error', lost);
  return client.api;
}

/** `http://127.0.0.1:PORT/?token=T` → `ws://127.0.0.1:PORT/rpc?token=T`. */
export function rpcUrl(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${RPC_PATH}?token=${encodeURIComponent(token)}`;
}

/** window.diskchain in Electron, else a WebSocket to the host that served this page. */
export function connect(): Api {
  if (window.diskchain) return createApi(window.diskchain);
  return createApi(createSocketRawApi(new WebSocket(rpcUrl(window.location))));
}
