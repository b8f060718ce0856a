/**
 * The desktop app's one IPC contract (electron.md §2, style.md §2): every channel's input and
 * output as zod schemas, and the events main pushes. Main (Electron and the browser host) parses
 * every input with these schemas; the renderer imports this file for its TYPES only
 * (`import type`), so zod stays out of the renderer bundle unless it wants runtime checks.
 *
 * Rules the schemas encode:
 * - Files reach the renderer only as opaque ids (diskId, targetId, recentId, jobId: UUIDs that
 *   main made). The renderer never sends a path: main-side dialogs, drops and the command line
 *   choose files. Paths do come back for display (DiskInfo is what `diskchain info --json` prints).
 * - Every object is strict (unknown keys are refused), every string and number is bounded.
 * - Answers are envelopes, never throws: `{ok:true, value}` or `{ok:false, error:{code, message, file?}}`.
 *
 * Stability: channel names and shapes below are what the renderer codes against. Additions are
 * marked `// added YYYY-MM-DD: …`; nothing is removed or renamed without a note here.
 */
import { z } from 'zod';
import type { WireError } from '../errors.js';
import { ENTRY_STATUSES, type EntryStatus } from '../catalog-status.js';
import type { CheckReport, DiskInfo, GeometryReport, LayerInfo } from '../types.js';
import { ADAPTERS, DISK_KINDS, type JobProgress, type JobResult } from '../jobs.js';
import type { ChannelName, EventName } from './channels.js';
import { isAbsolutePath } from '../paths.js';
import type { GuestDiff, GuestListing, GuestPreview, GuestVolumeRow } from '../guest-files.js';
import type { VolumeTree } from '../vmfs-tree.js';
import type { FilePage } from '../catalog-files.js';

// ---------------------------------------------------------------------------------------------
// Building blocks

const id = z.uuid();
const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const bytes = count;
const text = (max: number) => z.string().max(max);
/** A file name the user may be offered in a save dialog: no folders, no control characters. */
const fileName = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !/[/\\]/.test(s) && ![...s].some((c) => c.charCodeAt(0) < 32) && s !== '.' && s !== '..', 'a file name without folders');
const empty = z.strictObject({});
const nothing = z.null();

/** Only the shape; main builds these, the renderer only reads them (typed, not re-validated). */
const typed = <T>() => z.custom<T>(() => true);

// ---------------------------------------------------------------------------------------------
// Shared shapes

/** A disk file opened in this session. `path` and `name` are for display only. */
export const DiskRef = z.strictObject({
  diskId: id,
  path: z.string(),
  name: z.string(),
  /** ms since the epoch */
  openedAt: count,
  // added 2026-12-06: a VMFS volume image (issue 12), shown as its tree of VMs (volumes:tree), not as a disk.
  volume: z.boolean().optional(),
  // added 2026-12-06: a disk inside a volume image: read-only (commit, snapshot, extend are refused).
  readOnly: z.boolean().optional(),
});
export type DiskRef = z.output<typeof DiskRef>;

export const RecentEntry = z.strictObject({
  recentId: id,
  path: z.string(),
  name: z.string(),
  openedAt: count,
  /** false when the file is no longer there (opening it will fail with E_NOTFOUND) */
  exists: z.boolean(),
});
export type RecentEntry = z.output<typeof RecentEntry>;

/** A place main chose in a save/open/folder dialog, for a job's output or input. */
export const Target = z.strictObject({
  targetId: id,
  type: z.enum(['file', 'folder']),
  path: z.string(),
  name: z.string(),
});
export type Target = z.output<typeof Target>;

/**
 * The allocation map of a byte range summarized into `buckets` equal parts (the last may be a
 * little longer), so a 2 TiB disk is one small answer and the canvas can zoom by asking again
 * for a narrower range. Bucket i covers [start + floor(i*length/buckets), start + floor((i+1)*length/buckets)).
 */
