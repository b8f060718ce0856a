/**
 * `diskchain backup SOURCE ARCHIVE_DIR|-`: a VM (its .vmx, .nvram and every disk) or one disk,
 * archived as 2 GB sparse segments with a manifest (see manifest.ts). The source is only read.
 *
 * Two passes. The scan reads every disk once: its content hash and which grains are not zero.
 * That fixes every byte of every segment (segment-emitter.ts), so the write pass can produce each
 * file front to back, straight into a staging folder or into a tar stream on stdout. A tar stream
 * must carry the manifest, with every file's hash, before the files: a middle pass hashes the
 * segments as they will be emitted, and the write pass checks that each one still matches.
 * Either way, files of the source that change size or modification time during the backup fail it.
 *
 * In a folder, the files are staged in a hidden `.diskchain-*.partial` folder and renamed into
 * place, `manifest.json` last: until then the folder holds no archive (restore refuses it).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { DEFAULT_SEGMENT_BYTES, MAX_SEGMENT_BYTES, type BackupSpec, type DiskKind, type JobResult } from '../../shared/jobs.js';
import { VERSION } from '../io/version.js';
import { readWholeFile, sourceFor } from '../io/path-sources.js';
import { GRAIN_BYTES, outputDdb, outputDescriptor, planOutput } from '../convert/layout.js';
import { Chain, openChain } from '../disk/chain.js';
import { geometryReport } from '../disk/geometry.js';
import { formatCid, NO_PARENT_CID, randomCid } from '../formats/descriptor.js';
import { FdSink, FileSink, type ByteSink } from '../io/sink.js';
import { StagedOutput } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { chainFiles, findLocks, inUseError } from '../disk/in-use.js';
import { MANIFEST_FORMAT, MANIFEST_NAME, MANIFEST_VERSION, serializeManifest, type ArchiveFile, type ArchivedDisk, type ChunkHashes, type Manifest } from '../formats/manifest.js';
import { cleanStem, diskStemOf, linkStem, NameBook } from './names.js';
import { ownGrains, scanChain, sha256Of } from './scan.js';
import { emitSparseExtent, sparseExtentBytes, type GrainSet, type SparseExtentSpec } from './segment-emitter.js';
import { TAR_END, tarHeader, tarPadding } from './tar.js';
import { ChunkHasher, chunkBytesFor } from './chunk-hashes.js';
import { readVmx, rewriteVmx, vmxDisks, vmxNvram, vmxValue, type Vmx, type VmxDisk } from '../formats/vmx.js';

/** A file of the archive as planned: its bytes are produced on demand, as often as needed. */
interface PlannedFile {
  name: string;
  role: ArchiveFile['role'];
  sizeBytes: number;
  /** Known up front for files held in memory; segments get theirs when first emitted. */
  sha256: string | null;
  /** Segments: hashes of their chunks, got with sha256 (single-file restore checks only what it reads). */
  chunks?: ChunkHashes;
  content: () => Iterable<Buffer>;
}

/** What a source file looked like when the backup started reading it. */
interface Fingerprint {
  path: string;
  size: number;
  mtimeMs: number;
}

interface SourceDisk {
  vmx: VmxDisk | null;
  chain: Chain;
}

interface Plan {
  manifest: Omit<Manifest, 'files'>;
  files: PlannedFile[];
  fingerprints: Fingerprint[];
  chains: Chain[];
}

export async function backupJob(spec: BackupSpec, ctx: JobContext): Promise<JobResult> {
  const segmentBytes = validSegmentBytes(spec.segmentBytes);
  const toStream = spec.archiveDir === '-';
  const archiveDir = toStream ? null : path.resolve(spec.archiveDir);
  if (archiveDir) refuseExistingArchive(archiveDir);
  const plan = planBackup(spec, segmentBytes, ctx);
  try {
    if (archiveDir) return writeFolder(plan, archiveDir, ctx);
    writeStream(plan, new FdSink(1), ctx);
    return { outputs: [], summary: summary(plan, 'stdout') };
  } finally {
    for (const c of plan.chains) c.close();
  }
}

function validSegmentBytes(requested: number | undefined): number {
  const bytes = requested ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(bytes) || bytes < 1024 * 1024 || bytes % GRAIN_BYTES !== 0) {
    throw usageError('segment size must be a multiple of 64 KiB and at least 1 MiB');
  }
  if (bytes > MAX_SEGMENT_BYTES) throw usageError('segment size cannot exceed 2 GiB');
  return bytes;
}

