/**
 * `catalog scan`: walk folders, find archives (a folder with manifest.json) and loose disks
 * (descriptors, sparse and COWD files, REDO logs, .dsk), and bring the catalog up to date.
 *
 * Incremental: an entry whose files (itself, its extents, its parents' files) all have the size
 * and mtime recorded last time is not read again. Entries under a scanned root that were not
 * seen become `missing`; nothing is deleted, except an entry that turned out to be an extent of
 * another disk (its descriptor appeared). Writes are batched into short transactions, so readers
 * (WAL) see the catalog fill in while the scan runs, and the event loop is yielded between batches.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { MANIFEST_NAME } from './manifest.js';
import { filesUnchanged, readArchive, readDisk, StatCache, type EntryRecord } from './records.js';
import type { CatalogStore, KnownEntry } from './store.js';
import type { ScanCounts, ScanProgress, ScanSummary } from './types.js';
import { readVmx } from './vmx.js';

/** Names that can be a disk of their own: VMDK descriptors and sparse/COWD files, ESX 2 disks and REDO logs. */
const DISK_NAME = /\.(vmdk|dsk|redo)$/i;
/** Change-tracking files look like disks by name but are not. */
const NOT_A_DISK = /-ctk\.vmdk$/i;
/** Names VMware gives to extents; such a file is a disk only when no descriptor claims it. */
const EXTENT_NAME = /-(flat|delta|sesparse|s\d{3}|f\d{3}|rdm|rdmp)\.vmdk$/i;
const VMX_NAME = /\.vmx$/i;

/** Writes are committed in batches of about this many entries, or this often. */
const BATCH_ENTRIES = 500;
const BATCH_MS = 200;
const PROGRESS_MS = 100;
const MAX_LISTED_ERRORS = 1000;

export interface ScanOptions {
  onProgress?: (progress: ScanProgress) => void;
  signal?: AbortSignal;
}

interface Found {
  path: string;
  known: KnownEntry | null;
  /** null: unchanged since the last scan, not read. */
  record: EntryRecord | null;
  vmName: string | null;
}

export async function scan(store: CatalogStore, roots: string[], options: ScanOptions = {}): Promise<ScanSummary> {
  const resolved = resolveRoots(roots);
  const summary = await new Scanner(store, resolved.roots, options).run();
  return { ...summary, merged: resolved.merged };
}

/**
 * Absolute, real paths; every root must exist before anything is written. A root inside another
 * (or the same folder named twice) is scanned once, as part of the outer one; `merged` says which.
 */
export function resolveRoots(roots: string[]): { roots: string[]; merged: ScanSummary['merged'] } {
  if (roots.length === 0) throw new DiskchainError('E_USAGE', 'name at least one folder to scan');
  const real = roots.map((r) => {
    try {
      return fs.realpathSync(path.resolve(r));
    } catch {
      throw new DiskchainError('E_NOTFOUND', 'no such folder or file', r);
    }
  });
  const unique = [...new Set(real)].sort();
  const outerOf = (r: string): string | undefined =>
    unique.find((other) => other !== r && r.startsWith(other.endsWith(path.sep) ? other : other + path.sep));
  const kept = unique.filter((r) => outerOf(r) === undefined);
  const merged: ScanSummary['merged'] = [];
  const taken = new Set<string>();
  roots.forEach((given, i) => {
    const r = real[i]!;
    const into = outerOf(r) ?? (taken.has(r) ? r : undefined);
    taken.add(r);
    if (into === undefined) return;
    const outer = kept.find((k) => k === into || outerOf(into) === k || into.startsWith(k.endsWith(path.sep) ? k : k + path.sep)) ?? into;
    merged.push({ root: given, into: outer, same: outer === r });
  });
  return { roots: kept, merged };
}

class Scanner {
  private readonly startMs = Date.now();
  private readonly scanId: number;
  private readonly disks: ScanCounts = { added: 0, changed: 0, unchanged: 0 };
  private readonly archives: ScanCounts = { added: 0, changed: 0, unchanged: 0 };
  private readonly errors: Array<{ path: string; message: string }> = [];
  private errorCount = 0;
  private reappeared = 0;
  private directories = 0;
  private files = 0;
  private read = 0;
  private unreadableDirs: string[] = [];
  private pending: Array<() => void> = [];
  private lastFlush = Date.now();
  private lastProgress = 0;

