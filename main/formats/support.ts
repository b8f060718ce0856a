/**
 * Small pieces every binary codec needs: a bounded problem list, merged positional reads, an
 * overlap bitmap for check(), an LRU cache for grain tables and a fast zero test.
 */
import * as os from 'node:os';
import { DiskchainError } from '../../shared/errors.js';
import type { DiskFile } from '../io/disk-file.js';
import { SECTOR, type Problem, type Severity } from './extent.js';

/** A damaged file can have a problem in every table; past this many the list says "N more". */
const MAX_PROBLEMS = 200;
/** check() finds shared file space with one bit per sector; beyond this it skips that test. */
const MAX_OVERLAP_BITMAP_BYTES = 128 * 1024 * 1024;

/** Collects problems, keeping the list readable when a file is damaged everywhere. */
export class ProblemReport {
  private readonly list: Problem[] = [];
  private dropped = 0;

  constructor(private readonly file: string) {}

  error(location: string | undefined, message: string, offset?: number): void {
    this.add('error', location, message, offset);
  }

  warning(location: string | undefined, message: string, offset?: number): void {
    this.add('warning', location, message, offset);
  }

  /** `offset` defaults to the byte a location like "header byte 73" names. */
  add(severity: Severity, location: string | undefined, message: string, offset = byteOf(location)): void {
    if (this.list.length >= MAX_PROBLEMS) {
      this.dropped++;
      return;
    }
    this.list.push({ severity, file: this.file, ...(location ? { location } : {}), ...(offset === undefined ? {} : { offset }), message });
  }

  problems(): Problem[] {
    if (this.dropped === 0) return this.list;
    return [...this.list, { severity: 'error', file: this.file, message: `${this.dropped} more problems not listed` }];
  }
}

function byteOf(location: string | undefined): number | undefined {
  const m = location === undefined ? null : /^(?:header )?byte (\d+)$/.exec(location);
  return m ? Number(m[1]) : undefined;
}

/** Turns grain-sized pieces into as few file reads as possible: writers append grains back to back. */
export class CoalescedReads {
  private pendingVirtual = 0;
  private pendingFile = 0;
  private pendingLength = 0;

  constructor(
    private readonly disk: DiskFile,
    private readonly buf: Buffer,
    private readonly bufOffset: number,
  ) {}

  data(virtualOffset: number, fileOffset: number, length: number): void {
    const continues =
      this.pendingLength > 0 &&
      this.pendingFile + this.pendingLength === fileOffset &&
      this.pendingVirtual + this.pendingLength === virtualOffset;
    if (!continues) {
      this.flush();
      this.pendingVirtual = virtualOffset;
      this.pendingFile = fileOffset;
    }
    this.pendingLength += length;
  }

  zeros(virtualOffset: number, length: number): void {
    this.flush();
    const start = virtualOffset - this.bufOffset;
    this.buf.fill(0, start, start + length);
  }

  flush(): void {
    if (this.pendingLength === 0) return;
    const start = this.pendingVirtual - this.bufOffset;
    this.disk.readAt(this.buf.subarray(start, start + this.pendingLength), this.pendingFile, 'grain data');
    this.pendingLength = 0;
  }
}

/** One bit per file sector, to find grains and tables that share file space. */
export class SectorUsage {
  private constructor(private readonly bits: Uint8Array) {}

  static forFile(fileBytes: number): SectorUsage | undefined {
    const bitmapBytes = Math.ceil(Math.ceil(fileBytes / SECTOR) / 8);
    return bitmapBytes > MAX_OVERLAP_BITMAP_BYTES ? undefined : new SectorUsage(new Uint8Array(bitmapBytes));
  }

  /** Marks [sector, sector+count) as used; false when any of it already was. */
  claim(sector: number, count: number): boolean {
    let free = true;
    for (let s = sector; s < sector + count; s++) {
      const byte = Math.floor(s / 8);
      const mask = 1 << (s % 8);
      const current = this.bits[byte];
      if (current === undefined) break;
      if (current & mask) free = false;
      this.bits[byte] = current | mask;
    }
    return free;
  }
}

export { LruCache } from '../../shared/lru.js';

export const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Little-endian uint32 words copied out of `bytes` (so a table never pins a large read buffer). */
export function littleEndianWords(bytes: Uint8Array, count: number): Uint32Array {
  const words = new Uint32Array(count);
  new Uint8Array(words.buffer).set(bytes.subarray(0, count * 4));
  if (!LITTLE_ENDIAN) {
    const view = new DataView(words.buffer);
    for (let i = 0; i < count; i++) words[i] = view.getUint32(i * 4, true);
  }
  return words;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** memcmp against a zero page: far faster than a JavaScript loop. */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let offset = 0; offset < bytes.length; offset += ZEROS.length) {
    const n = Math.min(ZEROS.length, bytes.length - offset);
    if (!Buffer.from(bytes.buffer, bytes.byteOffset + offset, n).equals(ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/**
 * Visits [start, end) cut at every multiple of `size` (grain tables, grains): `index` is the
 * piece's number, `from`/`to` its part of the range. Every codec walks its tables and grains so.
 */
export function forEachSpan(start: number, end: number, size: number, visit: (index: number, from: number, to: number) => void): void {
  for (let pos = start; pos < end; ) {
    const index = Math.floor(pos / size);
    const to = Math.min(end, (index + 1) * size);
    visit(index, pos, to);
    pos = to;
  }
}

/** Refuses a read outside an extent: a caller bug, so E_USAGE rather than a format error. */
export function assertInsideExtent(file: string, sizeBytes: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > sizeBytes) {
    throw new DiskchainError('E_USAGE', `read of ${length} bytes at ${offset} lies outside the extent (${sizeBytes} bytes)`, file);
  }
}
