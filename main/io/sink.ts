import * as fs from 'node:fs';
import type { OutFile } from './staged-output.js';
import { WRITE_SLICE_BYTES } from './write.js';

/** A sequential byte destination: a staged file or stdout. Writers of streams need nothing more. */
export interface ByteSink {
  readonly position: number;
  write(buf: Uint8Array): void;
}

export class FileSink implements ByteSink {
  constructor(private readonly file: OutFile) {}
  get position(): number {
    return this.file.size;
  }
  write(buf: Uint8Array): void {
    this.file.append(buf);
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to a file descriptor (stdout) synchronously. Node leaves pipes non-blocking, so a full
 * pipe answers EAGAIN: wait a moment and retry, which is the backpressure.
 */
export class FdSink implements ByteSink {
  position = 0;
  /** Into a regular file, large writes go in slices (write.ts); pipes and devices take them whole. */
  private readonly slice: number;
  constructor(
    private readonly fd: number,
    /** A descriptor this sink opened itself, closed by close(). */
    private readonly owned = false,
  ) {
    this.slice = fs.fstatSync(fd).isFile() ? WRITE_SLICE_BYTES : Infinity;
  }

  /**
   * A sink for `fd` that blocks on a full pipe instead of polling it: a pipe reopened through
   * /proc/self/fd is a new, blocking open of the same pipe (Node made its own one non-blocking,
   * and a 2 ms pause per EAGAIN held a 4 GiB `cat | …` to 150 MB/s). Anything else, or where
   * /proc is missing, is written through `fd` itself. close() when done.
   */
  static blocking(fd: number): FdSink {
    if (process.platform === 'linux' && fs.fstatSync(fd).isFIFO()) {
      try {
        return new FdSink(fs.openSync(`/proc/self/fd/${fd}`, 'w'), true);
      } catch {
        // Fall back to the shared descriptor and its EAGAIN pauses.
      }
    }
    return new FdSink(fd);
  }

  close(): void {
    if (this.owned) fs.closeSync(this.fd);
  }
  write(buf: Uint8Array): void {
    let done = 0;
    while (done < buf.length) {
      try {
        done += fs.writeSync(this.fd, buf, done, Math.min(this.slice, buf.length - done));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(pause, 0, 0, 2);
      }
    }
    this.position += buf.length;
  }
}
