/** The catalog: a query (search as you type, filters, sort), its rows fetched page by page, one entry in detail. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  Api,
  CatalogDetail,
  CatalogEntry,
  CatalogPage,
  ScanSummary,
  Target,
  VerifyReport,
  WireError,
} from '../../../shared/ipc/contract';
import { parseSize } from '../../../shared/bytes';
import type { EntryStatus } from '../../../shared/catalog-status';
import { toWireError } from '../api';
import { idle, loading, type Loadable } from './loadable';

export type CatalogColumn = 'name' | 'kind' | 'capacityBytes' | 'sizeBytes' | 'mtime' | 'path' | 'status' | 'vm';
export type TypeFilter = 'all' | 'disk' | 'archive';

/** The filters beyond words, type and kind, as typed (sizes like `20G`, a date `2024-05-01`). */
export interface CatalogFilters {
  status: EntryStatus | '';
  vm: string;
  /** A date (yyyy-mm-dd): dated on or after its local midnight. */
  since: string;
  minSize: string;
  maxSize: string;
}

export const NO_FILTERS: CatalogFilters = { status: '', vm: '', since: '', minSize: '', maxSize: '' };

/** A size as typed, in bytes; undefined when empty, null when it does not read as a size. */
export function sizeFilter(text: string): number | undefined | null {
  return text.trim() === '' ? undefined : parseSize(text.trim());
}

/** Local midnight of a yyyy-mm-dd date, in ms; undefined when empty or not a date. */
export function sinceFilter(text: string): number | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!day) return undefined;
  const ms = new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])).getTime();
  return Number.isNaN(ms) || ms < 0 ? undefined : ms;
}

export const PAGE_SIZE = 200;

export interface CatalogState {
  query: string;
  type: TypeFilter;
  kind: string;
  filters: CatalogFilters;
  sort: { column: CatalogColumn; dir: 'asc' | 'desc' };
  /** Rows by index in the current result; pages arrive as the table scrolls. */
  rows: Record<number, CatalogEntry>;
  total: number;
  /** Bumped on every new query so late pages of an old one are dropped. */
  generation: number;
  listing: Loadable<true>;
  selectedId: number | null;
  detail: Loadable<CatalogDetail>;
  verify: Record<number, Loadable<VerifyReport>>;
  scan: Loadable<ScanSummary>;
  actionError: WireError | null;

  setQuery(query: string): void;
  setType(type: TypeFilter): void;
  setKind(kind: string): void;
  /** Sets some filters; text fields (VM, sizes) wait for typing to pause. */
  setFilters(filters: Partial<CatalogFilters>): void;
  clearFilters(): void;
  sortBy(column: CatalogColumn): void;
  refresh(): Promise<void>;
  /** Makes sure rows [start, end) are loaded or on their way. */
  ensureRange(start: number, end: number): void;
  select(id: number | null): Promise<void>;
  runVerify(id: number): Promise<void>;
  forget(id: number): Promise<void>;
  scanFolder(): Promise<void>;
  dismissActionError(): void;
}

export type CatalogStore = StoreApi<CatalogState>;

