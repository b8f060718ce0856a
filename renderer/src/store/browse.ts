/**
 * The in-app file browser of the browser host (a web page is never told where a file is): one
 * request at a time, answered with absolute paths or null. It lists only the folder the user typed
 * or clicked; main refuses relative paths and lists nothing else. Electron never opens it: its
 * native dialogs answer there.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Api, FolderListing, WireError } from '../../../shared/ipc/contract';
import { isAbsolutePath } from '../../../shared/paths';
import { toWireError } from '../api';

export interface BrowseRequest {
  /** open: an existing file; save: a file to write (it may exist); folder: an existing folder. */
  mode: 'open' | 'save' | 'folder';
  title: string;
  /** save: the file name offered in whatever folder the user goes to. */
  suggestedName?: string;
}

export interface BrowseState {
  request: BrowseRequest | null;
  /** What the Path field holds. */
  pathText: string;
  listing: FolderListing | null;
  busy: boolean;
  error: WireError | null;
  recent: string[];
  /** Shows the browser; resolves with the chosen path, or null when cancelled. */
  ask(request: BrowseRequest): Promise<string | null>;
  setPathText(text: string): void;
  /** Lists a folder (a click on it, the parent, a recent folder). */
  go(folder: string): Promise<void>;
  /** Enter in the Path field, or the main button: a folder is listed (or chosen, in folder mode), a file chosen. */
  submit(): Promise<void>;
  /** The main button: in folder mode the folder listed (unless another path is typed), else as Enter. */
  confirm(): Promise<void>;
  cancel(): void;
}

export type BrowseStore = StoreApi<BrowseState>;

/** `dir` + `name` with the separator the folder uses. */
export function joinPath(dir: string, name: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}

export function createBrowseStore(api: Api): BrowseStore {
  let resolve: ((path: string | null) => void) | null = null;
  const blank = { pathText: '', listing: null, busy: false, error: null };

  return createStore<BrowseState>()((set, get) => {
    const finish = (path: string | null): void => {
      const done = resolve;
      resolve = null;
      set({ request: null, ...blank });
      done?.(path);
    };
    const fail = (message: string, file?: string): void => set({ busy: false, error: file === undefined ? { code: 'E_USAGE', message } : { code: 'E_USAGE', message, file } });
    /** What the Path field shows for a folder just listed. */
    const inFolder = (folder: string): string => {
      const name = get().request?.mode === 'save' ? (get().request?.suggestedName ?? '') : '';
      return joinPath(folder, name);
    };

    return {
      request: null,
      ...blank,
      recent: [],

      ask(request) {
        resolve?.(null);
        set({ request, ...blank });
        void api.invoke('files:recentFolders', {}).then(
          (recent) => set({ recent }),
          () => set({ recent: [] }),
        );
        return new Promise<string | null>((r) => (resolve = r));
      },

      setPathText(pathText) {
        set({ pathText, error: null });
      },

      async go(folder) {
        set({ busy: true, error: null });
        try {
          const listing = await api.invoke('files:list', { path: folder });
          set({ listing, busy: false, pathText: inFolder(listing.path) });
        } catch (e) {
          set({ busy: false, error: toWireError(e) });
        }
      },

      async submit() {
        const request = get().request;
        const typed = get().pathText.trim();
        if (!request) return;
        if (typed === '') return fail('Type a path, starting with /, or choose a folder below.');
        if (!isAbsolutePath(typed)) return fail('Type the whole path, starting with / (a relative path says nothing about where to look).');
        set({ busy: true, error: null });
        try {
          const look = await api.invoke('files:look', { path: typed });
          if (look.type === 'folder') {
            // In folder mode Enter lists a folder, and Enter again (on the folder listed) chooses it.
            if (request.mode === 'folder' && get().listing?.path === look.path) return finish(look.path);
            return await get().go(look.path);
          }
          if (request.mode === 'folder') return fail('Not a folder:', look.path);
          if (look.type === 'file') return finish(look.path);
          if (look.type === 'missing' && request.mode === 'save' && look.parentIsFolder) return finish(look.path);
          return fail(look.type === 'other' ? 'Not a file or folder:' : 'No such file or folder:', look.path);
        } catch (e) {
          set({ busy: false, error: toWireError(e) });
        }
      },

      async confirm() {
        const { request, listing, pathText } = get();
        const typed = pathText.trim().replace(/(.)[\\/]+$/, '$1');
        if (request?.mode === 'folder' && listing && (typed === '' || typed === listing.path)) return finish(listing.path);
        return get().submit();
      },

      cancel() {
        finish(null);
      },
    };
  });
}
