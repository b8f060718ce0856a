/**
 * `diskchain restore ARCHIVE_DIR|- DEST_DIR [--to KIND]`: an archive made by `backup` back into
 * disks (by default of the kind each had) and, for a VM, its .vmx re-pointed at them and its .nvram.
 *
 * Nothing is written before every file of the archive matched the manifest (size and SHA-256);
 * a tar stream on stdin is checked entry by entry as it arrives, staged in a hidden folder of
 * DEST_DIR. Disks are then written into that folder, each one's content hash is checked against
 * the manifest, and only then is everything renamed into DEST_DIR, the .vmx last. Existing files
 * in DEST_DIR are never replaced; a failed or cancelled restore leaves nothing behind.
 */
import * as crypto from 'node:crypto';
import { writeFully } from '../io/write.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { DEFAULT_SEGMENT_BYTES, RESTORE_KINDS, type DiskKind, type JobResult, type RestoreKind, type RestoreSpec } from '../../shared/jobs.js';
import { convertJob } from '../convert/convert.js';
import { GRAIN_BYTES, outputDdb, outputDescriptor, outputNames, planOutput, type OutputPlan } from '../convert/layout.js';
import { openChain, type Chain } from '../disk/chain.js';
import { openLink } from '../disk/link.js';
import { NO_PARENT_CID, randomCid, serializeDescriptor } from '../formats/descriptor.js';
import { SECTOR } from '../formats/extent.js';
import { FileSink } from '../io/sink.js';
import { StagedOutput, syncDir } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { lockFiles, type HeldLocks } from '../io/writer-lock.js';
import { ArchiveFileName, MANIFEST_NAME, parseManifest, type ArchivedDisk, type ArchivedLink, type Manifest } from '../formats/manifest.js';
import { ownGrains, scanChain } from './scan.js';
import { emitCowdExtent } from './cowd-emitter.js';
import { emitSparseExtent } from './segment-emitter.js';
import { fdInput, TarReader, type ReadInput } from './tar.js';
import { parseVmx, rewriteVmx, vmxValue } from '../formats/vmx.js';

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** One restored link: what it is written as and the files that makes. */
/** The kinds a restored link is written as: a convert kind, or an ESX snapshot (vmfsSparse delta, ESX 2 REDO log). */
type RestoredKind = DiskKind | 'vmfsSparse' | 'redo';

interface LinkTarget {
  link: ArchivedLink;
  kind: RestoredKind;
  stem: string;
  /** The file that opens the link (descriptor or single file). */
  primary: string;
  files: string[];
}

interface DiskTarget {
  disk: ArchivedDisk;
  /** Base first, top last: the order they are written in. */
  links: LinkTarget[];
}

