/**
 * What the catalog returns: the CLI's `catalog … --json` prints these objects and the desktop app
 * shows them. No node: imports here, so the file can move to shared/ with the IPC contract.
 */
import type { EntryStatus } from '../../shared/catalog-status.js';
import type { Geometry, Problem } from '../../shared/types.js';

export type EntryType = 'disk' | 'archive';

export { ENTRY_STATUSES, parseStatus, statusLabel, type EntryStatus } from '../../shared/catalog-status.js';
/** The status a scan or verify computed (shared/catalog-status.ts says what each means); `missing` is the entry's presence, kept apart. */
export type EntryHealth = Exclude<EntryStatus, 'missing'>;

/** One row of `catalog list` / `catalog search`: a loose disk (one chain link) or an archive folder. */
export interface EntrySummary {
  id: number;
  type: EntryType;
  /** Absolute path: the disk file, or the archive's folder. */
  path: string;
  name: string;
  /** createType of a disk (`cowd`, `raw` for bare files), `archive` for an archive; null when it did not open. */
  kind: string | null;
  vmName: string | null;
  /** Virtual size; for an archive the sum of its disks. */
  capacityBytes: number | null;
  /** Bytes this link holds (grains or flat data); for an archive, null. */
  allocatedBytes: number | null;
  /** Bytes of its files on disk (the descriptor and its extents; every file of an archive). */
  sizeBytes: number;
  /** What date filters compare: an archive's createdAt, a disk's modification time (ISO 8601). */
  date: string;
  status: EntryStatus;
  /** Why the status is not ok, one line (the lost ranges, the missing parent, the files concerned). */
  statusNote: string | null;
  /** Why it did not open or read (status `error`), one line. */
  error: string | null;
  firstSeen: string;
  lastSeen: string;
  missingSince: string | null;
}

export type FileRole = 'self' | 'extent' | 'chain' | 'missing';

/** A file an entry was read from; a rescan re-reads the entry only when one of these changed. */
export interface CatalogFile {
  path: string;
  /**
   * self: the file named; extent: a file its descriptor (or manifest) names; chain: a parent link's
   * file; missing: a file its manifest names that was not there (bytes and mtimeMs 0).
   */
  role: FileRole;
  bytes: number;
  mtimeMs: number;
}

export interface DiskDetail {
  createType: string;
  adapterType: string | null;
  geometry: Geometry | null;
  geometrySource: string | null;
  cid: string | null;
  parentCid: string | null;
  /** The parent link's file as resolved at scan time; null for a base disk or an unresolved parent. */
  parentPath: string | null;
  /** The catalog id of the parent, when it is catalogued too. */
  parentId: number | null;
  /** Catalogued disks whose parent is this one. */
  childIds: number[];
  /** Every link's file, this one first, the base last. */
  chain: string[];
  problems: Problem[];
}

export interface ArchiveFileRecord {
  name: string;
  bytes: number;
  sha256: string;
}

/** What the last scan or verify found wrong with one archive file. */
export type ArchiveFileState = 'missing' | 'changed' | 'changed-since-verify';

export interface ArchiveFileDetail extends ArchiveFileRecord {
  /** null: nothing known against it. */
  state: ArchiveFileState | null;
}

export interface ArchiveDiskRecord {
  name: string;
  sourcePath: string | null;
  kind: string | null;
  capacityBytes: number | null;
  adapterType: string | null;
  contentSha256: string | null;
  /** The manifest's object for this disk, as written by `diskchain backup`. */
  manifest: Record<string, unknown>;
}

export interface ArchiveDetail {
  createdAt: string | null;
  sourceKind: string | null;
  sourcePath: string | null;
  tool: string | null;
  files: ArchiveFileDetail[];
  disks: ArchiveDiskRecord[];
  /** The manifest as recorded at scan time (null when it could not be parsed). */
  manifest: Record<string, unknown> | null;
  lastVerify: VerifyReport | null;
}

export interface EntryDetail extends EntrySummary {
  files: CatalogFile[];
  disk: DiskDetail | null;
  archive: ArchiveDetail | null;
}

/** Filters of `catalog search`; all optional, combined with AND. */
export interface EntryQuery {
  /** Words matched against names, VM names and folders (each word as a prefix, all must match). */
  text?: string;
  type?: EntryType;
  /** createType (case-insensitive), or `archive`; an archive matches the kinds of the disks it holds. */
  kind?: string;
  /** Words matched against the VM name. */
  vm?: string;
  status?: EntryStatus;
  /** ISO date (local midnight), ISO date-time, or a span back from now: 90m, 12h, 7d, 2w. */
  since?: string;
  /** Like since; a bare date includes the whole day. */
  until?: string;
  minCapacityBytes?: number;
  maxCapacityBytes?: number;
  minSizeBytes?: number;
  maxSizeBytes?: number;
  /** Default 100, at most 1000 per page. */
  limit?: number;
  offset?: number;
}

