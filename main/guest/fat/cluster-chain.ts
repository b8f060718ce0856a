import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import { PageCache } from './page-cache.js';

/** A run of contiguous clusters: read as ONE device read. */
export interface ClusterRun {
  first: number;
  count: number;
}

export type FatBits = 12 | 16 | 32 | 'exfat';

/**
 * The file allocation table of a FAT12/16/32 or exFAT volume: follows cluster chains into runs,
 * bounded by the volume's cluster count and loop-checked.
 */
export class ClusterChains {
  private readonly table: PageCache;
  /** Lowest value that ends a chain, and the value that marks a bad cluster. */
  private readonly endMark: number;
  private readonly badMark: number;

  constructor(
    private readonly device: BlockDevice,
    fatOffset: number,
    fatBytes: number,
    private readonly bits: FatBits,
    /** Clusters 2 … clusterCount + 1 exist. */
    readonly clusterCount: number,
    /** "FAT32", "exFAT": the start of every error message. */
    private readonly fsName: string,
  ) {
    this.table = new PageCache(device, fatOffset, fatBytes);
    const marks = { 12: [0xff8, 0xff7], 16: [0xfff8, 0xfff7], 32: [0x0ffffff8, 0x0ffffff7], exfat: [0xfffffff8, 0xfffffff7] }[bits];
    this.endMark = marks[0]!;
    this.badMark = marks[1]!;
  }

  /** The FAT entry of a cluster (also entry 1, which holds the dirty bits). */
  entry(cluster: number): number {
    switch (this.bits) {
      case 12: {
        const pair = this.table.u16(cluster + (cluster >> 1));
        return cluster & 1 ? pair >> 4 : pair & 0xfff;
      }
      case 16:
        return this.table.u16(cluster * 2);
      case 32:
        return this.table.u32(cluster * 4) & 0x0fffffff;
      case 'exfat':
        return this.table.u32(cluster * 4);
    }
  }

  isCluster(n: number): boolean {
    return n >= 2 && n <= this.clusterCount + 1;
  }

  /**
   * The runs of the chain that starts at `first`, stopping after `limit` clusters (a file needs no
   * more than its size) or at the end mark. `what` names the file or folder in errors.
   */
  runs(first: number, limit: number, what: string): ClusterRun[] {
    const runs: ClusterRun[] = [];
    const visited = new VisitedClusters();
    let cluster = first;
    let total = 0;
    for (;;) {
      if (!this.isCluster(cluster)) throw this.error(what, `cluster ${cluster} lies outside the volume (clusters 2–${this.clusterCount + 1})`);
      if (!visited.add(cluster)) throw this.error(what, `loops at cluster ${cluster}`);
      const last = runs[runs.length - 1];
      if (last && last.first + last.count === cluster) last.count++;
      else runs.push({ first: cluster, count: 1 });
      if (++total >= limit) return runs;
      const next = this.entry(cluster);
      if (next >= this.endMark) return runs;
      if (next === this.badMark) throw this.error(what, `reaches cluster ${cluster}, which is marked bad`);
      if (next === 0) throw this.error(what, `reaches cluster ${cluster}, which the FAT marks free`);
      cluster = next;
    }
  }

  private error(what: string, reason: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `${this.fsName} cluster chain of ${what} ${reason}`, this.device.file);
  }
}

/** Clusters a byte count fills (0 for 0 bytes). */
export function clustersFor(bytes: number, clusterSize: number): number {
  return Math.ceil(bytes / clusterSize);
}

/**
 * The clusters one walk has visited: a bitmap in 512-byte pieces made as the chain reaches them, so a
 * walk costs memory for the stretch of volume it covers, not for the cluster count a header claims.
 */
class VisitedClusters {
  private static readonly PIECE_BITS = 4096;
  private readonly pieces = new Map<number, Uint8Array>();

  /** False when the cluster was visited before. */
  add(cluster: number): boolean {
    const index = Math.floor(cluster / VisitedClusters.PIECE_BITS);
    let piece = this.pieces.get(index);
    if (!piece) this.pieces.set(index, (piece = new Uint8Array(VisitedClusters.PIECE_BITS / 8)));
    const bit = cluster % VisitedClusters.PIECE_BITS;
    if (piece[bit >> 3]! & (1 << (bit & 7))) return false;
    piece[bit >> 3]! |= 1 << (bit & 7);
    return true;
  }
}
