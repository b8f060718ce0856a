/**
 * An archive made by `backup` as a FileSource (issue 11): a folder with manifest.json, or an
 * uncompressed tar of one that is a regular file (its headers indexed once, members read by
 * offset). The disks it holds open as chains through it, at any archived link, so the guest
 * readers restore single files straight from the segments, with nothing staged or written.
 *
 * Integrity: the part of a segment a read reaches is checked against the manifest the first time,
 * once per process (a cache keyed by the file's identity), hashed through one bounded buffer: the
 * 1 MiB chunks the read touches when the manifest has chunk hashes (chunk-hashes.ts), else the
 * whole segment against its SHA-256 (archives made before chunk hashes). Damage refuses every
 * read that reaches it, naming the segment; reads elsewhere go on.
 * The header and grain tables before a segment's first grain (overHead) are read unchecked:
 * opening a disk reads them from every segment, and hashing every segment to open a disk is what
 * single-file restore is meant to avoid. A damaged table still sends its reads into the grains,
 * which are checked.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskStem } from '../../shared/disk-names.js';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { openChain, type Chain } from '../disk/chain.js';
import { CHUNK_DIGEST_BYTES, MANIFEST_NAME, parseManifest, type ArchiveFile, type ArchivedDisk, type ChunkHashes, type Manifest } from '../formats/manifest.js';
import { chunkDigest } from './chunk-hashes.js';
import { ioError, shownPath, type FileSource, type FileStat, type RandomAccessFile, type SourcePath } from '../io/file-source.js';
import { readFolderArchive } from './restore.js';
import { TarReader } from './tar.js';

export { looksLikeArchive } from './archive-probe.js';

const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** The buffer a segment is hashed through. */
const HASH_CHUNK = 1024 * 1024;
const SPARSE_MAGIC = 0x564d444b; // "KDMV" little-endian
const SECTOR = 512;

/** Where a member's bytes are: its own file (folder archive) or a range of the tar file. */
interface Member {
  file: ArchiveFile;
  hostPath: string;
  /** Byte offset of the member's data in hostPath (0 in a folder). */
  offset: number;
  /** Bytes that are there (a folder's file may differ from the manifest: damage). */
  size: number;
  mtimeMs: number;
}

/**
 * Verdicts on segments and chunks, for the life of the process: each is hashed once, whatever opens
 * it. Bounded (the oldest go first) so that a long-lived worker reading many archives stays small.
 */
const verdicts = new Map<string, true | DiskchainError>();
const MAX_VERDICTS = 100_000;

export class ArchiveFiles implements FileSource {
  readonly name: string;
  /** Bytes read from the archive's files so far (data, tables and hashing): what a restore cost. */
  bytesRead = 0;
  private readonly members = new Map<string, Member>();

  constructor(
    /** The archive as the user named it (folder or .tar), resolved. */
    readonly archivePath: string,
    readonly manifest: Manifest,
    members: Member[],
  ) {
    this.name = `archive ${archivePath}`;
    for (const m of members) this.members.set(m.file.name, m);
  }

  /** The path a member has in this source's namespace: archivePath/name. */
  pathOf(name: string): string {
    return path.join(this.archivePath, name);
  }

  open(raw: SourcePath, mode: 'read' | 'write'): RandomAccessFile {
    const p = shownPath(raw);
    if (mode === 'write') throw new DiskchainError('E_UNSUPPORTED', 'archives are read-only', p);
    const member = this.memberAt(p);
    if (!member) {
      if (path.resolve(p) === this.archivePath) throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', p);
      throw new DiskchainError('E_NOTFOUND', `no such file in the archive (${path.basename(p)} is not in its manifest)`, p);
    }
    let fd: number;
    try {
      fd = fs.openSync(member.hostPath, 'r');
    } catch (e) {
      throw ioError(member.hostPath, e);
    }
    return new MemberFile(this, member, fd);
  }

