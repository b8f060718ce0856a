import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';

/** Metadata is read in aligned windows of this size: one device read serves the neighbouring blocks too. */
const DEFAULT_WINDOW_BYTES = 256 * 1024;

/**
 * Metadata blocks (group descriptors, inode tables, extent nodes, indirect blocks, folder blocks) read
 * in windows: ext keeps a group's folders, inodes and extent blocks close together, so a walk that
 * asks for thousands of scattered-looking blocks finds most of them in a window it read already (one
 * device read per block was most of `ls -R`'s time: each read of the chain costs far more than its
 * copy). An LRU of windows bounds memory at `capacityBytes` whatever the volume size; file data never
 * goes through it.
 */
export class BlockCache {
  private readonly windows = new Map<number, Buffer>();
  private readonly blocksPerWindow: number;
  private readonly capacity: number;
  private lastWindow = -1;
  private lastBuffer: Buffer | null = null;

  constructor(
    private readonly device: BlockDevice,
    private readonly blockSize: number,
    capacityBytes: number,
    windowBytes = DEFAULT_WINDOW_BYTES,
  ) {
    this.blocksPerWindow = Math.max(1, Math.floor(windowBytes / blockSize));
    this.capacity = Math.max(2, Math.floor(capacityBytes / (this.blocksPerWindow * blockSize)));
  }

  /** The bytes of block `block` (the caller has checked it lies inside the volume); do not keep it. */
  get(block: number): Buffer {
    const window = Math.floor(block / this.blocksPerWindow);
    let bytes = window === this.lastWindow ? this.lastBuffer : this.windows.get(window);
    if (!bytes) {
      try {
        bytes = this.readWindow(window);
      } catch (err) {
        if (!(err instanceof DiskchainError)) throw err;
        // Damage elsewhere in the window (a bad grain of the chain) must not cost this block: read it alone.
        const alone = Buffer.allocUnsafe(this.blockSize);
        this.device.read(alone, block * this.blockSize);
        return alone;
      }
    } else if (window !== this.lastWindow) {
      this.windows.delete(window);
      this.windows.set(window, bytes);
    }
    this.lastWindow = window;
    this.lastBuffer = bytes;
    const at = (block - window * this.blocksPerWindow) * this.blockSize;
    return bytes.subarray(at, at + this.blockSize);
  }

  private readWindow(window: number): Buffer {
    // The window stops at the end of the device (the volume's last blocks make a short window).
    const start = window * this.blocksPerWindow * this.blockSize;
    const length = Math.min(this.blocksPerWindow * this.blockSize, this.device.size - start);
    let bytes: Buffer;
    if (this.windows.size >= this.capacity) {
      const oldest = this.windows.keys().next().value as number;
      const reused = this.windows.get(oldest)!;
      this.windows.delete(oldest);
      bytes = reused.length === length ? reused : Buffer.allocUnsafe(length);
    } else {
      bytes = Buffer.allocUnsafe(length);
    }
    // On a failed read the window is simply dropped, so a partial block is never handed out.
    this.lastWindow = -1;
    this.lastBuffer = null;
    this.device.read(bytes, start);
    this.windows.set(window, bytes);
    return bytes;
  }
}
