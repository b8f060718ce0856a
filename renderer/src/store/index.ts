/** All stores of one window, made around one Api, handed to components through context. */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { Api } from '../../../shared/ipc/contract';
import { createBrowseStore, type BrowseState, type BrowseStore } from './browse';
import { createCatalogStore, type CatalogState, type CatalogStore } from './catalog';
import { createCatalogFilesStore, type CatalogFilesState, type CatalogFilesStore } from './catalog-files';
import { createDisksStore, type DisksState, type DisksStore } from './disks';
import { createJobsStore, type JobsState, type JobsStore } from './jobs';
import { createTargetsStore, type TargetsStore } from './targets';
import { createUiStore, type UiState, type UiStore } from './ui';

export interface Stores {
  api: Api;
  disks: DisksStore;
  jobs: JobsStore;
  catalog: CatalogStore;
  /** The catalog's Files search (files inside every indexed archive and disk). */
  catalogFiles: CatalogFilesStore;
  targets: TargetsStore;
  ui: UiStore;
  /** The browser host's in-app file browser. */
  browse: BrowseStore;
}

export function createStores(api: Api, options: { catalogDebounceMs?: number } = {}): Stores {
  const ui = createUiStore();
  const browse = createBrowseStore(api);
  // Only the browser host has no native dialogs: there the app's own file browser answers.
  const inApp = (): boolean => ui.getState().appInfo?.dialogs === 'scripted';
  const targets = createTargetsStore(api, { browse, inApp });
  const browseForDisk = async (): Promise<string | null> => (inApp() ? browse.getState().ask({ mode: 'open', title: 'Open a disk' }) : null);
  const jobs = createJobsStore(api);
  return {
    api,
    disks: createDisksStore(api, browseForDisk),
    jobs,
    catalog: createCatalogStore(api, {
      ...(options.catalogDebounceMs === undefined ? {} : { debounceMs: options.catalogDebounceMs }),
      chooseFolder: (o) => targets.getState().chooseFolder(o),
    }),
    catalogFiles: createCatalogFilesStore(api, {
      ...(options.catalogDebounceMs === undefined ? {} : { debounceMs: options.catalogDebounceMs }),
      chooseFolder: (o) => targets.getState().chooseFolder(o),
      startJob: async (request) => {
        const jobId = await jobs.getState().start(request);
        ui.getState().setJobsOpen(true);
        return jobId;
      },
      jobEnded: (jobId) => jobs.getState().whenEnded(jobId),
    }),
    targets,
    ui,
    browse,
  };
}

/** Loads what the window shows first; failures leave empty lists (each view explains its own errors). */
export async function startStores(stores: Stores): Promise<void> {
  const info = stores.api.invoke('app:info', {}).then(
    (i) => stores.ui.getState().setAppInfo(i),
    () => undefined,
  );
  await Promise.all([info, stores.disks.getState().init(), stores.jobs.getState().init()]);
}

export const StoresContext = createContext<Stores | null>(null);

export function useStores(): Stores {
  const stores = useContext(StoresContext);
  if (!stores) throw new Error('useStores outside <StoresContext.Provider>');
  return stores;
}

export const useDisks = <T,>(select: (s: DisksState) => T): T => useStore(useStores().disks, select);
export const useJobs = <T,>(select: (s: JobsState) => T): T => useStore(useStores().jobs, select);
export const useCatalog = <T,>(select: (s: CatalogState) => T): T => useStore(useStores().catalog, select);
export const useCatalogFiles = <T,>(select: (s: CatalogFilesState) => T): T => useStore(useStores().catalogFiles, select);
export const useBrowse = <T,>(select: (s: BrowseState) => T): T => useStore(useStores().browse, select);
export const useUi = <T,>(select: (s: UiState) => T): T => useStore(useStores().ui, select);