export async function restoreJob(spec: RestoreSpec, ctx: JobContext): Promise<JobResult> {
  if (spec.to !== undefined && !(RESTORE_KINDS as readonly string[]).includes(spec.to)) {
    throw usageError(`unknown kind "${spec.to}" (one of ${RESTORE_KINDS.join(', ')})`);
  }
  const destDir = path.resolve(spec.destDir);
  const fromStream = spec.archiveDir === '-';
  // A folder archive is read and checked before DEST_DIR is touched.
  const folderArchive = fromStream ? null : readFolderArchive(path.resolve(spec.archiveDir));
  if (folderArchive) {
    planTargets(folderArchive.manifest, spec.to, destDir);
    verifyFolder(folderArchive.dir, folderArchive.manifest, ctx);
  }
  const createdDest = fs.mkdirSync(destDir, { recursive: true }) !== undefined;
  const work = path.join(destDir, `.diskchain-${crypto.randomBytes(4).toString('hex')}.partial`);
  fs.mkdirSync(work);
  let restored = false;
  let locks: HeldLocks | null = null;
  try {
    let archiveDir: string;
    let manifest: Manifest;
    if (folderArchive) {
      archiveDir = folderArchive.dir;
      manifest = folderArchive.manifest;
    } else {
      archiveDir = path.join(work, 'archive');
      fs.mkdirSync(archiveDir);
      manifest = receiveStream(fdInput(0), 'stdin', archiveDir, ctx, (m) => planTargets(m, spec.to, destDir));
    }
    const targets = planTargets(manifest, spec.to, destDir);
    locks = lockFiles({ job: 'restore', writes: restoredNames(manifest, targets).map((n) => path.join(destDir, n)), reads: [] });
    const outDir = path.join(work, 'out');
    fs.mkdirSync(outDir);
    for (const target of targets) await restoreDisk(target, archiveDir, outDir, ctx);
    checkContent(targets, outDir, ctx);
    const vmFiles = writeVmFiles(manifest, targets, archiveDir, outDir);
    const moved = moveIntoPlace(targets, vmFiles, outDir, destDir);
    restored = true;
    return { outputs: moved, summary: summaryOf(manifest, targets, destDir) };
  } finally {
    await locks?.release();
    fs.rmSync(work, { recursive: true, force: true });
    // A failed restore into a folder it made leaves no empty folder either.
    if (!restored && createdDest && fs.readdirSync(destDir).length === 0) fs.rmdirSync(destDir);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading and checking the archive

export function readFolderArchive(dir: string): { dir: string; manifest: Manifest } {
  if (!fs.existsSync(dir)) throw new DiskchainError('E_NOTFOUND', 'no such archive folder', dir);
  if (!fs.statSync(dir).isDirectory()) throw new DiskchainError('E_USAGE', "not a folder (use '-' to read a tar stream from stdin)", dir);
  const file = path.join(dir, MANIFEST_NAME);
  if (!fs.existsSync(file)) {
    const partial = fs.readdirSync(dir).find((n) => /^\.diskchain-.*\.partial$/.test(n));
    const why = partial
      ? `a backup into it did not finish (it left ${partial}); an archive is complete only once its manifest is written`
      : 'not a diskchain archive, or an incomplete one (a backup writes the manifest last)';
    throw new DiskchainError('E_NOTFOUND', `no ${MANIFEST_NAME}: ${why}`, dir);
  }
  const size = fs.statSync(file).size;
  if (size > MAX_MANIFEST_BYTES) throw new DiskchainError('E_FORMAT', `a ${size}-byte manifest is not plausible`, file);
  return { dir, manifest: parseManifest(fs.readFileSync(file, 'utf8'), file) };
}

/** Every listed file: present, of its size and SHA-256. All damage is named at once. */
export function verifyFolder(dir: string, manifest: Manifest, ctx: JobContext): void {
  const total = manifest.files.reduce((s, f) => s + f.bytes, 0);
  let done = 0;
  const problems: string[] = [];
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (const f of manifest.files) {
    const file = path.join(dir, f.name);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      problems.push(`${f.name} is missing`);
      continue;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size !== f.bytes) {
        problems.push(`${f.name} has ${size} bytes, the manifest says ${f.bytes}`);
        continue;
      }
      const hash = crypto.createHash('sha256');
      for (let at = 0; at < size; ) {
        ctx.throwIfCancelled();
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - at), at);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        at += n;
        done += n;
        ctx.progress('verify', done, total);
      }
      if (hash.digest('hex') !== f.sha256) problems.push(`${f.name} differs from the manifest (SHA-256 mismatch)`);
    } finally {
      fs.closeSync(fd);
    }
  }
  if (problems.length > 0) {
    throw new DiskchainError('E_FORMAT', `archive is damaged, nothing was restored: ${problems.join('; ')}`, dir);
  }
}

/**
 * Reads a tar stream into `archiveDir`, hashing each entry as it arrives and checking it against
 * the manifest (which `backup` sends first; entries before it are checked when it comes).
 * Entries the manifest does not list are skipped.
 */
