/** Open disks, the one selected, what main told about each (info, geometry, check), and recent files. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { extentDescriptorName } from '../../../shared/disk-names';
import type { Api, DiskRef, MapSummary, OrphanExtent, RecentEntry, WireError } from '../../../shared/ipc/contract';
import type { CheckReport, DiskInfo, GeometryReport } from '../../../shared/types';
import { toWireError } from '../api';
import { idle, loading, type Loadable } from './loadable';

export interface OpenDisk {
  ref: DiskRef;
  /** Read past a parentCID mismatch (the user chose to, after seeing it explained). */
  ignoreCid: boolean;
  info: Loadable<DiskInfo>;
  geometry: Loadable<GeometryReport>;
  check: Loadable<CheckReport>;
  /** Set when the file is an extent whose descriptor is missing (asked with the info, for extent-named files only). */
  orphan: OrphanExtent | null;
  /** Chain link shown in detail; index into info.layers (0 = the disk opened). */
  selectedLayer: number | null;
}

export interface DisksState {
  order: string[];
  byId: Record<string, OpenDisk>;
  selectedId: string | null;
  recent: RecentEntry[];
  /** The last open/recent action that failed, shown beside the Open button. */
  openError: WireError | null;
  opening: boolean;
  /** The last open dialog came back empty (cancelled, or a host with no scripted answer left). */
  lastOpenEmpty: boolean;

  init(): Promise<void>;
  openDialog(): Promise<void>;
  openRecent(recentId: string): Promise<void>;
  clearRecent(): Promise<void>;
  refreshRecent(): Promise<void>;
  /** Adds disks main registered (any source); selects the first new one when asked. */
  add(refs: DiskRef[], select: boolean): void;
  select(diskId: string): void;
  close(diskId: string): Promise<void>;
  loadInfo(diskId: string): Promise<void>;
  loadGeometry(diskId: string): Promise<void>;
  runCheck(diskId: string): Promise<void>;
  /** After an E_CID refusal: read anyway; the mismatch then shows in the chain. */
  ignoreCid(diskId: string): Promise<void>;
  selectLayer(diskId: string, layer: number | null): void;
  dismissOpenError(): void;
  /** Opens a finished job's output, or a catalogued disk, and selects it; rejects with main's reason. */
  openFrom(source: { jobId: string } | { catalogId: number } | { catalogId: number; archiveDisk: string }): Promise<void>;
  /** Writes an orphan extent's missing descriptor beside it and opens (selects) that disk; rejects with main's reason. */
  rebuildDescriptor(diskId: string): Promise<void>;
  /** A parent is missing: main asks for it (its open dialog), reparents, and the chain is read again. The summary, or null when cancelled; rejects with main's reason. */
  locateParent(diskId: string, fixCid: boolean): Promise<string | null>;
  /** The allocation map of a byte range in `buckets` parts (the canvas asks again when it zooms). */
  readMap(diskId: string, range: { start: number; length: number; buckets: number }, ignoreCid: boolean): Promise<MapSummary>;
}

export type DisksStore = StoreApi<DisksState>;

/**
 * The browser host's way to choose a disk when no answer was prepared (`serve --open`): the in-app
 * file browser; null when cancelled. Absent in Electron, whose open dialog is main's.
 */
export type BrowseForDisk = () => Promise<string | null>;

