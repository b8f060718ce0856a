/**
 * The Electron shell against a fake `electron` module (the binary cannot run here): the window's
 * locked-down settings, the guards on navigation, windows and permissions, the app:// handler,
 * and main's wiring of sandbox, single-instance lock, IPC and drops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CHANNELS, DROP_CHANNEL } from '../../../shared/ipc/channels.js';
import { tmpDir } from '../../helpers/tmp.js';

type Listener = (...args: unknown[]) => unknown;

const state = vi.hoisted(() => ({
  calls: [] as string[],
  windows: [] as Array<{ options: Record<string, unknown>; events: Map<string, Listener>; openHandler: Listener | null; sent: unknown[][]; loaded: string | null }>,
  handles: new Map<string, Listener>(),
  protocolHandler: null as Listener | null,
  permissionRequest: null as Listener | null,
  permissionCheck: null as Listener | null,
  beforeRequest: null as Listener | null,
  userData: '',
  ready: null as null | (() => void),
  appEvents: new Map<string, Listener>(),
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static all: BrowserWindow[] = [];
    static getAllWindows = () => BrowserWindow.all;
    static getFocusedWindow = () => BrowserWindow.all[0] ?? null;
    readonly record;
    readonly webContents;
    constructor(options: Record<string, unknown>) {
      const record = { options, events: new Map<string, Listener>(), openHandler: null as Listener | null, sent: [] as unknown[][], loaded: null as string | null };
      this.record = record;
      state.windows.push(record);
      BrowserWindow.all.push(this);
      this.webContents = {
        on: (event: string, f: Listener) => record.events.set(`wc:${event}`, f),
        once: (event: string, f: Listener) => record.events.set(`wc:${event}`, f),
        setWindowOpenHandler: (f: Listener) => (record.openHandler = f),
        send: (...args: unknown[]) => record.sent.push(args),
        mainFrame: { url: 'app://app/index.html' },
      };
    }
    on(event: string, f: Listener) {
      this.record.events.set(event, f);
    }
    once(event: string, f: Listener) {
      this.record.events.set(event, f);
    }
    isDestroyed = () => false;
    isMaximized = () => false;
    maximize = () => {};
    getNormalBounds = () => ({ x: 1, y: 2, width: 900, height: 700 });
    loadURL = async (url: string) => {
      this.record.loaded = url;
    };
  }
  return {
    app: {
      isPackaged: true,
      enableSandbox: () => state.calls.push('enableSandbox'),
      requestSingleInstanceLock: () => (state.calls.push('lock'), true),
      whenReady: () => new Promise<void>((resolve) => (state.ready = resolve)),
      getPath: () => state.userData,
      getVersion: () => '9.9.9',
      on: (event: string, f: Listener) => state.appEvents.set(event, f),
      quit: () => state.calls.push('quit'),
    },
    BrowserWindow,
    ipcMain: { handle: (channel: string, f: Listener) => state.handles.set(channel, f) },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown) => state.calls.push(`schemes:${JSON.stringify(schemes)}`),
      handle: (_scheme: string, f: Listener) => (state.protocolHandler = f),
    },
    net: { fetch: async (url: string) => new Response(`fetched ${url}`, { headers: { 'Content-Type': 'text/html' } }) },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (f: Listener) => (state.permissionRequest = f),
        setPermissionCheckHandler: (f: Listener) => (state.permissionCheck = f),
        webRequest: { onBeforeRequest: (f: Listener) => (state.beforeRequest = f) },
      },
    },
    dialog: {},
  };
});

const dir = tmpDir('diskchain-shell-');
const disk = path.join(dir, 'a.vmdk');
fs.writeFileSync(disk, 'not really a disk');

beforeAll(async () => {
  state.userData = path.join(dir, 'user');
  await import('../../../main/electron/index.js');
  state.ready!();
  // The window comes after the services start; on a loaded machine that takes more than a tick.
  for (let waited = 0; state.windows.length === 0 && waited < 20_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
}, 30_000);

const APP_SENDER = { senderFrame: { url: 'app://app/index.html' }, sender: { mainFrame: null as unknown } };
APP_SENDER.sender.mainFrame = APP_SENDER.senderFrame;

describe('Electron main', () => {
  it('turns the sandbox on and registers app:// as a secure standard scheme before ready, and takes the single-instance lock', () => {
    expect(state.calls[0]).toBe('enableSandbox');
    expect(state.calls[1]).toMatch(/^schemes:.*"scheme":"app".*"standard":true.*"secure":true/);
    expect(state.calls).toContain('lock');
  });

  it('registers every contract channel and the drop channel on ipcMain', () => {
    expect([...state.handles.keys()].sort()).toEqual([...CHANNELS, DROP_CHANNEL].sort());
  });

  it('answers the app page, and refuses another origin or a subframe', async () => {
    const info = state.handles.get('app:info')!;
    expect(await info(APP_SENDER, {})).toMatchObject({ ok: true, value: { mode: 'electron', version: '9.9.9', dialogs: 'native', dropOpens: true } });
    const foreign = { senderFrame: { url: 'https://evil.example/' }, sender: { mainFrame: null as unknown } };
    foreign.sender.mainFrame = foreign.senderFrame;
    expect(await info(foreign, {})).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    const subframe = { senderFrame: { url: 'app://app/index.html' }, sender: { mainFrame: {} } };
    expect(await info(subframe, {})).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
  });

  it('opens dropped files from the app page as disks and tells the window; ignores other senders and non-files', async () => {
    const win = state.windows[0]!;
    const drop = state.handles.get(DROP_CHANNEL)!;
    await drop({ senderFrame: { url: 'https://evil.example/' }, sender: { mainFrame: null } }, [disk]);
    expect(win.sent).toEqual([]);
    await drop(APP_SENDER, [disk, dir, '/no/such/file', 42]);
    expect(win.sent).toHaveLength(1);
    expect(win.sent[0]![0]).toBe('disks:opened');
    expect(win.sent[0]![1]).toMatchObject({ source: 'drop', disks: [{ name: 'a.vmdk' }] });
    const list = (await state.handles.get('disks:list')!(APP_SENDER, {})) as { value: Array<{ path: string }> };
    expect(list.value.map((d) => d.path)).toEqual([fs.realpathSync(disk)]);
  });

  it('loads the renderer from app://app', () => {
    expect(state.windows[0]!.loaded).toBe('app://app/index.html');
  });
});

describe('the window', () => {
  it('has sandbox and context isolation on and Node off', () => {
    const prefs = state.windows[0]!.options['webPreferences'] as Record<string, unknown>;
    expect(prefs).toMatchObject({ sandbox: true, contextIsolation: true, nodeIntegration: false, nodeIntegrationInWorker: false, webSecurity: true, webviewTag: false });
    expect(String(prefs['preload'])).toMatch(/preload[\\/]index\.cjs$/);
  });

  it('denies new windows and navigation away from the app', () => {
    const win = state.windows[0]!;
    expect(win.openHandler!({ url: 'https://example.org' })).toEqual({ action: 'deny' });
    for (const url of ['https://example.org/', 'file:///etc/passwd', 'app://other/x']) {
      const event = { preventDefault: vi.fn() };
      win.events.get('wc:will-navigate')!(event, url);
      expect(event.preventDefault, url).toHaveBeenCalled();
    }
    const own = { preventDefault: vi.fn() };
    win.events.get('wc:will-navigate')!(own, 'app://app/index.html#catalog');
    expect(own.preventDefault).not.toHaveBeenCalled();
    const attach = { preventDefault: vi.fn() };
    win.events.get('wc:will-attach-webview')!(attach);
    expect(attach.preventDefault).toHaveBeenCalled();
  });

  it('denies every permission and blocks requests that are not for the app', () => {
    const answer = vi.fn();
    state.permissionRequest!(null, 'media', answer);
    expect(answer).toHaveBeenCalledWith(false);
    expect(state.permissionCheck!(null, 'clipboard-read', 'app://app', {})).toBe(false);
    const verdict = (url: string) => {
      let cancel: boolean | undefined;
      state.beforeRequest!({ url }, (r: { cancel: boolean }) => (cancel = r.cancel));
      return cancel;
    };
    expect(verdict('app://app/assets/index.js')).toBe(false);
    expect(verdict('https://example.org/tracker.js')).toBe(true);
    expect(verdict('file:///etc/passwd')).toBe(true);
  });

  it('remembers its size and place when closed', async () => {
    state.windows[0]!.events.get('close')!();
    // The state file is written without blocking main's thread: wait for it to land.
    await vi.waitFor(() => expect(JSON.parse(fs.readFileSync(path.join(state.userData, 'window.json'), 'utf8'))).toEqual({ bounds: { x: 1, y: 2, width: 900, height: 700 }, maximized: false }));
  });
});

describe('the app:// protocol', () => {
  it('serves files of the renderer with the CSP, and nothing outside it', async () => {
    const handler = state.protocolHandler!;
    const ok = (await handler(new Request('app://app/index.html'))) as Response;
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await ok.text()).toMatch(/^fetched file:.*renderer\/index\.html$/);
    for (const url of ['app://app/../../package.json', 'app://app/%2e%2e/%2e%2e/package.json', 'app://other/index.html', 'app://app/no-such-file.js']) {
      expect(((await handler(new Request(url))) as Response).status, url).toBeGreaterThanOrEqual(400);
    }
  });
});