export function receiveStream(input: ReadInput, what: string, archiveDir: string, ctx: JobContext, onManifest: (m: Manifest) => void): Manifest {
  const reader = new TarReader(input, what);
  const received = new Map<string, { bytes: number; sha256: string }>();
  let manifest: Manifest | null = null;
  let done = 0;
  const check = (name: string): void => {
    const listed = manifest!.files.find((f) => f.name === name);
    const got = received.get(name)!;
    if (!listed) return;
    if (got.bytes !== listed.bytes) throw damaged(what, `${name} has ${got.bytes} bytes, the manifest says ${listed.bytes}`);
    if (got.sha256 !== listed.sha256) throw damaged(what, `${name} differs from the manifest (SHA-256 mismatch)`);
  };
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (let entry = reader.next(); entry; entry = reader.next()) {
    ctx.throwIfCancelled();
    // An archive folder tarred whole (`tar -cf - web01-archive`) puts its files one folder down.
    const name = path.posix.basename(entry.name);
    if (name === MANIFEST_NAME) {
      if (manifest) throw damaged(what, `${MANIFEST_NAME} appears twice`);
      if (entry.sizeBytes > MAX_MANIFEST_BYTES) throw damaged(what, `a ${entry.sizeBytes}-byte manifest is not plausible`);
      const text = Buffer.alloc(entry.sizeBytes);
      for (let at = 0; at < text.length; ) at += reader.readData(text.subarray(at));
      manifest = parseManifest(text.toString('utf8'), `${what}: ${MANIFEST_NAME}`);
      onManifest(manifest);
      for (const earlier of received.keys()) check(earlier);
      continue;
    }
    if (!ArchiveFileName.safeParse(name).success) continue;
    if (manifest && !manifest.files.some((f) => f.name === name)) continue;
    if (received.has(name)) throw damaged(what, `${name} appears twice`);
    const total = manifest ? manifest.files.reduce((s, f) => s + f.bytes, 0) : 0;
    const hash = crypto.createHash('sha256');
    const out = fs.openSync(path.join(archiveDir, name), 'wx');
    try {
      for (let n = reader.readData(buf); n > 0; n = reader.readData(buf)) {
        ctx.throwIfCancelled();
        hash.update(buf.subarray(0, n));
        writeAll(out, buf.subarray(0, n));
        done += n;
        ctx.progress('receive', done, Math.max(total, done));
      }
    } finally {
      fs.closeSync(out);
    }
    received.set(name, { bytes: entry.sizeBytes, sha256: hash.digest('hex') });
    if (manifest) check(name);
  }
  if (!manifest) throw damaged(what, `no ${MANIFEST_NAME} in the stream: not a diskchain archive`);
  const missing = (manifest as Manifest).files.filter((f) => !received.has(f.name)).map((f) => f.name);
  if (missing.length > 0) throw damaged(what, `the stream lacks ${missing.join(', ')}`);
  return manifest;
}

function damaged(what: string, message: string): DiskchainError {
  return new DiskchainError('E_FORMAT', `archive is damaged, nothing was restored: ${message}`, what);
}

function writeAll(fd: number, buf: Buffer): void {
  writeFully(fd, buf, null);
}

// ---------------------------------------------------------------------------------------------
// What gets written where

/** The restored files of every disk; refuses names that exist in DEST_DIR, before anything is written. */
export function planTargets(manifest: Manifest, to: RestoreKind | undefined, destDir: string): DiskTarget[] {
  const taken = new Set<string>();
  const claim = (names: string[]): void => {
    for (const n of names) {
      const key = n.toLowerCase();
      if (taken.has(key)) throw new DiskchainError('E_FORMAT', `two restored files would both be named ${n}`, destDir);
      taken.add(key);
      const target = path.join(destDir, n);
      if (exists(target)) throw new DiskchainError('E_EXISTS', 'already exists; restore never replaces files (choose an empty folder)', target);
    }
  };
  if (manifest.vm) claim([manifest.vm.vmx, ...(manifest.vm.nvram ? [manifest.vm.nvram] : [])]);
  return manifest.disks.map((disk) => {
    const links: LinkTarget[] = [];
    for (const link of disk.links.slice().reverse()) {
      const parent = links[links.length - 1] ?? null;
      const kind = parent === null ? (to ?? disk.restoreKind) : childKind(link, to, parent.kind);
      const stem = parent === null && disk.links.length === 1 ? disk.name : link.descriptor.replace(/\.vmdk$/i, '');
      const target = namedTarget(link, kind, stem, parent);
      claim(target.files);
      links.push(target);
    }
    return { disk, links };
  });
}

