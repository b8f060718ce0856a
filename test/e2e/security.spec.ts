import { WebSocket } from 'ws';
import { buildEsx2Chain } from './disks';
import { expect, test } from './fixtures';

/** Opens a WebSocket and says how it went: 'open', or the HTTP status it was refused with. */
function tryRpc(url: string, origin: string | undefined): Promise<{ outcome: 'open' | number; socket: WebSocket }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, origin === undefined ? {} : { headers: { Origin: origin } });
    socket.once('open', () => resolve({ outcome: 'open', socket }));
    socket.once('unexpected-response', (_req, res) => {
      resolve({ outcome: res.statusCode ?? 0, socket });
      res.resume();
    });
    socket.once('error', (e) => reject(e));
  });
}

test.describe('browser host security', () => {
  test('requests without the token, with a wrong one, or from a foreign origin are refused', async ({ serve, browser, work }) => {
    const served = await serve({ disks: [buildEsx2Chain(work)] });
    const rpc = `${served.origin.replace('http:', 'ws:')}/rpc`;

    // Plain HTTP: no token, a wrong token → 403 with a reason; the right token → the app.
    const none = await fetch(`${served.origin}/`);
    expect(none.status).toBe(403);
    expect(await none.text()).toContain('token');
    expect((await fetch(`${served.origin}/?token=${'0'.repeat(64)}`)).status).toBe(403);
    const ok = await fetch(served.url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'none'");

    // A browser that never had the token gets the refusal, not the app.
    const stranger = await browser.newContext();
    const page = await stranger.newPage();
    const response = await page.goto(`${served.origin}/`);
    expect(response?.status()).toBe(403);
    await expect(page.locator('body')).toContainText('token');
    await stranger.close();

    // WebSocket JSON-RPC: no token, wrong token, foreign Origin → refused before any call.
    expect((await tryRpc(rpc, served.origin)).outcome).toBe(403);
    expect((await tryRpc(`${rpc}?token=wrong`, served.origin)).outcome).toBe(403);
    expect((await tryRpc(`${rpc}?token=${served.token}`, 'http://evil.example')).outcome).toBe(403);
    expect((await tryRpc(`${rpc}?token=${served.token}`, undefined)).outcome).toBe(403);

    // The right token and our own Origin: calls are answered.
    const good = await tryRpc(`${rpc}?token=${served.token}`, served.origin);
    expect(good.outcome).toBe('open');
    const answer = await new Promise<unknown>((resolve) => {
      good.socket.once('message', (data) => resolve(JSON.parse(String(data))));
      good.socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'app:info', params: {} }));
    });
    expect(answer).toMatchObject({ id: 1, result: { ok: true, value: { mode: 'host' } } });
    good.socket.close();
  });

  test('a bad input to a channel is refused with E_USAGE, not run', async ({ serve, work }) => {
    const served = await serve({ disks: [buildEsx2Chain(work)] });
    const { socket } = await tryRpc(`${served.origin.replace('http:', 'ws:')}/rpc?token=${served.token}`, served.origin);
    const answer = await new Promise<unknown>((resolve) => {
      socket.once('message', (data) => resolve(JSON.parse(String(data))));
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'disks:info', params: { diskId: '../../etc/passwd' } }));
    });
    expect(answer).toMatchObject({ id: 7, result: { ok: false, error: { code: 'E_USAGE' } } });
    socket.close();
  });
});
