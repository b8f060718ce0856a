/**
 * Where a chain's files come from (issue 9). Today the host file system; a file inside a VMFS
 * volume image, inside an archive or inside a guest file system are further sources. Chain
 * resolution (parent hints, REDO names, extents beside the descriptor) asks only this interface,
 * so it works unchanged through any of them. Paths are absolute, in the source's own namespace.
 */
import * as fs from 'node:fs';
import { DiskchainError } from '../../shared/errors.js';
import { dataRegions, type DataRegion } from './holes.js';
import { writeFully } from './write.js';

export type FileKind = 'file' | 'directory' | 'device' | 'other';

/**
 * A path as a string, or as the raw bytes of a name that is not UTF-8 (a windows-1252 or GBK name
 * an unzip on Linux left as it was): Node opens such a file only by its bytes.
 */
export type SourcePath = string | Buffer;

/** A path for messages: a raw name's bytes that are not ASCII as \xHH. */
export function shownPath(p: SourcePath): string {
  if (typeof p === 'string') return p;
  let out = '';
  for (const b of p) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

export interface FileStat {
  kind: FileKind;
  size: number;
  mtimeMs: number;
}

/** One open file: positional reads, and on writable sources positional writes. */
export interface RandomAccessFile {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into buf[bufOffset…]; returns how many (0 at the end). */
  read(buf: Uint8Array, bufOffset: number, length: number, position: number): number;
  /** Absent on read-only sources. */
  write?(buf: Uint8Array, position: number): void;
  sync?(): void;
  /**
   * Starts an fdatasync on the thread pool and returns at once (write-behind); false when one is
   * still running. close() waits for it before the descriptor goes.
   */
  syncInBackground?(): boolean;
  /** Whether the file has holes (its blocks cover less than its size). */
  isThin?(): boolean;
  /** The ranges within [start, end) that hold data (holes left out); absent: all of it. */
  dataRegions?(start: number, end: number): DataRegion[];
  /**
   * A file inside an image: its data regions within [start, end), each also saying where its bytes
   * lie as they are in a host file (the image) where they do, so that long reads go straight there.
   */
  hostRegions?(start: number, end: number): HostRegion[];
  close(): void;
}

/** A data region of a file inside an image, and where its bytes lie in a host file (absent: read it through the file). */
export interface HostRegion extends DataRegion {
  file?: string;
  position?: number;
}

export interface FileSource {
  /** For messages: "host", "memory", an archive's name… */
  readonly name: string;
  /** Throws E_NOTFOUND, E_IO or E_FORMAT (a directory) naming the path. */
  open(path: SourcePath, mode: 'read' | 'write'): RandomAccessFile;
  /** null when nothing is there. */
  stat(path: SourcePath): FileStat | null;
  /** The canonical name of what `path` names (symbolic links followed); the path itself when it cannot tell. */
  realpath(path: string): string;
  /**
   * Its files can say where their bytes lie in host files (RandomAccessFile.hostRegions): a VMFS
   * image's. Chains then ask where flat data lies (mapRuns' backing), as for host files.
   */
  readonly hostRegions?: boolean;
}

class HostFile implements RandomAccessFile {
  constructor(
    private fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  read(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    try {
      return fs.readSync(this.fd, buf, bufOffset, length, position);
    } catch (e) {
      throw ioError(this.path, e);
    }
  }

  write(buf: Uint8Array, position: number): void {
    try {
      writeFully(this.fd, buf, position);
    } catch (e) {
      throw ioError(this.path, e);
    }
  }

  sync(): void {
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw ioError(this.path, e);
    }
  }

  syncInBackground(): boolean {
    if (this.syncing || this.fd < 0) return false;
    this.syncing = true;
    // An error here shows again in the final fsync, which is the one that counts.
    fs.fdatasync(this.fd, () => {
      this.syncing = false;
      if (this.closeWhenSynced) this.close();
    });
    return true;
  }

  private syncing = false;
  private closeWhenSynced = false;

  isThin(): boolean {
    const st = fs.fstatSync(this.fd);
    return st.blocks * 512 < st.size;
  }

  /** Holes are only looked for in files that have some (asked once: fstat is cheap, but not free per read). */
  dataRegions(start: number, end: number): DataRegion[] {
    this.thin ??= this.isThin();
    return this.thin ? dataRegions(this.fd, start, end) : [{ start, end }];
  }

  private thin: boolean | undefined;

  /** Closes now, or when a background sync ends: its descriptor must not be reused under it. */
  close(): void {
    if (this.syncing) {
      this.closeWhenSynced = true;
      return;
    }
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Opening a FIFO blocks until a writer comes, a socket fails oddly and a directory is no disk:
 * a descriptor is untrusted input, so anything but a regular file is refused before open.
 * Devices are opened only where a caller asked for them (see DeviceAccess in disk/link.ts).
 */
function refuseSpecialFile(path: SourcePath, allowDevices: boolean): void {
  const st = fs.statSync(path, { throwIfNoEntry: false });
  if (!st || st.isFile()) return;
  if (st.isBlockDevice() || st.isCharacterDevice()) {
    if (allowDevices) return;
    throw new DiskchainError('E_UNSUPPORTED', DEVICE_REFUSED, shownPath(path));
  }
  if (st.isDirectory()) throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', shownPath(path));
  const what = st.isFIFO() ? 'a named pipe (FIFO)' : st.isSocket() ? 'a socket' : 'not a regular file';
  throw new DiskchainError('E_FORMAT', `is ${what}, not a disk file`, shownPath(path));
}

function kindOf(st: fs.Stats): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return 'other';
}

/**
 * The machine's own file system. Devices (`/dev/loop0`) are refused unless `allowDevices`: a
 * descriptor is untrusted input and may name any device; the user opts in (`--allow-devices`).
 */
export function hostFileSource(options: { allowDevices: boolean }): FileSource {
  return {
    name: options.allowDevices ? 'host (devices allowed)' : 'host',
    open: (path, mode) => openHostFile(path, mode, options.allowDevices),
    stat: hostStat,
    realpath: hostRealpath,
  };
}

function hostStat(path: SourcePath): FileStat | null {
  const st = fs.statSync(path, { throwIfNoEntry: false });
  return st ? { kind: kindOf(st), size: st.size, mtimeMs: st.mtimeMs } : null;
}

function hostRealpath(path: string): string {
  try {
    return fs.realpathSync(path);
  } catch {
    return path;
  }
}

/** Bytes of a block device (fstat says 0): Linux tells it in /sys/dev/block/MAJOR:MINOR/size, in sectors. */
function deviceBytes(st: fs.Stats): number {
  const rdev = st.rdev;
  const major = Math.floor(rdev / 256) % 4096;
  const minor = (rdev % 256) + Math.floor(rdev / 1048576) * 256;
  try {
    return Number(fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim()) * 512;
  } catch {
    return 0;
  }
}

export const hostFiles: FileSource = hostFileSource({ allowDevices: false });

function openHostFile(path: SourcePath, mode: 'read' | 'write', allowDevices: boolean): RandomAccessFile {
  {
    refuseSpecialFile(path, allowDevices);
    let fd: number;
    try {
      fd = fs.openSync(path, mode === 'write' ? 'r+' : 'r');
    } catch (e) {
      throw ioError(shownPath(path), e);
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', shownPath(path));
      // A character device has no size at all: the descriptor's extent size is all there is.
      const size = st.isBlockDevice() ? deviceBytes(st) : st.isCharacterDevice() ? Number.MAX_SAFE_INTEGER : st.size;
      return new HostFile(fd, size, shownPath(path));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }
}

export const DEVICE_REFUSED = 'is a device: a descriptor may name any device, so devices are read only with --allow-devices';

export function ioError(path: string, e: unknown): DiskchainError {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return new DiskchainError('E_NOTFOUND', 'no such file', path);
    case 'EACCES':
    case 'EPERM':
      return new DiskchainError('E_IO', 'permission denied', path);
    case 'EISDIR':
      return new DiskchainError('E_FORMAT', 'is a directory, not a disk file', path);
    default:
      return new DiskchainError('E_IO', err.message ?? String(e), path);
  }
}
