import { DiskchainError, formatError } from '../../shared/errors.js';
import { hostFiles, ioError, type FileSource, type HostRegion, type RandomAccessFile } from './file-source.js';
import type { DataRegion } from './holes.js';
import { WRITE_BEHIND_BYTES } from './write.js';

/** Largest single metadata read we allow; anything bigger means a header field is lying. */
export const MAX_METADATA_READ = 64 * 1024 * 1024;

/**
 * A file opened read-only for positional reads. Every read is bounded by the real file size,
 * so a bogus header field turns into a clear E_FORMAT error instead of a huge allocation.
 */
export class DiskFile {
  private constructor(
    readonly path: string,
    private handle: RandomAccessFile | null,
    /** Bytes in the file when opened; writes past it raise it. */
    public size: number,
    readonly source: FileSource,
  ) {}

  /** `openAs`: the raw bytes of a name that is not UTF-8, when `path` only shows it (SourcePath). */
  static open(path: string, source: FileSource = hostFiles, openAs?: Buffer): DiskFile {
    const handle = source.open(openAs ?? path, 'read');
    return new DiskFile(path, handle, handle.size, source);
  }

  /** Opened for reading and writing in place: the write side of a driver (commit, extend). */
  static openForWrite(path: string, source: FileSource = hostFiles): DiskFile {
    const handle = source.open(path, 'write');
    return new DiskFile(path, handle, handle.size, source);
  }

  get writable(): boolean {
    return this.handle?.write !== undefined;
  }

  private open(): RandomAccessFile {
    if (!this.handle) throw new DiskchainError('E_INTERNAL', 'file is closed', this.path);
    return this.handle;
  }

  /** Reads exactly buf.length bytes at position, or fails naming the file and what was missing. */
  readAt(buf: Uint8Array, position: number, what = 'data'): void {
    const n = this.readAtMost(buf, position);
    if (n < buf.length) {
      throw formatError(
        this.path,
        `truncated: ${what} at byte ${position} needs ${buf.length} bytes but the file ends at ${this.size}`,
        position,
      );
    }
  }

  /** Reads up to buf.length bytes at position; returns how many were read (short at end of file). */
  readAtMost(buf: Uint8Array, position: number): number {
    let done = 0;
    while (done < buf.length) {
      const n = this.open().read(buf, done, buf.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** Allocates and reads a metadata block, refusing sizes that no real header asks for. */
  readBlock(length: number, position: number, what: string): Buffer {
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_METADATA_READ) {
      throw formatError(this.path, `${what} of ${length} bytes is not plausible`, position);
    }
    if (!Number.isSafeInteger(position) || position < 0 || position + length > this.size) {
      throw formatError(
        this.path,
        `truncated: ${what} at byte ${position} (${length} bytes) lies past the end of the file (${this.size} bytes)`,
        position,
      );
    }
    const buf = Buffer.alloc(length);
    this.readAt(buf, position, what);
    return buf;
  }

  /** Writes all of buf at position. */
  writeAt(buf: Uint8Array, position: number): void {
    const handle = this.open();
    if (!handle.write) throw new DiskchainError('E_INTERNAL', 'file was opened read-only', this.path);
    handle.write(buf, position);
    this.size = Math.max(this.size, position + buf.length);
    this.unsynced += buf.length;
  }

  private unsynced = 0;

  /**
   * Write-behind for long writes (commit's parent): every WRITE_BEHIND_BYTES an fdatasync starts
   * on the thread pool while the writer goes on, so the final sync waits only for the tail.
   * Returns a promise to await between writes when it is time (it yields to the event loop, which
   * lets a finished sync report), else null; the common call costs nothing.
   */
  writeBehind(): Promise<void> | null {
    if (this.unsynced < WRITE_BEHIND_BYTES) return null;
    this.unsynced = 0;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.handle?.syncInBackground?.();
    });
  }

  writeZeros(position: number, length: number): void {
    for (let done = 0; done < length; done += ZERO_CHUNK.length) {
      this.writeAt(ZERO_CHUNK.subarray(0, Math.min(ZERO_CHUNK.length, length - done)), position + done);
    }
  }

  /** The ranges of [start, end) that hold data; holes of a thin file are left out (io/holes.ts). */
  dataRegions(start: number, end: number): DataRegion[] {
    return this.open().dataRegions?.(start, end) ?? [{ start, end }];
  }

  /**
   * The data regions of [start, end), each with the file and position its bytes lie at as they are:
   * the image's for a file inside one whose source can tell (FileSource.hostRegions), else its own.
   */
  hostRegions(start: number, end: number): HostRegion[] {
    const handle = this.open();
    if (handle.hostRegions) return handle.hostRegions(start, end);
    return this.dataRegions(start, end).map((r) => ({ ...r, file: this.path, position: r.start }));
  }

  sync(): void {
    this.open().sync?.();
  }

  /** Whether the file has holes (a thin copy): its blocks cover less than its size. */
  isThin(): boolean {
    return this.open().isThin?.() ?? false;
  }

  close(): void {
    this.handle?.close();
    this.handle = null;
  }
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

export { ioError };
