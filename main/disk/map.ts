import type { MapRun } from '../../shared/types.js';
import type { Chain } from './chain.js';

/** mapRuns works on windows of this size so a 2 TiB disk with millions of runs is never one array. */
const WINDOW_BYTES = 1024 * 1024 * 1024;

/**
 * The flattened disk's allocation, run by run, with the link that holds each run (like
 * `qemu-img map`). Runs that touch and agree are merged across window edges.
 */
export function* diskMap(chain: Chain, offset = 0, length = chain.capacityBytes - offset): Generator<MapRun> {
  const end = Math.min(chain.capacityBytes, offset + length);
  let pending: MapRun | null = null;
  for (let at = offset; at < end; at += WINDOW_BYTES) {
    for (const run of chain.mapRuns(at, Math.min(WINDOW_BYTES, end - at))) {
      if (pending && pending.state === run.state && pending.layer === run.layer && pending.start + pending.length === run.offset) {
        pending.length += run.length;
        continue;
      }
      if (pending) yield pending;
      pending = {
        start: run.offset,
        length: run.length,
        state: run.state,
        layer: run.layer,
        file: run.layer === null ? null : chain.links[run.layer]!.path,
      };
    }
  }
  if (pending) yield pending;
}