function refuseExistingArchive(dir: string): void {
  if (fs.existsSync(path.join(dir, MANIFEST_NAME))) {
    throw new DiskchainError('E_EXISTS', 'already holds an archive (manifest.json); choose an empty folder', dir);
  }
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new DiskchainError('E_EXISTS', 'exists and is not a folder', dir);
}

// ---------------------------------------------------------------------------------------------
// Plan: open the source, refuse a VM in use, name every file, scan every disk

function planBackup(spec: BackupSpec, segmentBytes: number, ctx: JobContext): Plan {
  const startedAt = new Date();
  const source = path.resolve(spec.source);
  const isVm = /\.vmx$/i.test(source);
  const vmx = isVm ? readVmx(source) : null;
  const disks = openSources(vmx ? vmxDisks(vmx).map((d) => ({ vmx: d, path: d.path })) : [{ vmx: null, path: source }], spec, vmx?.path);
  const chains = disks.map((d) => d.chain);
  try {
    const nvram = vmx ? vmxNvram(vmx) : null;
    const sourceFiles = [...(vmx ? [vmx.path] : []), ...(nvram ? [nvram] : []), ...disks.flatMap((d) => chainFiles(d.chain))];
    const locks = findLocks(sourceFiles, vmx ? path.dirname(vmx.path) : null);
    if (locks.length > 0 && spec.force !== true) throw inUse(source, locks);
    const fingerprints = sourceFiles.map(fingerprint);

    const names = new NameBook();
    const files: PlannedFile[] = [];
    let vmEntry: Manifest['vm'] = null;
    if (vmx) {
      const vmxName = names.claimFile(path.basename(vmx.path));
      files.push(memoryFile(vmxName, 'vmx', readWholeFile(vmx.path, MAX_SMALL_FILE))); // re-pointed below, once the disks are named
      let nvramName: string | null = null;
      if (nvram) {
        nvramName = names.claimFile(path.basename(nvram));
        files.push(memoryFile(nvramName, 'nvram', readWholeFile(nvram, MAX_SMALL_FILE)));
      }
      vmEntry = { vmx: vmxName, nvram: nvramName, displayName: vmxValue(vmx, 'displayName') ?? null };
    }

    const scanTotal = disks.reduce((s, d) => s + d.chain.capacityBytes * (spec.keepChain ? d.chain.links.length : 1), 0);
    let scanned = 0;
    const advance = (bytes: number): void => {
      scanned += bytes;
      ctx.progress('scan', scanned, scanTotal);
    };
    const archived = disks.map((d) => planDisk(d, spec.keepChain === true, segmentBytes, names, files, ctx, advance));
    ctx.progress('scan', scanTotal, scanTotal);
    const repointed = vmx && vmEntry ? archivedVmx(vmx, vmEntry, archived) : null;
    if (repointed) files[0] = memoryFile(vmEntry!.vmx, 'vmx', repointed);

    const manifest: Omit<Manifest, 'files'> = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      createdAt: startedAt.toISOString(),
      tool: { name: 'diskchain', version: VERSION },
      host: os.hostname(),
      mode: spec.keepChain ? 'keep-chain' : 'flatten',
      segmentBytes,
      source: vmx ? { kind: 'vmx', path: source, vmName: vmEntry?.displayName ?? path.basename(source).replace(/\.vmx$/i, '') } : { kind: 'disk', path: source },
      vm: vmEntry,
      forcedPastLocks: locks.length > 0,
      disks: archived,
    };
    return { manifest, files, fingerprints, chains };
  } catch (e) {
    for (const c of chains) c.close();
    throw e;
  }
}

/**
 * The archive's .vmx names the archived disks (`web01.vmdk`, not the snapshot `web01-000001.vmdk`
 * it flattened) and the archived .nvram, so the archive folder opens in Workstation as it is.
 * Every other line stays as the VM had it; restore re-points it again at what it writes.
 */
function archivedVmx(vmx: Vmx, vm: NonNullable<Manifest['vm']>, disks: ArchivedDisk[]): Buffer | null {
  const changes = new Map<string, string>();
  for (const d of disks) if (d.device && d.vmxFileName !== d.links[0]!.descriptor) changes.set(`${d.device}.fileName`, d.links[0]!.descriptor);
  if (vm.nvram && vmxValue(vmx, 'nvram') !== undefined && vmxValue(vmx, 'nvram') !== vm.nvram) changes.set('nvram', vm.nvram);
  return changes.size === 0 ? null : Buffer.from(rewriteVmx(vmx, changes), 'utf8'); // unchanged: the bytes as they were
}

