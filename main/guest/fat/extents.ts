import type { BlockDevice } from '../block-device.js';
import type { ClusterRun } from './cluster-chain.js';

/** A piece of a file or folder on the device, in bytes. */
export interface ByteExtent {
  offset: number;
  length: number;
}

/** Cluster runs as device byte ranges; the last one cut at `bytes` (a file's size). */
export function runExtents(runs: ClusterRun[], heapOffset: number, clusterSize: number, bytes = Infinity): ByteExtent[] {
  const extents: ByteExtent[] = [];
  let left = bytes;
  for (const run of runs) {
    if (left <= 0) break;
    const length = Math.min(run.count * clusterSize, left);
    extents.push({ offset: heapOffset + (run.first - 2) * clusterSize, length });
    left -= length;
  }
  return extents;
}

/** Fills `buf` with the bytes at `at` of the extents laid end to end: one device read per extent touched. */
export function readExtents(device: BlockDevice, extents: ByteExtent[], buf: Buffer, at: number): void {
  let done = 0;
  let start = 0;
  for (const extent of extents) {
    if (done === buf.length) return;
    const end = start + extent.length;
    if (at + done < end) {
      const inside = at + done - start;
      const length = Math.min(extent.length - inside, buf.length - done);
      device.read(buf.subarray(done, done + length), extent.offset + inside);
      done += length;
    }
    start = end;
  }
  if (done < buf.length) buf.fill(0, done);
}

/**
 * A folder's bytes in chunks of at most 64 KiB (each a whole number of 32-byte entries), so that a
 * folder of any size is parsed with one reused buffer. `position` counts bytes from the folder start.
 */
export function* folderChunks(device: BlockDevice, extents: ByteExtent[]): Generator<{ bytes: Buffer; position: number }> {
  const chunk = Buffer.alloc(64 * 1024);
  let position = 0;
  for (const extent of extents) {
    for (let inside = 0; inside < extent.length; ) {
      const length = Math.min(chunk.length, extent.length - inside) & ~31;
      if (length === 0) break;
      const bytes = chunk.subarray(0, length);
      device.read(bytes, extent.offset + inside);
      yield { bytes, position };
      inside += length;
      position += length;
    }
  }
}
