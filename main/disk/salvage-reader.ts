/**
 * Reading a damaged disk for `recover`: an extent reader that never fails on damage. Where the
 * wrapped reader's block status or read throws for damage, the range is split and tried again,
 * down to one grain; a grain that still fails is recorded as lost and reads as zeros.
 */
import { DiskchainError } from '../../shared/errors.js';
import { pushRun, type ExtentReader, type Problem, type Run } from '../formats/extent.js';

/** A failed range is tried again in this many pieces: few levels, so a large lost tail costs little. */
const SPLIT_WAYS = 16;

/** Lost byte ranges of the flattened disk, merged and in order, whatever order they are found in. */
export class LostRanges {
  private readonly ranges: Array<{ offset: number; length: number }> = [];

  add(offset: number, length: number): void {
    if (length <= 0) return;
    const end = offset + length;
    // First range that ends at or after `offset`: everything before it stays as it is.
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ranges[mid]!;
      if (r.offset + r.length < offset) lo = mid + 1;
      else hi = mid;
    }
    let last = lo;
    let start = offset;
    let stop = end;
    while (last < this.ranges.length && this.ranges[last]!.offset <= end) {
      const r = this.ranges[last]!;
      start = Math.min(start, r.offset);
      stop = Math.max(stop, r.offset + r.length);
      last++;
    }
    this.ranges.splice(lo, last - lo, { offset: start, length: stop - start });
  }

  list(): ReadonlyArray<{ offset: number; length: number }> {
    return this.ranges;
  }

  totalBytes(): number {
    return this.ranges.reduce((sum, r) => sum + r.length, 0);
  }

  /** Bytes of [offset, offset+length) that are lost. */
  overlap(offset: number, length: number): number {
    let bytes = 0;
    for (const r of this.ranges) {
      if (r.offset >= offset + length) break;
      bytes += Math.max(0, Math.min(r.offset + r.length, offset + length) - Math.max(r.offset, offset));
    }
    return bytes;
  }
}

/** Damage a reader reports (a structure that is wrong or past the end, a failing read); anything else still stops the job. */
function isDamage(e: unknown): boolean {
  return e instanceof DiskchainError && (e.code === 'E_FORMAT' || e.code === 'E_IO');
}

export class SalvageReader implements ExtentReader {
  readonly file: string;
  readonly sizeBytes: number;

  constructor(
    private readonly inner: ExtentReader,
    private readonly lost: LostRanges,
    /** The smallest unit that can be lost: the format's grain. */
    private readonly grainBytes: number,
  ) {
    this.file = inner.file;
    this.sizeBytes = inner.sizeBytes;
  }

  /** Lost ranges come back as `zero`: the recovered disk holds zeros there, not the parent's bytes. */
  blockStatus(offset: number, length: number, backing?: boolean): Run[] {
    const runs: Run[] = [];
    this.statusInto(runs, offset, length, backing === true);
    return runs;
  }

  read(buf: Buffer, offset: number): void {
    try {
      this.inner.read(buf, offset);
      return;
    } catch (e) {
      if (!isDamage(e)) throw e;
    }
    if (this.isOneGrain(offset, buf.length)) {
      buf.fill(0);
      this.lost.add(offset, buf.length);
      return;
    }
    for (const [at, length] of this.pieces(offset, buf.length)) this.read(buf.subarray(at - offset, at - offset + length), at);
  }

  private statusInto(runs: Run[], offset: number, length: number, backing: boolean): void {
    let found: Run[];
    try {
      found = this.inner.blockStatus(offset, length, backing);
    } catch (e) {
      if (!isDamage(e)) throw e;
      if (this.isOneGrain(offset, length)) {
        this.lost.add(offset, length);
        pushRun(runs, offset, length, 'zero');
      } else {
        for (const [at, part] of this.pieces(offset, length)) this.statusInto(runs, at, part, backing);
      }
      return;
    }
    for (const r of found) {
      pushRun(runs, r.offset, r.length, r.state, r.file !== undefined && r.position !== undefined ? { file: r.file, position: r.position } : undefined);
    }
  }

  private isOneGrain(offset: number, length: number): boolean {
    return Math.floor(offset / this.grainBytes) === Math.floor((offset + length - 1) / this.grainBytes);
  }

  /** [offset, offset+length) cut into up to SPLIT_WAYS grain-aligned pieces. */
  private pieces(offset: number, length: number): Array<[number, number]> {
    const grains = Math.ceil(length / this.grainBytes);
    const step = Math.max(1, Math.ceil(grains / SPLIT_WAYS)) * this.grainBytes;
    const out: Array<[number, number]> = [];
    const end = offset + length;
    for (let at = offset; at < end; ) {
      const next = Math.min(end, (Math.floor(at / step) + 1) * step);
      out.push([at, next - at]);
      at = next;
    }
    return out;
  }

  allocatedBytes(): number {
    try {
      return this.inner.allocatedBytes();
    } catch (e) {
      if (isDamage(e)) return 0;
      throw e;
    }
  }

  check(): Problem[] {
    return this.inner.check();
  }

  close(): void {
    this.inner.close();
  }
}
