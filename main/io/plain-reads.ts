import * as fs from 'node:fs';
import { formatError } from '../../shared/errors.js';
import { ioError } from './file-source.js';

/**
 * Reads of bytes a format stores as they are (Run.file, Run.position: flat data, plain grains),
 * straight from the host file by its name: one pread per piece instead of a walk through the
 * link's reader, its tables and its file wrapper for every 128 KiB (most of `cat`'s CPU time).
 * Each file is opened once; close() closes them all.
 */
export class PlainReads {
  private readonly fds = new Map<string, number | null>();
  /** The file of the last read and its descriptor: runs of one file skip the map. */
  private lastFile: string | undefined;
  private lastFd: number | null = null;

  /** Whether `file` can be read here (a raw, non-UTF-8 name shown with \xHH escapes cannot: read it through its link). */
  has(file: string): boolean {
    return this.fd(file) !== null;
  }

  /** Fills `buf` from `file` at `position`; the file must hold all of it (the reader checked the grain lies inside). */
  read(file: string, buf: Buffer, position: number): void {
    if (!this.tryRead(file, buf, position)) throw ioError(file, new Error('cannot be opened by its name'));
  }

  /** read(), or false when `file` cannot be read here (see has()): then read the bytes through its link. */
  tryRead(file: string, buf: Buffer, position: number): boolean {
    const fd = this.fd(file);
    if (fd === null) return false;
    let done = 0;
    while (done < buf.length) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, done, buf.length - done, position + done);
      } catch (e) {
        throw ioError(file, e);
      }
      if (n === 0) throw formatError(file, `truncated: data at byte ${position + done} lies past the end of the file`, position + done);
      done += n;
    }
    return true;
  }

  close(): void {
    for (const fd of this.fds.values()) if (fd !== null) fs.closeSync(fd);
    this.fds.clear();
    this.lastFile = undefined;
  }

  private fd(file: string): number | null {
    if (file === this.lastFile) return this.lastFd;
    let fd = this.fds.get(file);
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, 'r');
      } catch {
        fd = null;
      }
      this.fds.set(file, fd);
    }
    this.lastFile = file;
    this.lastFd = fd;
    return fd;
  }
}
