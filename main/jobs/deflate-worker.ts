/**
 * A deflate thread of the DeflatePool: compresses each grain of a batch into a streamOptimized
 * grain marker (format doc §3.2, §3.3) and sends the framed bytes back in one buffer.
 * Runs as compiled JavaScript only (see workerUrl in worker-url.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import type { DeflateReply, DeflateRequest, DeflateWorkerData } from './deflate-pool.js';

const SECTOR = 512;
const MARKER_HEAD = 12;

const port = parentPort;
if (!port) throw new Error('deflate-worker.js must run in a worker thread');
const { level } = workerData as DeflateWorkerData;

port.on('message', (request: DeflateRequest) => {
  let reply: DeflateReply;
  try {
    reply = frameBatch(request);
  } catch (e) {
    reply = { id: request.id, error: e instanceof Error ? e.message : String(e) };
  }
  const transfer = 'error' in reply ? [] : [reply.output, reply.input, reply.markerSectors.buffer];
  port.postMessage(reply, transfer);
});

function frameBatch(request: DeflateRequest): DeflateReply {
  const input = Buffer.from(request.input);
  const count = request.pieces.length / 3;
  // Every producer writes zlib (RFC 1950) streams although the spec says raw deflate (§3.3).
  const compressed: Buffer[] = [];
  const markerSectors = new Uint32Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const offset = request.pieces[3 * i]!;
    const length = request.pieces[3 * i + 1]!;
    const data = zlib.deflateSync(input.subarray(offset, offset + length), { level });
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