export const MapSummary = z.strictObject({
  capacityBytes: bytes,
  start: bytes,
  length: bytes,
  buckets: count,
  /** One per chain link, layers[0] the disk opened (same order as DiskInfo.layers). */
  layers: z.array(z.strictObject({ path: z.string(), name: z.string(), createType: z.string() })),
  /** Per bucket: the layer index holding most of the bucket's held bytes (data or explicit zeros), or null when no link holds any. */
  dominant: z.array(z.int().min(0).nullable()),
  /** Per bucket: fraction 0..1 of its bytes that are data held by some link. */
  dataFraction: z.array(z.number().min(0).max(1)),
  /** Per layer: data bytes it holds inside [start, start+length). */
  layerBytes: z.array(bytes),
  /** Data bytes inside the range that no link holds are zero by definition; this is the rest. */
  zeroBytes: bytes,
});
export type MapSummary = z.output<typeof MapSummary>;

// changed 2026-12-04: 'recover' added.
// changed 2026-12-06: 'extract' added (the Files tab's Extract…).
// changed 2026-12-07: 'restoreFile' added (the catalog's Files search, issue 11).
// changed 2026-12-07: 'indexFiles' added (Index files as a job; it replaces the catalog:indexFiles channel).
export const JobKind = z.enum(['convert', 'export', 'import', 'commit', 'snapshot', 'extend', 'backup', 'restore', 'recover', 'extract', 'restoreFile', 'indexFiles']);
export type JobKind = z.output<typeof JobKind>;

const ignoreCid = z.boolean().optional();
/** A link of a chain, 0 = the disk itself. */
const linkIndex = z.int().min(0).max(100_000).optional();
/** A partition number or an LV name (`vg/lv`). */
const guestVolume = z.string().min(1).max(256).optional();
/** A path inside a guest volume, from its root. */
const guestPath = z.string().max(32 * 1024).refine((p) => !p.includes('\0'), 'a guest path holds no NUL');
const force = z.boolean().optional();
const segmentBytes = z
  .int()
  .min(1024 * 1024)
  .max(2 * 1024 * 1024 * 1024)
  .optional();

/**
 * What the renderer asks main to run. Sources are diskIds (disks:open), outputs are targetIds
 * (targets:chooseFile / targets:chooseFolder). Options are the CLI's (issue 4 and 5).
 */
export const JobRequest = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('convert'),
    diskId: id,
    /** a file target (save dialog) */
    targetId: id,
    to: z.enum(DISK_KINDS),
    adapter: z.enum(ADAPTERS).optional(),
    segmentBytes,
    compressLevel: z.int().min(1).max(9).optional(),
    force,
    ignoreCid,
  }),
  z.strictObject({
    /** ESX → Workstation: twoGbMaxExtentSparse into a folder target, zero grains skipped */
    kind: z.literal('export'),
    diskId: id,
    targetId: id,
    segmentBytes,
    force,
    ignoreCid,
  }),
  z.strictObject({
    /** Workstation → ESX: vmfs (or vmfsThin) into a file target */
    kind: z.literal('import'),
    diskId: id,
    targetId: id,
    thin: z.boolean().optional(),
    adapter: z.enum(ADAPTERS).optional(),
    force,
    ignoreCid,
  }),
  z.strictObject({ kind: z.literal('commit'), diskId: id, force }),
  // changed 2026-12-06: force (go ahead although the disk looks in use) on snapshot and extend too.
  z.strictObject({ kind: z.literal('snapshot'), diskId: id, force }),
  z.strictObject({
    kind: z.literal('extend'),
    diskId: id,
    sizeBytes: z
      .int()
      .min(512)
      .max(64 * 1024 ** 4),
    force,
  }),
  z.strictObject({
    /** A disk (diskId) or a VM (a .vmx chosen with targets:chooseFile mode 'open') into a folder target. */
    kind: z.literal('backup'),
    source: z.union([z.strictObject({ diskId: id }), z.strictObject({ vmxTargetId: id })]),
    targetId: id,
    keepChain: z.boolean().optional(),
    force,
  }),
  z.strictObject({
    /** An archive (catalog entry, or a folder target) into a folder target. */
    kind: z.literal('restore'),
    source: z.union([z.strictObject({ catalogId: count }), z.strictObject({ folderTargetId: id })]),
    targetId: id,
    to: z.enum(['vmfs', 'twoGbMaxExtentSparse', 'monolithicSparse']).optional(),
  }),
  // added 2026-12-04: recover (issue 14).
  z.strictObject({
    /** What a damaged disk (diskId) still holds, into a new disk (a file target); lost data reads as zeros there. */
    kind: z.literal('recover'),
    diskId: id,
    targetId: id,
    /** default monolithicSparse */
    to: z.enum(DISK_KINDS).optional(),
    force,
    ignoreCid,
  }),
  // added 2026-12-06: extract (issue 10).
  z.strictObject({
    /** Guest files and folders (paths inside the volume) of a disk at link `at` into a folder target. */
    kind: z.literal('extract'),
    diskId: id,
    at: linkIndex,
    volume: guestVolume,
    paths: z.array(guestPath).min(1).max(10_000),
    targetId: id,
    ignoreCid,
  }),
  // added 2026-12-07: restoreFile (issue 11).
  z.strictObject({
    /** One indexed version of a file (a catalog find ref: ID:/path or ID:DISK:VOL:/path) into a folder target. */
    kind: z.literal('restoreFile'),
    ref: z.string().min(3).max(33 * 1024).refine((r) => !r.includes('\0'), 'a file reference holds no NUL'),
    targetId: id,
  }),
  // added 2026-12-07: indexFiles (issue 11); the catalog database is main's, never named here.
  z.strictObject({
    /** The files inside catalogued archives and disks (every entry when ids is left out); unchanged entries are not opened. */
    kind: z.literal('indexFiles'),
    ids: z.array(count).min(1).max(100_000).optional(),
  }),
]);
export type JobRequest = z.output<typeof JobRequest>;