  stat(raw: SourcePath): FileStat | null {
    const p = shownPath(raw);
    if (path.resolve(p) === this.archivePath) return { kind: 'directory', size: 0, mtimeMs: 0 };
    const member = this.memberAt(p);
    return member ? { kind: 'file', size: member.size, mtimeMs: member.mtimeMs } : null;
  }

  realpath(p: string): string {
    return path.resolve(p);
  }

  /**
   * Throws when the part of a segment a read reaches does not match the manifest: the chunks of
   * [start, end) when the manifest has chunk hashes, else the whole segment. Each is hashed once.
   */
  verify(member: Member, fd: number, start: number, end: number): void {
    const identity = `${member.hostPath}\0${member.offset}\0${member.size}\0${member.mtimeMs}\0${member.file.sha256}`;
    const chunks = member.file.chunks;
    if (!chunks || member.size !== member.file.bytes) {
      this.verdict(identity, () => this.hashWhole(member, fd));
      return;
    }
    const last = Math.min(Math.ceil(member.size / chunks.chunkBytes), Math.ceil(end / chunks.chunkBytes));
    for (let index = Math.floor(start / chunks.chunkBytes); index < last; index++) {
      this.verdict(`${identity}\0${index}`, () => this.hashChunk(member, fd, chunks, index));
    }
  }

  private verdict(key: string, check: () => true | DiskchainError): void {
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = check();
      if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
      verdicts.set(key, verdict);
    }
    if (verdict !== true) throw verdict;
  }

  private damaged(member: Member, why: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `segment ${member.file.name} does not match the manifest hash (${why}): the archive is damaged there`, this.archivePath);
  }

  private hashWhole(member: Member, fd: number): true | DiskchainError {
    const listed = member.file;
    if (member.size !== listed.bytes) return this.damaged(member, `it has ${member.size} bytes, the manifest says ${listed.bytes}`);
    const hash = crypto.createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(1, member.size)));
    for (let at = 0; at < member.size; ) {
      const n = this.readRaw(fd, member, buf, 0, Math.min(buf.length, member.size - at), at);
      if (n === 0) return this.damaged(member, `it ends at byte ${at}`);
      hash.update(buf.subarray(0, n));
      at += n;
    }
    const got = hash.digest('hex');
    return got === listed.sha256 ? true : this.damaged(member, `SHA-256 ${got.slice(0, 12)}…, the manifest says ${listed.sha256.slice(0, 12)}…`);
  }

  private hashChunk(member: Member, fd: number, chunks: ChunkHashes, index: number): true | DiskchainError {
    const start = index * chunks.chunkBytes;
    const length = Math.min(chunks.chunkBytes, member.size - start);
    const hash = crypto.createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, length));
    for (let at = 0; at < length; ) {
      const n = this.readRaw(fd, member, buf, 0, Math.min(buf.length, length - at), start + at);
      if (n === 0) return this.damaged(member, `it ends at byte ${start + at}`);
      hash.update(buf.subarray(0, n));
      at += n;
    }
    const got = hash.digest().subarray(0, CHUNK_DIGEST_BYTES);
    const want = chunkDigest(chunks, index);
    return got.equals(want) ? true : this.damaged(member, `bytes ${start}–${start + length - 1}: SHA-256 ${got.toString('hex').slice(0, 12)}…, the manifest says ${want.toString('hex').slice(0, 12)}…`);
  }

  /** A positional read of a member, counted. */
  readRaw(fd: number, member: Member, buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    const want = Math.max(0, Math.min(length, member.size - position));
    if (want === 0) return 0;
    let n: number;
    try {
      n = fs.readSync(fd, buf, bufOffset, want, member.offset + position);
    } catch (e) {
      throw ioError(member.hostPath, e);
    }
    this.bytesRead += n;
    return n;
  }

  private memberAt(p: string): Member | undefined {
    const abs = path.resolve(p);
    if (path.dirname(abs) !== this.archivePath) return undefined;
    return this.members.get(path.basename(abs));
  }
}

