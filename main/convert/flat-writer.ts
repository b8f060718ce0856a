/** Flat outputs: raw images, monolithic/split flat extents and ESX `-flat.vmdk` files. */
import type { Chain } from '../disk/chain.js';
import { dataRanges, isZero } from '../disk/source.js';
import { flatChunks } from '../disk/stream.js';
import type { ByteSink } from '../io/sink.js';
import type { OutFile, StagedOutput } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { WRITE_SLICE_BYTES } from '../io/write.js';
import type { OutputPlan } from './layout.js';

const CHUNK = 4 * 1024 * 1024;
const ZEROS = Buffer.alloc(CHUNK);
/** Data is copied through one buffer of a write slice, which stays in the CPU cache (flatChunks says why). */
const DATA_STEP = WRITE_SLICE_BYTES;

export interface FlatWriteOptions {
  /** Write zeros into holes so every byte is allocated (thick), instead of leaving the file sparse. */
  preallocate: boolean;
}

/**
 * Writes the chain into the plan's extent files. Holes are skipped without reading; a thick
 * output then gets zeros written where the source had nothing, a thin one stays sparse.
 */
export function writeFlatExtents(chain: Chain, plan: OutputPlan, out: StagedOutput, options: FlatWriteOptions, ctx: JobContext): void {
  const files: Array<{ file: OutFile; start: number; size: number }> = [];
  let start = 0;
  for (const e of plan.extents) {
    files.push({ file: out.open(e.name), start, size: e.sizeBytes });
    start += e.sizeBytes;
  }
  const total = options.preallocate ? chain.capacityBytes : sumRanges(chain);
  let done = 0;
  const buf = Buffer.allocUnsafe(DATA_STEP);
  let cursor = 0;
  const fillZeros = (from: number, to: number): void => {
    for (let at = from; at < to; at += CHUNK) {
      const n = Math.min(CHUNK, to - at);
      place(files, ZEROS.subarray(0, n), at);
      done += n;
      ctx.progress('copy', done, total);
      ctx.throwIfCancelled();
    }
  };
  for (const range of dataRanges(chain)) {
    if (options.preallocate) fillZeros(cursor, range.offset);
    for (let at = range.offset; at < range.offset + range.length; at += DATA_STEP) {
      const n = Math.min(DATA_STEP, range.offset + range.length - at);
      const part = buf.subarray(0, n);
      chain.read(part, at);
      // Zeros that a link happens to hold stay holes in a thin file.
      if (options.preallocate || !isZero(part)) place(files, part, at);
      done += n;
      ctx.progress('copy', done, total);
      ctx.throwIfCancelled();
    }
    cursor = range.offset + range.length;
  }
  if (options.preallocate) fillZeros(cursor, chain.capacityBytes);
  for (const f of files) f.file.truncate(f.size);
}

/** Writes `data` (virtual offset `at`) into whichever extent files it spans. */
function place(files: Array<{ file: OutFile; start: number; size: number }>, data: Buffer, at: number): void {
  let offset = at;
  let rest = data;
  for (const f of files) {
    if (rest.length === 0) break;
    if (offset >= f.start + f.size) continue;
    const n = Math.min(rest.length, f.start + f.size - offset);
    f.file.writeAt(rest.subarray(0, n), offset - f.start);
    rest = rest.subarray(n);
    offset += n;
  }
}

function sumRanges(chain: Chain): number {
  let total = 0;
  for (const r of dataRanges(chain)) total += r.length;
  return total;
}

/** The whole flattened disk, in order, to a sequential sink (stdout): holes as zeros. */
export function writeRawStream(chain: Chain, sink: ByteSink, ctx: JobContext): void {
  let done = 0;
  for (const chunk of flatChunks(chain, CHUNK)) {
    sink.write(chunk);
    done += chunk.length;
    ctx.progress('copy', done, chain.capacityBytes);
    ctx.throwIfCancelled();
  }
}
