/**
 * Open disks as opaque ids (electron.md §6.7): main keeps id → real path; the renderer holds
 * only ids. Files are registered from main-side dialogs, drops (paths read in the preload),
 * recent files, the catalog, job outputs or the `serve` command line — never from a path the
 * renderer sends. Every engine call (info, geometry, layer, map, check) runs in the query
 * worker, so none of them blocks the window.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { findArchivedDisk } from '../backup/archive-source.js';
import { MANIFEST_NAME, parseManifest } from '../formats/manifest.js';
import type { DiskRef, DisksOpenedEvent, MapSummary, OrphanExtent, RecentEntry } from '../../shared/ipc/contract.js';
import type { CheckReport, DiskInfo, GeometryReport, LayerInfo } from '../../shared/types.js';
import type { VolumeTree } from '../../shared/vmfs-tree.js';
import type { Emit } from './events.js';
import { sharedQueryClient, type QueryClient } from './query-client.js';
import { StateFile } from './state.js';

const RECENT_MAX = 20;

interface RecentRecord {
  path: string;
  openedAt: number;
}

export class DiskService {
  private readonly disks = new Map<string, DiskRef>();
  /** Disks opened from an archive: diskId → the archive folder and the disk's name in its manifest. */
  private readonly archived = new Map<string, { archive: string; disk: string }>();
  private readonly recentIds = new Map<string, string>();
  private readonly recentFile: StateFile<RecentRecord[]>;
  /** Per open volume image: entry number → `IMAGE:/path` of its disks, as last listed. */
  private readonly volumeDisks = new Map<string, Map<number, string>>();

  constructor(
    stateDir: string,
    private readonly emit: Emit,
    private readonly queries: QueryClient = sharedQueryClient(),
  ) {
    this.recentFile = new StateFile(path.join(stateDir, 'recent.json'), parseRecent, () => []);
  }

  /** Registers files (already chosen by main) and tells every window. Unreadable files are refused before any is added. */
  async open(files: readonly string[], source: DisksOpenedEvent['source']): Promise<DiskRef[]> {
    const reals = await Promise.all(files.map(realFile));
    const volumes = await Promise.all(reals.map((real) => this.isVolumeImage(real)));
    const refs = reals.map((real, i) => this.register(real, volumes[i]!));
    await this.remember(reals);
    if (refs.length > 0) this.emit('disks:opened', { disks: refs, source });
    return refs;
  }

  /**
   * Opens a disk of an archive folder (chosen from the catalog) by its archived descriptor, so every
   * tab reads it; guestTarget() then sends the Files tab's reads through the archive. Not a recent file.
   */
  async openArchived(archive: string, disk: string): Promise<DiskRef> {
    const dir = await fs.realpath(archive).catch(() => {
      throw new DiskchainError('E_NOTFOUND', 'no such archive folder', archive);
    });
    const file = path.join(dir, MANIFEST_NAME);
    const text = await fs.readFile(file, 'utf8').catch(() => {
      throw new DiskchainError('E_NOTFOUND', `no ${MANIFEST_NAME}: not a diskchain archive folder`, dir);
    });
    const archived = findArchivedDisk(parseManifest(text, file), disk, dir);
    const ref = this.register(await realFile(path.join(dir, archived.links[0]!.descriptor)), false);
    this.archived.set(ref.diskId, { archive: dir, disk: archived.name });
    this.emit('disks:opened', { disks: [ref], source: 'catalog' });
    return ref;
  }

  /** What the guest queries read for a disk: its file, or its archive and name there. */
  guestTarget(diskId: string): { path: string; archiveDisk?: string } {
    const archived = this.archived.get(diskId);
    return archived ? { path: archived.archive, archiveDisk: archived.disk } : { path: this.pathOf(diskId) };
  }

  list(): DiskRef[] {
    return [...this.disks.values()];
  }

  close(diskId: string): void {
    this.ref(diskId);
    this.disks.delete(diskId);
    this.volumeDisks.delete(diskId);
    this.archived.delete(diskId);
  }

  /** The real path behind an id, for jobs. */
  pathOf(diskId: string): string {
    return this.ref(diskId).path;
  }

  async info(diskId: string, ignoreCid = false): Promise<DiskInfo> {
    return this.queries.ask('info', { path: this.pathOf(diskId), ignoreCid });
  }

  async geometry(diskId: string, ignoreCid = false): Promise<GeometryReport> {
    return this.queries.ask('geometry', { path: this.pathOf(diskId), ignoreCid });
  }

  async check(diskId: string): Promise<CheckReport> {
    return this.queries.ask('check', { path: this.pathOf(diskId) });
  }

  async layer(diskId: string, layer: number, ignoreCid = false): Promise<LayerInfo> {
    return this.queries.ask('layer', { path: this.pathOf(diskId), layer, ignoreCid });
  }

  async map(diskId: string, range: { start?: number | undefined; length?: number | undefined; buckets: number }, ignoreCid = false): Promise<MapSummary> {
    return this.queries.ask('map', { path: this.pathOf(diskId), ignoreCid, ...range });
  }

  /** Whether the disk is an extent whose descriptor is missing (its one expected name is looked up, nothing listed). */
  async orphan(diskId: string): Promise<OrphanExtent | null> {
    return this.queries.ask('orphan', { path: this.pathOf(diskId) });
  }

  /** Writes the orphan extent's descriptor beside it and opens that descriptor. */
  async rebuildDescriptor(diskId: string): Promise<DiskRef> {
    const { descriptor } = await this.queries.ask('rebuildDescriptor', { path: this.pathOf(diskId) });
    return (await this.open([descriptor], 'rebuild'))[0]!;
  }

  /**
   * Points the chain's link whose parent is missing at `files[0]` (chosen in main's open dialog;
   * none: cancelled, null). Runs in the query worker like every engine call.
   */
  async reparent(diskId: string, files: readonly string[], fixCid = false): Promise<{ summary: string } | null> {
    if (files.length === 0) return null;
    const parent = await realFile(files[0]!);
    const { summary } = await this.queries.ask('reparent', { path: this.pathOf(diskId), parent, fixCid });
    return { summary };
  }

  async recent(): Promise<RecentEntry[]> {
    const records = await this.recentFile.read();
    return Promise.all(
      records.map(async (r) => ({
        recentId: this.recentId(r.path),
        path: r.path,
        name: path.basename(r.path),
        openedAt: r.openedAt,
        exists: await isFile(r.path),
      })),
    );
  }

  async openRecent(recentId: string): Promise<DiskRef> {
    const entry = (await this.recentFile.read()).find((r) => this.recentIds.get(r.path) === recentId);
    if (!entry) throw new DiskchainError('E_NOTFOUND', 'that recent file is no longer in the list');
    return (await this.open([entry.path], 'recent'))[0]!;
  }

  clearRecent(): Promise<void> {
    return this.recentFile.write([]);
  }

  /** The VM folders of an open volume image; its disks are then opened by their entry number. */
  async volumeTree(diskId: string): Promise<VolumeTree> {
    const ref = this.ref(diskId);
    if (!ref.volume) throw new DiskchainError('E_USAGE', 'not a VMFS volume image', ref.path);
    const tree = await this.queries.ask('vmfsTree', { path: ref.path });
    this.volumeDisks.set(diskId, new Map(tree.folders.flatMap((f) => f.disks.map((d) => [d.entry, d.path] as const))));
    return tree;
  }

  /** Opens a disk of a volume's tree (`IMAGE:/web01/web01.vmdk`): read through the image by every query and job. */
  async openInVolume(diskId: string, entry: number): Promise<DiskRef> {
    if (!this.volumeDisks.has(diskId)) await this.volumeTree(diskId);
    const inside = this.volumeDisks.get(diskId)?.get(entry);
    if (inside === undefined) throw new DiskchainError('E_NOTFOUND', `the volume has no disk number ${entry} (it changed since it was listed?)`, this.ref(diskId).path);
    const ref = this.register(inside, false, true);
    this.emit('disks:opened', { disks: [ref], source: 'dialog' });
    return ref;
  }

  /** Image files (not a disk's own names) are asked whether they hold a VMFS volume, in the query worker. */
  private async isVolumeImage(real: string): Promise<boolean> {
    if (/\.(vmdk|vmx|dsk|redo)$/i.test(real)) return false;
    return this.queries.ask('vmfsProbe', { path: real });
  }

  private register(real: string, volume: boolean, readOnly = false): DiskRef {
    const existing = [...this.disks.values()].find((d) => d.path === real);
    if (existing) return existing;
    const ref: DiskRef = { diskId: randomUUID(), path: real, name: path.basename(real), openedAt: Date.now(), ...(volume ? { volume: true } : {}), ...(readOnly ? { readOnly: true } : {}) };
    this.disks.set(ref.diskId, ref);
    return ref;
  }

  /** Puts the files first in the recent list, in the order given (the last one newest). */
  private async remember(reals: string[]): Promise<void> {
    try {
      await this.recentFile.update((list) => {
        let next = list;
        for (const real of reals) next = [{ path: real, openedAt: Date.now() }, ...next.filter((r) => r.path !== real)];
        return next.slice(0, RECENT_MAX);
      });
    } catch {
      // A read-only state folder costs the recent list, not the open.
    }
  }

  private recentId(file: string): string {
    let id = this.recentIds.get(file);
    if (!id) {
      id = randomUUID();
      this.recentIds.set(file, id);
    }
    return id;
  }

  private ref(diskId: string): DiskRef {
    const ref = this.disks.get(diskId);
    if (!ref) throw new DiskchainError('E_NOTFOUND', 'that disk is not open (it was closed, or the app restarted)');
    return ref;
  }
}

/** The real path of an existing regular file, or a clear error naming it. */
export async function realFile(file: string): Promise<string> {
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    throw new DiskchainError('E_NOTFOUND', 'no such file', file);
  }
  if (!(await fs.stat(real)).isFile()) throw new DiskchainError('E_USAGE', 'not a file (choose a .vmdk, .dsk or .REDO file)', file);
  return real;
}

/** Whether `file` is an existing regular file. */
export async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

function parseRecent(value: unknown): RecentRecord[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v: unknown) => {
    if (typeof v !== 'object' || v === null) return [];
    const r = v as Record<string, unknown>;
    return typeof r['path'] === 'string' && typeof r['openedAt'] === 'number' ? [{ path: r['path'], openedAt: r['openedAt'] }] : [];
  });
}
