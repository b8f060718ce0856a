/** Places chosen in main's dialogs (outputs, a .vmx, an archive folder): main answers opaque target ids, never the renderer a path. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Api, In, Target } from '../../../shared/ipc/contract';

export interface TargetsState {
  /** null when the dialog was cancelled. */
  chooseFile(options: In<'targets:chooseFile'>): Promise<Target | null>;
  chooseFolder(options: In<'targets:chooseFolder'>): Promise<Target | null>;
}

export type TargetsStore = StoreApi<TargetsState>;

export function createTargetsStore(api: Api): TargetsStore {
  return createStore<TargetsState>()(() => ({
    chooseFile: (options) => api.invoke('targets:chooseFile', options),
    chooseFolder: (options) => api.invoke('targets:chooseFolder', options),
  }));
}