/**
 * What a snapshot link becomes: --to decides the family (hosted sparse, or ESX vmfsSparse for
 * vmfs); without it, the link's own kind where it can be written: ESX deltas (vmfsSparse, and
 * seSparse, which is read-only here) as vmfsSparse, ESX 2 REDO logs as REDO logs on a raw disk or
 * REDO, hosted children as they were.
 */
function childKind(link: ArchivedLink, to: RestoreKind | undefined, parentKind: RestoredKind): RestoredKind {
  if (to === 'vmfs') return 'vmfsSparse';
  if (to !== undefined) return to;
  if (link.kind === 'twoGbMaxExtentSparse') return 'twoGbMaxExtentSparse';
  if (link.kind === 'cowd' && (parentKind === 'raw' || parentKind === 'redo')) return 'redo';
  if (link.kind === 'vmfsSparse' || link.kind === 'seSparse' || link.kind === 'cowd' || VMFS_KINDS.has(parentKind)) return 'vmfsSparse';
  return 'monolithicSparse';
}

const VMFS_KINDS = new Set<RestoredKind>(['vmfs', 'vmfsThin', 'vmfsSparse']);

function namedTarget(link: ArchivedLink, kind: RestoredKind, stem: string, parent: LinkTarget | null): LinkTarget {
  if (kind === 'redo') {
    const primary = `${parent!.primary}.REDO`;
    return { link, kind, stem, primary, files: [primary] };
  }
  if (kind === 'vmfsSparse') {
    return { link, kind, stem, primary: `${stem}.vmdk`, files: [`${stem}-delta.vmdk`, `${stem}.vmdk`] };
  }
  const ext = kind === 'raw' ? (/\.dsk$/i.test(link.sourcePath) ? '.dsk' : '.img') : '.vmdk';
  const plan = restorePlan(kind, `${stem}${ext}`, link.capacityBytes);
  return { link, kind, stem, primary: plan.primary, files: outputNames(plan) };
}

function restorePlan(kind: DiskKind, name: string, capacityBytes: number, dir = '.'): OutputPlan {
  return planOutput(kind, path.join(dir, name), capacityBytes, DEFAULT_SEGMENT_BYTES);
}

// ---------------------------------------------------------------------------------------------
// Writing

async function restoreDisk(target: DiskTarget, archiveDir: string, outDir: string, ctx: JobContext): Promise<void> {
  let parent: { primary: string; cid: number | undefined } | null = null;
  for (const t of target.links) {
    ctx.throwIfCancelled();
    const src = path.join(archiveDir, t.link.descriptor);
    const phase = `write ${t.primary}`;
    const sub: JobContext = { progress: (_p, done, total) => ctx.progress(phase, done, total), throwIfCancelled: () => ctx.throwIfCancelled() };
    if (parent === null) {
      await convertJob({ kind: 'convert', src, dst: path.join(outDir, t.primary), to: t.kind as DiskKind, skipZeroGrains: true }, sub);
    } else {
      writeChild(src, t, parent, outDir, sub);
    }
    parent = { primary: t.primary, cid: cidOf(path.join(outDir, t.primary)) };
  }
}

function cidOf(file: string): number | undefined {
  const link = openLink(file);
  try {
    return link.descriptor?.cid;
  } finally {
    link.data.close();
  }
}

/**
 * A snapshot link restored on its restored parent: the grains the archived link holds itself
 * (holes fall through to the parent), a new CID, parentCID = the parent's CID and
 * parentFileNameHint = its file name (a REDO log names its parent in its header instead).
 */
function writeChild(src: string, t: LinkTarget, parent: { primary: string; cid: number | undefined }, outDir: string, ctx: JobContext): void {
  const archived = openChain(src);
  try {
    const out = StagedOutput.create(outDir, t.files);
    try {
      const pieces = childPieces(archived, t, parent);
      pieces.forEach((piece, index) => {
        const sink = new FileSink(out.open(piece.name));
        for (const chunk of piece.content()) {
          ctx.throwIfCancelled();
          sink.write(chunk);
        }
        ctx.progress('copy', index + 1, pieces.length);
      });
      out.commit(t.primary);
    } catch (e) {
      out.abort();
      throw e;
    }
  } finally {
    archived.close();
  }
}

