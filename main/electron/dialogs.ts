/** Native dialogs for the Dialogs interface (main/services/dialogs.ts), shown by main. */
import { BrowserWindow, dialog, type FileFilter as ElectronFilter } from 'electron';
import type { Dialogs, FileFilter } from '../services/dialogs.js';

const FILTERS: Record<FileFilter, ElectronFilter[]> = {
  disk: [
    { name: 'Virtual disks', extensions: ['vmdk', 'dsk', 'REDO', 'redo', 'img', 'raw'] },
    { name: 'All files', extensions: ['*'] },
  ],
  vmdk: [{ name: 'VMware disks', extensions: ['vmdk'] }],
  raw: [{ name: 'Raw images', extensions: ['img', 'raw'] }],
  vmx: [{ name: 'VMware virtual machines', extensions: ['vmx'] }],
  any: [{ name: 'All files', extensions: ['*'] }],
};

export class ElectronDialogs implements Dialogs {
  readonly kind = 'native';

  async openFiles(options: { title: string; filter: FileFilter; multiple: boolean }): Promise<string[]> {
    const properties: Array<'openFile' | 'multiSelections'> = options.multiple ? ['openFile', 'multiSelections'] : ['openFile'];
    const answer = await this.show((w) => dialog.showOpenDialog(w, { title: options.title, filters: FILTERS[options.filter], properties }));
    return answer.canceled ? [] : answer.filePaths;
  }

  async saveFile(options: { title: string; suggestedName: string | undefined; filter: FileFilter }): Promise<string | null> {
    const answer = await this.show((w) =>
      dialog.showSaveDialog(w, {
        title: options.title,
        filters: FILTERS[options.filter],
        properties: ['createDirectory', 'showOverwriteConfirmation'],
        ...(options.suggestedName ? { defaultPath: options.suggestedName } : {}),
      }),
    );
    return answer.canceled || !answer.filePath ? null : answer.filePath;
  }

  async chooseFolder(options: { title: string }): Promise<string | null> {
    const answer = await this.show((w) => dialog.showOpenDialog(w, { title: options.title, properties: ['openDirectory', 'createDirectory'] }));
    return answer.canceled ? null : (answer.filePaths[0] ?? null);
  }

  private show<T>(open: (win: BrowserWindow) => Promise<T>): Promise<T> {
    const win = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
    if (!win) throw new Error('no window to show a dialog on');
    return open(win);
  }
}
