/**
 * The file catalog's answers (issue 11), shared by the catalog, the CLI's `--json`, the IPC
 * contract and the app: what `catalog index` recorded and what `catalog find` returns.
 */

/** A loose disk (one chain link) or an archive folder. */
type EntryType = 'disk' | 'archive';

/** What a guest file system entry is, as the file catalog keeps it. */
export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

/** One volume of a disk of an entry, as `catalog index` left it. */
export interface IndexedVolume {
  /** The disk's name in the archive's manifest, or the loose disk's file name. */
  disk: string;
  /** The archived link it was read at: 0 = the top; a --keep-chain archive is indexed at every link (1 = the top's parent…). */
  link: number;
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
  /** Files listed so far in this volume, and by the whole run; disk and volume are empty before the entry's first volume. */
  volumeFiles: number;
  files: number;
  /** Bytes the run read from disks so far (what the file system walks asked for). */
  readBytes: number;
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
  /** The archived link (0 = the top): a --keep-chain archive holds a version of the guest at each link. */
  link: number;
  volume: string;
  path: string;
  kind: FileKind;
  size: number;
  mtime: string | null;
  ctime: string | null;
  /**
   * What `catalog get` takes to restore this version: ID:/path, or ID:DISK:VOL:/path when the entry
   * has several volumes; ID@N:… at archived link N > 0 (`catalog get --at N` says the same).
   */
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
