/** What a convert writes, estimated once: the job refuses with it and the desktop preflight shows it. */
import * as path from 'node:path';
import type { ConvertSpec } from '../../shared/jobs.js';
import type { Chain } from '../disk/chain.js';
import { dataRanges } from '../disk/source.js';
import type { SpaceEstimate } from '../io/space.js';

/** Kinds written fully allocated, whatever the source holds. */
const THICK_KINDS = new Set<string>(['vmfs', 'monolithicFlat', 'twoGbMaxExtentFlat']);
/** Output grains (hosted sparse, streamOptimized) and the unit a sparse raw or thin flat file grows by, at most. */
const GRAIN_BYTES = 64 * 1024;
/** A stored streamOptimized grain: its marker and sector padding on top of the grain, at worst. */
const STREAM_GRAIN_OVERHEAD_BYTES = 512;
/** Header, descriptor and grain directories. */
const FIXED_METADATA_BYTES = 1024 * 1024;

export function convertSpace(chain: Chain, spec: ConvertSpec): SpaceEstimate {
  const folder = path.dirname(path.resolve(spec.dst));
  const purpose = `write ${path.basename(spec.dst)}`;
  if (THICK_KINDS.has(spec.to)) return { folder, requiredBytes: chain.capacityBytes, basis: 'the full capacity (flat output is fully allocated)', purpose };
  const perGrain = spec.to === 'streamOptimized' ? GRAIN_BYTES + STREAM_GRAIN_OVERHEAD_BYTES : GRAIN_BYTES;
  // Grain tables, twice (hosted sparse keeps a redundant copy): 4 bytes per grain of capacity.
  const tables = 2 * 4 * Math.ceil(chain.capacityBytes / GRAIN_BYTES);
  return {
    folder,
    requiredBytes: grainsHoldingData(chain) * perGrain + tables + FIXED_METADATA_BYTES,
    basis: 'the allocated data of the chain, in whole grains, plus metadata (sparse output)',
    purpose,
  };
}

/** 64 KiB grains of the flattened disk that hold any data. */
function grainsHoldingData(chain: Chain): number {
  let grains = 0;
  let lastGrain = -1;
  for (const range of dataRanges(chain)) {
    const first = Math.max(Math.floor(range.offset / GRAIN_BYTES), lastGrain + 1);
    const last = Math.floor((range.offset + range.length - 1) / GRAIN_BYTES);
    if (last >= first) grains += last - first + 1;
    lastGrain = Math.max(lastGrain, last);
  }
  return grains;
}
