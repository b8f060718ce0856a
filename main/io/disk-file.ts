import * as fs from 'node:fs';
import { DiskchainError, formatError } from '../../shared/errors.js';
import { writeFully } from './write.js';

/** Largest single metadata read we allow; anything bigger means a header field is lying. */
export const MAX_METADATA_READ = 64 * 1024 * 1024;

/**
 * A file opened read-only for positional reads. Every read is bounded by the real file size,
 * so a bogus header field turns into a clear E_FORMAT error instead of a huge allocation.
 */
export class DiskFile {
  private constructor(
    readonly path: string,
    private fd: number,
    /** Bytes in the file when opened; writes past it raise it. */
    public size: number,
    readonly writable: boolean,
  ) {}

  static open(path: string): DiskFile {
    return DiskFile.openAs(path, 'r');
  }

  /** Opened for reading and writing in place: the write side of a driver (commit, extend). */
  static openForWrite(path: string): DiskFile {
    return DiskFile.openAs(path, 'r+');
  }

  private static openAs(path: string, flags: 'r' | 'r+'): DiskFile {
    let fd: number;
    try {
      fd = fs.openSync(path, flags);
    } catch (e) {
      throw ioError(path, e);
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', path);
      // Block devices report size 0 from fstat; ask the device how big it is by seeking is not
      // possible with sync fs, so devices are read with their size from the descriptor instead.
      return new DiskFile(path, fd, st.size, flags === 'r+');
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Reads exactly buf.length bytes at position, or fails naming the file and what was missing. */
  readAt(buf: Uint8Array, position: number, what = 'data'): void {
    const n = this.readAtMost(buf, position);
    if (n < buf.length) {
      throw formatError(
        this.path,
        `truncated: ${what} at byte ${position} needs ${buf.length} bytes but the file ends at ${this.size}`,
      );
    }
  }

  /** Reads up to buf.length bytes at position; returns how many were read (short at end of file). */
  readAtMost(buf: Uint8Array, position: number): number {
    let done = 0;
    while (done < buf.length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, buf, done, buf.length - done, position + done);
      } catch (e) {
        throw ioError(this.path, e);
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** Allocates and reads a metadata block, refusing sizes that no real header asks for. */
  readBlock(length: number, position: number, what: string): Buffer {
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_METADATA_READ) {
      throw formatError(this.path, `${what} of ${length} bytes is not plausible`);
    }
    if (!Number.isSafeInteger(position) || position < 0 || position + length > this.size) {
      throw formatError(
        this.path,
        `truncated: ${what} at byte ${position} (${length} bytes) lies past the end of the file (${this.size} bytes)`,
      );
    }
    const buf = Buffer.alloc(length);
    this.readAt(buf, position, what);
    return buf;
  }

  /** Writes all of buf at position (in slices, see write.ts). */
  writeAt(buf: Uint8Array, position: number): void {
    if (!this.writable) throw new DiskchainError('E_INTERNAL', 'file was opened read-only', this.path);
    try {
      writeFully(this.fd, buf, position);
    } catch (e) {
      throw ioError(this.path, e);
    }
    this.size = Math.max(this.size, position + buf.length);
  }

  writeZeros(position: number, length: number): void {
    for (let done = 0; done < length; done += ZERO_CHUNK.length) {
      this.writeAt(ZERO_CHUNK.subarray(0, Math.min(ZERO_CHUNK.length, length - done)), position + done);
    }
  }

  sync(): void {
    try {
      fs.fsyncSync(this.fd);
    } catch (e) {
      throw ioError(this.path, e);
    }
  }

  /** Whether the file has holes (a thin copy): its blocks cover less than its size. */
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

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

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