/** The files of a restored child, each as its bytes in order. */
function childPieces(archived: Chain, t: LinkTarget, parent: { primary: string; cid: number | undefined }): Array<{ name: string; content: () => Iterable<Buffer> }> {
  const capacityBytes = archived.capacityBytes;
  const kept = ownGrains(archived.top);
  const readOwn = (start: number) => (buf: Buffer, offset: number) => archived.top.data.read(buf, start + offset);
  if (t.kind === 'redo') {
    const spec = { capacityBytes, kept, parentFileName: parent.primary, file: t.primary };
    return [{ name: t.primary, content: () => emitCowdExtent(spec, readOwn(0)) }];
  }
  const cid = randomCid();
  const parentLink = { cid, ...(parent.cid === undefined ? {} : { parentCid: parent.cid }), parentFileNameHint: parent.primary };
  if (t.kind === 'vmfsSparse') {
    const delta = t.files[0]!;
    const descriptor = vmfsSparseDescriptor(archived, delta, parentLink);
    const spec = { capacityBytes, kept, file: delta };
    return [
      { name: delta, content: () => emitCowdExtent(spec, readOwn(0)) },
      { name: t.primary, content: () => [Buffer.from(descriptor, 'utf8')] },
    ];
  }
  const kind = t.kind as DiskKind;
  const plan = restorePlan(kind, `${t.stem}.vmdk`, capacityBytes);
  const descriptor = outputDescriptor(kind, plan, outputDdb(archived, capacityBytes, { kind }, cid), parentLink);
  let diskOffset = 0;
  const pieces = plan.extents.map((extent): { name: string; content: () => Iterable<Buffer> } => {
    const spec = { capacityBytes: extent.sizeBytes, descriptor: plan.separateDescriptor ? null : descriptor, kept, firstGrain: diskOffset / GRAIN_BYTES };
    const read = readOwn(diskOffset);
    diskOffset += extent.sizeBytes;
    return { name: extent.name, content: () => emitSparseExtent(spec, read) };
  });
  if (plan.separateDescriptor) pieces.push({ name: plan.primary, content: () => [Buffer.from(descriptor, 'utf8')] });
  return pieces;
}

/** An ESX snapshot descriptor (§4.3): createType vmfsSparse, one VMFSSPARSE extent, the parent's hint and CID. */
function vmfsSparseDescriptor(archived: Chain, delta: string, link: { cid: number; parentCid?: number; parentFileNameHint: string }): string {
  const ddb = outputDdb(archived, archived.capacityBytes, { kind: 'vmfs' }, link.cid);
  return serializeDescriptor({
    version: 1,
    encoding: 'UTF-8',
    cid: link.cid,
    parentCid: link.parentCid ?? NO_PARENT_CID,
    createType: 'vmfsSparse',
    parentFileNameHint: link.parentFileNameHint,
    isNativeSnapshot: 'no',
    extents: [{ access: 'RW', sizeSectors: Math.ceil(archived.capacityBytes / SECTOR), type: 'VMFSSPARSE', fileName: delta, offsetSectors: 0, extra: [] }],
    ddb,
    ddbOrder: [],
    otherHeader: new Map(),
    warnings: [],
  });
}

/** Each restored link must read exactly as the archived one did (its content hash in the manifest). */
function checkContent(targets: DiskTarget[], outDir: string, ctx: JobContext): void {
  const total = targets.reduce((s, t) => s + t.links.reduce((n, l) => n + l.link.capacityBytes, 0), 0);
  let done = 0;
  for (const target of targets) {
    for (const t of target.links) {
      const chain: Chain = openChain(path.join(outDir, t.primary));
      try {
        const { sha256 } = scanChain(chain, false, ctx, (n) => ctx.progress('check', (done += n), total));
        if (sha256 !== t.link.contentSha256) {
          throw new DiskchainError('E_FORMAT', `restored disk does not read as the archived one did (content SHA-256 ${sha256}, manifest ${t.link.contentSha256})`, t.primary);
        }
      } finally {
        chain.close();
      }
    }
  }
}

