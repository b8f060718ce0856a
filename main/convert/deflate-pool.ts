/**
 * Worker threads that deflate grains for streamOptimized output (format doc §3.3). Compression
 * is what a stream write spends its time on (peers.md §5), and qemu-img does it on one core; the
 * pool spreads it over all of them while the job thread reads and writes.
 *
 * Batches travel as transferred ArrayBuffers (moved, never copied): the input buffer goes to a
 * worker and comes back with the reply so the caller can reuse it, and the framed output moves
 * the other way. The caller bounds how many batches are in flight; the pool queues none itself
 * beyond what it is given.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { DiskchainError } from '../../shared/errors.js';
import { workerUrl } from '../io/worker-url.js';

/** What each worker is started with. */
export interface DeflateWorkerData {
  level: number;
  /** An Int32 set to 1 when the pool is destroyed: a worker stops at its next grain and exits by itself. */
  stop: SharedArrayBuffer;
}

/**
 * One batch to a worker: `pieces` holds (offset, length, lba) triples into `input`; the markers
 * go into `output` when they fit (a recycled buffer), else into a new one.
 */
export interface DeflateRequest {
  id: number;
  input: ArrayBuffer;
  output: ArrayBuffer | null;
  pieces: Float64Array;
}

/** Wakes an idle worker to see the stop flag (sent by destroy()). */
export interface DeflateStop {
  stop: true;
}

export type DeflateReply =
  | { id: number; output: ArrayBuffer; length: number; markerSectors: Uint32Array<ArrayBuffer>; input: ArrayBuffer }
  | { id: number; error: string };

/** A grain to compress: `length` bytes at `offset` of the batch buffer, for disk sector `lba`. */
export interface DeflatePiece {
  offset: number;
  length: number;
  lba: number;
}

export interface FramedBatch {
  /** The pieces as consecutive grain markers {lba, size, zlib data}, each padded to a sector (a view of `output`). */
  bytes: Buffer;
  /** Sectors each piece's marker occupies, in piece order. */
  markerSectors: Uint32Array;
  /** The batch's input buffer, handed back for reuse. */
  input: ArrayBuffer;
  /** The buffer under `bytes`, to pass to a later compress() once `bytes` is consumed. */
  output: ArrayBuffer;
}

export interface DeflatePoolOptions {
  /** zlib level 1..9. */
  level: number;
  /** Threads; default os.availableParallelism(). */
  workers?: number;
}

/**
 * The parent's Node flags minus `--input-type`, which Node accepts only with a main script and
 * refuses in a worker (a job started by `node --input-type=module -e …` would lose every thread).
 */
function workerExecArgv(): string[] {
  const flags: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const flag = process.execArgv[i]!;
    if (flag === '--input-type') i++;
    else if (!flag.startsWith('--input-type=')) flags.push(flag);
  }
  return flags;
}

/** How long destroy() lets a worker finish its grain before terminating it. */
const STOP_WAIT_MS = 10_000;

interface Pending {
  worker: Worker;
  resolve(batch: FramedBatch): void;
  reject(error: Error): void;
}

export class DeflatePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly load = new Map<Worker, number>();
  private nextId = 0;
  private failure: Error | null = null;
  private destroyed = false;
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));
  /** Each worker's end, however it comes. */
  private readonly exits: Array<Promise<void>> = [];

  private constructor(options: DeflatePoolOptions) {
    const count = options.workers ?? os.availableParallelism();
    if (!Number.isInteger(options.level) || options.level < 1 || options.level > 9) {
      throw new DiskchainError('E_USAGE', `compression level must be 1..9, not ${options.level}`);
    }
    if (!Number.isInteger(count) || count < 1) throw new DiskchainError('E_USAGE', `deflate workers must be a positive integer, not ${count}`);
    const url = workerUrl('deflate-worker', import.meta.url);
    const workerData: DeflateWorkerData = { level: options.level, stop: this.stop.buffer as SharedArrayBuffer };
    for (let i = 0; i < count; i++) {
      const worker = new Worker(url, { workerData, execArgv: workerExecArgv() });
      worker.on('message', (reply: DeflateReply) => this.settle(reply));
      worker.on('error', (e) => this.fail(new DiskchainError('E_INTERNAL', `deflate worker failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!this.destroyed) this.fail(new DiskchainError('E_INTERNAL', `deflate worker exited unexpectedly (code ${code})`));
      });
      this.exits.push(new Promise((resolve) => worker.once('exit', () => resolve())));
      this.workers.push(worker);
      this.load.set(worker, 0);
    }
  }

  /** Starts the threads. Call destroy() when done, also on error and cancel. */
  static create(options: DeflatePoolOptions): DeflatePool {
    return new DeflatePool(options);
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Compresses the pieces of `input` into `output` if given and big enough. Both buffers are
   * transferred: the caller must not touch them until the reply hands them back. Replies may
   * arrive in any order; each promise gets its own batch.
   */
  compress(input: ArrayBuffer, pieces: readonly DeflatePiece[], output: ArrayBuffer | null = null): Promise<FramedBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.destroyed) return Promise.reject(new DiskchainError('E_INTERNAL', 'deflate pool is already destroyed'));
    const triples = new Float64Array(pieces.length * 3);
    pieces.forEach((p, i) => triples.set([p.offset, p.length, p.lba], 3 * i));
    const worker = this.leastLoaded();
    const id = this.nextId++;
    const request: DeflateRequest = { id, input, output, pieces: triples };
    return new Promise<FramedBatch>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      this.load.set(worker, (this.load.get(worker) ?? 0) + 1);
      worker.postMessage(request, output ? [input, output] : [input]);
    });
  }

  /**
   * Ends every thread; batches still in flight are rejected with E_CANCELLED. Each worker stops at its
   * next grain and exits by itself: terminate() in the middle of a deflate made Node 20 abort the whole
   * process at the worker's teardown (node_zlib.cc "close before init"). A worker that has not ended
   * after STOP_WAIT_MS is terminated all the same.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    Atomics.store(this.stop, 0, 1);
    this.rejectAll(new DiskchainError('E_CANCELLED', 'deflate pool destroyed with batches in flight'));
    const wake: DeflateStop = { stop: true };
    await Promise.all(
      this.workers.map(async (worker, i) => {
        worker.postMessage(wake);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_WAIT_MS)));
        if ((await Promise.race([this.exits[i]!, late])) === 'late') await worker.terminate();
        clearTimeout(timer);
      }),
    );
  }

  private leastLoaded(): Worker {
    let best = this.workers[0]!;
    for (const w of this.workers) if (this.load.get(w)! < this.load.get(best)!) best = w;
    return best;
  }

  private settle(reply: DeflateReply): void {
    const job = this.pending.get(reply.id);
    if (!job) return;
    this.pending.delete(reply.id);
    this.load.set(job.worker, this.load.get(job.worker)! - 1);
    if ('error' in reply) job.reject(new DiskchainError('E_INTERNAL', `deflate failed: ${reply.error}`));
    else job.resolve({ bytes: Buffer.from(reply.output, 0, reply.length), markerSectors: reply.markerSectors, input: reply.input, output: reply.output });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.rejectAll(error);
  }

  private rejectAll(error: Error): void {
    for (const job of this.pending.values()) job.reject(error);
    this.pending.clear();
  }
}
