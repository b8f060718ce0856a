import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import { BlockCache } from './block-cache.js';
import type { Superblock } from './superblock.js';

/** What every XFS structure reader needs: the device, the validated geometry and the metadata cache. */
export class XfsVolume {
  readonly cache: BlockCache;
  private readonly agBlockSpan: number;

  constructor(
    readonly device: BlockDevice,
    readonly sb: Superblock,
  ) {
    this.cache = new BlockCache(device);
    this.agBlockSpan = 2 ** sb.agBlockLog;
  }

  /** A one-line error naming the damaged structure: "XFS inode 131: data fork runs past the inode". */
  damaged(structure: string, what: string, offset?: number): DiskchainError {
    return new DiskchainError('E_FORMAT', `XFS ${structure}: ${what}`, this.device.file, offset);
  }

  /**
   * The byte offset of `count` blocks from file-system block number fsb (AG number in the high bits),
   * or null when they do not lie inside one allocation group of the volume.
   */
  blockOffset(fsb: number, count = 1): number | null {
    const agNumber = Math.floor(fsb / this.agBlockSpan);
    const agBlock = fsb - agNumber * this.agBlockSpan;
    if (!Number.isSafeInteger(fsb) || agNumber >= this.sb.agCount || agBlock + count > this.sb.agBlocks) return null;
    const block = agNumber * this.sb.agBlocks + agBlock;
    if (block + count > this.sb.dataBlocks) return null;
    return block * this.sb.blockSize;
  }

  /** The byte offset of inode number ino, or null when the number points outside the volume. */
  inodeOffset(ino: number): number | null {
    const perBlock = 2 ** this.sb.inodesPerBlockLog;
    const fsb = Math.floor(ino / perBlock);
    const base = this.blockOffset(fsb);
    if (base === null) return null;
    return base + (ino - fsb * perBlock) * this.sb.inodeSize;
  }
}
