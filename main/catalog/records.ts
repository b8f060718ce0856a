/**
 * Reading one disk or one archive into the record the store writes. Disks are read through the
 * engine (openChain, the Layer interface), never through a format's internals; nothing is written,
 * locked or touched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { Geometry, Problem } from '../../shared/types.js';
import { Chain, openChain, resolveParent } from '../disk/chain.js';
import { damageError, linksDamage } from '../disk/damage.js';
import { adapterTypeOf, geometryReport } from '../disk/geometry.js';
import { layerInfo } from '../disk/info.js';
import { openLink, type Link } from '../disk/link.js';
import {
  archiveFilePath,
  archiveVmName,
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  parseManifest,
  type Manifest,
} from './manifest.js';
import type { CatalogFile, EntryHealth, FileRole } from './types.js';

export interface FileStat {
  bytes: number;
  mtimeMs: number;
}

/** Stats of regular files, looked up once per folder; null for what is not a regular file. */
export class StatCache {
  private readonly stats = new Map<string, FileStat | null>();

  set(file: string, stat: FileStat | null): void {
    this.stats.set(file, stat);
  }

  get(file: string): FileStat | null {
    let stat = this.stats.get(file);
    if (stat === undefined) {
      stat = statFile(file);
      this.stats.set(file, stat);
    }
    return stat;
  }
}

export function statFile(file: string): FileStat | null {
  try {
    const s = fs.statSync(file);
    return s.isFile() ? { bytes: s.size, mtimeMs: s.mtimeMs } : null;
  } catch {
    return null;
  }
}

/** True when every file an entry was read from still has the size and mtime it had then. */
export function filesUnchanged(files: CatalogFile[], stats: StatCache): boolean {
  return files.every((f) => {
    const now = stats.get(f.path);
    if (f.role === 'missing') return now === null;
    return now !== null && now.bytes === f.bytes && now.mtimeMs === f.mtimeMs;
  });
}

export interface DiskDetailRecord {
  adapterType: string;
  geometry: Geometry;
  geometrySource: string;
  cid: string | null;
  parentCid: string | null;
  parentPath: string | null;
  chain: string[];
  problems: Problem[];
}

interface RecordBase {
  path: string;
  name: string;
  kind: string | null;
  capacityBytes: number | null;
  allocatedBytes: number | null;
  sizeBytes: number;
  mtimeMs: number;
  dateMs: number;
  error: string | null;
  /** The status this read found (an archive's is completed with its verify by the store). */
  health: EntryHealth;
  /** Why it is not ok, one line. */
  note: string | null;
  files: CatalogFile[];
}

export interface DiskRecord extends RecordBase {
  type: 'disk';
  detail: DiskDetailRecord | null;
}

export interface ArchiveRecord extends RecordBase {
  type: 'archive';
  vmName: string | null;
  manifestText: string | null;
  manifest: Manifest | null;
  /** Each file the manifest lists, by name: its stat now, null when it is not there. */
  fileStats: Map<string, FileStat | null>;
}

export type EntryRecord = DiskRecord | ArchiveRecord;

/**
 * Reads a disk: its own files, its chain (parents' files are dependencies too), geometry, allocation,
 * and its status: damaged when the engine's one verdict (damage.ts) finds lost data in any link,
 * chain-broken when a parent does not resolve or its CID does not match.
 */
export function readDisk(file: string, stats: StatCache): DiskRecord {
  let chain: Chain | null = null;
  let chainFailure: unknown = null;
  try {
    chain = openChain(file, { ignoreCid: true, acceptDamage: true });
  } catch (e) {
    chainFailure = e;
  }
  if (chain) {
    try {
      const record = diskFromChain(file, chain, stats);
      const damage = linksDamage(chain.links);
      const cid = chain.problems.find((p) => p.severity === 'error');
      if (damage) {
        const message = damageError(file, damage, chain.capacityBytes).message;
        record.detail?.problems.push({ severity: 'error', file, message });
        record.health = 'damaged';
        record.note = message;
      } else if (cid) {
        record.health = 'chain-broken';
        record.note = cid.message;
      }
      return record;
    } finally {
      chain.close();
    }
  }
  // The chain did not open (a parent is missing, say): record the link itself and say why.
  let link: Link;
  try {
    link = openLink(file);
  } catch (e) {
    return errorDisk(file, stats, e);
  }
  try {
    const record = diskFromChain(file, new Chain([link], [problemOf(file, chainFailure)]), stats);
    record.health = 'chain-broken';
    record.note = oneLine(file, chainFailure);
    return record;
  } finally {
    link.data.close();
  }
}

function diskFromChain(file: string, chain: Chain, stats: StatCache): DiskRecord {
  const top = chain.top;
  const self = stats.get(file);
  const files = new FileList(stats);
  files.add(file, 'self');
  for (const p of extentFiles(top)) files.add(p, 'extent');
  for (const link of chain.links.slice(1)) {
    files.add(link.path, 'chain');
    for (const p of extentFiles(link)) files.add(p, 'chain');
  }
  const problems: Problem[] = [...chain.problems];
  let allocatedBytes: number | null = null;
  let cid: string | null = null;
  let parentCid: string | null = null;
  try {
    const layer = layerInfo(top);
    allocatedBytes = layer.allocatedBytes;
    cid = layer.cid;
    parentCid = layer.parentCid;
  } catch (e) {
    problems.push(problemOf(file, e));
  }
  for (const w of top.warnings) problems.push({ severity: 'warning', file, message: w });
  const geometry = geometryReport(chain);
  const mtimeMs = self?.mtimeMs ?? 0;
  return {
    type: 'disk',
    path: file,
    name: path.basename(file),
    kind: top.createType,
    capacityBytes: chain.capacityBytes,
    allocatedBytes,
    sizeBytes: files.ownBytes(),
    mtimeMs,
    dateMs: Math.floor(mtimeMs),
    error: null,
    health: 'ok',
    note: null,
    files: files.list(),
    detail: {
      adapterType: adapterTypeOf(chain),
      geometry: geometry.geometry,
      geometrySource: geometry.source,
      cid,
      parentCid,
      parentPath: chain.links[1]?.path ?? unresolvedParent(top),
      chain: chain.links.map((l) => l.path),
      problems,
    },
  };
}

