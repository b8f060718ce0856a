/**
 * Per-chunk hashes of a segment (manifest `chunks`): what lets a single-file restore check only the
 * pieces of a 2 GB segment it reads. `backup` computes them while it hashes each segment;
 * archive-source.ts checks a chunk the first time a read reaches it.
 */
import * as crypto from 'node:crypto';
import { CHUNK_DIGEST_BYTES, type ChunkHashes } from '../formats/manifest.js';

/** The smallest chunk: a read costs at most one of these per piece of the file it touches. */
export const MIN_CHUNK_BYTES = 1024 * 1024;
/** Chunks per archive before the chunk grows: keeps the manifest under ~6 MiB (restore reads up to 16 MiB). */
const MAX_CHUNKS = 256 * 1024;

/** One chunk size for all segments of an archive that stores `storedBytes`: 1 MiB up to 256 GiB, doubling beyond. */
export function chunkBytesFor(storedBytes: number): number {
  let bytes = MIN_CHUNK_BYTES;
  while (Math.ceil(storedBytes / bytes) > MAX_CHUNKS) bytes *= 2;
  return bytes;
}

/** Hashes a stream of buffers chunk by chunk, whatever their sizes. */
export class ChunkHasher {
  private readonly digests: Buffer[] = [];
  private hash = crypto.createHash('sha256');
  private filled = 0;

  constructor(private readonly chunkBytes: number) {}

  update(data: Buffer): void {
    for (let at = 0; at < data.length; ) {
      const n = Math.min(data.length - at, this.chunkBytes - this.filled);
      this.hash.update(data.subarray(at, at + n));
      this.filled += n;
      at += n;
      if (this.filled === this.chunkBytes) this.endChunk();
    }
  }

  result(): ChunkHashes {
    if (this.filled > 0) this.endChunk();
    return { chunkBytes: this.chunkBytes, sha256: Buffer.concat(this.digests).toString('base64') };
  }

  private endChunk(): void {
    this.digests.push(this.hash.digest().subarray(0, CHUNK_DIGEST_BYTES));
    this.hash = crypto.createHash('sha256');
    this.filled = 0;
  }
}

/** The digest the manifest keeps for chunk `index`. */
export function chunkDigest(chunks: ChunkHashes, index: number): Buffer {
  return Buffer.from(chunks.sha256, 'base64').subarray(index * CHUNK_DIGEST_BYTES, (index + 1) * CHUNK_DIGEST_BYTES);
}
