/**
 * `catalog index`: open each catalogued archive's disks (through the archive source, each chunk
 * read checked against the manifest: see open-disk.ts) and each loose disk, list their volumes, walk every guest file system and record each file's
 * path, size and times (never its content). An entry whose source key (its manifest's SHA-256, a
 * loose disk's files' size+mtime and CID) is the one it was indexed from is not opened at all.
 * A volume that cannot be read (BitLocker, swap, no reader, a damaged folder) is recorded with
 * the reason; only a disk that does not open fails its entry.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { diskStem } from '../../shared/disk-names.js';
import { DiskchainError } from '../../shared/errors.js';
import type { Chain } from '../disk/chain.js';
import { chainDevice, type BlockDevice } from '../guest/block-device.js';
import type { GuestFileSystem } from '../guest/types.js';
import { openFileSystem, readVolumes, type Volume } from '../guest/volumes.js';
import { walkGuest, type WalkItem } from '../guest/walk.js';
import { FileStore, type FileRow } from './file-store.js';
import { archiveFilePath } from './manifest.js';
import { openCatalogDisk, type DiskAt } from './open-disk.js';
import { oneLine } from './records.js';
import type { CatalogStore } from './store.js';
import type { EntrySummary, FileKind, IndexEntryResult, IndexProgress, IndexSummary } from './types.js';

/** Rows per transaction: big enough that commits cost little, small enough to yield to the event loop often. */
const BATCH_ROWS = 20_000;
const PROGRESS_MS = 100;
/** Rows between two looks at a synchronous cancel flag inside a batch. */
const CANCEL_CHECK_ROWS = 256;
/** Problems of one volume's walk kept in its error line; the rest are counted. */
const MAX_PROBLEMS = 3;

export interface IndexOptions {
  onProgress?: (p: IndexProgress) => void;
  signal?: AbortSignal;
  /**
   * A cancel flag read without the event loop (a job worker's shared flag): looked at inside a
   * walk's batches too, so a cancel lands within a few hundred files.
   */
  cancelled?: () => boolean;
  /** Index again even when the source key is the same. */
  force?: boolean;
  /** Opens a disk of an entry (tests count opens through it); default openCatalogDisk. */
  openDisk?: (disk: DiskAt) => Chain;
}

/** A disk of an entry to open: its name and the file that is the top of its chain. */
export interface EntryDisk {
  name: string;
  /** The archived link (0 = the top; a --keep-chain archive's disk is indexed at each of its links). */
  link: number;
  file: string | null;
  /** Why there is no file to open. */
  problem: string | null;
  /** Set for an archive's disk: it is read through the archive (chunk-checked), at this archived link. */
  archive?: DiskAt['archive'];
}

/** What an entry's index is keyed by, and the disks to open; read from the catalog alone (no file is opened). */
export interface IndexPlan {
  key: string;
  disks: EntryDisk[];
}

interface ManifestDisk {
  name?: unknown;
  links?: Array<{ descriptor?: unknown }>;
}

export class FileIndexer {
  private readonly files: FileStore;
  private lastProgress = 0;
  private runFiles = 0;
  private readBytes = 0;

  constructor(
    private readonly store: CatalogStore,
    private readonly options: IndexOptions = {},
  ) {
    this.files = new FileStore(store.db);
  }

  async run(ids: number[]): Promise<IndexSummary> {
    const started = Date.now();
    const summary: IndexSummary = { entries: [], indexed: 0, unchanged: 0, skipped: 0, failed: 0, files: 0, elapsedMs: 0 };
    for (const [done, id] of ids.entries()) {
      this.checkCancelled();
      const result = await this.indexEntry(id, done, ids.length);
      summary.entries.push(result);
      summary[result.outcome]++;
      summary.files += result.outcome === 'indexed' ? result.files : 0;
    }
    summary.elapsedMs = Date.now() - started;
    return summary;
  }

