/**
 * The one BrowserWindow, locked down (electron.md §6): sandbox, context isolation, no Node, no
 * navigation away from app://app, no new windows, every permission denied, the CSP from the
 * protocol handler, and its size and place remembered.
 */
import * as path from 'node:path';
import { BrowserWindow, session, type Rectangle } from 'electron';
import { APP_ORIGIN } from './protocol.js';
import { StateFile } from '../services/state.js';

export interface WindowState {
  bounds: Rectangle | null;
  maximized: boolean;
}

export function windowStateFile(stateDir: string): StateFile<WindowState> {
  return new StateFile(path.join(stateDir, 'window.json'), parseWindowState, () => ({ bounds: null, maximized: false }));
}

/** Deny every permission request and check, and every request that is not for the app itself (or the dev server in `npm run dev`). */
export function lockDownSession(devOrigin?: string): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  const devSocket = devOrigin?.replace(/^http/, 'ws');
  ses.webRequest.onBeforeRequest((details, callback) => {
    const url = details.url;
    const allowed =
      url.startsWith(`${APP_ORIGIN}/`) ||
      url.startsWith('devtools:') ||
      url.startsWith('data:') ||
      url.startsWith('blob:') ||
      (devOrigin !== undefined && (url.startsWith(`${devOrigin}/`) || url.startsWith(`${devSocket}/`)));
    callback({ cancel: !allowed });
  });
}

export async function createWindow(options: { preload: string; icon?: string; devOrigin?: string; state: StateFile<WindowState> }): Promise<BrowserWindow> {
  const ownPage = (url: string): boolean => url.startsWith(`${APP_ORIGIN}/`) || (options.devOrigin !== undefined && url.startsWith(`${options.devOrigin}/`));
  const saved = await options.state.read();
  const win = new BrowserWindow({
    width: saved.bounds?.width ?? 1200,
    height: saved.bounds?.height ?? 800,
    ...(saved.bounds ? { x: saved.bounds.x, y: saved.bounds.y } : {}),
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'Diskchain',
    ...(options.icon ? { icon: options.icon } : {}),
    webPreferences: {
      preload: options.preload,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      spellcheck: false,
    },
  });
  if (saved.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());

  win.webContents.on('will-navigate', (event, url) => {
    if (!ownPage(url)) event.preventDefault();
  });
  win.webContents.on('will-redirect', (event, url) => {
    if (!ownPage(url)) event.preventDefault();
  });
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));

  const remember = (): void => {
    // Losing the window's place is not worth an error.
    options.state.write({ bounds: win.isMaximized() ? (saved.bounds ?? win.getNormalBounds()) : win.getNormalBounds(), maximized: win.isMaximized() }).catch(() => undefined);
  };
  win.on('close', remember);
  return win;
}

function parseWindowState(value: unknown): WindowState {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const b = (typeof v['bounds'] === 'object' && v['bounds'] !== null ? v['bounds'] : null) as Record<string, unknown> | null;
  const ok = b !== null && ['x', 'y', 'width', 'height'].every((k) => Number.isInteger(b[k]));
  return {
    bounds: ok ? { x: b['x'] as number, y: b['y'] as number, width: Math.max(720, b['width'] as number), height: Math.max(480, b['height'] as number) } : null,
    maximized: v['maximized'] === true,
  };
}
