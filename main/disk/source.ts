import type { Chain } from './chain.js';

const WINDOW_BYTES = 1024 * 1024 * 1024;

/**
 * Byte ranges of the flattened disk that some link holds data for, in order and merged; holes
 * (and ranges marked zero) are left out, so writers skip them without reading.
 */
export function* dataRanges(chain: Chain): Generator<{ offset: number; length: number }> {
  let pending: { offset: number; length: number } | null = null;
  for (let at = 0; at < chain.capacityBytes; at += WINDOW_BYTES) {
    for (const run of chain.mapRuns(at, Math.min(WINDOW_BYTES, chain.capacityBytes - at))) {
      if (run.state !== 'data') continue;
      if (pending && pending.offset + pending.length === run.offset) {
        pending.length += run.length;
        continue;
      }
      if (pending) yield pending;
      pending = { offset: run.offset, length: run.length };
    }
  }
  if (pending) yield pending;
}

/** Total bytes of dataRanges, for progress totals. */
export function dataBytes(chain: Chain): number {
  let total = 0;
  for (const r of dataRanges(chain)) total += r.length;
  return total;
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** True when every byte is zero; memcmp against a zero page is far faster than a JS loop. */
export function isZero(buf: Buffer): boolean {
  for (let at = 0; at < buf.length; at += ZEROS.length) {
    const part = buf.subarray(at, Math.min(buf.length, at + ZEROS.length));
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}
