/**
 * Electron main: one instance, sandbox everywhere, the renderer from app://app, the contract's
 * services registered on ipcMain. Everything the app does lives in main/services (shared with
 * `diskchain serve`); this file only wires Electron to it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain } from 'electron';
import { DROP_CHANNEL } from '../../shared/ipc/channels.js';
import { defaultCatalogPath } from '../catalog/default-path.js';
import { ElectronDialogs } from './dialogs.js';
import { electronIpc, emitToWindows, senderOf } from './ipc-adapter.js';
import { originCheck, registerContract } from '../ipc/register.js';
import { APP_ORIGIN, registerAppScheme, serveRenderer } from './protocol.js';
import { createServices, type Services } from '../services/index.js';
import { createWindow, lockDownSession, windowStateFile } from './window.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Bundled, this file is out/main/index.js beside out/preload and out/renderer; run from its sources
// (tests) it is main/electron/index.ts, two folders below the project.
const appRoot = path.basename(here) === 'electron' ? path.join(here, '../..') : path.join(here, '..');
const preload = path.join(appRoot, 'preload/index.cjs');
const rendererDir = path.join(appRoot, 'renderer');
const icon = path.join(here, '../../resources/icon.png');
const MAX_DROPPED = 64;
/** `electron-vite dev` serves the renderer with hot reload and names it here; never in a packaged app. */
const devUrl = app.isPackaged ? undefined : process.env['ELECTRON_RENDERER_URL'];
const devOrigin = devUrl === undefined ? undefined : new URL(devUrl).origin;

app.enableSandbox();
registerAppScheme();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let services: Services | null = null;
  let win: BrowserWindow | null = null;

  /** Disk files named on a command line (this one, or a second instance's). */
  const openArgs = async (argv: string[]): Promise<void> => {
    const files = await onlyFiles(argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('-')));
    if (services && files.length > 0) {
      try {
        await services.disks.open(files, 'startup');
      } catch (e) {
        console.error(`diskchain: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };

  app.on('second-instance', (_event, argv) => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
    void openArgs(argv);
  });

  app.whenReady().then(async () => {
    lockDownSession(devOrigin);
    serveRenderer(rendererDir);
    const stateDir = app.getPath('userData');
    services = createServices({
      mode: 'electron',
      version: app.getVersion(),
      dialogs: new ElectronDialogs(),
      emit: emitToWindows,
      stateDir,
      catalogDb: defaultCatalogPath(),
    });
    const isAllowed = devOrigin === undefined ? originCheck(APP_ORIGIN) : originCheck(APP_ORIGIN, devOrigin);
    registerContract(electronIpc, services.handlers, isAllowed, (e) => console.error(e));
    ipcMain.handle(DROP_CHANNEL, async (event, paths: unknown) => {
      if (!isAllowed(senderOf(event)) || !Array.isArray(paths)) return;
      const files = await onlyFiles(paths.slice(0, MAX_DROPPED).filter((p): p is string => typeof p === 'string' && p.length < 4096));
      if (files.length > 0) await services?.disks.open(files, 'drop');
    });
    const hasIcon = await isFile(icon);
    win = await createWindow({ preload, state: windowStateFile(stateDir), ...(devOrigin ? { devOrigin } : {}), ...(hasIcon ? { icon } : {}) });
    win.on('closed', () => (win = null));
    void win.loadURL(devUrl ?? `${APP_ORIGIN}/index.html`);
    win.webContents.once('did-finish-load', () => void openArgs(process.argv));
  });

  let disposed = false;
  app.on('before-quit', (event) => {
    if (disposed || !services) return;
    event.preventDefault();
    disposed = true;
    void services.dispose().finally(() => app.quit());
  });

  app.on('window-all-closed', () => app.quit());
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The paths that are regular files, in order. */
async function onlyFiles(paths: string[]): Promise<string[]> {
  const checks = await Promise.all(paths.map(isFile));
  return paths.filter((_, i) => checks[i]);
}
