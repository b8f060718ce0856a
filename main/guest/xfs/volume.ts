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

  /**
   * The cached bytes of the aligned inode cluster (32 KiB, or one block near an AG's end) holding the
   * inode at byte offset `inodeAt`, and where the inode starts in them: a folder's inodes sit together,
   * so one read serves many entries.
   */
  inodeCluster(inodeAt: number): { bytes: Buffer; at: number } {
    const { blockSize, agBlocks } = this.sb;
    const block = Math.floor(inodeAt / blockSize);
    const agBlock = block % agBlocks;
    const clusterBlocks = Math.max(1, INODE_CLUSTER_BYTES / blockSize);
    const firstAgBlock = agBlock - (agBlock % clusterBlocks);
    let first = block - (agBlock - firstAgBlock);
    let count = Math.min(clusterBlocks, agBlocks - firstAgBlock, this.sb.dataBlocks - first);
    if (count < 1 || first + count <= block) {
      first = block;
      count = 1;
    }
    const start = first * blockSize;
    return { bytes: this.cache.read(start, count * blockSize), at: inodeAt - start };
  }
}

const INODE_CLUSTER_BYTES = 32 * 1024;
