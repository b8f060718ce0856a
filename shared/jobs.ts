/**
 * Jobs as data: the CLI, the worker threads and (later) the desktop app's IPC all pass these.
 */
import type { IndexSummary } from './catalog-files.js';

/** Output kinds of `convert` (issue 4). `vmfs` is descriptor + `-flat.vmdk`; `vmfsThin` the same, written sparse. */
export const DISK_KINDS = [
  'monolithicSparse',
  'twoGbMaxExtentSparse',
  'monolithicFlat',
  'twoGbMaxExtentFlat',
  'streamOptimized',
  'vmfs',
  'vmfsThin',
  'raw',
] as const;
export type DiskKind = (typeof DISK_KINDS)[number];

export const ADAPTERS = ['ide', 'buslogic', 'lsilogic', 'lsisas1068', 'pvscsi'] as const;
export type Adapter = (typeof ADAPTERS)[number];

export const TWO_GIB = 2 * 1024 * 1024 * 1024;
/** VMware's split size: 2047 MiB keeps every file, metadata included, under 2^31 bytes. */
export const DEFAULT_SEGMENT_BYTES = 4192256 * 512;
export const MAX_SEGMENT_BYTES = TWO_GIB;

export interface ConvertSpec {
  kind: 'convert';
  src: string;
  /** A file path, or '-' for stdout (raw and streamOptimized only). */
  dst: string;
  to: DiskKind;
  adapter?: Adapter;
  /** Largest extent file of split kinds; default and maximum 2 GiB. */
  segmentBytes?: number;
  /** zlib level for streamOptimized, 1..9. */
  compressLevel?: number;
  /** Leave out grains that read as zeros even when a link has them allocated (export does). */
  skipZeroGrains?: boolean;
  /** Replace existing output files, and copy a disk whose VMware lock files say it is in use. */
  force?: boolean;
  ignoreCid?: boolean;
  /** Read extents on host devices (/dev/…) that a descriptor names (`--allow-devices`). */
  allowDevices?: boolean;
}

export interface CommitSpec {
  kind: 'commit';
  top: string;
  /** Commit although the parent has other children, or VMware lock files say the disk is in use. */
  force?: boolean;
  /** Re-point a .vmx beside TOP that names it at what replaces it (default true). */
  updateVmx?: boolean;
}

export interface SnapshotSpec {
  kind: 'snapshot';
  disk: string;
  /** Snapshot a disk whose VMware lock files say it is in use. */
  force?: boolean;
  /** Re-point a .vmx beside the disk that names it at the new child (default true). */
  updateVmx?: boolean;
}

export interface ExtendSpec {
  kind: 'extend';
  disk: string;
  sizeBytes: number;
  /** Extend a disk whose VMware lock files say it is in use. */
  force?: boolean;
}

/** Kinds `restore --to` writes; without it each disk gets back the kind it had. */
export const RESTORE_KINDS = ['vmfs', 'twoGbMaxExtentSparse', 'monolithicSparse'] as const;
export type RestoreKind = (typeof RESTORE_KINDS)[number];

export interface BackupSpec {
  kind: 'backup';
  /** A .vmx (all its disks, the .vmx and the .nvram) or a single disk. */
  source: string;
  /** An archive folder (created if missing), or '-' for one tar stream on stdout. */
  archiveDir: string;
  /** Archive every chain link as its own segments instead of the flattened disk. */
  keepChain?: boolean;
  /** Back up a VM whose lock files say it is in use. */
  force?: boolean;
  ignoreCid?: boolean;
  /** Read extents on host devices (/dev/…) that a descriptor names (`--allow-devices`). */
  allowDevices?: boolean;
  /** Largest segment file; default 2047 MiB. */
  segmentBytes?: number;
}

export interface RestoreSpec {
  kind: 'restore';
  /** An archive folder, or '-' for a tar stream on stdin. */
  archiveDir: string;
  destDir: string;
  to?: RestoreKind;
}

/** `recover`: what a damaged disk still holds, copied into a new disk; lost ranges read as zeros there. */
export interface RecoverSpec {
  kind: 'recover';
  src: string;
  dst: string;
  /** Default: monolithicSparse (twoGbMaxExtentSparse above what one hosted sparse file holds). */
  to?: DiskKind;
  adapter?: Adapter;
  segmentBytes?: number;
  /** Replace existing output files. */
  force?: boolean;
  ignoreCid?: boolean;
  /** Read extents on host devices (/dev/…) that a descriptor names (`--allow-devices`). */
  allowDevices?: boolean;
}

