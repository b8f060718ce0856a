/**
 * Reading a disk once for an archive: the SHA-256 of its flattened content (full capacity, holes
 * as zeros, the same as `diskchain cat | sha256sum`) and which 64 KiB grains hold anything but zeros.
 */
import * as crypto from 'node:crypto';
import { GRAIN_BYTES } from '../convert/layout.js';
import type { Chain } from '../disk/chain.js';
import type { Link } from '../disk/link.js';
import { isZero } from '../disk/source.js';
import type { JobContext } from '../io/job-context.js';
import { GrainSet } from './segment-emitter.js';

/** 4 MiB, a whole number of grains. */
const CHUNK_BYTES = 64 * GRAIN_BYTES;
const ZEROS = Buffer.alloc(CHUNK_BYTES);
/** blockStatus is asked in windows, so a huge disk's run list never sits in memory at once. */
const WINDOW_BYTES = 1024 * 1024 * 1024;

export interface ScanResult {
  sha256: string;
  /** Grains that are not all zeros; null when not asked for. */
  nonZero: GrainSet | null;
}

export function grainsOf(capacityBytes: number): number {
  return Math.ceil(capacityBytes / GRAIN_BYTES);
}

/**
 * Hashes the chain's flattened content; with `findNonZero`, also notes every grain holding a
 * non-zero byte. Ranges no link holds are hashed as zeros without reading. `advance` gets the
 * bytes covered after each chunk; cancel is checked between chunks.
 */
export function scanChain(chain: Chain, findNonZero: boolean, ctx: JobContext, advance: (bytes: number) => void): ScanResult {
  const hash = crypto.createHash('sha256');
  const nonZero = findNonZero ? new GrainSet(grainsOf(chain.capacityBytes)) : null;
  const buf = Buffer.alloc(CHUNK_BYTES);
  for (let offset = 0; offset < chain.capacityBytes; offset += CHUNK_BYTES) {
    ctx.throwIfCancelled();
    const length = Math.min(CHUNK_BYTES, chain.capacityBytes - offset);
    if (chain.mapRuns(offset, length).every((r) => r.state === 'zero')) {
      hash.update(ZEROS.subarray(0, length));
    } else {
      const part = buf.subarray(0, length);
      chain.read(part, offset);
      hash.update(part);
      if (nonZero) markNonZero(part, offset / GRAIN_BYTES, nonZero);
    }
    advance(length);
  }
  return { sha256: hash.digest('hex'), nonZero };
}

function markNonZero(chunk: Buffer, firstGrain: number, set: GrainSet): void {
  for (let at = 0, g = firstGrain; at < chunk.length; at += GRAIN_BYTES, g++) {
    if (!isZero(chunk.subarray(at, Math.min(chunk.length, at + GRAIN_BYTES)))) set.add(g);
  }
}

/**
 * Grains a snapshot link decides itself: every grain touching a range the link holds data for or
 * marks as zero. Those must be kept even when they read as zeros, or the parent would show through.
 */
export function ownGrains(link: Link): GrainSet {
  const set = new GrainSet(grainsOf(link.capacityBytes));
  for (let at = 0; at < link.capacityBytes; at += WINDOW_BYTES) {
    const length = Math.min(WINDOW_BYTES, link.capacityBytes - at);
    for (const run of link.data.blockStatus(at, length)) {
      if (run.state === 'unallocated') continue;
      const last = Math.ceil((run.offset + run.length) / GRAIN_BYTES);
      for (let g = Math.floor(run.offset / GRAIN_BYTES); g < last; g++) set.add(g);
    }
  }
  return set;
}

export const sha256Of = (data: Uint8Array | string): string => crypto.createHash('sha256').update(data).digest('hex');
