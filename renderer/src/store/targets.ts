/**
 * Places chosen for jobs (outputs, a .vmx, an archive folder) as opaque target ids. Electron asks
 * main's native dialogs. The browser host first takes an answer prepared for it (`serve --save`,
 * a test's script), else shows the in-app file browser and registers the path it answers.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Api, In, Target } from '../../../shared/ipc/contract';
import type { BrowseStore } from './browse';

export interface TargetsState {
  /** null when the dialog was cancelled. */
  chooseFile(options: In<'targets:chooseFile'>): Promise<Target | null>;
  chooseFolder(options: In<'targets:chooseFolder'>): Promise<Target | null>;
}

export type TargetsStore = StoreApi<TargetsState>;

/** How a window with no native dialogs chooses: the file browser, when `inApp()` says this is the browser host. */
export interface InAppBrowser {
  browse: BrowseStore;
  inApp: () => boolean;
}

export function createTargetsStore(api: Api, browser?: InAppBrowser): TargetsStore {
  return createStore<TargetsState>()(() => ({
    async chooseFile(options) {
      const prepared = await api.invoke('targets:chooseFile', options);
      if (prepared || !browser?.inApp()) return prepared;
      const mode = options.mode ?? 'save';
      const path = await browser.browse.getState().ask({
        mode,
        title: options.title ?? (mode === 'open' ? 'Choose a file' : 'Save as'),
        ...(options.suggestedName === undefined ? {} : { suggestedName: options.suggestedName }),
      });
      return path === null ? null : api.invoke('files:target', { path, type: 'file', mode });
    },
    async chooseFolder(options) {
      const prepared = await api.invoke('targets:chooseFolder', options);
      if (prepared || !browser?.inApp()) return prepared;
      const path = await browser.browse.getState().ask({ mode: 'folder', title: options.title ?? 'Choose a folder' });
      return path === null ? null : api.invoke('files:target', { path, type: 'folder' });
    },
  }));
}