export interface CatalogPage {
  entries: EntrySummary[];
  offset: number;
  limit: number;
  /** Whether rows follow this page. */
  more: boolean;
}

export interface ScanProgress {
  directories: number;
  /** Candidate files seen (disks, manifests). */
  files: number;
  /** Entries read (new or changed). */
  read: number;
  unchanged: number;
  errors: number;
  /** The folder being scanned. */
  path: string;
}

export interface ScanCounts {
  added: number;
  changed: number;
  unchanged: number;
}

export interface ScanSummary {
  scanId: number;
  roots: string[];
  /** Roots given that are inside another root (or the same folder): scanned as part of it. */
  merged: Array<{ root: string; into: string; same: boolean }>;
  directories: number;
  disks: ScanCounts;
  archives: ScanCounts;
  /** Entries under the roots marked missing by this scan. */
  missing: number;
  /** Entries that were missing and are back. */
  reappeared: number;
  /** Files that did not read (recorded with status `error`) and folders that could not be listed. */
  errors: Array<{ path: string; message: string }>;
  /** Errors past the first 1000 are counted, not listed. */
  errorCount: number;
  elapsedMs: number;
}

export type VerifyProblemKind = 'missing' | 'changed' | 'unreadable' | 'unsafe-name';

export interface VerifyProblem {
  /** File name inside the archive (`manifest.json` for the manifest itself, empty for the folder). */
  name: string;
  problem: VerifyProblemKind;
  message: string;
}

export interface VerifyReport {
  id: number;
  path: string;
  ok: boolean;
  /** Files whose hash was computed. */
  checkedFiles: number;
  bytesHashed: number;
  problems: VerifyProblem[];
  verifiedAt: string;
}

export interface VerifyProgress {
  id: number;
  /** The file being hashed. */
  name: string;
  doneBytes: number;
  totalBytes: number;
}

/** What a guest file system entry is, as the file catalog keeps it. */
export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

/** One volume of a disk of an entry, as `catalog index` left it. */
export interface IndexedVolume {
  /** The disk's name in the archive's manifest, or the loose disk's file name. */
  disk: string;
  /** The partition number or LV (`vg0/root`) as `diskchain parts` shows it; empty when the disk did not open. */
  volume: string;
  fileSystem: string | null;
  label: string | null;
  files: number;
  /** Why it was not read (or not completely): BitLocker, swap, no reader, a damaged folder. */
  error: string | null;
  indexedAt: string;
}

export type IndexOutcome = 'indexed' | 'unchanged' | 'skipped' | 'failed';

export interface IndexEntryResult {
  id: number;
  path: string;
  outcome: IndexOutcome;
  /** Why it was skipped or failed, one line. */
  reason: string | null;
  volumes: IndexedVolume[];
  files: number;
}

export interface IndexSummary {
  entries: IndexEntryResult[];
  indexed: number;
  unchanged: number;
  skipped: number;
  failed: number;
  /** Files listed by this run (unchanged entries not counted). */
  files: number;
  elapsedMs: number;
}

export interface IndexProgress {
  /** The entry being indexed and its place in the run. */
  id: number;
  path: string;
  entriesDone: number;
  entriesTotal: number;
  disk: string;
  volume: string;
  /** Files listed so far in this volume, and by the whole run. */
  volumeFiles: number;
  files: number;
}

/** Filters of `catalog find`; all but the pattern optional, combined with AND. */
export interface FileQuery {
  /**
   * Words matched against file names, each as the start of a word of the name ("nginx conf",
   * "ngi"), or a glob over the whole name when it holds * ? or [ ("*.conf", "access.log.?").
   * Case is ignored.
   */
  pattern: string;
  /** A glob over the whole path in the volume (`/etc/nginx/*`; * also crosses '/'). */
  path?: string;
  /** Words of the VM name. */
  vm?: string;
  /** Only versions in archives (or disks) dated from / before: as `catalog search --since/--until`. */
  since?: string;
  until?: string;
  minSizeBytes?: number;
  maxSizeBytes?: number;
  /** Only this entry's files (the app's per-archive view). */
  entryId?: number;
  /** Default 1000, at most 10000. */
  limit?: number;
  offset?: number;
}

/** One version of one file: where it is (entry, disk, volume, path) and what it was there. */
export interface FileVersion {
  entryId: number;
  entryType: EntryType;
  entryName: string;
  vmName: string | null;
  /** The entry's date (an archive's createdAt, a disk's modification time), ISO 8601: versions sort by it. */
  date: string;
  disk: string;
  volume: string;
  path: string;
  kind: FileKind;
  size: number;
  mtime: string | null;
  ctime: string | null;
  /** What `catalog get` takes to restore this version: ID:/path, or ID:DISK:VOL:/path when the entry has several volumes. */
  ref: string;
  /**
   * Whether size or mtime differ from the next older version of the same path (same VM); null
   * for the oldest version shown.
   */
  changed: boolean | null;
}

export interface FilePage {
  versions: FileVersion[];
  offset: number;
  limit: number;
  more: boolean;
}
