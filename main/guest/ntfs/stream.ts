/**
 * One NTFS attribute stream ($DATA, $INDEX_ALLOCATION, $ATTRIBUTE_LIST, $MFT's own data) assembled from
 * its extents, and positional reads of it: a run of contiguous clusters is one device read, sparse runs
 * and bytes past the initialized size read as zeros, LZNT1 units are decompressed one at a time.
 */
import type { BlockDevice } from '../block-device.js';
import { lznt1Decompress } from './lznt1.js';
import { findRun, type Run } from './runlist.js';
import { ATTR_FLAG, type Attribute } from './structures.js';

export interface Stream {
  /** What errors name: "record 42 $DATA:name". */
  what: string;
  dataSize: number;
  initializedSize: number;
  flags: number;
  /** Resident value, or null. */
  value: Buffer | null;
  runs: Run[];
  compressionUnit: number;
}

/** Joins the extents of one attribute (sorted by VCN, without gaps) into a stream. */
export function assembleStream(extents: Attribute[], what: string): Stream {
  const sorted = [...extents].sort((a, b) => a.startVcn - b.startVcn);
  const first = sorted[0];
  if (!first) throw new Error(`${what} has no extents`);
  if (first.value) return { what, dataSize: first.value.length, initializedSize: first.value.length, flags: first.flags, value: first.value, runs: [], compressionUnit: 0 };
  if (first.startVcn !== 0) throw new Error(`${what}: the extent at VCN 0 is missing`);
  const runs: Run[] = [];
  let nextVcn = 0;
  for (const extent of sorted) {
    if (extent.value) throw new Error(`${what} mixes resident and non-resident extents`);
    if (extent.startVcn !== nextVcn) throw new Error(`${what}: extents leave a gap or overlap at VCN ${nextVcn}`);
    for (const run of extent.runs) {
      const last = runs[runs.length - 1];
      // Contiguous neighbours become one run, so that they are one device read.
      if (last && last.lcn !== null && run.lcn === last.lcn + last.length) last.length += run.length;
      else if (last && last.lcn === null && run.lcn === null) last.length += run.length;
      else runs.push({ ...run });
    }
    nextVcn = extent.lastVcn + 1;
  }
  return { what, dataSize: first.dataSize, initializedSize: first.initializedSize, flags: first.flags, value: null, runs, compressionUnit: first.compressionUnit };
}

const MAX_UNIT = 1024 * 1024;

export class StreamReader {
  private unitKey = '';
  private unitIndex = -1;
  private unit: Buffer | null = null;

  constructor(
    private readonly device: BlockDevice,
    private readonly clusterSize: number,
  ) {}

  /** Reads up to buf.length bytes at offset; returns the count (short only at the end of the stream). */
  read(stream: Stream, buf: Buffer, offset: number): number {
    if (offset >= stream.dataSize) return 0;
    const length = Math.min(buf.length, stream.dataSize - offset);
    if (stream.value) {
      stream.value.copy(buf, 0, offset, offset + length);
      return length;
    }
    const valid = Math.max(0, Math.min(length, stream.initializedSize - offset));
    if (stream.compressionUnit > 0 && stream.flags & ATTR_FLAG.compressed) this.readCompressed(stream, buf.subarray(0, valid), offset);
    else this.readPlain(stream, buf.subarray(0, valid), offset);
    buf.fill(0, valid, length);
    return length;
  }

  private readPlain(stream: Stream, out: Buffer, offset: number): void {
    const cs = this.clusterSize;
    let done = 0;
    while (done < out.length) {
      const pos = offset + done;
      const index = findRun(stream.runs, Math.floor(pos / cs));
      if (index < 0) throw new Error(`${stream.what}: its runs end at byte ${pos}, before its size (${stream.dataSize})`);
      const run = stream.runs[index] as Run;
      const n = Math.min(out.length - done, (run.vcn + run.length) * cs - pos);
      const piece = out.subarray(done, done + n);
      if (run.lcn === null) piece.fill(0);
      else this.device.read(piece, run.lcn * cs + (pos - run.vcn * cs));
      done += n;
    }
  }

  private readCompressed(stream: Stream, out: Buffer, offset: number): void {
    const unitSize = this.clusterSize * 2 ** stream.compressionUnit;
    if (unitSize > MAX_UNIT) throw new Error(`${stream.what}: compression units of ${unitSize} bytes are not supported`);
    let done = 0;
    while (done < out.length) {
      const pos = offset + done;
      const index = Math.floor(pos / unitSize);
      const unit = this.loadUnit(stream, index, unitSize);
      const inUnit = pos - index * unitSize;
      const n = Math.min(out.length - done, unitSize - inUnit);
      unit.copy(out, done, inUnit, inUnit + n);
      done += n;
    }
  }

  /** One compression unit, decompressed; the last one is kept for sequential reads. */
  private loadUnit(stream: Stream, index: number, unitSize: number): Buffer {
    if (this.unit && this.unitKey === stream.what && this.unitIndex === index && this.unit.length === unitSize) return this.unit;
    const cs = this.clusterSize;
    const clusters = unitSize / cs;
    const firstVcn = index * clusters;
    const pieces: { lcn: number; length: number }[] = [];
    let allocated = 0;
    for (let vcn = firstVcn; vcn < firstVcn + clusters; ) {
      const runIndex = findRun(stream.runs, vcn);
      if (runIndex < 0) break;
      const run = stream.runs[runIndex] as Run;
      const n = Math.min(firstVcn + clusters - vcn, run.vcn + run.length - vcn);
      if (run.lcn !== null) {
        pieces.push({ lcn: run.lcn + (vcn - run.vcn), length: n });
        allocated += n;
      }
      vcn += n;
    }
    const unit = this.unit && this.unit.length === unitSize ? this.unit : Buffer.alloc(unitSize);
    this.unitKey = '';
    if (allocated === 0) {
      unit.fill(0);
    } else {
      const raw = allocated === clusters ? unit : Buffer.alloc(allocated * cs);
      let at = 0;
      for (const p of pieces) {
        this.device.read(raw.subarray(at, at + p.length * cs), p.lcn * cs);
        at += p.length * cs;
      }
      if (raw !== unit) {
        unit.fill(0);
        try {
          lznt1Decompress(raw, unit);
        } catch (e) {
          throw new Error(`${stream.what}: compression unit ${index}: ${(e as Error).message}`);
        }
      }
    }
    this.unit = unit;
    this.unitKey = stream.what;
    this.unitIndex = index;
    return unit;
  }
}
