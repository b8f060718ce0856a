/**
 * Where a chain's files come from (issue 9). Today the host file system; a file inside a VMFS
 * volume image, inside an archive or inside a guest file system are further sources. Chain
 * resolution (parent hints, REDO names, extents beside the descriptor) asks only this interface,
 * so it works unchanged through any of them. Paths are absolute, in the source's own namespace.
 */
import * as fs from 'node:fs';
import { DiskchainError } from '../../shared/errors.js';
import { writeFully } from './write.js';

export type FileKind = 'file' | 'directory' | 'device' | 'other';

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
  /** Whether the file has holes (its blocks cover less than its size). */
  isThin?(): boolean;
  close(): void;
}

export interface FileSource {
  /** For messages: "host", "memory", an archive's name… */
  readonly name: string;
  /** Throws E_NOTFOUND, E_IO or E_FORMAT (a directory) naming the path. */
  open(path: string, mode: 'read' | 'write'): RandomAccessFile;
  /** null when nothing is there. */
  stat(path: string): FileStat | null;
  /** The canonical name of what `path` names (symbolic links followed); the path itself when it cannot tell. */
  realpath(path: string): string;
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

  isThin(): boolean {
    const st = fs.fstatSync(this.fd);
    return st.blocks * 512 < st.size;
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function kindOf(st: fs.Stats): FileKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return 'other';
}

/** The machine's own file system. */
export const hostFiles: FileSource = {
  name: 'host',
  open(path, mode) {
    let fd: number;
    try {
      fd = fs.openSync(path, mode === 'write' ? 'r+' : 'r');
    } catch (e) {
      throw ioError(path, e);
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', path);
      return new HostFile(fd, st.size, path);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  },
  stat(path) {
    const st = fs.statSync(path, { throwIfNoEntry: false });
    return st ? { kind: kindOf(st), size: st.size, mtimeMs: st.mtimeMs } : null;
  },
  realpath(path) {
    try {
      return fs.realpathSync(path);
    } catch {
      return path;
    }
  },
};

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