function openSources(list: Array<{ vmx: VmxDisk | null; path: string }>, spec: BackupSpec, vmxPath: string | undefined): SourceDisk[] {
  const opened: SourceDisk[] = [];
  try {
    for (const item of list) {
      try {
        opened.push({ vmx: item.vmx, chain: openChain(item.path, { ignoreCid: spec.ignoreCid === true, allowDevices: spec.allowDevices === true }) });
      } catch (e) {
        if (!(e instanceof DiskchainError) || !item.vmx || !vmxPath) throw e;
        const where = `${item.vmx.device} of ${path.basename(vmxPath)} ("${item.vmx.fileName}")`;
        throw new DiskchainError(e.code, `${where}: ${e.message}`, e.file);
      }
    }
  } catch (e) {
    for (const d of opened) d.chain.close();
    throw e;
  }
  return opened;
}

function inUse(source: string, locks: string[]): DiskchainError {
  return inUseError(source, locks, 'back it up anyway (its disks may change while they are read)');
}

/** A .vmx or an .nvram is read whole into the plan: a few KiB, never this much. */
const MAX_SMALL_FILE = 64 * 1024 * 1024;

/** Size and mtime through the file's source (the host, or a VMFS volume image it is inside). */
function fingerprint(file: string): Fingerprint {
  const st = sourceFor(file).stat(file);
  if (!st) throw new DiskchainError('E_NOTFOUND', 'no such file', file);
  return { path: file, size: st.size, mtimeMs: st.mtimeMs };
}

function memoryFile(name: string, role: ArchiveFile['role'], data: Buffer): PlannedFile {
  return { name, role, sizeBytes: data.length, sha256: sha256Of(data), content: () => [data] };
}

/** The archived links of one disk: the flattened chain, or with keep-chain one per source link (top first). */
function planDisk(
  source: SourceDisk,
  keepChain: boolean,
  segmentBytes: number,
  names: NameBook,
  files: PlannedFile[],
  ctx: JobContext,
  advance: (bytes: number) => void,
): ArchivedDisk {
  const { chain } = source;
  const base = chain.links[chain.links.length - 1]!;
  const diskName = cleanStem(keepChain ? linkStem(chain.top.path) : diskStemOf(chain.top.path));
  const linkSources = keepChain ? chain.links.map((_, i) => new Chain(chain.links.slice(i), [])) : [chain];
  const cids = linkSources.map(() => randomCid());
  const stems = linkSources.map((sub, i) =>
    names.claim(i === 0 ? diskName : cleanStem(linkStem(sub.top.path)), (s) => archivedFileNames(s, sub.capacityBytes, segmentBytes)),
  );
  // Files go into the archive base first, so a restore can build each child on its parent.
  const links: ArchivedDisk['links'] = [];
  for (let i = linkSources.length - 1; i >= 0; i--) {
    const sub = linkSources[i]!;
    const isChild = keepChain && i < linkSources.length - 1;
    const scan = scanChain(sub, !isChild, ctx, advance);
    const kept = isChild ? ownGrains(sub.top) : scan.nonZero!;
    const parent = isChild ? { stem: stems[i + 1]!, cid: cids[i + 1]! } : null;
    const link = planLink(sub, stems[i]!, cids[i]!, parent, kept, segmentBytes, files);
    links.unshift({ ...link, sourcePath: sub.top.path, kind: sub.top.createType, contentSha256: scan.sha256 });
  }
  const geometry = geometryReport(chain);
  return {
    device: source.vmx?.device ?? null,
    vmxFileName: source.vmx?.fileName ?? null,
    sourcePath: chain.top.path,
    sourceLinks: chain.links.map((l) => ({ path: l.path, kind: l.createType, extents: l.extents.flatMap((e) => (e.path === null ? [] : [e.path])) })),
    name: stems[0]!,
    kind: chain.top.createType,
    baseKind: base.createType,
    restoreKind: restoreKindOf(chain),
    capacityBytes: chain.capacityBytes,
    geometry: geometry.geometry,
    ...(geometry.biosGeometry ? { biosGeometry: geometry.biosGeometry } : {}),
    adapterType: geometry.adapterType,
    contentSha256: links[0]!.contentSha256,
    links,
  };
}

function archivedFileNames(stem: string, capacityBytes: number, segmentBytes: number): string[] {
  const plan = planOutput('twoGbMaxExtentSparse', `${stem}.vmdk`, capacityBytes, segmentBytes);
  return [plan.primary, ...plan.extents.map((e) => e.name)];
}