/** Files or folders copied out of a guest file system (the app's Extract…, `diskchain get`'s copy code). */
export interface ExtractSpec {
  kind: 'extract';
  disk: string;
  /** Link of the chain to read the guest at (0 = the disk named). */
  at?: number;
  /** Partition number or LV name; omitted when the disk holds one file system. */
  volume?: string;
  /** Guest paths from the volume's root ("/etc/hosts"), each copied into destDir. */
  paths: string[];
  /** An existing folder. */
  destDir: string;
  ignoreCid?: boolean;
  /** A disk of a backup archive, by its name in its manifest: `disk` is then the archive (issue 11). */
  archiveDisk?: string;
}

/** A run of the disk recover could not read: `start` is the first LBA, `length` in 512-byte sectors. */
export interface LostSectors {
  start: number;
  length: number;
}

/** What recover saved and lost (`diskchain recover --json` prints this). Byte counts unless named otherwise. */
export interface RecoveryReport {
  /** In LBA order, merged. */
  lost: LostSectors[];
  lostBytes: number;
  /** Data the source held that was read and copied (zeros it stores as data count too). */
  savedBytes: number;
  capacityBytes: number;
  /** How damage was worked around (redundant grain directory, marker scan), one line each. */
  notes: string[];
}

/**
 * One version of a file the catalog indexed, copied out of its archive's (or loose disk's) volume
 * into a host folder (the catalog's Restore file…, `diskchain catalog get`'s copy code).
 */
export interface RestoreFileSpec {
  kind: 'restoreFile';
  /** The disk the index found it on: an archive's descriptor inside its folder, or a loose disk. */
  disk: string;
  /** The volume the index recorded (a partition number or LV). */
  volume: string;
  /** The path in the volume. */
  path: string;
  /** An existing folder. */
  destDir: string;
  /** The archive or disk as people know it (its name and date), for the job's title. */
  from: string;
  /** Set when `disk` is an archive: the disk in it, read through the archive (each chunk checked against the manifest). */
  archiveDisk?: string;
  /** The archived link (0 = the top) of a --keep-chain archive. */
  at?: number;
}

/** Where an indexed version is, for a restore-file job (the catalog's answer). */
export type FileLocation = Omit<RestoreFileSpec, 'kind' | 'destDir'>;

/** `catalog index` as a job (the app's Index files): the files inside catalogued archives and disks, listed into the catalog. */
export interface IndexFilesSpec {
  kind: 'indexFiles';
  /** The catalog database (the app's, never a path from the renderer). */
  db: string;
  /** Catalog entries to index; every entry when left out. */
  ids?: number[];
  /** Index again even when an entry is unchanged. */
  force?: boolean;
}

export type JobSpec = ConvertSpec | CommitSpec | SnapshotSpec | ExtendSpec | BackupSpec | RestoreSpec | RecoverSpec | ExtractSpec | RestoreFileSpec | IndexFilesSpec;

/**
 * What a job that counts things rather than bytes adds to its progress (the index job): doneBytes
 * and totalBytes then count `unit`, and the rate and ETA are per `unit`.
 */
export interface ProgressCounts {
  unit: 'entries';
  /** Files listed so far. */
  files: number;
  /** Bytes read from the disks so far (guest reads: what the file system walk asked for). */
  readBytes: number;
  /** What is being read now, for people: "web-2 (web:1)". */
  current: string;
}

export interface JobProgress {
  phase: string;
  doneBytes: number;
  totalBytes: number;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Seconds left at that rate; null until it can be estimated. */
  eta: number | null;
  /** Set by jobs that count catalog entries, not bytes (indexFiles). */
  counts?: ProgressCounts;
}

export interface JobResult {
  /** Files written or changed, primary first. */
  outputs: string[];
  /** One line for people, e.g. "folded top.vmdk into base.vmdk". */
  summary: string;
  /** recover only. */
  recovery?: RecoveryReport;
  /** indexFiles only: what each entry's index found (as `catalog index --json`). */
  index?: IndexSummary;
}
