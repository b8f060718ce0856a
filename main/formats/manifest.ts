/**
 * `manifest.json`, the one file that makes a folder (or a tar stream) a Diskchain archive. `backup`
 * writes it, `restore` and the catalog read it; this module is the contract between them.
 *
 * An archive is a flat set of files beside the manifest (no sub-folders):
 *
 *   manifest.json            this schema; written last in a folder (temp name → rename), first in a tar stream
 *   web01.vmx, web01.nvram   the VM's configuration, byte for byte as the source had it (VM backups only)
 *   web01.vmdk               a twoGbMaxExtentSparse descriptor…
 *   web01-s001.vmdk, …       …and its 2 GB sparse segments (zero grains left out)
 *
 * Every file except the manifest is listed in `files` with its size and SHA-256, in the order a tar
 * stream carries them. A folder without `manifest.json` is not an archive (an interrupted backup).
 *
 * Disks are archived flattened (one link per disk: the whole chain read through) or, with
 * `--keep-chain`, one archived link per source link, each a twoGbMaxExtentSparse disk whose
 * descriptor names its parent's archived descriptor, so the archive folder is itself an openable
 * chain. Content hashes are of the flattened bytes over the full capacity, holes as zeros: what
 * `diskchain cat DISK | sha256sum` prints.
 *
 * Compatibility: readers accept any `version` up to MANIFEST_VERSION and refuse newer ones;
 * fields are only ever added (optional) within a version (segments' `chunks` was, for single-file restore).
 */
import { z } from 'zod';
import { DiskchainError } from '../../shared/errors.js';
import { DISK_KINDS } from '../../shared/jobs.js';

import { MANIFEST_NAME } from './manifest-name.js';

export { MANIFEST_NAME };
export const MANIFEST_FORMAT = 'diskchain-archive';
export const MANIFEST_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex');
const bytes = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const cid = z.string().regex(/^[0-9a-f]{8}$/, 'a CID, 8 hex digits');

/** A file of the archive: a plain name inside the archive folder, never a path, never the manifest. */
export const ArchiveFileName = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (s) => !/[/\\]/.test(s) && s !== '.' && s !== '..' && s !== MANIFEST_NAME && ![...s].some((c) => c.charCodeAt(0) < 32),
    'a file name inside the archive folder',
  );

export const Geometry = z.object({ cylinders: bytes, heads: bytes, sectors: bytes });

/** Bytes of the leading part of each chunk's SHA-256 that `chunks` keeps. */
export const CHUNK_DIGEST_BYTES = 16;

/**
 * Hashes of a segment's pieces, so that a single-file restore checks only what it reads, not a
 * whole 2 GB segment (added within version 1; older archives lack it and are checked per file).
 */
export const ChunkHashes = z.object({
  /** Bytes per chunk, a power of two; the last chunk holds the rest. */
  chunkBytes: z.int().min(64 * 1024).max(1024 ** 3).refine((n) => (n & (n - 1)) === 0, 'a power of two'),
  /** The first CHUNK_DIGEST_BYTES bytes of each chunk's SHA-256, one after another, as one base64 string. */
  sha256: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
});

export const ArchiveFile = z.object({
  name: ArchiveFileName,
  role: z.enum(['vmx', 'nvram', 'descriptor', 'segment']),
  bytes,
  sha256,
  chunks: ChunkHashes.optional(),
});

/** One link of a source chain as archived: a twoGbMaxExtentSparse descriptor and its segments. */
export const ArchivedLink = z.object({
  /** Absolute path of the source file this link was read from (for a flattened disk: the top link). */
  sourcePath: z.string(),
  /** createType of that source link (`monolithicSparse`, `vmfsSparse`, `cowd` for a REDO log, `raw`…). */
  kind: z.string(),
  capacityBytes: bytes,
  /** The archived descriptor's CID and parentCID (not the source's). */
  cid,
  parentCid: cid,
  /** Archive file of the descriptor; a key into `files`. */
  descriptor: ArchiveFileName,
  /** Archive files of the segments, in disk order. */
  segments: z.array(ArchiveFileName).min(1),
  /** Descriptor of the archived parent link (keep-chain children), else null. */
  parent: ArchiveFileName.nullable(),
  /** SHA-256 of what this link reads as (it and every link below it), full capacity, holes as zeros. */
  contentSha256: sha256,
  /** Bytes of grains stored in the segments (64 KiB each). */
  storedBytes: bytes,
});

