import type { BlockDevice } from '../block-device.js';

/**
 * A small LRU of fixed-size pages of a device region (the FAT): walking a chain touches the same few
 * pages again and again, and one device call per FAT entry is what makes naive readers slow
 * (file-level.md §4). Memory is pages × pageSize, whatever the volume size.
 */
export class PageCache {
  private readonly pages = new Map<number, Buffer>();

  constructor(
    private readonly device: BlockDevice,
    /** Where the cached region starts and how long it is, in bytes of the device. */
    private readonly regionOffset: number,
    private readonly regionSize: number,
    private readonly pageSize = 64 * 1024,
    private readonly maxPages = 16,
  ) {}

  /** The byte at `offset` inside the region. */
  byte(offset: number): number {
    const index = Math.floor(offset / this.pageSize);
    return this.page(index)[offset - index * this.pageSize]!;
  }

  u16(offset: number): number {
    return this.byte(offset) | (this.byte(offset + 1) << 8);
  }

  u32(offset: number): number {
    const index = Math.floor(offset / this.pageSize);
    const at = offset - index * this.pageSize;
    const page = this.page(index);
    if (at + 4 <= page.length) return page.readUInt32LE(at);
    return (this.u16(offset) + this.u16(offset + 2) * 0x10000) >>> 0;
  }

  private page(index: number): Buffer {
    let page = this.pages.get(index);
    if (page) {
      this.pages.delete(index);
      this.pages.set(index, page);
      return page;
    }
    const start = index * this.pageSize;
    page = Buffer.alloc(Math.min(this.pageSize, this.regionSize - start));
    this.device.read(page, this.regionOffset + start);
    if (this.pages.size >= this.maxPages) this.pages.delete(this.pages.keys().next().value!);
    this.pages.set(index, page);
    return page;
  }
}
