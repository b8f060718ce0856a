import type { Chain } from './chain.js';

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Data is read and handed on in pieces of this size: the kernel's copy out of the page cache
 * then lands in buffers that stay in the CPU cache. The same 1 GiB read into 4 MiB buffers took
 * 1.5–2× as long as into 128 KiB ones (cache misses on every store), so pieces are small and
 * holes are still found a whole chunk at a time.
 */
export const DEFAULT_PIECE_BYTES = 128 * 1024;

/** Data pieces cycle through this many buffers: a consumer may hold one less than this at a time. */
export const CHUNK_RING = 3;

/**
 * The flattened disk in order. Ranges of chunkBytes that no link holds data for come as one
 * slice of a shared zero buffer (never written to), so holes cost neither reads nor allocations;
 * the rest comes in pieces of at most pieceBytes that cycle through CHUNK_RING reused buffers:
 * fresh memory costs a page fault per page, so a consumer must be done with a piece before it
 * takes the CHUNK_RING-th one after it. Memory stays a chunk and a few pieces, whatever the disk.
 */
export function* flatChunks(chain: Chain, chunkBytes = DEFAULT_CHUNK_BYTES, pieceBytes = Math.min(chunkBytes, DEFAULT_PIECE_BYTES)): Generator<Buffer> {
  const zeros = Buffer.alloc(chunkBytes);
  const ring = Array.from({ length: CHUNK_RING }, () => Buffer.allocUnsafe(pieceBytes));
  let turn = 0;
  for (let offset = 0; offset < chain.capacityBytes; offset += chunkBytes) {
    const length = Math.min(chunkBytes, chain.capacityBytes - offset);
    const runs = chain.mapRuns(offset, length);
    if (runs.every((r) => r.state === 'zero')) {
      yield zeros.subarray(0, length);
      continue;
    }
    for (let at = 0; at < length; at += pieceBytes) {
      const buf = ring[turn++ % CHUNK_RING]!.subarray(0, Math.min(pieceBytes, length - at));
      chain.read(buf, offset + at);
      yield buf;
    }
  }
}
