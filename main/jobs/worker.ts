/**
 * A job worker thread: runs one JobSpec, reports its progress by message (at most every 20 ms;
 * whoever shows progress throttles it further, throttle.ts), honours the cancel flag.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DiskchainError } from '../../shared/errors.js';
import type { JobContext } from '../io/job-context.js';
import type { JobMessage, JobWorkerData } from './protocol.js';
import { runSpec } from './registry.js';
import { installVmfsPaths } from '../vmfs/paths.js';

// A job may read a disk inside a VMFS volume image (`IMAGE:/dir/disk.vmdk`).
installVmfsPaths();

const data = workerData as JobWorkerData;
const cancel = new Int32Array(data.cancel);
const post = (m: JobMessage): void => parentPort!.postMessage(m);

/**
 * Progress leaves the worker at most every PROGRESS_POST_MS (and at once when the phase or the item
 * being worked on changes, so a short archive in an index job is still named):
 * one message per 256 KiB chunk cost a copy 8% of its time in postMessage, and whoever shows it
 * throttles to 100 ms anyway. The newest update is posted before the job's result.
 */
const PROGRESS_POST_MS = 20;
let lastPost = -Infinity;
let lastPhase: string | null = null;
let lastItem: string | undefined;
let unposted: JobMessage | null = null;

function flushProgress(): void {
  if (unposted) post(unposted);
  unposted = null;
}

const ctx: JobContext = {
  progress(phase, doneBytes, totalBytes, counts) {
    unposted = { type: 'progress', phase, doneBytes, totalBytes, ...(counts ? { counts } : {}) };
    const now = performance.now();
    if (phase !== lastPhase || counts?.current !== lastItem || now - lastPost >= PROGRESS_POST_MS) {
      lastPost = now;
      lastPhase = phase;
      lastItem = counts?.current;
      flushProgress();
    }
  },
  throwIfCancelled() {
    if (Atomics.load(cancel, 0) === 1) throw new DiskchainError('E_CANCELLED', 'cancelled');
  },
};

/** Runs the job and posts its end. A function, not top-level await: the CLI bundle is CommonJS. */
async function run(): Promise<void> {
  try {
    const result = await runSpec(data.spec, ctx);
    flushProgress();
    post({ type: 'done', result });
  } catch (e) {
    flushProgress();
    if (e instanceof DiskchainError) post({ type: 'error', error: e.toWire(), ...(e.stack ? { stack: e.stack } : {}) });
    else {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ type: 'error', error: { code: 'E_INTERNAL', message: err.message }, ...(err.stack ? { stack: err.stack } : {}) });
    }
  }
}

void run();