  private async indexEntry(id: number, done: number, total: number): Promise<IndexEntryResult> {
    const entry = this.store.summary(id);
    if (!entry) throw new DiskchainError('E_NOTFOUND', `no entry ${id} in the catalog`, this.store.db.name);
    const result = (outcome: IndexEntryResult['outcome'], reason: string | null): IndexEntryResult => {
      const volumes = this.files.volumes(id);
      return { id, path: entry.path, outcome, reason, volumes, files: volumes.reduce((n, v) => n + v.files, 0) };
    };
    this.progress({ id, path: entry.path, entriesDone: done, entriesTotal: total, disk: '', volume: '', volumeFiles: 0, files: this.runFiles, readBytes: this.readBytes }, false);
    if (entry.status === 'missing') return result('skipped', 'not found at the last scan');
    if (entry.error !== null) return result('skipped', `did not read at the last scan: ${entry.error}`);
    let plan: IndexPlan;
    try {
      plan = planEntry(this.store, entry);
    } catch (e) {
      if (!(e instanceof DiskchainError)) throw e;
      return result('skipped', e.message);
    }
    if (this.options.force !== true && this.files.indexedKey(id) === plan.key) return result('unchanged', null);
    this.files.dropIncomplete(id);
    let opened = 0;
    try {
      for (const disk of plan.disks) {
        if (await this.indexDisk(entry, disk, plan.key, done, total)) opened++;
      }
    } catch (e) {
      this.files.forgetCached();
      this.files.dropIncomplete(id);
      throw e;
    }
    if (opened === 0) {
      // Nothing could be opened: keep what an earlier index found (the files may come back).
      const reason = this.newVolumes(id).map((v) => `${v.disk}: ${v.error ?? ''}`).join('; ');
      this.files.dropIncomplete(id);
      return result('failed', reason || 'no disk to open');
    }
    this.files.commitEntry(id);
    return result('indexed', null);
  }

  private newVolumes(entryId: number): Array<{ disk: string; error: string | null }> {
    return this.store.db
      .prepare<[number], { disk: string; error: string | null }>('SELECT disk, error FROM file_volumes WHERE entry_id = ? AND complete = 0 ORDER BY id')
      .all(entryId);
  }

  /** Returns whether the disk opened. */
  private async indexDisk(entry: EntrySummary, disk: EntryDisk, key: string, done: number, total: number): Promise<boolean> {
    const record = (volume: string, error: string, v?: Volume): void => {
      const volumeId = this.files.startVolume({
        entryId: entry.id,
        disk: disk.name,
        link: disk.link,
        volume,
        fileSystem: v?.fileSystem ?? null,
        label: v?.label ?? null,
        sourceKey: key,
        now: Date.now(),
      });
      this.files.finishVolume(volumeId, 0, error);
    };
    this.checkCancelled();
    if (disk.file === null) {
      record('', disk.problem ?? 'no file to open');
      return false;
    }
    let chain: Chain;
    try {
      chain = (this.options.openDisk ?? openCatalogDisk)({ file: disk.file, ...(disk.archive ? { archive: disk.archive } : {}) });
    } catch (e) {
      if (!(e instanceof DiskchainError)) throw e;
      record('', oneLine(disk.file, e));
      return false;
    }
    try {
      const device = this.counted(chainDevice(chain));
      let volumes: Volume[];
      try {
        const found = readVolumes(device);
        volumes = found.volumes;
        if (volumes.length === 0) record('', found.notes.join('; ') || 'no volumes');
      } catch (e) {
        if (!(e instanceof DiskchainError)) throw e;
        record('', oneLine(disk.file, e));
        return true;
      }
      for (const v of volumes) {
        const volume = String(v.index);
        if (v.fileSystem === null) {
          record(volume, v.content ?? (v.notes[0] || `no file system Diskchain knows (type ${v.type})`), v);
          continue;
        }
        await this.indexVolume(entry, disk, device, v, key, done, total);
      }
      return true;
    } finally {
      chain.close();
    }
  }

  private async indexVolume(entry: EntrySummary, disk: EntryDisk, device: BlockDevice, v: Volume, key: string, done: number, total: number): Promise<void> {
    this.checkCancelled();
    const volume = String(v.index);
    const volumeId = this.files.startVolume({ entryId: entry.id, disk: disk.name, link: disk.link, volume, fileSystem: v.fileSystem, label: v.label, sourceKey: key, now: Date.now() });
    const problems: string[] = [];
    let problemCount = 0;
    let count = 0;
    // A batch that throws is rolled back: only what was committed is counted.
    let committed = 0;
    let error: string | null = null;
    let label: string | null = null;
    try {
      const guest: GuestFileSystem = openFileSystem(device, volume);
      label = guest.label;
      const walk = walkGuest(guest, guest.root(), '/', (p) => {
        if (++problemCount <= MAX_PROBLEMS) problems.push(`${p.path}: ${p.message}`);
      });
      const batch = this.store.db.transaction((): boolean => {
        for (let i = 0; i < BATCH_ROWS; i++) {
          if (i % CANCEL_CHECK_ROWS === CANCEL_CHECK_ROWS - 1) this.checkCancelled();
          const next = walk.next();
          if (next.done) return true;
          this.files.addRow(volumeId, rowOf(next.value));
          count++;
        }
        return false;
      });
      const progress = { id: entry.id, path: entry.path, entriesDone: done, entriesTotal: total, disk: disk.name, volume };
      for (;;) {
        const before = count;
        const finished = batch();
        committed = count;
        this.runFiles += count - before;
        this.progress({ ...progress, volumeFiles: count, files: this.runFiles, readBytes: this.readBytes }, finished);
        if (finished) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.checkCancelled();
      }
    } catch (e) {
      if (!(e instanceof DiskchainError) || e.code === 'E_CANCELLED') throw e;
      this.files.forgetCached();
      error = (committed > 0 ? `read in part (${committed} files): ` : '') + e.message;
    }
    if (problemCount > 0) {
      const more = problemCount > MAX_PROBLEMS ? `; and ${problemCount - MAX_PROBLEMS} more` : '';
      error = [error, `${problemCount} folder${problemCount === 1 ? '' : 's'} not read: ${problems.join('; ')}${more}`].filter(Boolean).join('; ');
    }
    this.files.finishVolume(volumeId, committed, error, label);
  }