export const JobStatus = z.enum(['running', 'done', 'failed', 'cancelled']);
export type JobStatus = z.output<typeof JobStatus>;

export interface JobRecord {
  jobId: string;
  kind: JobKind;
  /** For people: "convert web01.vmdk → web01-flat.vmdk (vmfs)" */
  title: string;
  status: JobStatus;
  startedAt: number;
  endedAt: number | null;
  progress: JobProgress | null;
  result: JobResult | null;
  error: WireError | null;
}

export interface Preflight {
  /** Folder the output goes to (or the disk's folder for commit/snapshot/extend). */
  folder: string;
  /** Estimated bytes the job writes, an upper bound where the kind allows. */
  requiredBytes: number;
  // changed 2026-11-26: null when the file system cannot tell its free space (the job then does not refuse either).
  availableBytes: number | null;
  /** The job's own refusal uses the same estimate and comparison: enough here means the job will not refuse for space. */
  enough: boolean;
  /** How requiredBytes was estimated, e.g. "allocated data of the chain (sparse output)". */
  basis: string;
  // added 2026-12-06: what the dialogs say before Start (issue 16); the job refuses the same unless forced.
  /** VMware lock files found for the disk the job writes or copies (the job refuses it unless force). */
  locks: string[];
  /** .vmx files beside the disk that use it (snapshot and commit re-point them). */
  vms: string[];
  /** Each VM's displayName from its .vmx (null when it has none), in the order of vms. */
  vmNames: Array<string | null>;
  /** Output files that exist already (the job refuses them unless force, or never replaces them). */
  existing: string[];
}

// Catalog (issue 5). Shapes follow main/catalog; fields the catalog does not know are null.

export const CatalogSortColumn = z.enum(['name', 'kind', 'capacityBytes', 'sizeBytes', 'mtime', 'path', 'status', 'vm']);
const catalogSort = z.strictObject({ column: CatalogSortColumn, dir: z.enum(['asc', 'desc']) }).optional();
const page = { offset: count.max(10_000_000).default(0), limit: z.int().min(1).max(1000).default(200) };

