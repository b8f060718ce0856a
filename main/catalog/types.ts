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


export type { FileKind, FilePage, FileQuery, FileVersion, IndexEntryResult, IndexedVolume, IndexOutcome, IndexProgress, IndexSummary } from '../../shared/catalog-files.js';