  private progress(p: IndexProgress, force: boolean): void {
    const now = Date.now();
    if (!this.options.onProgress || (!force && now - this.lastProgress < PROGRESS_MS)) return;
    this.lastProgress = now;
    this.options.onProgress(p);
  }

  /** The device, counting the bytes read through it (for progress). */
  private counted(device: BlockDevice): BlockDevice {
    return {
      ...device,
      read: (buf, offset) => {
        device.read(buf, offset);
        this.readBytes += buf.length;
      },
    };
  }

  private checkCancelled(): void {
    if (this.options.signal?.aborted || this.options.cancelled?.()) throw new DiskchainError('E_CANCELLED', 'index cancelled (entries indexed so far are kept)');
  }
}

function rowOf(item: WalkItem): FileRow {
  const cut = item.path.lastIndexOf('/');
  const e = item.entry;
  return {
    dir: cut <= 0 ? '/' : item.path.slice(0, cut),
    name: e.name,
    kind: e.type satisfies FileKind,
    size: e.size,
    mtimeMs: e.mtimeMs === null ? null : Math.round(e.mtimeMs),
    ctimeMs: e.ctimeMs === null || e.ctimeMs === undefined ? null : Math.round(e.ctimeMs),
  };
}

/** The source key and disks of an entry, from what the catalog recorded (archives) or a stat (loose disks). */
export function planEntry(store: CatalogStore, entry: EntrySummary): IndexPlan {
  if (entry.type === 'archive') {
    const manifest = store.manifestText(entry.id);
    if (manifest === null) throw new DiskchainError('E_FORMAT', 'its manifest was not read: run catalog scan on it again', entry.path);
    const disks = archiveDisks(store, entry);
    // Catalogs indexed before links were indexed read a --keep-chain archive at its top only: the new key indexes it again.
    const links = disks.some((d) => d.link > 0) ? ':links' : '';
    return { key: `manifest${links}:${sha256(manifest)}`, disks };
  }
  const files = store.files(entry.id).filter((f) => f.role !== 'missing');
  const stats = files.map((f) => {
    try {
      const s = fs.statSync(f.path);
      return [f.path, s.size, s.mtimeMs];
    } catch (e) {
      throw new DiskchainError('E_NOTFOUND', `cannot stat it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, f.path);
    }
  });
  const cid = store.diskDetail(entry.id)?.cid ?? null;
  return { key: `disk:${sha256(JSON.stringify({ stats, cid }))}`, disks: [{ name: entry.name, link: 0, file: entry.path, problem: null }] };
}

/** Each disk of an archive at each archived link (a flattened disk has one; --keep-chain one per source link, top first). */
function archiveDisks(store: CatalogStore, entry: EntrySummary): EntryDisk[] {
  const detail = store.archiveDetail(entry.id);
  return (detail?.disks ?? []).flatMap((d): EntryDisk[] => {
    const m = d.manifest as ManifestDisk;
    const links = m.links ?? [];
    if (links.length === 0) return [{ name: d.name, link: 0, file: null, problem: 'the manifest names no descriptor for this disk' }];
    return links.map((l, link): EntryDisk => {
      const descriptor = l.descriptor;
      if (typeof descriptor !== 'string') return { name: d.name, link, file: null, problem: 'the manifest names no descriptor for this disk' };
      const file = archiveFilePath(entry.path, descriptor);
      if (file === null) return { name: d.name, link, file: null, problem: `descriptor name "${descriptor}" leaves the archive folder: not opened` };
      return { name: d.name, link, file, problem: null, archive: { path: entry.path, disk: d.name, at: link } };
    });
  });
}

/** The names a user may give an archived disk: its name in the manifest (the top link's stem) and its base link's stem (`sys` for `sys-000001`). */
export function archiveDiskAliases(store: CatalogStore, entry: EntrySummary): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (entry.type !== 'archive') return out;
  for (const d of store.archiveDetail(entry.id)?.disks ?? []) {
    const links = (d.manifest as ManifestDisk).links ?? [];
    const base = links.at(-1)?.descriptor;
    out.set(d.name, typeof base === 'string' ? [d.name, diskStem(base)] : [d.name]);
  }
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
