import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Channel, In, JobDoneEvent, JobProgressEvent, Out, Wire } from '../../../shared/ipc/contract.js';
import { startHost, type Host } from '../../../main/host/browser-host.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A raw HTTP request with the headers as given (fetch would fix Host for us). */
function request(host: Host, pathname: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: host.port, path: pathname, method, headers: { Host: `127.0.0.1:${host.port}`, ...headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens /rpc; resolves with the socket, or rejects with the HTTP status of a refused upgrade. */
function connect(host: Host, options: { token?: string | null; origin?: string | null; hostHeader?: string } = {}): Promise<WebSocket> {
  const token = options.token === undefined ? host.token : options.token;
  const url = `ws://127.0.0.1:${host.port}/rpc${token === null ? '' : `?token=${token}`}`;
  const headers: Record<string, string> = options.hostHeader ? { Host: options.hostHeader } : {};
  const origin = options.origin === undefined ? host.origin : options.origin;
  const ws = new WebSocket(url, { headers, ...(origin === null ? {} : { origin }) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** A tiny JSON-RPC client for the tests. */
function client(ws: WebSocket) {
  let id = 0;
  const pending = new Map<number, (m: { result?: unknown; error?: { code: number } }) => void>();
  const notes: Array<{ method: string; params: unknown }> = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { code: number } };
    if (typeof m.id === 'number') pending.get(m.id)?.(m);
    else if (m.method) {
      notes.push({ method: m.method, params: m.params });
      for (const w of waiters.splice(0)) w();
    }
  });
  const raw = (message: unknown) =>
    new Promise<{ result?: unknown; error?: { code: number } }>((resolve) => {
      const i = ++id;
      pending.set(i, resolve);
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, ...(message as object) }));
    });
  return {
    notes,
    raw,
    async call<C extends Channel>(method: C, params: In<C>): Promise<Wire<Out<C>>> {
      return (await raw({ method, params })).result as Wire<Out<C>>;
    },
    async value<C extends Channel>(method: C, params: In<C>): Promise<Out<C>> {
      const answer = (await raw({ method, params })).result as Wire<Out<C>>;
      if (!answer.ok) throw new Error(`${method}: ${answer.error.code} ${answer.error.message}`);
      return answer.value;
    },
    async until(predicate: () => boolean, ms = 60_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error('timed out waiting for an event');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

describe('the browser host', () => {
  const dir = tmpDir('diskchain-host-');
  const renderer = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Diskchain</title>');
  fs.writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'not for the browser');
  const base = path.join(dir, 'base.vmdk');
  const child = path.join(dir, 'child.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', base, '64M');
  qemuFill(base, 0, 4 * MiB, 0x11);
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
  qemuFill(child, 32 * MiB, 2 * MiB, 0x22);
  let host: Host;

  beforeAll(async () => {
    host = await startHost({
      rendererDir: renderer,
      disks: [child],
      stateDir: path.join(dir, 'state'),
      catalogDb: path.join(dir, 'catalog.db'),
      version: 'test',
      testControl: true,
    });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('listens on 127.0.0.1 with a 64-hex-digit token in its address', () => {
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  });

  it('refuses a page request without the token, or with a wrong one', async () => {
    expect((await request(host, '/')).status).toBe(403);
    expect((await request(host, `/?token=${'0'.repeat(64)}`)).status).toBe(403);
    expect((await request(host, '/?token=short')).status).toBe(403);
  });

  it('serves the page with the token, with its CSP, and sets a cookie that admits the assets', async () => {
    const page = await request(host, `/?token=${host.token}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Diskchain</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain(`ws://127.0.0.1:${host.port}`);
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    expect(String(page.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    const asset = await request(host, '/assets/app.js', { Cookie: cookie });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
  });

  it('refuses a foreign Host header (DNS rebinding) and a foreign Origin', async () => {
    expect((await request(host, `/?token=${host.token}`, { Host: `evil.example:${host.port}` })).status).toBe(403);
    expect((await request(host, `/?token=${host.token}`, { Host: '127.0.0.1:1' })).status).toBe(403);
    expect((await request(host, `/?token=${host.token}`, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await request(host, `/?token=${host.token}`, { Origin: host.origin })).status).toBe(200);
  });

  it('serves nothing outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/../../secret.txt']) {
      const answer = await request(host, `${p}?token=${host.token}`);
      expect(answer.status, p).toBeGreaterThanOrEqual(400);
      expect(answer.body).not.toContain('not for the browser');
    }
  });

  it('refuses a WebSocket without the token, with a wrong one, from a foreign or missing Origin, or a foreign Host', async () => {
    await expect(connect(host, { token: null })).rejects.toThrow(/403/);
    await expect(connect(host, { token: 'f'.repeat(64) })).rejects.toThrow(/403/);
    await expect(connect(host, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(connect(host, { origin: null })).rejects.toThrow(/403/);
    await expect(connect(host, { hostHeader: `attacker.example:${host.port}` })).rejects.toThrow(/403/);
  });

  it('answers the contract over WebSocket JSON-RPC on real disks', async () => {
    const ws = await connect(host);
    try {
      const rpc = client(ws);
      expect(await rpc.value('app:info', {})).toMatchObject({ mode: 'host', dialogs: 'scripted', dropOpens: false, version: 'test' });
      const [disk] = await rpc.value('disks:list', {});
      expect(disk!.name).toBe('child.vmdk');
      const info = await rpc.value('disks:info', { diskId: disk!.diskId });
      expect(info.layers.map((l) => path.basename(l.path))).toEqual(['child.vmdk', 'base.vmdk']);
      expect(info.layers[0]!.parentCid).toBe(info.layers[1]!.cid);
      expect((await rpc.value('disks:check', { diskId: disk!.diskId })).errors).toBe(0);
      const map = await rpc.value('disks:map', { diskId: disk!.diskId, buckets: 16 });
      expect(map.dominant).toEqual([1, null, null, null, null, null, null, null, 0, null, null, null, null, null, null, null]);
      expect((await rpc.value('disks:layer', { diskId: disk!.diskId, layer: 1 })).path).toBe(fs.realpathSync(base));
      expect(await rpc.call('disks:info', { diskId: '/etc/passwd' })).toEqual({ ok: false, error: { code: 'E_USAGE', message: expect.stringContaining('diskId') } });
      expect((await rpc.raw({ method: 'no:such', params: {} })).error?.code).toBe(-32601);
      expect((await rpc.raw({ params: {} })).error?.code).toBe(-32600);
    } finally {
      ws.close();
    }
  });

  it('opens disks from scripted dialogs and pushes disks:opened', async () => {
    const ws = await connect(host);
    try {
      const rpc = client(ws);
      const scripted = await fetch(`${host.origin}/__test/dialogs?token=${host.token}`, { method: 'POST', body: JSON.stringify({ open: [[base]] }) });
      expect(scripted.status).toBe(204);
      const opened = await rpc.value('disks:open', {});
      expect(opened.map((d) => d.name)).toEqual(['base.vmdk']);
      await rpc.until(() => rpc.notes.some((n) => n.method === 'disks:opened'));
      expect(await rpc.value('disks:open', {})).toEqual([]); // the queue is empty: a cancelled dialog
    } finally {
      ws.close();
    }
  });

  it('browses the host\'s folders only behind the token: lists a typed folder, opens a disk from it, refuses relative paths', async () => {
    // No token: the socket that would carry files:list is never opened.
    await expect(connect(host, { token: null })).rejects.toThrow(/403/);
    const ws = await connect(host);
    try {
      const rpc = client(ws);
      const listing = await rpc.value('files:list', { path: `${dir}/` });
      expect(listing.path).toBe(dir);
      expect(listing.parent).toBe(path.dirname(dir));
      expect(listing.entries.slice(0, 2).map((e) => [e.name, e.diskLike])).toEqual([
        ['base.vmdk', true],
        ['child.vmdk', true],
      ]);
      expect(listing.entries.find((e) => e.name === 'renderer')).toMatchObject({ type: 'folder', sizeBytes: null });
      expect(listing.entries.find((e) => e.name === 'secret.txt')).toMatchObject({ type: 'file', sizeBytes: 19, diskLike: false });
      expect(await rpc.value('files:look', { path: path.join(dir, 'new.vmdk') })).toEqual({ path: path.join(dir, 'new.vmdk'), type: 'missing', parentIsFolder: true });
      expect(await rpc.call('files:list', { path: 'renderer' })).toEqual({ ok: false, error: { code: 'E_USAGE', message: expect.stringContaining('absolute') } });
      expect(await rpc.call('files:list', { path: path.join(dir, 'nothing-here') })).toMatchObject({ ok: false, error: { code: 'E_NOTFOUND' } });
      const [opened] = await rpc.value('files:openDisks', { paths: [base] });
      expect(opened!.path).toBe(fs.realpathSync(base));
      expect(await rpc.value('files:recentFolders', {})).toEqual([fs.realpathSync(dir)]);
      const target = await rpc.value('files:target', { path: path.join(dir, 'out.vmdk'), type: 'file', mode: 'save' });
      expect(target).toMatchObject({ type: 'file', name: 'out.vmdk' });
      expect(await rpc.call('files:target', { path: path.join(dir, 'no-folder', 'out.vmdk'), type: 'file' })).toMatchObject({ ok: false, error: { code: 'E_NOTFOUND' } });
    } finally {
      ws.close();
    }
  });

  it('closes a connection whose message is over 1 MiB', async () => {
    const ws = await connect(host);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('x'.repeat(MiB + 1));
    expect(await closed).toBe(1009);
  });

  it('runs a convert job with progress events to done, and the output passes qemu-img check', async () => {
    const ws = await connect(host);
    try {
      const rpc = client(ws);
      const [disk] = (await rpc.value('disks:list', {})).filter((d) => d.name === 'child.vmdk');
      await host.dialogs.script({ save: [path.join(dir, 'flat.vmdk')] });
      const target = await rpc.value('targets:chooseFile', { suggestedName: 'flat.vmdk' });
      const preflight = await rpc.value('jobs:preflight', { request: { kind: 'convert', diskId: disk!.diskId, targetId: target!.targetId, to: 'monolithicSparse' } });
      expect(preflight.enough).toBe(true);
      const { jobId } = await rpc.value('jobs:start', { request: { kind: 'convert', diskId: disk!.diskId, targetId: target!.targetId, to: 'monolithicSparse' } });
      await rpc.until(() => rpc.notes.some((n) => n.method === 'jobs:done' && (n.params as JobDoneEvent).jobId === jobId));
      const done = rpc.notes.find((n) => n.method === 'jobs:done')!.params as JobDoneEvent;
      expect(done.status).toBe('done');
      expect(rpc.notes.some((n) => n.method === 'jobs:progress' && (n.params as JobProgressEvent).jobId === jobId)).toBe(true);
      execFileSync('qemu-img', ['check', path.join(dir, 'flat.vmdk')]);
      execFileSync('qemu-img', ['compare', '-q', child, path.join(dir, 'flat.vmdk')]);
      const opened = await rpc.value('jobs:openOutput', { jobId });
      expect(opened.name).toBe('flat.vmdk');
      expect((await rpc.value('jobs:list', {}))[0]).toMatchObject({ jobId, status: 'done' });
    } finally {
      ws.close();
    }
  });

  it('cancels a long job: progress arrives, it ends cancelled, and no output is left', async () => {
    const big = path.join(dir, 'big.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', big, '4G');
    qemuFill(big, 0, 64 * MiB, 0x33);
    const ws = await connect(host);
    try {
      const rpc = client(ws);
      await host.dialogs.script({ open: [[big]], save: [path.join(dir, 'out', 'big-flat.vmdk')] });
      fs.mkdirSync(path.join(dir, 'out'));
      const [disk] = await rpc.value('disks:open', {});
      const target = await rpc.value('targets:chooseFile', {});
      const { jobId } = await rpc.value('jobs:start', { request: { kind: 'convert', diskId: disk!.diskId, targetId: target!.targetId, to: 'monolithicFlat' } });
      await rpc.until(() => rpc.notes.some((n) => n.method === 'jobs:progress' && (n.params as JobProgressEvent).jobId === jobId && (n.params as JobProgressEvent).doneBytes > 0));
      expect(await rpc.value('jobs:cancel', { jobId })).toBeNull();
      await rpc.until(() => rpc.notes.some((n) => n.method === 'jobs:done' && (n.params as JobDoneEvent).jobId === jobId));
      const done = rpc.notes.find((n) => n.method === 'jobs:done' && (n.params as JobDoneEvent).jobId === jobId)!.params as JobDoneEvent;
      expect(done.status).toBe('cancelled');
      expect(done.error?.code).toBe('E_CANCELLED');
      expect(fs.readdirSync(path.join(dir, 'out'))).toEqual([]);
    } finally {
      ws.close();
    }
  });
});

describe('diskchain serve', () => {
  it('prints exactly the address as its first stdout line and answers on it', async () => {
    const dir = tmpDir('diskchain-serve-');
    if (!fs.existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) throw new Error('run npm run build first (out/renderer is missing)');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'diskchain.js'), 'serve', '--state-dir', path.join(dir, 'state'), '--db', path.join(dir, 'c.db')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      expect(line).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
      const page = await fetch(line);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      expect((await fetch(new URL(line).origin)).status).toBe(403);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses a bad port with a one-line error', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'bin', 'diskchain.js'), 'serve', '--port', 'abc'], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(stderr.trim()).toBe('diskchain: bad port "abc": use 0 to 65535');
  });
});
