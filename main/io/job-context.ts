import { DiskchainError } from '../../shared/errors.js';
import type { ProgressCounts } from '../../shared/jobs.js';

/** What a job sees of the engine that runs it: a progress sink and a cancel flag. */
export interface JobContext {
  /**
   * Cheap to call for every chunk: whoever shows progress throttles it (jobs/throttle.ts). A job
   * that counts entries rather than bytes passes its counts (done and total are then entries).
   */
  progress(phase: string, doneBytes: number, totalBytes: number, counts?: ProgressCounts): void;
  /** Throws E_CANCELLED once cancel was requested; call it between chunks. */
  throwIfCancelled(): void;
}

/** A context for running a job in the calling thread (tests, small jobs). */
export function inlineContext(
  onProgress?: (phase: string, done: number, total: number, counts?: ProgressCounts) => void,
  isCancelled: () => boolean = () => false,
): JobContext {
  return {
    progress: (phase, done, total, counts) => onProgress?.(phase, done, total, counts),
    throwIfCancelled: () => {
      if (isCancelled()) throw new DiskchainError('E_CANCELLED', 'cancelled');
    },
  };
}
