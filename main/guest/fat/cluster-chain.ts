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
 * bounded by the volume's cluster count and loop-checked with a visited bitmap (one bit a cluster,
 * allocated once per volume, cleared after each walk).
 */
export class ClusterChains {
  private readonly table: PageCache;
  private visited: Uint8Array | null = null;
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
    const visited = (this.visited ??= new Uint8Array((this.clusterCount + 2 + 7) >> 3));
    try {
      let cluster = first;
      let total = 0;
      for (;;) {
        if (!this.isCluster(cluster)) throw this.error(what, `cluster ${cluster} lies outside the volume (clusters 2–${this.clusterCount + 1})`);
        if (visited[cluster >> 3]! & (1 << (cluster & 7))) throw this.error(what, `loops at cluster ${cluster}`);
        visited[cluster >> 3]! |= 1 << (cluster & 7);
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
    } finally {
      for (const run of runs) for (let c = run.first; c < run.first + run.count; c++) visited[c >> 3]! &= ~(1 << (c & 7));
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