/** Descriptor and segments of one archived link; appends them to `files`. */
function planLink(
  sub: Chain,
  stem: string,
  cid: number,
  parent: { stem: string; cid: number } | null,
  kept: GrainSet,
  segmentBytes: number,
  files: PlannedFile[],
): Omit<ArchivedDisk['links'][number], 'sourcePath' | 'kind' | 'contentSha256'> {
  const plan = planOutput('twoGbMaxExtentSparse', `${stem}.vmdk`, sub.capacityBytes, segmentBytes);
  const parentCid = parent ? parent.cid : NO_PARENT_CID;
  const ddb = outputDdb(sub, sub.capacityBytes, { kind: 'twoGbMaxExtentSparse' }, cid);
  const descriptor = outputDescriptor('twoGbMaxExtentSparse', plan, ddb, {
    cid,
    parentCid,
    ...(parent ? { parentFileNameHint: `${parent.stem}.vmdk` } : {}),
  });
  files.push(memoryFile(plan.primary, 'descriptor', Buffer.from(descriptor, 'utf8')));
  let storedBytes = 0;
  let diskOffset = 0;
  for (const extent of plan.extents) {
    const segment: SparseExtentSpec = { capacityBytes: extent.sizeBytes, descriptor: null, kept, firstGrain: diskOffset / GRAIN_BYTES };
    const start = diskOffset;
    const sizeBytes = sparseExtentBytes(segment);
    storedBytes += kept.count(segment.firstGrain, segment.firstGrain + Math.ceil(extent.sizeBytes / GRAIN_BYTES)) * GRAIN_BYTES;
    files.push({
      name: extent.name,
      role: 'segment',
      sizeBytes,
      sha256: null,
      content: () => emitSparseExtent(segment, (buf, offset) => sub.read(buf, start + offset)),
    });
    diskOffset += extent.sizeBytes;
  }
  return {
    capacityBytes: sub.capacityBytes,
    cid: formatCid(cid),
    parentCid: formatCid(parentCid),
    descriptor: plan.primary,
    segments: plan.extents.map((e) => e.name),
    parent: parent ? `${parent.stem}.vmdk` : null,
    storedBytes,
  };
}

const VMFS_THICK = new Set(['vmfs', 'vmfsPreallocated', 'vmfsEagerZeroedThick', 'vmfsThick']);
const SAME_KIND = new Set<string>(['monolithicSparse', 'twoGbMaxExtentSparse', 'monolithicFlat', 'twoGbMaxExtentFlat', 'streamOptimized']);

/**
 * The kind a restore writes by default: the base link's, where Diskchain can write it. A raw base
 * stays raw where the disk is used raw (an ESX 2 `.dsk`, or a raw file named directly); under a
 * descriptor child it comes back as monolithicFlat, so that what named it still names a VMDK.
 */
export function restoreKindOf(chain: Chain): DiskKind {
  const base = chain.links[chain.links.length - 1]!;
  const kind = base.createType;
  if (kind === 'raw') return /\.dsk$/i.test(base.path) || chain.top === base ? 'raw' : 'monolithicFlat';
  if (SAME_KIND.has(kind)) return kind as DiskKind;
  if (kind === 'vmfsThin') return 'vmfsThin';
  if (VMFS_THICK.has(kind)) return base.descriptor?.ddb.get('ddb.thinprovisioned') === '1' ? 'vmfsThin' : 'vmfs';
  return 'twoGbMaxExtentSparse';
}

// ---------------------------------------------------------------------------------------------
// Write: a staged folder, or a tar stream

function writeFolder(plan: Plan, archiveDir: string, ctx: JobContext): JobResult {
  fs.mkdirSync(archiveDir, { recursive: true });
  const out = StagedOutput.create(archiveDir, [...plan.files.map((f) => f.name), MANIFEST_NAME]);
  try {
    const progress = byteProgress(ctx, 'write', plan.files.reduce((s, f) => s + f.sizeBytes, 0));
    const chunkBytes = chunkBytesOf(plan);
    for (const file of plan.files) {
      file.sha256 = emitChecked(file, new FileSink(out.open(file.name)), ctx, progress, chunkBytes);
    }
    refuseChangedSource(plan.fingerprints);
    out.open(MANIFEST_NAME).append(Buffer.from(serializeManifest(finalManifest(plan)), 'utf8'));
    const committed = out.commit(MANIFEST_NAME);
    return { outputs: [committed[committed.length - 1]!, ...committed.slice(0, -1)], summary: summary(plan, archiveDir) };
  } catch (e) {
    out.abort();
    throw e;
  }
}

