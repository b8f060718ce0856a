/** In-place writers of flat data (FLAT / VMFS extents, raw `.dsk`, `-flat.vmdk`) and of ZERO extents. */
import { unsupportedError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import type { ExtentWriter } from '../extent.js';

export class FlatWriter implements ExtentWriter {
  private readonly sparseFile: boolean;
  private readonly fileBytes: number;

  constructor(
    private readonly disk: DiskFile,
    private readonly offsetBytes: number,
  ) {
    this.fileBytes = disk.size;
    // A thin copy (holes) may need new blocks for every byte written; a thick one needs none.
    this.sparseFile = disk.isThin();
  }

  spaceNeeded(offset: number, length: number): number {
    if (this.sparseFile) return length;
    const end = this.offsetBytes + offset + length;
    return Math.max(0, Math.min(length, end - this.fileBytes));
  }

  write(buf: Buffer, offset: number): void {
    this.disk.writeAt(buf, this.offsetBytes + offset);
  }

  writeZeros(offset: number, length: number): void {
    this.disk.writeZeros(this.offsetBytes + offset, length);
  }

  endEpoch(): void {}

  flush(): void {
    this.disk.sync();
  }

  close(): void {
    this.disk.close();
  }
}

/** A ZERO extent reads as zeros and can hold nothing else. */
export class ZeroExtentWriter implements ExtentWriter {
  constructor(
    private readonly file: string,
    private readonly sizeBytes: number,
  ) {}

  spaceNeeded(offset: number, length: number, zero: boolean): number {
    if (!zero) this.refuse(offset);
    return 0;
  }

  write(_buf: Buffer, offset: number): void {
    this.refuse(offset);
  }

  private refuse(offset: number): never {
    throw unsupportedError(this.file, `a ZERO extent cannot hold data (at byte ${offset} of the extent)`);
  }

  writeZeros(): void {}
  endEpoch(): void {}
  flush(): void {}
  close(): void {}
}