export interface CatalogEntry {
  id: number;
  type: 'disk' | 'archive';
  name: string;
  path: string;
  /** createType, or 'archive' */
  kind: string | null;
  vm: string | null;
  capacityBytes: number | null;
  sizeBytes: number | null;
  /** ms since the epoch (file mtime, or an archive's manifest time) */
  mtime: number | null;
  missing: boolean;
  // added 2026-11-25: the catalog's own status and its one-line reason when a file did not read.
  // (optional so older fakes still type-check; main always sends them)
  // changed 2026-12-06 (issue 16): every status of shared/catalog-status.ts, and why it is not ok.
  status?: EntryStatus;
  statusNote?: string | null;
  error?: string | null;
}

export interface CatalogPage {
  rows: CatalogEntry[];
  total: number;
}

export interface CatalogDetail {
  entry: CatalogEntry;
  /** An archive's disks (empty for a loose disk); they are not catalogue entries, so their ids are negative (unique in the answer). */
  disks: CatalogEntry[];
  /** An archive's files with their manifest hashes (empty for a loose disk). */
  segments: Array<{
    path: string;
    sizeBytes: number | null;
    sha256: string | null;
    // added 2026-12-06 (issue 16): what the last scan or verify found against this file.
    state?: 'missing' | 'changed' | 'changed-since-verify' | null;
  }>;
  // added 2026-12-06 (issue 16): an archive's last verify (null: never verified, or a loose disk).
  lastVerify?: { verifiedAt: string; ok: boolean; files: VerifyReport['files'] } | null;
  /** A loose disk's chain links, top first (empty for an archive). */
  chain: string[];
  /** The manifest or the catalog's record, pretty-printed, for display. */
  raw: string;
}

export interface VerifyReport {
  id: number;
  ok: boolean;
  files: Array<{ path: string; status: 'ok' | 'missing' | 'changed'; message: string | null }>;
}

export interface ScanSummary {
  folders: string[];
  added: number;
  updated: number;
  unchanged: number;
  missing: number;
  errors: Array<{ path: string; message: string }>;
  durationMs: number;
}

/**
 * An opened file named like an extent (`web01-flat.vmdk`, `web01-s001.vmdk`, `web01-delta.vmdk`)
 * whose descriptor by that name is not beside it: disks:rebuildDescriptor can write it.
 */
export interface OrphanExtent {
  /** The descriptor's file name, e.g. "web01.vmdk". */
  descriptorName: string;
}

export interface AppInfo {
  /** 'electron' in the desktop app, 'host' behind `diskchain serve` in a browser. */
  mode: 'electron' | 'host';
  version: string;
  platform: string;
  /** 'native' dialogs, or 'scripted' (host: paths from the serve command line or the test). */
  dialogs: 'native' | 'scripted';
  /** Whether files dropped on the window open (Electron only; a browser gives no paths). */
  dropOpens: boolean;
}

// added 2026-12-06: the browser host's own file browser (issue 16). Host only: Electron keeps its native dialogs.

const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.includes('\0'), 'a path without NUL characters')
  .refine(isAbsolutePath, 'an absolute path (starting with /), not a relative one');

export interface FolderEntry {
  name: string;
  type: 'folder' | 'file' | 'other';
  /** null for folders and for entries that could not be looked at */
  sizeBytes: number | null;
  /** ms since the epoch */
  mtime: number | null;
  /** named like a disk (.vmdk, .dsk, .REDO …): listed first */
  diskLike: boolean;
}

export interface FolderListing {
  /** The folder listed, normalized (no `..`, no trailing slash). */
  path: string;
  /** null at the root */
  parent: string | null;
  /** Disk-like files first, then folders, then other files; by name within each. */
  entries: FolderEntry[];
  /** More entries than the listing holds. */
  truncated: boolean;
}

/** What a typed path names (looked up, nothing read). */
export interface PathLook {
  path: string;
  type: 'folder' | 'file' | 'other' | 'missing';
  /** Whether the path's folder exists (a new file may be saved there). */
  parentIsFolder: boolean;
}

// ---------------------------------------------------------------------------------------------
// Channels

const diskOnly = z.strictObject({ diskId: id });