/** chooseFolder: how "Scan folder…" asks for the folder (the targets store: native dialog or the in-app file browser). */
export function createCatalogStore(api: Api, options: { debounceMs?: number; chooseFolder?: (o: { title: string }) => Promise<Target | null> } = {}): CatalogStore {
  const debounceMs = options.debounceMs ?? 150;
  const inFlight = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  return createStore<CatalogState>()((set, get) => {
    const fetchPage = async (page: number, generation: number): Promise<void> => {
      const key = `${generation}:${page}`;
      if (inFlight.has(key)) return;
      inFlight.add(key);
      const { query, type, kind, sort, filters } = get();
      const common = {
        ...(type === 'all' ? {} : { type }),
        sort,
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
      };
      const from = sinceFilter(filters.since);
      const minBytes = sizeFilter(filters.minSize) ?? undefined;
      const maxBytes = sizeFilter(filters.maxSize) ?? undefined;
      const narrowed = {
        ...(kind === '' ? {} : { kind }),
        ...(filters.status === '' ? {} : { status: filters.status }),
        ...(filters.vm.trim() === '' ? {} : { vm: filters.vm.trim() }),
        ...(from === undefined ? {} : { from }),
        ...(minBytes === undefined ? {} : { minBytes }),
        ...(maxBytes === undefined ? {} : { maxBytes }),
      };
      try {
        const answer: CatalogPage =
          query.trim() === '' && Object.keys(narrowed).length === 0
            ? await api.invoke('catalog:list', common)
            : await api.invoke('catalog:search', { query: query.trim(), ...narrowed, ...common });
        if (get().generation !== generation) return;
        const rows = page === 0 ? {} : { ...get().rows };
        answer.rows.forEach((row, i) => {
          rows[page * PAGE_SIZE + i] = row;
        });
        set({ rows, total: answer.total, listing: { status: 'ready', value: true } });
      } catch (e) {
        if (get().generation === generation) set({ listing: { status: 'error', error: toWireError(e) } });
      } finally {
        inFlight.delete(key);
      }
    };

    const restart = (delay: number): void => {
      clearTimeout(timer);
      const generation = get().generation + 1;
      set({ generation, listing: loading(get().listing) });
      const go = (): void => void fetchPage(0, generation);
      if (delay > 0) timer = setTimeout(go, delay);
      else go();
    };

    return {
      query: '',
      type: 'all',
      kind: '',
      filters: NO_FILTERS,
      sort: { column: 'name', dir: 'asc' },
      rows: {},
      total: 0,
      generation: 0,
      listing: idle,
      selectedId: null,
      detail: idle,
      verify: {},
      scan: idle,
      actionError: null,

      setQuery(query) {
        set({ query });
        restart(debounceMs);
      },
      setType(type) {
        set({ type });
        restart(0);
      },
      setKind(kind) {
        set({ kind });
        restart(0);
      },
      setFilters(filters) {
        set({ filters: { ...get().filters, ...filters } });
        const typed = filters.vm !== undefined || filters.minSize !== undefined || filters.maxSize !== undefined;
        restart(typed ? debounceMs : 0);
      },
      clearFilters() {
        set({ query: '', type: 'all', kind: '', filters: NO_FILTERS });
        restart(0);
      },
      sortBy(column) {
        const { sort } = get();
        set({ sort: sort.column === column ? { column, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { column, dir: 'asc' } });
        restart(0);
      },
      async refresh() {
        restart(0);
        await Promise.resolve();
      },

      ensureRange(start, end) {
        const { rows, total, generation } = get();
        const last = Math.min(end, total);
        for (let page = Math.floor(start / PAGE_SIZE); page * PAGE_SIZE < last; page++) {
          if (rows[page * PAGE_SIZE] === undefined) void fetchPage(page, generation);
        }
      },

      async select(id) {
        set({ selectedId: id, detail: id === null ? idle : { status: 'loading' } });
        if (id === null) return;
        try {
          const detail = await api.invoke('catalog:show', { id });
          if (get().selectedId === id) set({ detail: { status: 'ready', value: detail } });
        } catch (e) {
          if (get().selectedId === id) set({ detail: { status: 'error', error: toWireError(e) } });
        }
      },

      async runVerify(id) {
        set({ verify: { ...get().verify, [id]: loading(get().verify[id]) } });
        try {
          const report = await api.invoke('catalog:verify', { id });
          set({ verify: { ...get().verify, [id]: { status: 'ready', value: report } } });
          // The verify changed the entry's status: the table and the detail show the new one.
          if (get().selectedId === id) void get().select(id);
          restart(0);
        } catch (e) {
          set({ verify: { ...get().verify, [id]: { status: 'error', error: toWireError(e) } } });
        }
      },

      async forget(id) {
        try {
          await api.invoke('catalog:forget', { id });
          if (get().selectedId === id) set({ selectedId: null, detail: idle });
          restart(0);
        } catch (e) {
          set({ actionError: toWireError(e) });
        }
      },

      async scanFolder() {
        let folder: Target | null;
        try {
          const title = 'Choose a folder to scan for disks and archives';
          folder = await (options.chooseFolder ? options.chooseFolder({ title }) : api.invoke('targets:chooseFolder', { title }));
        } catch (e) {
          set({ scan: { status: 'error', error: toWireError(e) } });
          return;
        }
        if (!folder) return;
        set({ scan: { status: 'loading' } });
        try {
          const summary = await api.invoke('catalog:scan', { folderTargetIds: [folder.targetId] });
          set({ scan: { status: 'ready', value: summary } });
          restart(0);
        } catch (e) {
          set({ scan: { status: 'error', error: toWireError(e) } });
        }
      },

      dismissActionError() {
        set({ actionError: null });
      },
    };
  });
}
