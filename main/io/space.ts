/**
 * Free space, one way for everything: a job's estimate of what it writes (SpaceEstimate, made by
 * the job's own layer) is checked against statfs by `requireSpace` before the job writes, and the
 * desktop preflight shows the very same estimate and the very same free bytes, so the dialog
 * and the job never disagree.
 */
import * as fs from 'node:fs';
import { DiskchainError } from '../../shared/errors.js';
import { formatBytes } from '../../shared/bytes.js';

export interface SpaceEstimate {
  /** The folder whose file system the job writes to. */
  folder: string;
  /** Bytes the job may add there (headroom included); 0 when it writes in place. */
  requiredBytes: number;
  /** For people: how requiredBytes was estimated. */
  basis: string;
  /** What the job does, for the refusal: `commit top.vmdk into base.vmdk`. */
  purpose: string;
  /** The file a refusal names, when not the folder (a commit's parent). */
  file?: string;
}

/** Headroom for what an estimate cannot see: new grain tables, rounding, descriptor temp files. */
export const SPACE_MARGIN_BYTES = 16 * 1024 * 1024;

/** Bytes an unprivileged process may still write in `folder`'s file system; null when it cannot tell. */
export function freeBytes(folder: string): number | null {
  try {
    const st = fs.statfsSync(folder);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}

/** Whether `free` bytes hold the estimate (an unknown free space counts as enough: the write would say ENOSPC). */
export function isEnough(estimate: SpaceEstimate, free: number | null): boolean {
  return free === null || estimate.requiredBytes <= free;
}

/** Refuses, before anything is written, a job whose destination cannot hold what it writes. */
export function requireSpace(estimate: SpaceEstimate): void {
  const free = freeBytes(estimate.folder);
  if (isEnough(estimate, free)) return;
  throw new DiskchainError(
    'E_USAGE',
    `not enough free space to ${estimate.purpose}: needs about ${formatBytes(estimate.requiredBytes, 1)} more, ${formatBytes(free!, 1)} is free in ${estimate.folder}`,
    estimate.file ?? estimate.folder,
  );
}
