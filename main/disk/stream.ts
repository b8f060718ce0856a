import type { Chain } from './chain.js';

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * The flattened disk in order, chunk by chunk. Chunks that no link holds data for are the same
 * shared zero buffer (never written to), so holes cost neither reads nor allocations; data
 * chunks are fresh buffers the consumer may keep. Memory is bounded by how many chunks the
 * consumer holds, not by the disk's size.
 */
export function* flatChunks(chain: Chain, chunkBytes = DEFAULT_CHUNK_BYTES): Generator<Buffer> {
  const zeros = Buffer.alloc(chunkBytes);
  for (let offset = 0; offset < chain.capacityBytes; offset += chunkBytes) {
    const length = Math.min(chunkBytes, chain.capacityBytes - offset);
    const runs = chain.mapRuns(offset, length);
    if (runs.every((r) => r.state === 'zero')) {
      yield zeros.subarray(0, length);
      continue;
    }
    const buf = Buffer.allocUnsafe(length);
    chain.read(buf, offset);
    yield buf;
  }
}
