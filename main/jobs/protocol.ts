import type { WireError } from '../../shared/errors.js';
import type { JobResult, JobSpec, ProgressCounts } from '../../shared/jobs.js';

/** workerData of a job worker. `cancel` is an Int32Array view's buffer: element 0 set to 1 = cancel. */
export interface JobWorkerData {
  spec: JobSpec;
  cancel: SharedArrayBuffer;
}

export type JobMessage =
  | { type: 'progress'; phase: string; doneBytes: number; totalBytes: number; counts?: ProgressCounts }
  | { type: 'done'; result: JobResult }
  | { type: 'error'; error: WireError; stack?: string };