export const contract = {
  'app:info': { input: empty, output: typed<AppInfo>() },

  /** Shows main's open dialog (several files); [] when cancelled. Emits disks:opened too. */
  'disks:open': { input: empty, output: typed<DiskRef[]>() },
  'disks:list': { input: empty, output: typed<DiskRef[]>() },
  'disks:close': { input: diskOnly, output: nothing },
  /** E_CID when a parentCID does not match: show the message, then offer ignoreCid:true (the mismatch is then in problems). */
  'disks:info': { input: z.strictObject({ diskId: id, ignoreCid }), output: typed<DiskInfo>() },
  'disks:geometry': { input: z.strictObject({ diskId: id, ignoreCid }), output: typed<GeometryReport>() },
  'disks:check': { input: diskOnly, output: typed<CheckReport>() },
  /** One chain link's descriptor text, header fields and extents (layer 0 = the disk opened). */
  'disks:layer': {
    input: z.strictObject({ diskId: id, layer: z.int().min(0).max(255), ignoreCid }),
    output: typed<LayerInfo>(),
  },
  /** Allocation map in buckets; start/length default to the whole disk. */
  'disks:map': {
    input: z.strictObject({
      diskId: id,
      start: bytes.optional(),
      length: bytes.min(1).optional(),
      buckets: z.int().min(1).max(16384),
      ignoreCid,
    }),
    output: typed<MapSummary>(),
  },

  // added 2026-12-04: orphan extents (issue 14).
  /** Whether the file opened is an extent whose descriptor is missing (only that one name beside it is looked at); null when not. */
  'disks:orphan': { input: diskOnly, output: typed<OrphanExtent | null>() },
  /** Writes the missing descriptor beside the orphan extent (never replacing a file) and opens it (emits disks:opened). */
  'disks:rebuildDescriptor': { input: diskOnly, output: typed<DiskRef>() },
  // added 2026-12-06: reparent (issue 16). Asks for the parent in main's open dialog; null when cancelled. E_CID: offer fixCid.
  'disks:locateParent': { input: z.strictObject({ diskId: id, fixCid: z.boolean().optional() }), output: typed<{ summary: string } | null>() },

  'recent:list': { input: empty, output: typed<RecentEntry[]>() },
  'recent:open': { input: z.strictObject({ recentId: id }), output: typed<DiskRef>() },
  'recent:clear': { input: empty, output: nothing },

  /** mode 'save' (default): where a job writes a file; mode 'open': an existing file (a .vmx to back up). null when cancelled. */
  'targets:chooseFile': {
    input: z.strictObject({
      mode: z.enum(['save', 'open']).optional(),
      suggestedName: fileName.optional(),
      filter: z.enum(['vmdk', 'raw', 'vmx', 'any']).optional(),
      title: text(200).optional(),
    }),
    output: typed<Target | null>(),
  },
  /** A folder: export/backup/restore output, an archive to restore, a folder to scan. null when cancelled. */
  'targets:chooseFolder': {
    input: z.strictObject({ title: text(200).optional() }),
    output: typed<Target | null>(),
  },

  /** Free space check before a job: never refuses, answers enough:false. */
  'jobs:preflight': { input: z.strictObject({ request: JobRequest }), output: typed<Preflight>() },
  /** Returns the new job's record at once; progress and the end come as jobs:progress / jobs:done events. */
  // changed 2026-11-26: answers the whole JobRecord (it was { jobId }), so the jobs panel shows the job before its first event.
  'jobs:start': { input: z.strictObject({ request: JobRequest }), output: typed<JobRecord>() },
  /** The job removes its partial output and ends with jobs:done status 'cancelled'. */
  'jobs:cancel': { input: z.strictObject({ jobId: id }), output: nothing },
  /** Running, finished and failed jobs of this session, newest first. */
  'jobs:list': { input: empty, output: typed<JobRecord[]>() },
  /** Forget finished jobs (one, or all when jobId is left out); running ones stay. */
  'jobs:clear': { input: z.strictObject({ jobId: id.optional() }), output: nothing },
  /** Opens a finished job's primary output as a disk (e.g. to look at what export wrote). */
  'jobs:openOutput': { input: z.strictObject({ jobId: id }), output: typed<DiskRef>() },

  /** Scans folders chosen with targets:chooseFolder. */
  'catalog:scan': {
    input: z.strictObject({ folderTargetIds: z.array(id).min(1).max(64) }),
    output: typed<ScanSummary>(),
  },
  'catalog:list': {
    input: z.strictObject({ type: z.enum(['disk', 'archive']).optional(), sort: catalogSort, ...page }),
    output: typed<CatalogPage>(),
  },
  /** Search as you type: name/VM full text plus filters. */
  'catalog:search': {
    input: z.strictObject({
      query: text(200),
      type: z.enum(['disk', 'archive']).optional(),
      kind: text(64).optional(),
      /** mtime range, ms since the epoch */
      from: count.optional(),
      to: count.optional(),
      /** capacity range (virtual size) */
      minBytes: bytes.optional(),
      maxBytes: bytes.optional(),
      // added 2026-12-06 (issue 16): status and VM-name filters.
      status: z.enum(ENTRY_STATUSES).optional(),
      vm: text(200).optional(),
      sort: catalogSort,
      ...page,
    }),
    output: typed<CatalogPage>(),
  },
  'catalog:show': { input: z.strictObject({ id: count }), output: typed<CatalogDetail>() },
  'catalog:verify': { input: z.strictObject({ id: count }), output: typed<VerifyReport>() },
  'catalog:forget': { input: z.strictObject({ id: count }), output: nothing },
  /** Opens a catalogued loose disk in the disk views. */
  'catalog:openDisk': { input: z.strictObject({ id: count }), output: typed<DiskRef>() },
  // added 2026-12-07: the file catalog (issue 11); it runs in the query worker. Indexing is the indexFiles job.
  /** Every indexed version of the files whose name matches (words that begin it, or a glob), grouped by path, newest first. */
  'catalog:findFiles': {
    input: z.strictObject({
      pattern: text(200),
      /** A glob over the whole path in the volume. */
      path: text(4096).optional(),
      vm: text(200).optional(),
      /** Archive (or disk) date range, ms since the epoch. */
      from: count.optional(),
      to: count.optional(),
      minBytes: bytes.optional(),
      maxBytes: bytes.optional(),
      entryId: count.optional(),
      offset: count.max(10_000_000).default(0),
      limit: z.int().min(1).max(10_000).default(1000),
    }),
    output: typed<FilePage>(),
  },
  // added 2026-12-06 (issue 11): a disk of a catalogued archive, opened to read its files; the Files
  // tab then reads it through the archive, each chunk checked against the manifest. `disk`: its name there.
  'catalog:openArchiveDisk': { input: z.strictObject({ id: count, disk: z.string().min(1).max(255) }), output: typed<DiskRef>() },

  // added 2026-12-06: the in-app file browser (browser host only; Electron answers E_UNSUPPORTED).
  /** Whether a typed path is a folder, a file or nothing. */
  'files:look': { input: z.strictObject({ path: absolutePath }), output: typed<PathLook>() },
  /** One folder's entries, with sizes and dates (stat only: no file is opened). */
  'files:list': { input: z.strictObject({ path: absolutePath }), output: typed<FolderListing>() },
  /** Folders the user chose files or folders in before (files:openDisks, files:target), newest first. */
  'files:recentFolders': { input: empty, output: typed<string[]>() },
  /** Opens disks chosen in the file browser (emits disks:opened). */
  'files:openDisks': { input: z.strictObject({ paths: z.array(absolutePath).min(1).max(64) }), output: typed<DiskRef[]>() },
  /** A place chosen in the file browser, as a target (like targets:chooseFile / chooseFolder answer). */
  'files:target': {
    input: z.strictObject({ path: absolutePath, type: z.enum(['file', 'folder']), mode: z.enum(['save', 'open']).optional() }),
    output: typed<Target>(),
  },

  // added 2026-12-06: the Files tab (issue 10). Guest paths are '/'-separated strings inside the volume.
  /** The partitions and LVs of the disk as it was at link `at` (0 = the disk itself). */
  'guest:volumes': { input: z.strictObject({ diskId: id, at: linkIndex, ignoreCid }), output: typed<GuestVolumeRow[]>() },
  /** One folder of a volume. */
  'guest:list': { input: z.strictObject({ diskId: id, at: linkIndex, volume: guestVolume, dir: guestPath, ignoreCid }), output: typed<GuestListing>() },
  /** The first bytes of a file as text (encoding detected), an image, or hex. */
  'guest:preview': { input: z.strictObject({ diskId: id, at: linkIndex, volume: guestVolume, file: guestPath, ignoreCid }), output: typed<GuestPreview>() },
  /** What link `at` changed over its parent below `dir` ("Changed in this snapshot"). */
  'guest:diff': {
    input: z.strictObject({ diskId: id, at: linkIndex, volume: guestVolume, dir: guestPath, content: z.boolean().optional(), ignoreCid }),
    output: typed<GuestDiff>(),
  },

  // added 2026-12-06: VMFS volume images (issue 12). diskId is an open volume image (DiskRef.volume).
  /** Its VM folders: .vmx files and the disks in each. */
  'volumes:tree': { input: diskOnly, output: typed<VolumeTree>() },
  /** Opens a disk of the tree (by its entry number) as a disk like any other (emits disks:opened). */
  'volumes:openDisk': { input: z.strictObject({ diskId: id, entry: count }), output: typed<DiskRef>() },
} as const satisfies Record<ChannelName, { input: z.ZodType; output: z.ZodType }>;

