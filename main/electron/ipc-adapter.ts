/**
 * The contract over Electron's ipcMain: IpcMainLike for register.ts, and events pushed to every
 * window with webContents.send.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { Emit } from '../services/events.js';
import type { IpcMainLike, SenderInfo } from '../ipc/register.js';

export function senderOf(event: IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame;
  return { url: frame?.url ?? '', isMainFrame: frame !== null && frame === event.sender.mainFrame };
}

export const electronIpc: IpcMainLike = {
  handle(channel, handler) {
    ipcMain.handle(channel, (event, input: unknown) => handler(senderOf(event), input));
  },
};

export const emitToWindows: Emit = (event, payload) => {
  for (const win of BrowserWindow.getAllWindows()) {
    if (!win.isDestroyed()) win.webContents.send(event, payload);
  }
};
