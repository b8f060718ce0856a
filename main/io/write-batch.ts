import type { DiskFile } from './disk-file.js';

/**
 * Turns grain-sized writes into few system calls: pieces that continue each other both in the
 * file and in memory become one write.
 */
export class WriteBatch {
  private parts: Buffer[] = [];
  private position = 0;
  private length = 0;

  constructor(private readonly disk: DiskFile) {}

  add(buf: Buffer, position: number): void {
    if (this.length > 0 && position === this.position + this.length) {
      const last = this.parts[this.parts.length - 1]!;
      if (last.buffer === buf.buffer && last.byteOffset + last.length === buf.byteOffset) {
        this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + buf.length);
      } else {
        this.parts.push(buf);
      }
      this.length += buf.length;
      if (this.parts.length >= 64) this.flush();
      return;
    }
    this.flush();
    this.parts = [buf];
    this.position = position;
    this.length = buf.length;
  }

  flush(): void {
    if (this.length === 0) return;
    if (this.parts.length === 1) {
      this.disk.writeAt(this.parts[0]!, this.position);
    } else {
      this.disk.writeAt(Buffer.concat(this.parts, this.length), this.position);
    }
    this.parts = [];
    this.length = 0;
  }
}