/** One open member: reads of a segment's grains wait for its hash check. */
class MemberFile implements RandomAccessFile {
  /** Bytes at the start of a segment that are its header and tables (unchecked); 0 for other files. */
  private structureBytes = 0;

  constructor(
    private readonly archive: ArchiveFiles,
    private readonly member: Member,
    private fd: number,
  ) {
    if (member.file.role === 'segment') this.structureBytes = this.sparseOverhead();
  }

  /** A segment's size as the manifest says: a cut-off segment is damage its hash check names, not a disk that lost grains. */
  get size(): number {
    return this.member.file.role === 'segment' ? this.member.file.bytes : this.member.size;
  }

  read(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    if (this.member.file.role === 'segment' && position + length > this.structureBytes) {
      this.archive.verify(this.member, this.fd, Math.max(position, this.structureBytes), position + length);
    }
    return this.archive.readRaw(this.fd, this.member, buf, bufOffset, length, position);
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }

  /** overHead of a hosted sparse header (sectors before the first grain); 0 when it is not one. */
  private sparseOverhead(): number {
    const head = Buffer.alloc(SECTOR);
    const n = this.archive.readRaw(this.fd, this.member, head, 0, SECTOR, 0);
    if (n < 72 || head.readUInt32LE(0) !== SPARSE_MAGIC) return 0;
    const bytes = Number(head.readBigUInt64LE(64)) * SECTOR;
    return Number.isSafeInteger(bytes) ? Math.min(bytes, this.member.size) : 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Opening an archive

/** Opens an archive folder or tar file for reading; nothing in it is ever written. */
export function openArchive(archive: string): ArchiveFiles {
  const abs = path.resolve(archive);
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (!st) throw new DiskchainError('E_NOTFOUND', 'no such archive', abs);
  if (st.isDirectory()) return openFolder(abs);
  if (!st.isFile()) throw new DiskchainError('E_USAGE', 'an archive is a folder or a .tar file; a stream cannot be read at random (restore - reads one)', abs);
  return openTar(abs);
}

function openFolder(dir: string): ArchiveFiles {
  const { manifest } = readFolderArchive(dir);
  const members = manifest.files.map((file): Member => {
    const hostPath = path.join(dir, file.name);
    const st = fs.statSync(hostPath, { throwIfNoEntry: false });
    return { file, hostPath, offset: 0, size: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? 0 };
  });
  return new ArchiveFiles(dir, manifest, members);
}

function openTar(file: string): ArchiveFiles {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw ioError(file, e);
  }
  try {
    const magic = Buffer.alloc(2);
    fs.readSync(fd, magic, 0, 2, 0);
    if (magic[0] === 0x1f && magic[1] === 0x8b) {
      throw new DiskchainError('E_UNSUPPORTED', 'is compressed (gzip): files are read from an uncompressed tar; gunzip it first, or restore - < it', file);
    }
    const mtimeMs = fs.fstatSync(fd).mtimeMs;
    const { entries, headerBytes } = indexTar(fd, file);
    const manifestAt = entries.get(MANIFEST_NAME);
    if (!manifestAt) throw new DiskchainError('E_NOTFOUND', `no ${MANIFEST_NAME} in the tar: not a diskchain archive`, file);
    if (manifestAt.size > MAX_MANIFEST_BYTES) throw new DiskchainError('E_FORMAT', `a ${manifestAt.size}-byte manifest is not plausible`, file);
    const text = Buffer.alloc(manifestAt.size);
    fs.readSync(fd, text, 0, text.length, manifestAt.offset);
    const manifest = parseManifest(text.toString('utf8'), `${file}: ${MANIFEST_NAME}`);
    const members = manifest.files.map((f): Member => {
      const at = entries.get(f.name);
      return { file: f, hostPath: file, offset: at?.offset ?? 0, size: at?.size ?? 0, mtimeMs };
    });
    const archive = new ArchiveFiles(file, manifest, members);
    archive.bytesRead = headerBytes + text.length;
    return archive;
  } finally {
    fs.closeSync(fd);
  }
}

/** Name → where its data lies, from the headers alone (data is skipped by seeking, never read). */
function indexTar(fd: number, file: string): { entries: Map<string, { offset: number; size: number }>; headerBytes: number } {
  let cursor = 0;
  let headerBytes = 0;
  const input = (buf: Buffer): number => {
    let done = 0;
    while (done < buf.length) {
      const n = fs.readSync(fd, buf, done, buf.length - done, cursor);
      if (n === 0) break;
      done += n;
      cursor += n;
    }
    headerBytes += done;
    return done;
  };
  const reader = new TarReader(input, file, (bytes) => void (cursor += bytes));
  const out = new Map<string, { offset: number; size: number }>();
  for (let entry = reader.next(); entry; entry = reader.next()) {
    // An archive folder tarred whole (`tar -cf x.tar web01-archive`) puts its files one folder down.
    const name = path.posix.basename(entry.name);
    if (out.has(name)) throw new DiskchainError('E_FORMAT', `${name} appears twice in the tar`, file);
    out.set(name, { offset: reader.position, size: entry.sizeBytes });
  }
  return { entries: out, headerBytes };
}

// ---------------------------------------------------------------------------------------------
// Its disks

/**
 * What users type for a disk: its name in the manifest (the top link's stem), the descriptor's file
 * name, or the base name they know (`sys` for a --keep-chain disk whose top is `sys-000001`).
 */
function diskNames(d: ArchivedDisk): string[] {
  return [d.name, d.links[0]!.descriptor, diskStem(d.links[d.links.length - 1]!.descriptor)];
}

/** The disk `name` names, or the only one; a usage error lists the names otherwise. */
export function archiveDisk(archive: ArchiveFiles, name: string | undefined): ArchivedDisk {
  return findArchivedDisk(archive.manifest, name, archive.archivePath);
}

/** archiveDisk on a manifest alone (`where` names the archive in errors). */
export function findArchivedDisk(manifest: Manifest, name: string | undefined, where: string): ArchivedDisk {
  const disks = manifest.disks;
  const listed = disks.map((d) => d.name).join(', ');
  if (name === undefined) {
    if (disks.length === 1) return disks[0]!;
    if (disks.length === 0) throw new DiskchainError('E_NOTFOUND', 'the archive holds no disks', where);
    throw usageError(`${where} holds ${disks.length} disks (${listed}): name one, as ARCHIVE:DISK[:VOL]/path`);
  }
  const exact = disks.find((d) => diskNames(d).includes(name));
  if (exact) return exact;
  const lower = name.toLowerCase();
  const loose = disks.filter((d) => diskNames(d).some((n) => n.toLowerCase() === lower));
  if (loose.length === 1) return loose[0]!;
  throw new DiskchainError('E_NOTFOUND', `no disk "${name}" in the archive (its disks: ${listed})`, where);
}

/** Whether `name` names one of the archive's disks. */
export function isArchiveDisk(archive: ArchiveFiles, name: string): boolean {
  const lower = name.toLowerCase();
  return archive.manifest.disks.some((d) => diskNames(d).some((n) => n.toLowerCase() === lower));
}

/**
 * The disk as the guest saw it at archived link `at` (0 = the top; a --keep-chain archive has one
 * link per source link, a flattened one only 0), read through the archive.
 */
export function openArchivedDisk(archive: ArchiveFiles, disk: ArchivedDisk, at: number, options: { ignoreCid?: boolean } = {}): Chain {
  const link = disk.links[at];
  if (!Number.isInteger(at) || at < 0 || !link) {
    const n = disk.links.length;
    const range = n === 1 ? 'only 0: the archive holds it flattened' : `0 is the top, ${n - 1} the base`;
    throw usageError(`--at ${at}: disk ${disk.name} has ${n} archived link${n === 1 ? '' : 's'} (${range})`);
  }
  return openChain(archive.pathOf(link.descriptor), { source: archive, ignoreCid: options.ignoreCid === true });
}
