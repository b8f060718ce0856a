import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { MapSummary } from '../../shared/ipc/contract.js';
import type { Chain } from '../disk/chain.js';
import { diskMap } from '../disk/map.js';

/**
 * The allocation map of [start, start+length) in `buckets` equal parts: for each, the link that
 * holds most of it and how much of it is data. The work is one pass over the map's runs plus one
 * step per bucket a run touches, so a 2 TiB disk costs what its allocation costs, and the answer
 * stays a few KiB whatever the range; the canvas zooms by asking for a narrower range.
 */
export function summarizeMap(chain: Chain, start: number, length: number | undefined, buckets: number): MapSummary {
  const capacity = chain.capacityBytes;
  if (start > capacity) throw new DiskchainError('E_USAGE', `start ${start} is past the end of the disk (${capacity} bytes)`, chain.top.path);
  const len = Math.min(length ?? capacity - start, capacity - start);
  const n = Math.max(1, Math.min(buckets, len));
  const layers = chain.links.length;
  const held = new Float64Array(n * layers);
  const data = new Float64Array(n);
  const layerBytes = new Array<number>(layers).fill(0);
  const edges = bucketEdges(start, len, n);

  if (len > 0) {
    for (const run of diskMap(chain, start, len)) {
      if (run.layer === null) continue;
      if (run.state === 'data') layerBytes[run.layer]! += run.length;
      const end = run.start + run.length;
      for (let i = edges.indexOf(run.start); i < n && edges.at(i) < end; i++) {
        const overlap = Math.min(end, edges.at(i + 1)) - Math.max(run.start, edges.at(i));
        held[i * layers + run.layer]! += overlap;
        if (run.state === 'data') data[i]! += overlap;
      }
    }
  }

  const dominant: Array<number | null> = [];
  const dataFraction: number[] = [];
  for (let i = 0; i < n; i++) {
    let best: number | null = null;
    for (let l = 0; l < layers; l++) {
      const bytes = held[i * layers + l]!;
      if (bytes > 0 && (best === null || bytes > held[i * layers + best]!)) best = l;
    }
    dominant.push(best);
    const size = edges.at(i + 1) - edges.at(i);
    dataFraction.push(size > 0 ? Math.min(1, data[i]! / size) : 0);
  }
  const dataBytes = layerBytes.reduce((a, b) => a + b, 0);
  return {
    capacityBytes: capacity,
    start,
    length: len,
    buckets: n,
    layers: chain.links.map((l) => ({ path: l.path, name: path.basename(l.path), createType: l.createType })),
    dominant,
    dataFraction,
    layerBytes,
    zeroBytes: len - dataBytes,
  };
}

/**
 * Bucket i starts at start + floor(i·length/n), computed as i·q + floor(i·r/n) with q, r the
 * quotient and remainder of length/n, so it is exact even where i·length passes 2^53.
 */
export function bucketEdges(start: number, length: number, n: number) {
  const q = Math.floor(length / n);
  const r = length % n;
  const at = (i: number): number => start + i * q + Math.floor((i * r) / n);
  return {
    at,
    /** The bucket holding byte `offset` (offset inside the range). */
    indexOf(offset: number): number {
      let i = Math.min(n - 1, Math.max(0, Math.floor((offset - start) / (length / n))));
      while (i > 0 && at(i) > offset) i--;
      while (i < n - 1 && at(i + 1) <= offset) i++;
      return i;
    },
  };
}
