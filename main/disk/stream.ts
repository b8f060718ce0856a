import type { Run } from '../formats/extent.js';
import { hostFiles } from '../io/file-source.js';
import { PlainReads } from '../io/plain-reads.js';
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
 * The flattened disk in order. Ranges that no link holds data for come as slices of a shared zero
 * buffer (never written to), so holes cost neither reads nor allocations; data comes in pieces of
 * at most pieceBytes that cycle through CHUNK_RING reused buffers: fresh memory costs a page
 * fault per page, so a consumer must be done with a piece before it takes the CHUNK_RING-th one
 * after it. Memory stays a chunk and a few pieces, whatever the disk. Each piece is read from the
 * link the chain's map names, straight from its file where the format stores the bytes as they
 * are (PlainReads), else through the link's reader.
 */
export function* flatChunks(chain: Chain, chunkBytes = DEFAULT_CHUNK_BYTES, pieceBytes = Math.min(chunkBytes, DEFAULT_PIECE_BYTES)): Generator<Buffer> {
  const zeros = Buffer.alloc(chunkBytes);
  const ring = Array.from({ length: CHUNK_RING }, () => Buffer.allocUnsafe(pieceBytes));
  const plain = new PlainReads();
  let turn = 0;
  try {
    for (let offset = 0; offset < chain.capacityBytes; offset += chunkBytes) {
      const length = Math.min(chunkBytes, chain.capacityBytes - offset);
      const runs = chain.mapRuns(offset, length);
      if (runs.every((r) => r.state === 'zero')) {
        yield zeros.subarray(0, length);
        continue;
      }
      for (const run of runs) {
        if (run.state === 'zero' || run.layer === null) {
          yield zeros.subarray(0, run.length);
          continue;
        }
        const layer = run.layer;
        const link = chain.links[layer]!;
        const parts: Run[] = link.source === hostFiles ? link.data.blockStatus(run.offset, run.length, true) : [{ ...run, state: 'data' }];
        for (const part of parts) {
          const { file, position } = part;
          const direct = part.state === 'data' && file !== undefined && position !== undefined && plain.has(file);
          const end = part.offset + part.length;
          for (let at = part.offset; at < end; at += pieceBytes) {
            const buf = ring[turn++ % CHUNK_RING]!.subarray(0, Math.min(pieceBytes, end - at));
            if (direct) plain.read(file, buf, position + (at - part.offset));
            else chain.readLayer(layer, buf, at);
            yield buf;
          }
        }
      }
    }
  } finally {
    plain.close();
  }
}