function writeStream(plan: Plan, sink: ByteSink, ctx: JobContext): void {
  const segments = plan.files.filter((f) => f.sha256 === null);
  const hashing = byteProgress(ctx, 'hash', segments.reduce((s, f) => s + f.sizeBytes, 0));
  const chunkBytes = chunkBytesOf(plan);
  for (const file of segments) file.sha256 = emitChecked(file, null, ctx, hashing, chunkBytes);

  const mtime = new Date(plan.manifest.createdAt);
  const manifest = Buffer.from(serializeManifest(finalManifest(plan)), 'utf8');
  const out = pipeSafe(sink);
  out.write(tarHeader(MANIFEST_NAME, manifest.length, mtime));
  out.write(manifest);
  out.write(tarPadding(manifest.length));
  const progress = byteProgress(ctx, 'write', plan.files.reduce((s, f) => s + f.sizeBytes, 0));
  for (const file of plan.files) {
    out.write(tarHeader(file.name, file.sizeBytes, mtime));
    emitChecked(file, out, ctx, progress, chunkBytes);
    out.write(tarPadding(file.sizeBytes));
  }
  refuseChangedSource(plan.fingerprints);
  // Without these two blocks tar (and restore -) report a cut-off stream.
  out.write(TAR_END);
}

/**
 * Emits a file into `sink` (or only hashes it) and returns its SHA-256. The size must be what the
 * plan says and, when a hash is already known, the hash too: otherwise the source changed since.
 */
function emitChecked(file: PlannedFile, sink: ByteSink | null, ctx: JobContext, progress: (bytes: number) => void, chunkBytes: number): string {
  const hash = crypto.createHash('sha256');
  const pieces = file.role === 'segment' && file.sha256 === null ? new ChunkHasher(chunkBytes) : null;
  let size = 0;
  for (const chunk of file.content()) {
    ctx.throwIfCancelled();
    hash.update(chunk);
    pieces?.update(chunk);
    sink?.write(chunk);
    size += chunk.length;
    progress(chunk.length);
  }
  const sha256 = hash.digest('hex');
  if (size !== file.sizeBytes || (file.sha256 !== null && sha256 !== file.sha256)) {
    throw new DiskchainError('E_IO', `the source changed while it was being backed up (${file.name} came out different the second time); run the backup again`);
  }
  if (pieces) file.chunks = pieces.result();
  return sha256;
}

function chunkBytesOf(plan: Plan): number {
  return chunkBytesFor(plan.files.reduce((s, f) => s + (f.role === 'segment' ? f.sizeBytes : 0), 0));
}

function refuseChangedSource(before: Fingerprint[]): void {
  for (const f of before) {
    let now: Fingerprint | null = null;
    try {
      now = fingerprint(f.path);
    } catch {
      // vanished: reported below
    }
    if (!now || now.size !== f.size || now.mtimeMs !== f.mtimeMs) {
      throw new DiskchainError('E_IO', 'changed while it was being backed up; the archive was not completed, run the backup again', f.path);
    }
  }
}

function finalManifest(plan: Plan): Manifest {
  const files = plan.files.map((f) => {
    if (f.sha256 === null) throw new DiskchainError('E_INTERNAL', `no hash for ${f.name}`);
    return { name: f.name, role: f.role, bytes: f.sizeBytes, sha256: f.sha256, ...(f.chunks ? { chunks: f.chunks } : {}) };
  });
  return { ...plan.manifest, files };
}

function byteProgress(ctx: JobContext, phase: string, total: number): (bytes: number) => void {
  let done = 0;
  ctx.progress(phase, 0, total);
  return (bytes) => {
    done += bytes;
    ctx.progress(phase, done, total);
  };
}

/** stdout whose reader went away is a plain error, not a crash. */
function pipeSafe(sink: ByteSink): ByteSink {
  return {
    get position() {
      return sink.position;
    },
    write(buf) {
      try {
        sink.write(buf);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') throw new DiskchainError('E_IO', 'the reading end of the pipe went away; the archive stream is incomplete', 'stdout');
        throw e;
      }
    },
  };
}

function summary(plan: Plan, where: string): string {
  const stored = plan.files.reduce((s, f) => s + f.sizeBytes, 0);
  const disks = plan.manifest.disks.length;
  const what = plan.manifest.source.kind === 'vmx' ? `${path.basename(plan.manifest.source.path)} (${disks} disk${disks === 1 ? '' : 's'})` : path.basename(plan.manifest.source.path);
  const forced = plan.manifest.forcedPastLocks ? ' although it looked in use (--force)' : '';
  return `archived ${what}${forced}: ${plan.files.length + 1} files, ${(stored / 1024 ** 2).toFixed(1)} MiB, into ${where}`;
}
