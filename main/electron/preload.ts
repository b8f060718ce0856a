/**
 * The preload (built as CommonJS; a sandboxed preload may require only `electron`): exposes
 * `window.diskchain = {invoke, on}` over the contract's channels and events only (electron.md §2),
 * never ipcRenderer itself. Files dropped on the window are read here with
 * webUtils.getPathForFile and handed to main, which opens them and emits disks:opened.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { DROP_CHANNEL, isChannel, isEvent } from '../../shared/ipc/channels.js';

const api = {
  invoke(channel: unknown, input: unknown): Promise<unknown> {
    if (!isChannel(channel)) {
      return Promise.resolve({ ok: false, error: { code: 'E_USAGE', message: `no such channel: ${String(channel).slice(0, 64)}` } });
    }
    return ipcRenderer.invoke(channel, input);
  },
  on(event: unknown, listener: unknown): () => void {
    if (!isEvent(event) || typeof listener !== 'function') return () => {};
    const relay = (_e: IpcRendererEvent, payload: unknown): void => void (listener as (p: unknown) => void)(payload);
    ipcRenderer.on(event, relay);
    return () => void ipcRenderer.off(event, relay);
  },
};

contextBridge.exposeInMainWorld('diskchain', api);

/** The bits of a DOM drop event used here (the preload is type-checked without the DOM library). */
interface DropEventLike {
  dataTransfer: { files: ArrayLike<File> } | null;
}

const page = globalThis as unknown as { addEventListener(type: 'drop', listener: (e: DropEventLike) => void, capture: boolean): void };
page.addEventListener(
  'drop',
  (e) => {
    const files = Array.from(e.dataTransfer?.files ?? []);
    const paths = files.map((f) => webUtils.getPathForFile(f)).filter((p) => p !== '');
    if (paths.length > 0) void ipcRenderer.invoke(DROP_CHANNEL, paths);
  },
  true,
);
