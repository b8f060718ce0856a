import { DiskchainError } from '../../shared/errors.js';

/** What a job sees of the engine that runs it: a progress sink and a cancel flag. */
export interface JobContext {
  /** Cheap to call for every chunk: whoever shows progress throttles it (jobs/throttle.ts). */
  progress(phase: string, doneBytes: number, totalBytes: number): void;
  /** Throws E_CANCELLED once cancel was requested; call it between chunks. */
  throwIfCancelled(): void;
}

/** A context for running a job in the calling thread (tests, small jobs). */
export function inlineContext(onProgress?: (phase: string, done: number, total: number) => void, isCancelled: () => boolean = () => false): JobContext {
  return {
    progress: (phase, done, total) => onProgress?.(phase, done, total),
    throwIfCancelled: () => {
      if (isCancelled()) throw new DiskchainError('E_CANCELLED', 'cancelled');
    },
  };
}
