/**
 * Writes new, empty COWD files (format doc §4.1, §4.4): an ESX 3+ vmfsSparse `-delta.vmdk` extent
 * (driven by a text descriptor, header union zero) or an ESX 2 `.REDO` log (a bare COWD whose union
 * names its parent). Also the header fields a writer changes later (freeSector, the parent name),
 * so that their offsets live in one place.
 *
 * Layout of a new file, as ESX makes it: the 2048-byte header, the grain directory at sector 4
 * (all zero, whole sectors), zero padding to 4 KiB. `freeSector` is the first sector after the GD;
 * grain tables and grains are appended from there as the disk is written (see mutate/grain-store).
 */
import { SECTOR } from '../extent.js';

export const COWD_HEADER_BYTES = 2048;
export const COWD_GD_OFFSET_SECTORS = COWD_HEADER_BYTES / SECTOR;
/** ESX writes 512-byte grains into deltas and REDO logs. */
export const COWD_DEFAULT_GRAIN_SECTORS = 1;
export const COWD_GT_ENTRIES = 4096;
/** VMware: "set to 3"; the bits are not publicly documented. */
const COWD_FLAGS = 3;
const COWD_VERSION = 1;
/** New delta files are padded to 4 KiB (§4.5). */
const PAD_BYTES = 4096;
/** numSectors is a uint32. */
export const COWD_MAX_CAPACITY_SECTORS = 0xffffffff;

/** Byte offsets of header fields a writer updates in place. */
export const COWD_FIELD = {
  freeSector: 28,
  parentFileName: 32,
  parentFileNameBytes: 1024,
  parentGeneration: 1056,
} as const;

export interface NewCowdOptions {
  capacitySectors: number;
  /** Sectors per grain; default 1 as ESX does. A power of two. */
  grainSectors?: number;
  /**
   * ESX 2 REDO log: the parent's file name as the header union records it (the base name, which
   * is how ESX 2 finds a REDO's parent beside it). Leave out for a vmfsSparse delta.
   */
  parentFileName?: string;
  /** Stored at byte 1056 of a REDO header; a parent COWD's `generation`, else 0. */
  parentGeneration?: number;
}

export interface CowdLayoutNumbers {
  numGDEntries: number;
  gdSectors: number;
  freeSector: number;
}

export function cowdLayout(capacitySectors: number, grainSectors = COWD_DEFAULT_GRAIN_SECTORS): CowdLayoutNumbers {
  const numGDEntries = Math.ceil(capacitySectors / (COWD_GT_ENTRIES * grainSectors));
  const gdSectors = Math.ceil((numGDEntries * 4) / SECTOR);
  return { numGDEntries, gdSectors, freeSector: COWD_GD_OFFSET_SECTORS + gdSectors };
}

/**
 * The complete bytes of an empty COWD file: header + zero GD, padded to 4 KiB. A 2 TiB capacity
 * with 512-byte grains needs a 4 MiB grain directory, so this stays small for every legal size.
 */
export function newCowdFile(options: NewCowdOptions): Buffer {
  const { capacitySectors } = options;
  const grainSectors = options.grainSectors ?? COWD_DEFAULT_GRAIN_SECTORS;
  if (!Number.isInteger(capacitySectors) || capacitySectors < 1 || capacitySectors > COWD_MAX_CAPACITY_SECTORS) {
    throw new RangeError(`a COWD file holds 1 to ${COWD_MAX_CAPACITY_SECTORS} sectors, not ${capacitySectors}`);
  }
  if (!Number.isInteger(grainSectors) || grainSectors < 1 || (grainSectors & (grainSectors - 1)) !== 0) {
    throw new RangeError(`COWD grain size must be a power of two, not ${grainSectors}`);
  }
  const layout = cowdLayout(capacitySectors, grainSectors);
  const fileBytes = Math.ceil((layout.freeSector * SECTOR) / PAD_BYTES) * PAD_BYTES;
  const file = Buffer.alloc(fileBytes);
  file.write('COWD', 0, 'latin1');
  file.writeUInt32LE(COWD_VERSION, 4);
  file.writeUInt32LE(COWD_FLAGS, 8);
  file.writeUInt32LE(capacitySectors, 12);
  file.writeUInt32LE(grainSectors, 16);
  file.writeUInt32LE(COWD_GD_OFFSET_SECTORS, 20);
  file.writeUInt32LE(layout.numGDEntries, 24);
  file.writeUInt32LE(layout.freeSector, COWD_FIELD.freeSector);
  if (options.parentFileName !== undefined) {
    cowdParentNameField(options.parentFileName).copy(file, COWD_FIELD.parentFileName);
    file.writeUInt32LE((options.parentGeneration ?? 0) >>> 0, COWD_FIELD.parentGeneration);
  }
  return file;
}

/** The 1024-byte union field holding a REDO's parent name, NUL-terminated UTF-8. */
export function cowdParentNameField(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length >= COWD_FIELD.parentFileNameBytes) {
    throw new RangeError(`a COWD parent name must be 1 to ${COWD_FIELD.parentFileNameBytes - 1} bytes, "${name}" is ${bytes.length}`);
  }
  const field = Buffer.alloc(COWD_FIELD.parentFileNameBytes);
  bytes.copy(field);
  return field;
}
