/**
 * A job worker thread: runs one JobSpec, reports every progress update by message (whoever shows
 * progress throttles it, throttle.ts), honours the cancel flag.
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

const ctx: JobContext = {
  progress(phase, doneBytes, totalBytes) {
    post({ type: 'progress', phase, doneBytes, totalBytes });
  },
  throwIfCancelled() {
    if (Atomics.load(cancel, 0) === 1) throw new DiskchainError('E_CANCELLED', 'cancelled');
  },
};

try {
  const result = await runSpec(data.spec, ctx);
  post({ type: 'done', result });
} catch (e) {
  if (e instanceof DiskchainError) post({ type: 'error', error: e.toWire(), ...(e.stack ? { stack: e.stack } : {}) });
  else {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'error', error: { code: 'E_INTERNAL', message: err.message }, ...(err.stack ? { stack: err.stack } : {}) });
  }
}