// ---------------------------------------------------------------------------------------------
// Events (main → renderer)

export interface JobProgressEvent extends JobProgress {
  jobId: string;
}

export interface JobDoneEvent {
  jobId: string;
  status: Exclude<JobStatus, 'running'>;
  result: JobResult | null;
  error: WireError | null;
}

export interface DisksOpenedEvent {
  disks: DiskRef[];
  /** how they were opened: dialog, a drop on the window (Electron), recent, catalog, job output, command line */
  // changed 2026-12-04: 'rebuild' (a descriptor written for an orphan extent).
  source: 'dialog' | 'drop' | 'recent' | 'catalog' | 'job' | 'startup' | 'rebuild';
}

export const events = {
  /** At most ~10 per second per job. */
  'jobs:progress': typed<JobProgressEvent>(),
  /** Exactly once per job. */
  'jobs:done': typed<JobDoneEvent>(),
  /** Disks registered by main (all ways, including the renderer's own disks:open). */
  'disks:opened': typed<DisksOpenedEvent>(),
} as const satisfies Record<EventName, z.ZodType>;

// ---------------------------------------------------------------------------------------------
// Types for the three consumers

export type Channel = keyof typeof contract;
export type Event = keyof typeof events;
export type In<C extends Channel> = z.input<(typeof contract)[C]['input']>;
/** The input after parsing (defaults applied): what services receive. */
export type Parsed<C extends Channel> = z.output<(typeof contract)[C]['input']>;
export type Out<C extends Channel> = z.output<(typeof contract)[C]['output']>;
/** One service function per channel: what main registers behind the contract. */
export type Handlers = { [C in Channel]: (input: Parsed<C>) => Out<C> | Promise<Out<C>> };
export type Payload<E extends Event> = z.output<(typeof events)[E]>;

export type Wire<T> = { ok: true; value: T } | { ok: false; error: WireError };

/**
 * What the preload exposes as `window.diskchain` and what the browser host's WebSocket client
 * gives: answers as envelopes (an Error would lose its code crossing contextBridge).
 */
export interface RawApi {
  invoke<C extends Channel>(channel: C, input: In<C>): Promise<Wire<Out<C>>>;
  on<E extends Event>(event: E, listener: (payload: Payload<E>) => void): () => void;
}

/** The renderer's view (shared/ipc/client.ts makes it from a RawApi): answers, or a thrown IpcError. */
export interface Api {
  invoke<C extends Channel>(channel: C, input: In<C>): Promise<Out<C>>;
  on<E extends Event>(event: E, listener: (payload: Payload<E>) => void): () => void;
}

export type { WireError };