export function createDisksStore(api: Api, browseForDisk?: BrowseForDisk): DisksStore {
  const store = createStore<DisksState>()((set, get) => {
    const patch = (diskId: string, change: Partial<OpenDisk>): void => {
      const disk = get().byId[diskId];
      if (!disk) return;
      set({ byId: { ...get().byId, [diskId]: { ...disk, ...change } } });
    };

    return {
      order: [],
      byId: {},
      selectedId: null,
      recent: [],
      openError: null,
      opening: false,
      lastOpenEmpty: false,

      async openFrom(source) {
        const ref =
          'jobId' in source
            ? await api.invoke('jobs:openOutput', { jobId: source.jobId })
            : 'archiveDisk' in source
              ? await api.invoke('catalog:openArchiveDisk', { id: source.catalogId, disk: source.archiveDisk })
              : await api.invoke('catalog:openDisk', { id: source.catalogId });
        get().add([ref], true);
      },

      async rebuildDescriptor(diskId) {
        const ref = await api.invoke('disks:rebuildDescriptor', { diskId });
        patch(diskId, { orphan: null });
        get().add([ref], true);
      },

      async locateParent(diskId, fixCid) {
        const answer = await api.invoke('disks:locateParent', { diskId, fixCid });
        if (answer === null) return null;
        patch(diskId, { geometry: idle, check: idle, selectedLayer: null });
        await get().loadInfo(diskId);
        return answer.summary;
      },

      readMap(diskId, range, ignoreCid) {
        return api.invoke('disks:map', { diskId, ...range, ignoreCid });
      },

      async init() {
        const [disks, recent] = await Promise.all([
          api.invoke('disks:list', {}).catch(() => [] as DiskRef[]),
          api.invoke('recent:list', {}).catch(() => [] as RecentEntry[]),
        ]);
        get().add(disks, true);
        set({ recent });
      },

      async openDialog() {
        set({ opening: true, openError: null, lastOpenEmpty: false });
        try {
          let refs = await api.invoke('disks:open', {});
          if (refs.length === 0 && browseForDisk) {
            set({ opening: false }); // the file browser is up: nothing is opening until it answers
            const path = await browseForDisk();
            set({ opening: path !== null });
            if (path !== null) refs = await api.invoke('files:openDisks', { paths: [path] });
          }
          set({ lastOpenEmpty: refs.length === 0 });
          get().add(refs, true);
          await get().refreshRecent();
        } catch (e) {
          set({ openError: toWireError(e) });
        } finally {
          set({ opening: false });
        }
      },

      async openRecent(recentId) {
        set({ openError: null });
        try {
          const ref = await api.invoke('recent:open', { recentId });
          get().add([ref], true);
          get().select(ref.diskId);
          await get().refreshRecent();
        } catch (e) {
          set({ openError: toWireError(e) });
        }
      },

      async clearRecent() {
        try {
          await api.invoke('recent:clear', {});
          set({ recent: [] });
        } catch (e) {
          set({ openError: toWireError(e) });
        }
      },

      async refreshRecent() {
        try {
          set({ recent: await api.invoke('recent:list', {}) });
        } catch {
          // Recent files are a convenience: keep the old list.
        }
      },

      add(refs, select) {
        const fresh = refs.filter((r) => !get().byId[r.diskId]);
        if (fresh.length > 0) {
          const byId = { ...get().byId };
          for (const ref of fresh) {
            byId[ref.diskId] = { ref, ignoreCid: false, info: idle, geometry: idle, check: idle, orphan: null, selectedLayer: null };
          }
          set({ byId, order: [...get().order, ...fresh.map((r) => r.diskId)] });
        }
        const first = fresh[0] ?? refs[0];
        if (first && (select || get().selectedId === null)) get().select(first.diskId);
      },

      select(diskId) {
        const disk = get().byId[diskId];
        if (!disk) return;
        set({ selectedId: diskId });
        // A volume image is shown as its tree of VMs (VolumeView), not read as a disk.
        if (disk.info.status === 'idle' && !disk.ref.volume) void get().loadInfo(diskId);
      },

      async close(diskId) {
        try {
          await api.invoke('disks:close', { diskId });
        } catch {
          // Closing is local bookkeeping as far as the user is concerned.
        }
        const { [diskId]: _gone, ...byId } = get().byId;
        const order = get().order.filter((id) => id !== diskId);
        const index = get().order.indexOf(diskId);
        const selectedId = get().selectedId === diskId ? (order[Math.min(index, order.length - 1)] ?? null) : get().selectedId;
        set({ byId, order, selectedId });
        if (selectedId) get().select(selectedId);
      },

      async loadInfo(diskId) {
        const disk = get().byId[diskId];
        if (!disk) return;
        patch(diskId, { info: loading(disk.info) });
        if (extentDescriptorName(disk.ref.name) !== null) {
          // Asked beside the info: a missing descriptor matters most when the extent alone does not open.
          api.invoke('disks:orphan', { diskId }).then(
            (orphan) => patch(diskId, { orphan }),
            () => patch(diskId, { orphan: null }),
          );
        }
        try {
          const info = await api.invoke('disks:info', { diskId, ignoreCid: disk.ignoreCid });
          patch(diskId, { info: { status: 'ready', value: info } });
        } catch (e) {
          patch(diskId, { info: { status: 'error', error: toWireError(e) } });
        }
      },

      async loadGeometry(diskId) {
        const disk = get().byId[diskId];
        if (!disk) return;
        patch(diskId, { geometry: loading(disk.geometry) });
        try {
          const geometry = await api.invoke('disks:geometry', { diskId, ignoreCid: disk.ignoreCid });
          patch(diskId, { geometry: { status: 'ready', value: geometry } });
        } catch (e) {
          patch(diskId, { geometry: { status: 'error', error: toWireError(e) } });
        }
      },

      async runCheck(diskId) {
        const disk = get().byId[diskId];
        if (!disk) return;
        patch(diskId, { check: loading(disk.check) });
        try {
          const report = await api.invoke('disks:check', { diskId });
          patch(diskId, { check: { status: 'ready', value: report } });
        } catch (e) {
          patch(diskId, { check: { status: 'error', error: toWireError(e) } });
        }
      },

      async ignoreCid(diskId) {
        patch(diskId, { ignoreCid: true, geometry: idle });
        await get().loadInfo(diskId);
      },

      selectLayer(diskId, layer) {
        patch(diskId, { selectedLayer: layer });
      },

      dismissOpenError() {
        set({ openError: null });
      },
    };
  });

  api.on('disks:opened', ({ disks, source }) => {
    store.getState().add(disks, source !== 'startup' || store.getState().selectedId === null);
    void store.getState().refreshRecent();
  });
  return store;
}
