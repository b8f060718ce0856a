/**
 * The browser host's wire (electron.md §3.1): JSON-RPC 2.0 over one WebSocket at
 * `ws://127.0.0.1:PORT/rpc?token=TOKEN`.
 *
 *   renderer → host  {"jsonrpc":"2.0","id":1,"method":"disks:info","params":{"diskId":"…"}}
 *   host → renderer  {"jsonrpc":"2.0","id":1,"result":{"ok":true,"value":{…}}}      (always a Wire envelope)
 *   host → renderer  {"jsonrpc":"2.0","method":"jobs:progress","params":{…}}          (an event: no id)
 *
 * A message that is not a request of a known channel gets a JSON-RPC error object (code -32600
 * or -32601) instead of a result; a bad input of a known channel is an envelope with E_USAGE.
 */
import type { Channel, Event, In, Out, Payload, Wire } from './contract.js';

export interface RpcRequest<C extends Channel = Channel> {
  jsonrpc: '2.0';
  id: number;
  method: C;
  params: In<C>;
}

export interface RpcResponse<C extends Channel = Channel> {
  jsonrpc: '2.0';
  id: number | null;
  result?: Wire<Out<C>>;
  error?: { code: number; message: string };
}

export interface RpcNotification<E extends Event = Event> {
  jsonrpc: '2.0';
  method: E;
  params: Payload<E>;
}

export const RPC_PATH = '/rpc';
