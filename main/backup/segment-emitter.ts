/**
 * A hosted sparse extent (format doc §2.5) produced front to back, without seeking: header,
 * embedded descriptor, redundant GD, redundant GTs, GD, GTs, padding to overHead, then the grains.
 *
 * Once it is known which grains an extent keeps, every byte of it is determined: the k-th kept
 * grain sits at sector overHead + 128·k, so the grain tables can be written before the grains.
 * That is what lets `backup` hash a segment without writing it, and then stream it into a tar
 * archive with the size and SHA-256 the manifest (sent first) already promised. The bytes are the
 * same as the positional writer in convert/sparse-writer.ts produces for the same grains.
 */
import { GRAIN_BYTES } from '../convert/layout.js';
import {
  encodeDirectory,
  encodeSparseHeader,
  GRAIN_SECTORS,
  GT_SECTORS,
  GTES_PER_GT,
  hostedSparseLayout,
  SECTOR,
  type SparseLayout,
} from '../formats/sparse/layout.js';

/** Which grains of a disk (or link) are stored: one bit per 64 KiB grain. */
export class GrainSet {
  private readonly bits: Uint8Array;

  constructor(readonly grainCount: number) {
    this.bits = new Uint8Array(Math.ceil(grainCount / 8));
  }

  add(grain: number): void {
    this.bits[grain >> 3]! |= 1 << (grain & 7);
  }

  has(grain: number): boolean {
    return (this.bits[grain >> 3]! & (1 << (grain & 7))) !== 0;
  }

  /** Grains kept in [from, to). */
  count(from: number, to: number): number {
    let n = 0;
    for (let g = from; g < to; g++) if (this.has(g)) n++;
    return n;
  }
}

/** Reads `buf.length` bytes of the extent's content at `offset` (inside the extent); past the disk's end reads zeros. */
export type ExtentContent = (buf: Buffer, offset: number) => void;

export interface SparseExtentSpec {
  /** Capacity of this extent (a segment of the disk, or the whole disk). */
  capacityBytes: number;
  /** Text to embed (monolithicSparse), or null for an extent of a split disk. */
  descriptor: string | null;
  /** Kept grains, indexed from `firstGrain` (the extent's grain 0 is the set's grain firstGrain). */
  kept: GrainSet;
  firstGrain: number;
}

/** Grains read per step: 2 MiB keeps memory flat. */
const CHUNK_GRAINS = 32;
/** Grain tables emitted per step. */
const TABLES_PER_CHUNK = 64;

export function extentLayout(spec: SparseExtentSpec): SparseLayout {
  const descriptorBytes = spec.descriptor === null ? null : Buffer.byteLength(spec.descriptor, 'utf8');
  return hostedSparseLayout(Math.ceil(spec.capacityBytes / SECTOR), descriptorBytes);
}

function grainCount(spec: SparseExtentSpec): number {
  return Math.ceil(spec.capacityBytes / GRAIN_BYTES);
}

/** The exact size of the emitted file. */
export function sparseExtentBytes(spec: SparseExtentSpec): number {
  const keptGrains = spec.kept.count(spec.firstGrain, spec.firstGrain + grainCount(spec));
  return (extentLayout(spec).overHead + keptGrains * GRAIN_SECTORS) * SECTOR;
}

/**
 * The extent's bytes in file order. Yielded buffers are reused: consume each before asking for
 * the next. `read` is only asked for kept grains.
 */
export function* emitSparseExtent(spec: SparseExtentSpec, read: ExtentContent): Generator<Buffer> {
  const layout = extentLayout(spec);
  yield encodeSparseHeader(layout);
  if (spec.descriptor !== null) {
    const text = Buffer.alloc(layout.descriptorSize * SECTOR);
    text.write(spec.descriptor, 'utf8');
    yield text;
  }
  for (const dirOffset of [layout.rgdOffset, layout.gdOffset]) {
    yield encodeDirectory(dirOffset, layout.gdSectors, layout.numGTs);
    yield* grainTables(spec, layout);
  }
  const metadataEnd = layout.gdOffset + layout.gdSectors + layout.numGTs * GT_SECTORS;
  if (layout.overHead > metadataEnd) yield Buffer.alloc((layout.overHead - metadataEnd) * SECTOR);
  yield* keptGrains(spec.kept, spec.firstGrain, 0, grainCount(spec), spec.capacityBytes, read);
}

function* grainTables(spec: SparseExtentSpec, layout: SparseLayout): Generator<Buffer> {
  const grains = grainCount(spec);
  const chunk = Buffer.alloc(TABLES_PER_CHUNK * GT_SECTORS * SECTOR);
  let nextSector = layout.overHead;
  for (let table = 0; table < layout.numGTs; table += TABLES_PER_CHUNK) {
    const tables = Math.min(TABLES_PER_CHUNK, layout.numGTs - table);
    const out = chunk.subarray(0, tables * GT_SECTORS * SECTOR);
    out.fill(0);
    const first = table * GTES_PER_GT;
    const end = Math.min(grains, (table + tables) * GTES_PER_GT);
    for (let g = first; g < end; g++) {
      if (!spec.kept.has(spec.firstGrain + g)) continue;
      out.writeUInt32LE(nextSector, (g - first) * 4);
      nextSector += GRAIN_SECTORS;
    }
    yield out;
  }
}

/**
 * The kept grains among the extent's grains [from, to), in order: runs of consecutive kept grains
 * read CHUNK_GRAINS at a time; the last grain is zero-padded past `capacityBytes`.
 */
export function* keptGrains(
  kept: GrainSet,
  firstGrain: number,
  from: number,
  to: number,
  capacityBytes: number,
  read: ExtentContent,
): Generator<Buffer> {
  const chunk = Buffer.alloc(CHUNK_GRAINS * GRAIN_BYTES);
  let g = from;
  while (g < to) {
    if (!kept.has(firstGrain + g)) {
      g++;
      continue;
    }
    let count = 1;
    while (count < CHUNK_GRAINS && g + count < to && kept.has(firstGrain + g + count)) count++;
    const buf = chunk.subarray(0, count * GRAIN_BYTES);
    const start = g * GRAIN_BYTES;
    const readable = Math.max(0, Math.min(buf.length, capacityBytes - start));
    if (readable > 0) read(buf.subarray(0, readable), start);
    buf.fill(0, readable);
    yield buf;
    g += count;
  }
}
