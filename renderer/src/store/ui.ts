/** Where the user is: which screen, which tab, which action dialog is open, and what main said about itself. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AppInfo, JobKind } from '../../../shared/ipc/contract';

export type Screen = 'disks' | 'catalog';
export type DiskTab = 'chain' | 'geometry' | 'map' | 'check' | 'files';

/** An action dialog and what it acts on. */
export interface DialogRequest {
  /** Extract starts from the Files tab and restoreFile and indexFiles from the catalog's Files search, not from a dialog of their own. */
  kind: Exclude<JobKind, 'extract' | 'restoreFile' | 'indexFiles'>;
  diskId?: string;
  /** restore: an archive from the catalog */
  catalogId?: number;
  catalogName?: string;
}

export interface UiState {
  screen: Screen;
  tab: DiskTab;
  dialog: DialogRequest | null;
  appInfo: AppInfo | null;
  jobsOpen: boolean;
  /** A drop that could not open files (a browser gives no paths), explained until dismissed. */
  dropNote: string | null;
  setScreen(screen: Screen): void;
  setTab(tab: DiskTab): void;
  openDialog(dialog: DialogRequest): void;
  closeDialog(): void;
  setAppInfo(info: AppInfo): void;
  setJobsOpen(open: boolean): void;
  setDropNote(note: string | null): void;
}

export type UiStore = StoreApi<UiState>;

export function createUiStore(): UiStore {
  return createStore<UiState>()((set) => ({
    screen: 'disks',
    tab: 'chain',
    dialog: null,
    appInfo: null,
    jobsOpen: true,
    dropNote: null,
    setScreen: (screen) => set({ screen }),
    setTab: (tab) => set({ tab }),
    openDialog: (dialog) => set({ dialog }),
    closeDialog: () => set({ dialog: null }),
    setAppInfo: (appInfo) => set({ appInfo }),
    setJobsOpen: (jobsOpen) => set({ jobsOpen }),
    setDropNote: (dropNote) => set({ dropNote }),
  }));
}