  constructor(
    private readonly store: CatalogStore,
    private readonly roots: string[],
    private readonly options: ScanOptions,
  ) {
    this.scanId = store.db.transaction(() => store.startScan(roots, this.startMs))();
  }

  async run(): Promise<ScanSummary> {
    for (const root of this.roots) {
      if (isDirectory(root)) await this.walk(root);
      else this.scanFileRoot(root);
    }
    this.flush();
    // Only a scan that walked every root completely may call what it did not see missing.
    const now = Date.now();
    let missing = 0;
    this.store.db.transaction(() => {
      for (const dir of this.unreadableDirs) this.store.keepUnder(dir, this.scanId);
      for (const root of this.roots) missing += this.store.markMissingUnder(root, this.scanId, now);
      this.store.finishScan(this.scanId, now);
    }).immediate();
    this.store.optimize();
    this.progress('', true);
    return {
      scanId: this.scanId,
      roots: this.roots,
      merged: [],
      directories: this.directories,
      disks: this.disks,
      archives: this.archives,
      missing,
      reappeared: this.reappeared,
      errors: this.errors,
      errorCount: this.errorCount,
      elapsedMs: Date.now() - this.startMs,
    };
  }

  private async walk(root: string): Promise<void> {
    const stack = [root];
    while (stack.length > 0) {
      this.checkCancelled();
      const dir = stack.pop()!;
      let dirents: fs.Dirent[];
      try {
        dirents = fs.readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        this.unreadableDirs.push(dir);
        this.noteError(dir, `cannot list the folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        continue;
      }
      dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      this.directories++;
      const descend = this.scanDirectory(dir, dirents);
      if (descend) {
        // Real folders only: a symlink to a folder could loop back.
        for (let i = dirents.length - 1; i >= 0; i--) if (dirents[i]!.isDirectory()) stack.push(path.join(dir, dirents[i]!.name));
      }
      this.progress(dir, false);
      if (this.pending.length >= BATCH_ENTRIES || Date.now() - this.lastFlush >= BATCH_MS) {
        this.flush();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /** A root that is a file: that file alone (a disk, or an archive's manifest.json). */
  private scanFileRoot(file: string): void {
    const dir = path.dirname(file);
    const base = path.basename(file);
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new DiskchainError('E_IO', `cannot list its folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
    }
    dirents = dirents.filter((d) => d.name === base || (base !== MANIFEST_NAME && VMX_NAME.test(d.name)));
    this.directories++;
    if (base === MANIFEST_NAME) this.scanDirectory(dir, dirents);
    else this.scanDisks(dir, dirents, true);
  }

  /** Returns whether to descend: an archive folder is a leaf, its segments are not loose disks. */
  private scanDirectory(dir: string, dirents: fs.Dirent[]): boolean {
    const stats = new StatCache();
    const manifest = dirents.find((d) => d.name === MANIFEST_NAME && !d.isDirectory());
    if (manifest && stats.get(path.join(dir, MANIFEST_NAME)) !== null) {
      this.scanArchive(dir, stats);
      return false;
    }
    this.scanDisks(dir, dirents, false, stats);
    return true;
  }

  private scanArchive(dir: string, stats: StatCache): void {
    this.files++;
    const known = this.store.known(dir);
    const unchanged = known !== null && known.type === 'archive' && known.files.length > 0 && filesUnchanged(known.files, stats);
    const record = unchanged ? null : readArchive(dir, stats);
    const vmName = record?.type === 'archive' ? record.vmName : (known?.vmName ?? null);
    this.queue({ path: dir, known, record, vmName }, this.archives, path.basename(dir));
  }

  private scanDisks(dir: string, dirents: fs.Dirent[], single: boolean, stats = new StatCache()): void {
    const candidates: string[] = [];
    const vmxFiles: string[] = [];
    for (const d of dirents) {
      if (d.isDirectory()) continue;
      const full = path.join(dir, d.name);
      if (VMX_NAME.test(d.name)) vmxFiles.push(full);
      else if (DISK_NAME.test(d.name) && !NOT_A_DISK.test(d.name) && stats.get(full) !== null) candidates.push(full);
    }
    this.files += candidates.length;
    const found = new Map<string, Found>();
    const extents = new Set<string>();
    const evaluate = (file: string): void => {
      const f = this.evaluateDisk(file, stats);
      found.set(file, f);
      for (const x of f.record?.files ?? f.known?.files ?? []) if (x.role === 'extent') extents.add(x.path);
    };
    const names = new Set(candidates.map((c) => path.basename(c).toLowerCase()));
    const extentNamed = single ? [] : candidates.filter((c) => EXTENT_NAME.test(path.basename(c)));
    const extentNamedSet = new Set(extentNamed);
    for (const c of candidates) if (!extentNamedSet.has(c)) evaluate(c);
    const superseded: string[] = [];
    for (const c of extentNamed) {
      const ownerName = path.basename(c).replace(EXTENT_NAME, '.vmdk').toLowerCase();
      if (extents.has(c) || names.has(ownerName)) superseded.push(c);
      else evaluate(c);
    }
    for (const c of found.keys()) if (extents.has(c)) superseded.push(c);
    for (const c of superseded) {
      found.delete(c);
      const known = this.store.known(c);
      if (known) this.pending.push(() => this.store.forget(known.id));
    }
    assignVmNames(found, vmxFiles);
    for (const f of found.values()) this.queue(f, this.disks, path.basename(f.path));
  }

  private evaluateDisk(file: string, stats: StatCache): Found {
    const known = this.store.known(file);
    if (known !== null && known.type === 'disk' && known.files.length > 0 && filesUnchanged(known.files, stats)) {
      return { path: file, known, record: null, vmName: null };
    }
    return { path: file, known, record: readDisk(file, stats), vmName: null };
  }

  private queue(f: Found, counts: ScanCounts, ftsName: string): void {
    const { known, record, vmName } = f;
    if (known?.status === 'missing') this.reappeared++;
    if (record === null) {
      counts.unchanged++;
      this.pending.push(() => this.store.touchUnchanged(known!, this.scanId, Date.now(), vmName, ftsName, path.dirname(f.path)));
      return;
    }
    this.read++;
    if (record.error !== null) this.noteError(record.path, record.error);
    if (known) counts.changed++;
    else counts.added++;
    this.pending.push(() => this.store.write(record, known, this.scanId, Date.now(), vmName));
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const writes = this.pending;
    this.pending = [];
    // IMMEDIATE: take the write lock (waiting out another scan's batch) before reading what is known.
    this.store.db.transaction(() => {
      for (const w of writes) w();
    }).immediate();
    this.lastFlush = Date.now();
  }

  private noteError(file: string, message: string): void {
    this.errorCount++;
    if (this.errors.length < MAX_LISTED_ERRORS) this.errors.push({ path: file, message });
  }

  private progress(dir: string, final: boolean): void {
    const onProgress = this.options.onProgress;
    if (!onProgress) return;
    const now = Date.now();
    if (!final && now - this.lastProgress < PROGRESS_MS) return;
    this.lastProgress = now;
    onProgress({
      directories: this.directories,
      files: this.files,
      read: this.read,
      unchanged: this.disks.unchanged + this.archives.unchanged,
      errors: this.errorCount,
      path: dir,
    });
  }

  private checkCancelled(): void {
    if (this.options.signal?.aborted) {
      this.flush();
      throw new DiskchainError('E_CANCELLED', 'scan cancelled: what was read so far is kept, nothing was marked missing');
    }
  }
}

/**
 * A disk belongs to the VM whose .vmx in the same folder names it, or names a child of it
 * (the .vmx names the newest snapshot); with one .vmx in a folder, every disk there is its VM's.
 */
function assignVmNames(found: Map<string, Found>, vmxFiles: string[]): void {
  if (vmxFiles.length === 0) return;
  const vmxs = vmxFiles.map(readVmx).filter((v) => v !== null);
  for (const vmx of vmxs) {
    for (const disk of vmx.disks) {
      let f = found.get(disk);
      for (let depth = 0; f && f.vmName === null && depth < 256; depth++) {
        f.vmName = vmx.vmName;
        const parent = f.record?.type === 'disk' ? f.record.detail?.parentPath : f.known?.parentPath;
        f = parent ? found.get(parent) : undefined;
      }
    }
  }
  if (vmxs.length === 1) for (const f of found.values()) f.vmName ??= vmxs[0]!.vmName;
}

/** A root that vanished after it was resolved is scanned as a (missing) file: its entries become missing. */
function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
