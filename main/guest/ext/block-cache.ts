import type { BlockDevice } from '../block-device.js';

/**
 * A small LRU of metadata blocks (group descriptors, inode tables, extent nodes, indirect blocks, folder
 * blocks): a walk of many files re-reads the same few blocks, and memory stays at `capacity` blocks
 * whatever the volume size. File data never goes through it.
 */
export class BlockCache {
  private readonly blocks = new Map<number, Buffer>();
  /** The most recent block: consecutive inodes share one inode-table block, and skipping the reorder halves a walk's time. */
  private lastBlock = -1;
  private lastBuffer: Buffer | null = null;

  constructor(
    private readonly device: BlockDevice,
    private readonly blockSize: number,
    private readonly capacity: number,
  ) {}

  /** The bytes of block `block` (the caller has checked it lies inside the volume); do not keep it. */
  get(block: number): Buffer {
    if (block === this.lastBlock && this.lastBuffer) return this.lastBuffer;
    const hit = this.blocks.get(block);
    if (hit) {
      this.blocks.delete(block);
      this.blocks.set(block, hit);
      return this.remember(block, hit);
    }
    let buf: Buffer;
    if (this.blocks.size >= this.capacity) {
      const oldest = this.blocks.keys().next().value as number;
      buf = this.blocks.get(oldest) as Buffer;
      this.blocks.delete(oldest);
    } else {
      buf = Buffer.allocUnsafe(this.blockSize);
    }
    // On a failed read the buffer is simply dropped, so a partial block is never handed out.
    this.lastBuffer = null;
    this.device.read(buf, block * this.blockSize);
    this.blocks.set(block, buf);
    return this.remember(block, buf);
  }

  private remember(block: number, buf: Buffer): Buffer {
    this.lastBlock = block;
    this.lastBuffer = buf;
    return buf;
  }
}
