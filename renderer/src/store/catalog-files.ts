/**
 * The catalog's Files search (issue 11): a file name typed (as you type), the versions of the
 * matching files across every indexed archive and disk, one path chosen to see its timeline, and
 * Restore file… as a job. Index files is a job too (progress and Cancel in the jobs panel); when
 * it ends the search runs again. This store only asks and shows.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FilePage, FileVersion, IndexSummary } from '../../../shared/catalog-files';
import type { Api, JobRecord, JobRequest, Target, WireError } from '../../../shared/ipc/contract';
import { toWireError } from '../api';
import { idle, loading, type Loadable } from './loadable';

/** Versions asked for at once: the list is virtualised, this bounds what one answer carries. */
export const FILES_LIMIT = 2000;

/** One path (in one VM) and its versions, newest first. */
export interface FileGroup {
  key: string;
  path: string;
  vmName: string | null;
  kind: FileVersion['kind'];
  versions: FileVersion[];
}

export interface CatalogFilesState {
  pattern: string;
  /** A glob over the whole path, as typed. */
  pathGlob: string;
  result: Loadable<FilePage>;
  groups: FileGroup[];
  /** The group whose timeline shows. */
  selectedKey: string | null;
  /** The last index job's summary; loading while it runs. */
  index: Loadable<IndexSummary>;
  /** The last index job was cancelled (entries indexed before the cancel are kept). */
  indexCancelled: boolean;
  restoreError: WireError | null;
  /** Bumped per query so a late answer to an old one is dropped. */
  generation: number;

  setPattern(pattern: string): void;
  setPathGlob(glob: string): void;
  select(key: string | null): void;
  /** Starts the index job over every catalogued entry (unchanged ones cost nothing); when it ends, searches again. */
  indexAll(): Promise<void>;
  /** Asks where to put the version, then starts the restore-file job; resolves once it started. */
  restore(version: FileVersion): Promise<boolean>;
}

export type CatalogFilesStore = StoreApi<CatalogFilesState>;

export function groupVersions(versions: FileVersion[]): FileGroup[] {
  const groups: FileGroup[] = [];
  for (const v of versions) {
    const key = `${v.vmName ?? ''}\0${v.path}`;
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.versions.push(v);
    else groups.push({ key, path: v.path, vmName: v.vmName, kind: v.kind, versions: [v] });
  }
  return groups;
}

export function createCatalogFilesStore(
  api: Api,
  options: {
    debounceMs?: number;
    chooseFolder: (o: { title: string }) => Promise<Target | null>;
    /** Resolves to the job's id once it started. */
    startJob: (request: JobRequest) => Promise<string>;
    /** Resolves with the job's record once it ended. */
    jobEnded: (jobId: string) => Promise<JobRecord>;
  },
): CatalogFilesStore {
  const debounceMs = options.debounceMs ?? 150;
  let timer: ReturnType<typeof setTimeout> | undefined;

  return createStore<CatalogFilesState>()((set, get) => {
    const search = async (generation: number): Promise<void> => {
      const { pattern, pathGlob } = get();
      try {
        const page = await api.invoke('catalog:findFiles', {
          pattern: pattern.trim(),
          ...(pathGlob.trim() === '' ? {} : { path: pathGlob.trim() }),
          limit: FILES_LIMIT,
        });
        if (get().generation !== generation) return;
        const groups = groupVersions(page.versions);
        const selectedKey = groups.some((g) => g.key === get().selectedKey) ? get().selectedKey : (groups[0]?.key ?? null);
        set({ result: { status: 'ready', value: page }, groups, selectedKey });
      } catch (e) {
        if (get().generation === generation) set({ result: { status: 'error', error: toWireError(e) }, groups: [] });
      }
    };

    const restart = (delay: number): void => {
      clearTimeout(timer);
      const generation = get().generation + 1;
      if (get().pattern.trim() === '') {
        set({ generation, result: idle, groups: [], selectedKey: null });
        return;
      }
      set({ generation, result: loading(get().result) });
      if (delay > 0) timer = setTimeout(() => void search(generation), delay);
      else void search(generation);
    };

    return {
      pattern: '',
      pathGlob: '',
      result: idle,
      groups: [],
      selectedKey: null,
      index: idle,
      indexCancelled: false,
      restoreError: null,
      generation: 0,

      setPattern(pattern) {
        set({ pattern });
        restart(debounceMs);
      },
      setPathGlob(pathGlob) {
        set({ pathGlob });
        restart(debounceMs);
      },
      select(selectedKey) {
        set({ selectedKey });
      },
      async indexAll() {
        set({ index: { status: 'loading' }, indexCancelled: false });
        let job: JobRecord;
        try {
          job = await options.jobEnded(await options.startJob({ kind: 'indexFiles' }));
        } catch (e) {
          set({ index: { status: 'error', error: toWireError(e) } });
          return;
        }
        const summary = job.result?.index;
        if (job.status === 'done' && summary) set({ index: { status: 'ready', value: summary } });
        else if (job.status === 'cancelled') set({ index: idle, indexCancelled: true });
        else set({ index: { status: 'error', error: job.error ?? { code: 'E_INTERNAL', message: 'the index job ended without a summary' } } });
        // What was indexed before a cancel or a failure is kept: find it too.
        restart(0);
      },
      async restore(version) {
        set({ restoreError: null });
        try {
          const name = version.path.split('/').pop() || version.path;
          const folder = await options.chooseFolder({ title: `Restore ${name} (${version.entryName}) into` });
          if (!folder) return false;
          await options.startJob({ kind: 'restoreFile', ref: version.ref, targetId: folder.targetId });
          return true;
        } catch (e) {
          set({ restoreError: toWireError(e) });
          return false;
        }
      },
    };
  });
}