/** The .vmx with its disk entries pointing at the restored tops, and the .nvram as archived. */
function writeVmFiles(manifest: Manifest, targets: DiskTarget[], archiveDir: string, outDir: string): string[] {
  if (!manifest.vm) return [];
  const vmx = parseVmx(archivedFile(manifest, archiveDir, manifest.vm.vmx).toString('utf8'), manifest.vm.vmx);
  const changes = new Map<string, string>();
  for (const t of targets) {
    if (t.disk.device) changes.set(`${t.disk.device}.fileName`, t.links[t.links.length - 1]!.primary);
  }
  const files: string[] = [];
  if (manifest.vm.nvram) {
    fs.writeFileSync(path.join(outDir, manifest.vm.nvram), archivedFile(manifest, archiveDir, manifest.vm.nvram), { flag: 'wx' });
    if (vmxValue(vmx, 'nvram') !== undefined && vmxValue(vmx, 'nvram') !== manifest.vm.nvram) changes.set('nvram', manifest.vm.nvram);
    files.push(manifest.vm.nvram);
  }
  fs.writeFileSync(path.join(outDir, manifest.vm.vmx), rewriteVmx(vmx, changes), { flag: 'wx' });
  files.push(manifest.vm.vmx);
  return files;
}

/** A small archived file, read again and checked again: it was verified, but a while ago. */
function archivedFile(manifest: Manifest, archiveDir: string, name: string): Buffer {
  const data = fs.readFileSync(path.join(archiveDir, name));
  const listed = manifest.files.find((f) => f.name === name);
  if (!listed || crypto.createHash('sha256').update(data).digest('hex') !== listed.sha256) {
    throw new DiskchainError('E_IO', 'changed while it was being restored; nothing was restored', path.join(archiveDir, name));
  }
  return data;
}

/** Renames everything from the work folder into DEST_DIR: disk data, then descriptors, then the .vmx. */
function moveIntoPlace(targets: DiskTarget[], vmFiles: string[], outDir: string, destDir: string): string[] {
  const diskFiles = targets.flatMap((t) => t.links.flatMap((l) => [...l.files.filter((f) => f !== l.primary), l.primary]));
  const order = [...diskFiles, ...vmFiles];
  for (const name of vmFiles) fsyncFile(path.join(outDir, name));
  for (const name of order) {
    const to = path.join(destDir, name);
    if (exists(to)) throw new DiskchainError('E_EXISTS', 'appeared while restoring; restore never replaces files', to);
    fs.renameSync(path.join(outDir, name), to);
  }
  syncDir(destDir);
  const primaries = targets.map((t) => path.join(destDir, t.links[t.links.length - 1]!.primary));
  const vmx = vmFiles.length > 0 ? [path.join(destDir, vmFiles[vmFiles.length - 1]!)] : [];
  return [...vmx, ...primaries];
}

/** Every file a restore makes in DEST_DIR: disk files, then the .nvram and .vmx. */
function restoredNames(manifest: Manifest, targets: DiskTarget[]): string[] {
  const vm = manifest.vm ? [...(manifest.vm.nvram ? [manifest.vm.nvram] : []), manifest.vm.vmx] : [];
  return [...targets.flatMap((t) => t.links.flatMap((l) => l.files)), ...vm];
}

/** lstat, not exists: a dangling symlink is a file a rename would replace. */
function exists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function summaryOf(manifest: Manifest, targets: DiskTarget[], destDir: string): string {
  const disks = targets
    .map((t) => {
      const top = t.links[t.links.length - 1]!;
      const parents = t.links.length - 1;
      return `${top.primary} (${top.kind}${parents > 0 ? ` on ${parents} parent link${parents === 1 ? '' : 's'}` : ''})`;
    })
    .join(', ');
  const vm = manifest.vm ? `${manifest.vm.vmx} with ` : '';
  return `restored ${vm}${disks || 'no disks'} into ${destDir}`;
}
