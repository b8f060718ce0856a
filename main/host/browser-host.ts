/**
 * The browser host (electron.md §3.1): the desktop app's services without Electron, for a
 * browser on this machine and for the end-to-end tests. It serves the built renderer over HTTP
 * and the contract over WebSocket JSON-RPC at /rpc (shared/ipc/rpc.ts), on 127.0.0.1 only.
 *
 * Every request must carry the token (`?token=` or the cookie set when the page was opened
 * with it), a Host header naming this server (DNS-rebinding guard) and, when it has one, an
 * Origin that is this server; a WebSocket must have that Origin. Events go out as notifications.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { DiskchainError } from '../../shared/errors.js';
import { isChannel } from '../../shared/ipc/channels.js';
import type { Channel } from '../../shared/ipc/contract.js';
import { RPC_PATH } from '../../shared/ipc/rpc.js';
import { originCheck, registerContract, type RawHandler, type SenderInfo } from '../ipc/register.js';
import { ScriptedDialogs } from '../services/dialogs.js';
import type { Emit } from '../services/events.js';
import { createServices, type ServiceOptions, type Services } from '../services/index.js';
import { contentSecurityPolicy } from './csp.js';

export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Answers of the scripted dialogs set by a test (only with testControl). */
export const TEST_DIALOGS_PATH = '/__test/dialogs';

export interface HostOptions extends Omit<ServiceOptions, 'emit' | 'mode' | 'dialogs'> {
  /** 0 or absent: a free port chosen by the system. */
  port?: number;
  /** The built renderer (out/renderer); see findRendererDir. */
  rendererDir: string;
  dialogs?: ScriptedDialogs;
  /** Disks open from the start (the serve command line). */
  disks?: string[];
  /** Accept POST /__test/dialogs (end-to-end tests script the dialogs). */
  testControl?: boolean;
  /** A fixed token (tests); default 32 random bytes. */
  token?: string;
  log?: (message: string) => void;
}

export interface Host {
  /** http://127.0.0.1:PORT/?token=TOKEN */
  url: string;
  origin: string;
  port: number;
  token: string;
  services: Services;
  dialogs: ScriptedDialogs;
  close(): Promise<void>;
}

const DialogScriptInput = z.strictObject({
  reset: z.boolean().optional(),
  open: z.array(z.array(z.string().max(4096)).max(64)).max(64).optional(),
  save: z.array(z.string().max(4096)).max(64).optional(),
  folder: z.array(z.string().max(4096)).max(64).optional(),
  saveDir: z.string().max(4096).optional(),
});

