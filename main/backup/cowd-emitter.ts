/**
 * A COWD extent (format doc §4) produced front to back: an ESX 3+ vmfsSparse `-delta.vmdk` or an
 * ESX 2 `.REDO` log holding the grains a restored snapshot link owns. ESX's own layout (§4.2):
 * the header, the grain directory at sector 4 (padded to 4 KiB), then for each directory entry in
 * use its grain table followed by that table's grains. Grains are 64 KiB (grainSize 128 sectors,
 * which the format allows) so that one archived grain is one COWD grain.
 */
import { unsupportedError } from '../../shared/errors.js';
import { GRAIN_BYTES } from '../convert/layout.js';
import { COWD_FIELD, COWD_GT_ENTRIES, COWD_HEADER_BYTES, COWD_MAX_CAPACITY_SECTORS, cowdLayout, newCowdFile } from '../formats/cowd/create.js';
import { SECTOR } from '../formats/extent.js';
import { keptGrains, type ExtentContent, type GrainSet } from './segment-emitter.js';

const GRAIN_SECTORS = GRAIN_BYTES / SECTOR;
const GT_BYTES = COWD_GT_ENTRIES * 4;

export interface CowdExtentSpec {
  capacityBytes: number;
  /** Grains to store (grain 0 is the disk's first). */
  kept: GrainSet;
  /** ESX 2 REDO log: the parent's file name for the header; leave out for a vmfsSparse delta. */
  parentFileName?: string;
  /** Error messages name this file. */
  file: string;
}

interface CowdPlan {
  /** Header and grain directory, filled in. */
  head: Buffer;
  /** Directory entries in use: their index and the sector of their grain table. */
  tables: Array<{ index: number; sector: number }>;
  totalSectors: number;
}

function planCowd(spec: CowdExtentSpec): CowdPlan {
  const capacitySectors = Math.ceil(spec.capacityBytes / SECTOR);
  if (capacitySectors > COWD_MAX_CAPACITY_SECTORS) {
    throw unsupportedError(spec.file, 'a COWD delta holds at most 2 TiB; restore this disk as a hosted sparse child instead');
  }
  const head = newCowdFile({ capacitySectors, grainSectors: GRAIN_SECTORS, ...(spec.parentFileName ? { parentFileName: spec.parentFileName } : {}) });
  const { numGDEntries } = cowdLayout(capacitySectors, GRAIN_SECTORS);
  const grains = Math.ceil(spec.capacityBytes / GRAIN_BYTES);
  const tables: CowdPlan['tables'] = [];
  let sector = head.length / SECTOR;
  for (let index = 0; index < numGDEntries; index++) {
    const first = index * COWD_GT_ENTRIES;
    const count = spec.kept.count(first, Math.min(grains, first + COWD_GT_ENTRIES));
    if (count === 0) continue;
    head.writeUInt32LE(sector, COWD_HEADER_BYTES + index * 4);
    tables.push({ index, sector });
    sector += GT_BYTES / SECTOR + count * GRAIN_SECTORS;
  }
  head.writeUInt32LE(sector, COWD_FIELD.freeSector);
  return { head, tables, totalSectors: sector };
}

export function cowdExtentBytes(spec: CowdExtentSpec): number {
  return planCowd(spec).totalSectors * SECTOR;
}

/** The extent's bytes in file order; yielded buffers are reused, consume each before the next. */
export function* emitCowdExtent(spec: CowdExtentSpec, read: ExtentContent): Generator<Buffer> {
  const plan = planCowd(spec);
  const grains = Math.ceil(spec.capacityBytes / GRAIN_BYTES);
  yield plan.head;
  const table = Buffer.alloc(GT_BYTES);
  for (const { index, sector } of plan.tables) {
    const first = index * COWD_GT_ENTRIES;
    const end = Math.min(grains, first + COWD_GT_ENTRIES);
    table.fill(0);
    let grainSector = sector + GT_BYTES / SECTOR;
    for (let g = first; g < end; g++) {
      if (!spec.kept.has(g)) continue;
      table.writeUInt32LE(grainSector, (g - first) * 4);
      grainSector += GRAIN_SECTORS;
    }
    yield table;
    yield* keptGrains(spec.kept, 0, first, end, spec.capacityBytes, read);
  }
}
