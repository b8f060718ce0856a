import { unsupportedError, formatError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import type { HostRegion } from '../../io/file-source.js';
import { pushRun, SECTOR, type ExtentReader, type LostRange, type Problem, type Run } from '../extent.js';

/**
 * Raw data at an offset in a file: FLAT and VMFS extents, `-flat.vmdk`, a bare ESX 2 `.dsk`.
 * Bytes the file does not reach are damage (a truncated copy), reported by check() and refused by read().
 */
export class FlatExtent implements ExtentReader {
  readonly file: string;

  constructor(
    private readonly data: DiskFile,
    readonly sizeBytes: number,
    private readonly offsetBytes = 0,
  ) {
    this.file = data.path;
  }

  /** Bytes of this extent that the file actually holds. */
  get presentBytes(): number {
    return Math.max(0, Math.min(this.sizeBytes, this.data.size - this.offsetBytes));
  }

  /** Data where the file holds bytes; holes of a thin file (a `truncate -s 4T` raw) read as zeros and say so. */
  blockStatus(offset: number, length: number, backing = false): Run[] {
    const runs: Run[] = [];
    const present = Math.max(offset, Math.min(offset + length, this.presentBytes));
    let at = offset;
    const start = this.offsetBytes + offset;
    const end = this.offsetBytes + present;
    // With backing, a file inside an image says where in the image each region lies.
    const regions: HostRegion[] = backing ? this.data.hostRegions(start, end) : this.data.dataRegions(start, end);
    for (const region of regions) {
      const from = region.start - this.offsetBytes;
      const to = region.end - this.offsetBytes;
      pushRun(runs, at, from - at, 'zero');
      const place = region.file !== undefined && region.position !== undefined ? { file: region.file, position: region.position } : undefined;
      pushRun(runs, from, to - from, 'data', place);
      at = to;
    }
    pushRun(runs, at, present - at, 'zero');
    // Past the end of a cut-short file: data read() refuses, so the damage is not hidden as zeros.
    pushRun(runs, present, offset + length - present, 'data', backing ? { file: this.file, position: this.offsetBytes + present } : undefined);
    return runs;
  }

  read(buf: Buffer, offset: number): void {
    const end = offset + buf.length;
    if (end > this.presentBytes) {
      throw formatError(
        this.file,
        `truncated: the extent needs ${this.offsetBytes + end} bytes but the file has ${this.data.size}`,
      );
    }
    this.data.readAt(buf, this.offsetBytes + offset);
  }

  /** A flat file cut short loses everything past its end. */
  lostRanges(): LostRange[] {
    return this.presentBytes < this.sizeBytes ? [{ offset: this.presentBytes, length: this.sizeBytes - this.presentBytes }] : [];
  }

  /** The bytes the file really holds: holes of a thin file do not count. */
  allocatedBytes(): number {
    let held = 0;
    for (const r of this.data.dataRegions(this.offsetBytes, this.offsetBytes + this.presentBytes)) held += r.end - r.start;
    return held + (this.sizeBytes - this.presentBytes);
  }

  check(): Problem[] {
    if (this.presentBytes >= this.sizeBytes) return [];
    return [
      {
        severity: 'error',
        file: this.file,
        location: `byte ${this.data.size}`,
        offset: this.data.size,
        message: `file is ${this.data.size} bytes but the extent needs ${this.offsetBytes + this.sizeBytes}: it was cut short`,
      },
    ];
  }

  close(): void {
    this.data.close();
  }
}

/** A ZERO extent, or the part of a descriptor extent beyond what its file covers. */
export class ZeroExtent implements ExtentReader {
  constructor(
    readonly file: string,
    readonly sizeBytes: number,
  ) {}

  blockStatus(offset: number, length: number): Run[] {
    const runs: Run[] = [];
    pushRun(runs, offset, length, 'zero');
    return runs;
  }

  read(buf: Buffer): void {
    buf.fill(0);
  }

  allocatedBytes(): number {
    return 0;
  }

  check(): Problem[] {
    return [];
  }

  close(): void {}
}

/**
 * A raw device mapping or a device-backed extent whose device is not here. Its size and mapping
 * are known from the descriptor; its data lives on the host's LUN, so reads are refused (§7).
 */
export class UnreachableDeviceExtent implements ExtentReader {
  constructor(
    readonly file: string,
    readonly sizeBytes: number,
    private readonly reason: string,
  ) {}

  blockStatus(offset: number, length: number): Run[] {
    const runs: Run[] = [];
    pushRun(runs, offset, length, 'data');
    return runs;
  }

  read(): void {
    throw unsupportedError(this.file, this.reason);
  }

  allocatedBytes(): number {
    return this.sizeBytes;
  }

  check(): Problem[] {
    return [{ severity: 'warning', file: this.file, message: this.reason }];
  }

  close(): void {}
}

export const sectorsToBytes = (sectors: number): number => sectors * SECTOR;
