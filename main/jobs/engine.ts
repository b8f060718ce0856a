/**
 * The job engine: every heavy job runs in its own worker thread, so the CLI stays responsive to
 * Ctrl-C and the desktop app's main process never blocks. Progress arrives by message; cancel is
 * a shared flag the job checks between chunks, after which it removes its partial output.
 */
import { Worker } from 'node:worker_threads';
import { DiskchainError } from '../../shared/errors.js';
import type { JobProgress, JobResult, JobSpec } from '../../shared/jobs.js';
import type { JobMessage, JobWorkerData } from './protocol.js';
import { RateMeter } from './rate.js';
import { workerUrl } from '../io/worker-url.js';

export interface JobHandle {
  readonly spec: JobSpec;
  /** Resolves with the result; rejects with a DiskchainError (E_CANCELLED after cancel()). */
  readonly done: Promise<JobResult>;
  cancel(): void;
}

export function startJob(spec: JobSpec, onProgress: (p: JobProgress) => void = () => {}): JobHandle {
  const cancelBuffer = new SharedArrayBuffer(4);
  const cancelFlag = new Int32Array(cancelBuffer);
  const workerData: JobWorkerData = { spec, cancel: cancelBuffer };
  const worker = new Worker(workerUrl('worker', import.meta.url), { workerData });
  const meter = new RateMeter();
  const done = new Promise<JobResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: JobMessage) => {
      if (m.type === 'progress') {
        // Entries take very different times: their rate is the phase's average, not the last seconds'.
        const p = meter.update(m.phase, m.doneBytes, m.totalBytes, m.counts ? Infinity : undefined);
        onProgress(m.counts ? { ...p, counts: m.counts } : p);
      } else if (m.type === 'done') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        const e = new DiskchainError(m.error.code, m.error.message, m.error.file);
        if (m.stack) e.stack = m.stack;
        reject(e);
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(new DiskchainError('E_INTERNAL', e.message));
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new DiskchainError('E_INTERNAL', `job worker stopped unexpectedly (exit code ${code})`));
    });
  });
  return {
    spec,
    done,
    cancel: () => Atomics.store(cancelFlag, 0, 1),
  };
}
