import type { BlockDevice } from '../block-device.js';

/**
 * A small LRU of metadata blocks (inode clusters, directory and btree blocks): walking a folder touches
 * the same blocks again and again, and per-block device calls dominate the cost (file-level.md §4).
 * Memory is bounded by the entry count times the largest block (64 KiB).
 */
export class BlockCache {
  private readonly blocks = new Map<string, Buffer>();

  constructor(
    private readonly device: BlockDevice,
    private readonly capacity = 256,
  ) {}

  /** The bytes at offset; callers must not modify them. */
  read(offset: number, length: number): Buffer {
    const key = `${offset}:${length}`;
    const hit = this.blocks.get(key);
    if (hit) {
      this.blocks.delete(key);
      this.blocks.set(key, hit);
      return hit;
    }
    const bytes = Buffer.alloc(length);
    this.device.read(bytes, offset);
    this.blocks.set(key, bytes);
    if (this.blocks.size > this.capacity) {
      const oldest = this.blocks.keys().next().value as string;
      this.blocks.delete(oldest);
    }
    return bytes;
  }
}
