/**
 * Steps 1–2 of a commit (commit.ts): TOP's ranges written into P in place, through P's grain
 * store, reads of the next piece overlapping writes of the current one; memory bounded by two
 * CHUNK_BYTES buffers.
 */
import * as fs from 'node:fs';
import { formatError } from '../../shared/errors.js';
import { Chain } from '../disk/chain.js';
import type { Link } from '../disk/link.js';
import { ioError } from '../io/disk-file.js';
import { hostFiles } from '../io/file-source.js';
import type { JobContext } from '../io/job-context.js';
import { requireSpace } from '../io/space.js';
import { commitSpace } from './commit-space.js';
import { fillFrom, openGrainStore, type GrainStore } from './grain-store.js';

/** Data moves in pieces of this size; memory stays bounded by it. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** TOP's allocation map is asked for in windows of this size, bounding the run lists. */
const MAP_WINDOW_BYTES = 64 * 1024 * 1024;

export async function copyTopIntoParent(chain: Chain, ctx: JobContext): Promise<number> {
  const top = chain.top;
  const parent = chain.links[1]!;
  const store = openGrainStore(parent, fillFrom(chain.links.slice(2)));
  const source = withRunCache(new TopSource(top));
  let finished = false;
  let pending: PendingRead | null = null;
  try {
    const totalBytes = checkSpace(store, source, top, parent);
    let doneBytes = 0;
    ctx.progress('commit', 0, totalBytes);
    // Two buffers: the next piece is read (on the thread pool) while the current one is written.
    const size = Math.min(CHUNK_BYTES, Math.max(totalBytes, 512));
    const buffers = [Buffer.alloc(size), Buffer.alloc(size)];
    let turn = 0;
    const land = async (p: PendingRead): Promise<void> => {
      await p.done;
      store.write(p.buf, p.offset);
      const behind = store.writeBehind();
      if (behind) await behind;
      doneBytes += p.buf.length;
      ctx.progress('commit', doneBytes, totalBytes);
    };
    for (const piece of pieces(source, top.capacityBytes)) {
      ctx.throwIfCancelled();
      if (piece.state === 'zero') {
        store.writeZeros(piece.offset, piece.length);
        continue;
      }
      const buf = buffers[turn++ % 2]!.subarray(0, piece.length);
      const next: PendingRead = { offset: piece.offset, buf, done: source.read(buf, piece) };
      const current = pending;
      pending = next;
      if (current) await land(current);
    }
    const last = pending;
    pending = null;
    if (last) await land(last);
    store.flush();
    finished = true;
    return doneBytes;
  } finally {
    // A read still in flight must end before its file is closed.
    if (pending) await pending.done.catch(() => undefined);
    if (!finished) flushQuietly(store);
    store.close();
    source.close();
  }
}

interface PendingRead {
  offset: number;
  buf: Buffer;
  done: Promise<void>;
}

/** TOP's runs cut into pieces of at most CHUNK_BYTES, in disk order. */
function* pieces(source: RunSource, capacityBytes: number): Generator<SourceRun> {
  for (let at = 0; at < capacityBytes; at += MAP_WINDOW_BYTES) {
    for (const run of source.runs(at, Math.min(MAP_WINDOW_BYTES, capacityBytes - at))) {
      for (let done = 0; done < run.length; done += CHUNK_BYTES) {
        const length = Math.min(CHUNK_BYTES, run.length - done);
        yield run.position === undefined ? { offset: run.offset + done, length, state: run.state } : { ...run, offset: run.offset + done, length, position: run.position + done };
      }
    }
  }
}

/** On cancel or error, point at what was written: harmless, TOP still masks those ranges. */
function flushQuietly(store: GrainStore): void {
  try {
    store.flush();
  } catch {
    // The original error matters more; P's pointers are only ever written after their data.
  }
}


/** Checks that P's file system can take the new grains (one estimate with the preflight, commit-space.ts); returns TOP's data bytes. */
function checkSpace(store: GrainStore, source: RunSource, top: Link, parent: Link): number {
  const { estimate, dataBytes } = commitSpace(store, (at, length) => source.runs(at, length), top, parent);
  requireSpace(estimate);
  return dataBytes;
}

/** A range TOP decides; a data run says where its bytes lie when TOP's format stores them plain. */
interface SourceRun {
  offset: number;
  length: number;
  state: 'data' | 'zero';
  file?: string;
  position?: number;
}

interface RunSource {
  /** Runs TOP holds (data or zero) in [offset, offset+length), in order; unallocated ranges left out. */
  runs(offset: number, length: number): SourceRun[];
  read(buf: Buffer, run: SourceRun): Promise<void>;
  close(): void;
}

/**
 * TOP's runs come from its driver's block status with backing: where a run names its file and
 * position (flat data, plain grains, REDO logs' 512-byte grains), it is read straight from there
 * on the thread pool while the previous piece is written; compressed or foreign-source runs go
 * through the link's own reader.
 */
class TopSource implements RunSource {
  private readonly fds = new Map<string, number>();
  private readonly direct: boolean;

  constructor(private readonly top: Link) {
    this.direct = top.source === hostFiles;
  }

  runs(offset: number, length: number): SourceRun[] {
    const out: SourceRun[] = [];
    for (const r of this.top.data.blockStatus(offset, length, this.direct)) {
      if (r.state !== 'unallocated') out.push({ ...r, state: r.state });
    }
    return out;
  }

  read(buf: Buffer, run: SourceRun): Promise<void> {
    if (run.file === undefined || run.position === undefined) {
      this.top.data.read(buf, run.offset);
      return Promise.resolve();
    }
    const file = run.file;
    const position = run.position;
    const fd = this.fd(file);
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done >= buf.length) {
          resolve();
          return;
        }
        fs.read(fd, buf, done, buf.length - done, position + done, (err, n) => {
          if (err) reject(ioError(file, err));
          else if (n === 0) reject(formatError(file, `truncated: data at byte ${position + done} lies past the end of the file`));
          else step(done + n);
        });
      };
      step(0);
    });
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, 'r');
      } catch (e) {
        throw ioError(file, e);
      }
      this.fds.set(file, fd);
    }
    return fd;
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
  }
}

/** Runs kept between the space check and the copy, so the map is built once (when it is small). */
const CACHED_RUNS = 64 * 1024;

function withRunCache(source: RunSource): RunSource {
  const cache = new Map<number, SourceRun[]>();
  let cached = 0;
  return {
    runs: (offset, length) => {
      const hit = cache.get(offset);
      if (hit) {
        cache.delete(offset);
        return hit;
      }
      const runs = source.runs(offset, length);
      if (cached + runs.length <= CACHED_RUNS) {
        cached += runs.length;
        cache.set(offset, runs.map((r) => ({ ...r })));
      }
      return runs;
    },
    read: (buf, run) => source.read(buf, run),
    close: () => source.close(),
  };
}