export const ArchivedDisk = z.object({
  /** The .vmx entry that names the disk (`scsi0:0`, `ide0:1`, `sata0:2`, `nvme0:0`); null for a single-disk backup. */
  device: z.string().nullable(),
  /** The entry's value as the source .vmx wrote it; null for a single-disk backup. */
  vmxFileName: z.string().nullable(),
  /** Absolute path of the disk as named (the top of its chain). */
  sourcePath: z.string(),
  /** Every file of the source chain, top first: link files, then the extent files they use. */
  sourceLinks: z.array(z.object({ path: z.string(), kind: z.string(), extents: z.array(z.string()) })).min(1),
  /** The stem this disk has in the archive and, by default, after a restore. */
  name: z.string().min(1),
  /** createType of the top link and of the base link. */
  kind: z.string(),
  baseKind: z.string(),
  /** What `restore` writes when no --to is given. */
  restoreKind: z.enum(DISK_KINDS),
  capacityBytes: bytes,
  geometry: Geometry,
  biosGeometry: Geometry.optional(),
  adapterType: z.string(),
  /** SHA-256 of the flattened disk, full capacity: `diskchain cat DISK | sha256sum`. */
  contentSha256: sha256,
  /** Archived links, top first: one for a flattened disk, one per source link with --keep-chain. */
  links: z.array(ArchivedLink).min(1),
});

export const Manifest = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.int().min(1),
  /** When the backup started reading (ISO 8601, UTC). */
  createdAt: z.iso.datetime(),
  tool: z.object({ name: z.literal('diskchain'), version: z.string() }),
  host: z.string(),
  mode: z.enum(['flatten', 'keep-chain']),
  /** Largest segment file's capacity (the last one of a disk holds the remainder). */
  segmentBytes: bytes,
  source: z.object({
    kind: z.enum(['vmx', 'disk']),
    /** Absolute path of the .vmx or the disk that was backed up. */
    path: z.string(),
    /** The VM's displayName, else the .vmx's base name; absent for a single-disk backup. */
    vmName: z.string().optional(),
  }),
  /** The VM's files in the archive; null for a single-disk backup. */
  vm: z
    .object({
      vmx: ArchiveFileName,
      nvram: ArchiveFileName.nullable(),
      /** `displayName` from the .vmx, if it has one. */
      displayName: z.string().nullable(),
    })
    .nullable(),
  /** True when the backup went ahead although lock files said the VM was in use (--force). */
  forcedPastLocks: z.boolean(),
  disks: z.array(ArchivedDisk),
  /** Every file of the archive except manifest.json, in tar-stream order. */
  files: z.array(ArchiveFile),
});

export type ArchiveFile = z.output<typeof ArchiveFile>;
export type ChunkHashes = z.output<typeof ChunkHashes>;
export type ArchivedLink = z.output<typeof ArchivedLink>;
export type ArchivedDisk = z.output<typeof ArchivedDisk>;
export type Manifest = z.output<typeof Manifest>;

/**
 * Parses and checks a manifest: the schema, a version this build understands, and that every name
 * a disk uses is a listed file, listed once. `file` is named in errors.
 */
export function parseManifest(text: string, file: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DiskchainError('E_FORMAT', `manifest is not JSON (${(e as Error).message})`, file);
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > MANIFEST_VERSION) {
    throw new DiskchainError(
      'E_UNSUPPORTED',
      `archive format version ${version} was written by a newer diskchain (this one reads up to ${MANIFEST_VERSION})`,
      file,
    );
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'top level';
    throw new DiskchainError('E_FORMAT', `not a valid diskchain manifest: ${where}: ${issue.message}`, file);
  }
  checkReferences(parsed.data, file);
  return parsed.data;
}

function checkReferences(m: Manifest, file: string): void {
  const names = new Set<string>();
  for (const f of m.files) {
    if (names.has(f.name)) throw new DiskchainError('E_FORMAT', `manifest lists ${f.name} twice`, file);
    names.add(f.name);
    if (f.chunks && Buffer.from(f.chunks.sha256, 'base64').length !== CHUNK_DIGEST_BYTES * Math.ceil(f.bytes / f.chunks.chunkBytes)) {
      throw new DiskchainError('E_FORMAT', `manifest's chunk hashes of ${f.name} do not cover its ${f.bytes} bytes`, file);
    }
  }
  const need = (name: string, what: string): void => {
    if (!names.has(name)) throw new DiskchainError('E_FORMAT', `manifest names ${what} ${name} but does not list it in files`, file);
  };
  if (m.vm) {
    need(m.vm.vmx, 'the .vmx');
    if (m.vm.nvram !== null) need(m.vm.nvram, 'the .nvram');
  }
  for (const d of m.disks) {
    for (const l of d.links) {
      need(l.descriptor, 'descriptor');
      for (const s of l.segments) need(s, 'segment');
      if (l.parent !== null && !d.links.some((p) => p.descriptor === l.parent)) {
        throw new DiskchainError('E_FORMAT', `link ${l.descriptor} names parent ${l.parent}, which is not a link of disk ${d.name}`, file);
      }
    }
  }
}

/** The manifest as written: stable key order, two-space indent, final newline. */
export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
