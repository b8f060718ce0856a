import type { Chain } from './chain.js';

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/** Data chunks cycle through this many buffers: a consumer may hold one less than this at a time. */
export const CHUNK_RING = 3;

/**
 * The flattened disk in order, chunk by chunk. Chunks that no link holds data for are the same
 * shared zero buffer (never written to), so holes cost neither reads nor allocations. Data
 * chunks cycle through CHUNK_RING reused buffers: reads into fresh memory cost a page fault per
 * page (4 MiB reads ran 30× slower than into a warm buffer), so a consumer must be done with a
 * chunk before it takes the CHUNK_RING-th one after it. Memory stays a few chunks, whatever the disk.
 */
export function* flatChunks(chain: Chain, chunkBytes = DEFAULT_CHUNK_BYTES): Generator<Buffer> {
  const zeros = Buffer.alloc(chunkBytes);
  const ring = Array.from({ length: CHUNK_RING }, () => Buffer.allocUnsafe(0));
  let turn = 0;
  for (let offset = 0; offset < chain.capacityBytes; offset += chunkBytes) {
    const length = Math.min(chunkBytes, chain.capacityBytes - offset);
    const runs = chain.mapRuns(offset, length);
    if (runs.every((r) => r.state === 'zero')) {
      yield zeros.subarray(0, length);
      continue;
    }
    const slot = turn++ % CHUNK_RING;
    if (ring[slot]!.length < length) ring[slot] = Buffer.allocUnsafe(chunkBytes);
    const buf = ring[slot]!.subarray(0, length);
    chain.read(buf, offset);
    yield buf;
  }
}