export async function startHost(options: HostOptions): Promise<Host> {
  const token = options.token ?? randomBytes(32).toString('hex');
  const log = options.log ?? (() => {});
  const dialogs = options.dialogs ?? new ScriptedDialogs();
  const sockets = new Set<WebSocket>();
  const emit: Emit = (event, payload) => {
    const text = JSON.stringify({ jsonrpc: '2.0', method: event, params: payload });
    for (const s of sockets) if (s.readyState === s.OPEN) s.send(text);
  };
  const services = createServices({ ...options, mode: 'host', dialogs, emit });
  if (options.disks && options.disks.length > 0) await services.disks.open(options.disks, 'startup');

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  const origins = hosts.map((h) => `http://${h}`);
  const origin = origins[0]!;
  const cookieName = `diskchain-${port}`;

  const handlers = new Map<Channel, RawHandler>();
  registerContract({ handle: (channel, handler) => handlers.set(channel, handler) }, services.handlers, originCheck(...origins), (e) =>
    log(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
  );

  const tokenOk = (req: http.IncomingMessage, url: URL): boolean => {
    const given = url.searchParams.get('token') ?? cookie(req, cookieName);
    return given !== null && sameSecret(given, token);
  };
  /** null when the request may go on, else why it is refused. */
  const refusal = (req: http.IncomingMessage, url: URL, needOrigin: boolean): string | null => {
    if (!hosts.includes(req.headers.host ?? '')) return 'foreign Host header';
    const from = req.headers.origin;
    if (from === undefined ? needOrigin : !origins.includes(from)) return 'foreign Origin';
    if (!tokenOk(req, url)) return 'missing or wrong token: open the address that `diskchain serve` printed';
    return null;
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', origin);
    const why = url.pathname !== RPC_PATH ? 'not found' : refusal(req, url, true);
    if (why !== null) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const sender: SenderInfo = { url: req.headers.origin ?? '', isMainFrame: true };
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        void answer(isBinary ? null : data.toString(), sender).then((reply) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
        });
      });
    });
  });

  const answer = async (text: string | null, sender: SenderInfo): Promise<object> => {
    let message: unknown;
    try {
      message = text === null ? null : JSON.parse(text);
    } catch {
      return { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } };
    }
    const m = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
    const id = typeof m['id'] === 'number' ? m['id'] : null;
    if (m['jsonrpc'] !== '2.0' || id === null || typeof m['method'] !== 'string') {
      return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } };
    }
    const method = m['method'];
    const handler = isChannel(method) ? handlers.get(method) : undefined;
    if (!handler) return { jsonrpc: '2.0', id, error: { code: -32601, message: `no such channel: ${method.slice(0, 64)}` } };
    return { jsonrpc: '2.0', id, result: await handler(sender, m['params']) };
  };

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const why = refusal(req, url, false);
    if (why !== null) return send(res, 403, why);
    if (url.searchParams.has('token')) {
      res.setHeader('Set-Cookie', `${cookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    }
    if (url.pathname === TEST_DIALOGS_PATH && options.testControl) {
      if (req.method !== 'POST') return send(res, 405, 'POST a dialog script');
      return void readBody(req, 64 * 1024).then(
        (body) => {
          const parsed = DialogScriptInput.safeParse(safeJson(body));
          if (!parsed.success) return send(res, 400, parsed.error.message);
          if (parsed.data.reset) dialogs.reset();
          const { reset: _reset, ...script } = parsed.data;
          dialogs.script(script);
          send(res, 204, '');
        },
        () => send(res, 413, 'too large'),
      );
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'GET only');
    void serveFile(res, options.rendererDir, url.pathname, contentSecurityPolicy(hosts.map((h) => `ws://${h}`)), req.method === 'HEAD');
  });

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    services,
    dialogs,
    async close() {
      for (const s of sockets) s.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await services.dispose();
    },
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

async function serveFile(res: http.ServerResponse, root: string, pathname: string, csp: string, headOnly: boolean): Promise<void> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return send(res, 400, 'bad path');
  }
  if (rel.includes('\0')) return send(res, 400, 'bad path');
  const base = path.resolve(root);
  let file = path.resolve(base, `.${rel}`);
  if (file !== base && !file.startsWith(base + path.sep)) return send(res, 404, 'not found');
  if ((await statOf(file))?.isDirectory()) file = path.join(file, 'index.html');
  const stat = await statOf(file);
  if (!stat?.isFile()) return send(res, 404, 'not found');
  res.writeHead(200, {
    'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': stat.size,
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  if (headOnly) return void res.end();
  fs.createReadStream(file).pipe(res);
}

async function statOf(file: string): Promise<fs.Stats | null> {
  try {
    return await fsp.stat(file);
  } catch {
    return null;
  }
}

function send(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text === '' ? undefined : `${text}\n`);
}

function cookie(req: http.IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Constant-time comparison (lengths differ only for a wrong token, which may fail fast). */
function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The built renderer: out/renderer of the package this file belongs to (from dist/main/host when
 * run as the CLI, from main/host under the tests).
 */
export async function findRendererDir(from: string = path.dirname(fileURLToPath(import.meta.url))): Promise<string> {
  let dir = from;
  for (;;) {
    if ((await packageName(path.join(dir, 'package.json'))) === 'diskchain') {
      const renderer = path.join(dir, 'out', 'renderer');
      if (!(await statOf(path.join(renderer, 'index.html')))?.isFile()) {
        throw new DiskchainError('E_NOTFOUND', 'the desktop UI is not built (out/renderer/index.html is missing): run npm run build', renderer);
      }
      return renderer;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new DiskchainError('E_NOTFOUND', 'cannot find the diskchain package folder', from);
    dir = up;
  }
}

async function packageName(file: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await fsp.readFile(file, 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}