/**
 * The files a link's extents live in. A sparse file with an embedded descriptor and one extent is
 * its own extent, whatever name the descriptor gives (a copied or renamed monolithicSparse still
 * names its old self; link.ts reads it that way too).
 */
function extentFiles(link: Link): string[] {
  const embedded = link.descriptor !== null && Object.keys(link.header).length > 0;
  if (embedded && link.extents.length === 1) return [];
  return link.extents.map((e) => e.path).filter((p): p is string => p !== null);
}

/** A parent that is named but not found is not a path we can record; the problem says which. */
function unresolvedParent(link: Link): string | null {
  if (!link.parent) return null;
  try {
    return resolveParent(link);
  } catch {
    return null;
  }
}

function errorDisk(file: string, stats: StatCache, e: unknown): DiskRecord {
  const self = stats.get(file);
  const mtimeMs = self?.mtimeMs ?? 0;
  const error = oneLine(file, e);
  return {
    type: 'disk',
    path: file,
    name: path.basename(file),
    kind: null,
    capacityBytes: null,
    allocatedBytes: null,
    sizeBytes: self?.bytes ?? 0,
    mtimeMs,
    dateMs: Math.floor(mtimeMs),
    error,
    health: 'error',
    note: error,
    files: self ? [{ path: file, role: 'self', bytes: self.bytes, mtimeMs: self.mtimeMs }] : [],
    detail: null,
  };
}

/** Reads an archive folder's manifest and the sizes of the files it lists (their hashes are verify's job). */
export function readArchive(dir: string, stats: StatCache): ArchiveRecord {
  const manifestPath = path.join(dir, MANIFEST_NAME);
  const self = stats.get(manifestPath);
  const mtimeMs = self?.mtimeMs ?? 0;
  const record: ArchiveRecord = {
    type: 'archive',
    path: dir,
    name: path.basename(dir),
    kind: 'archive',
    vmName: null,
    capacityBytes: null,
    allocatedBytes: null,
    sizeBytes: self?.bytes ?? 0,
    mtimeMs,
    dateMs: Math.floor(mtimeMs),
    error: null,
    health: 'unverified',
    note: null,
    files: self ? [{ path: manifestPath, role: 'self', bytes: self.bytes, mtimeMs: self.mtimeMs }] : [],
    manifestText: null,
    manifest: null,
    fileStats: new Map(),
  };
  try {
    if (!self) throw new DiskchainError('E_NOTFOUND', 'manifest.json is not a readable file', manifestPath);
    if (self.bytes > MAX_MANIFEST_BYTES) {
      throw new DiskchainError('E_FORMAT', `a ${self.bytes}-byte manifest is too large to be one`, manifestPath);
    }
    record.manifestText = fs.readFileSync(manifestPath, 'utf8');
    const manifest = parseManifest(record.manifestText, manifestPath);
    record.manifest = manifest;
    record.vmName = archiveVmName(manifest);
    record.dateMs = Date.parse(manifest.createdAt);
    record.capacityBytes = manifest.disks.reduce((sum, d) => sum + d.capacityBytes, 0);
    // The archive's files are its dependencies too: a rescan re-reads it when one of them changed.
    for (const f of manifest.files) {
      const filePath = archiveFilePath(dir, f.name);
      const stat = filePath === null ? null : stats.get(filePath);
      record.fileStats.set(f.name, stat);
      record.sizeBytes += stat?.bytes ?? 0;
      if (filePath === null || filePath === manifestPath) continue;
      record.files.push(
        stat === null ? { path: filePath, role: 'missing', bytes: 0, mtimeMs: 0 } : { path: filePath, role: 'extent', bytes: stat.bytes, mtimeMs: stat.mtimeMs },
      );
    }
  } catch (e) {
    record.error = oneLine(manifestPath, e);
    record.health = 'error';
    record.note = record.error;
  }
  return record;
}

/** Collects an entry's files once each, with their stats; files that are not here are left out. */
class FileList {
  private readonly files = new Map<string, CatalogFile>();

  constructor(private readonly stats: StatCache) {}

  add(file: string, role: FileRole): void {
    if (this.files.has(file)) return;
    const stat = this.stats.get(file);
    if (stat) this.files.set(file, { path: file, role, bytes: stat.bytes, mtimeMs: stat.mtimeMs });
  }

  list(): CatalogFile[] {
    return [...this.files.values()];
  }

  /** Bytes of the entry's own files (itself and its extents, not its parents'). */
  ownBytes(): number {
    let total = 0;
    for (const f of this.files.values()) if (f.role !== 'chain') total += f.bytes;
    return total;
  }
}

function problemOf(file: string, e: unknown): Problem {
  return { severity: 'error', file: e instanceof DiskchainError && e.file ? e.file : file, message: messageOf(e) };
}

function messageOf(e: unknown): string {
  if (e instanceof DiskchainError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

/** The error as one line; when it concerns another file (an extent, a parent) that file is named. */
export function oneLine(file: string, e: unknown): string {
  const message = messageOf(e).split('\n')[0]!;
  if (e instanceof DiskchainError && e.file && path.resolve(e.file) !== path.resolve(file)) {
    return `${path.basename(e.file)}: ${message}`;
  }
  return message;
}
