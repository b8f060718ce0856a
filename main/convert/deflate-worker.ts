/**
 * A deflate thread of the DeflatePool: compresses each grain of a batch into a streamOptimized
 * grain marker (format doc §3.2, §3.3) and sends the framed bytes back in one buffer.
 * Runs as compiled JavaScript only (see workerUrl in worker-url.ts).
 *
 * Incompressible grains (encrypted, already compressed, random) are stored rather than deflated:
 * zlib spends as long failing on them as compressing anything else (about 40 MiB/s a core), then
 * emits stored blocks anyway. A probe deflates a 4 KiB sample first — a 256-byte slice from each
 * 4 KiB block of the grain, at a different offset in each block — and when the sample does not
 * shrink at all, the grain becomes a level-0 zlib stream (stored blocks, still RFC 1950, 16 bytes
 * over the grain). The same idea as ZFS's compression early abort and btrfs's heuristic. On
 * random data this is about 5× less CPU; on gz/xz/png content the output grew by about 1%
 * (grains where the full deflate would have won a few per cent); code and text never trip it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { SECTOR } from '../formats/extent.js';
import type { DeflateReply, DeflateRequest, DeflateStop, DeflateWorkerData } from './deflate-pool.js';

const MARKER_HEAD = 12;
const PROBE_SLICE = 256;
const PROBE_BLOCK = 4096;
const MAX_PROBE_SLICES = 64;
/** Slices whose byte frequencies decide whether the deflate probe is worth running. */
const GATE_SLICES = 4;
/** Below this the slices surely compress; deflate's Huffman stage alone wins at 7.5 bits. */
const MIN_PROBE_ENTROPY_BITS = 7.5;
const probeSample = Buffer.alloc(PROBE_SLICE * MAX_PROBE_SLICES);
const counts = new Uint32Array(256);

const port = parentPort;
if (!port) throw new Error('deflate-worker.js must run in a worker thread');
const { level, stop: stopBuffer } = workerData as DeflateWorkerData;
/** Set by the pool's destroy(): stop at the next grain and end (closing the port ends the thread). */
const stop = new Int32Array(stopBuffer);
const stopped = (): boolean => Atomics.load(stop, 0) !== 0;

port.on('message', (request: DeflateRequest | DeflateStop) => {
  if ('stop' in request || stopped()) {
    port.close();
    return;
  }
  let reply: DeflateReply | null;
  try {
    reply = frameBatch(request);
  } catch (e) {
    reply = { id: request.id, error: e instanceof Error ? e.message : String(e) };
  }
  if (reply === null) {
    port.close();
    return;
  }
  const transfer = 'error' in reply ? [] : [reply.output, reply.input, reply.markerSectors.buffer];
  port.postMessage(reply, transfer);
});

/** The batch framed as grain markers, or null when the pool stopped it midway. */
function frameBatch(request: DeflateRequest): DeflateReply | null {
  const input = Buffer.from(request.input);
  const count = request.pieces.length / 3;
  // Every producer writes zlib (RFC 1950) streams although the spec says raw deflate (§3.3).
  const compressed: Buffer[] = [];
  const markerSectors = new Uint32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const offset = request.pieces[3 * i]!;
    const length = request.pieces[3 * i + 1]!;
    if (stopped()) return null;
    const data = deflateGrain(input.subarray(offset, offset + length));
    compressed.push(data);
    markerSectors[i] = Math.ceil((MARKER_HEAD + data.length) / SECTOR);
    total += markerSectors[i]! * SECTOR;
  }
  // A new buffer gets room for the worst case (zlib's bound plus a sector per piece), so it is
  // not outgrown when recycled for a later batch of the same size.
  const output = request.output && request.output.byteLength >= total ? request.output : new ArrayBuffer(Math.max(total, input.length + count * 1024));
  const out = Buffer.from(output, 0, total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const lba = request.pieces[3 * i + 2]!;
    const data = compressed[i]!;
    const end = at + markerSectors[i]! * SECTOR;
    // {uint64 lba, uint32 size, data}, zero-padded to the sector.
    out.writeUInt32LE(lba % 2 ** 32, at);
    out.writeUInt32LE(Math.floor(lba / 2 ** 32), at + 4);
    out.writeUInt32LE(data.length, at + 8);
    data.copy(out, at + MARKER_HEAD);
    out.fill(0, at + MARKER_HEAD + data.length, end);
    at = end;
  }
  return { id: request.id, output, length: total, markerSectors, input: request.input };
}

function deflateGrain(grain: Buffer): Buffer {
  return zlib.deflateSync(grain, { level: looksIncompressible(grain) ? 0 : level });
}

/** Whether a sample of the grain, one slice per 4 KiB block, fails to shrink at all under deflate. */
function looksIncompressible(grain: Buffer): boolean {
  const slices = Math.min(MAX_PROBE_SLICES, Math.floor(grain.length / PROBE_BLOCK));
  if (slices < GATE_SLICES) return false;
  // Most data gives itself away by the byte frequencies of a few slices, without paying for a deflate.
  if (sliceEntropyBits(grain, GATE_SLICES) < MIN_PROBE_ENTROPY_BITS) return false;
  for (let i = 0; i < slices; i++) {
    const from = sliceStart(i);
    grain.copy(probeSample, i * PROBE_SLICE, from, from + PROBE_SLICE);
  }
  const sample = probeSample.subarray(0, slices * PROBE_SLICE);
  return zlib.deflateRawSync(sample, { level }).length >= sample.length;
}

/** Slice i lies in block i, at an offset that walks through the block, so data that differs within blocks is seen. */
function sliceStart(i: number): number {
  return i * PROBE_BLOCK + ((i * PROBE_SLICE) % PROBE_BLOCK);
}

/** Order-0 entropy in bits per byte of the first `slices` slices: 8 for uniform noise, about 7.8 for 1 KiB of it. */
function sliceEntropyBits(grain: Buffer, slices: number): number {
  counts.fill(0);
  for (let i = 0; i < slices; i++) {
    const from = sliceStart(i);
    for (let j = from; j < from + PROBE_SLICE; j++) counts[grain[j]!]!++;
  }
  const total = slices * PROBE_SLICE;
  let bits = 0;
  for (const count of counts) {
    if (count > 0) bits -= count * Math.log2(count / total);
  }
  return bits / total;
}
