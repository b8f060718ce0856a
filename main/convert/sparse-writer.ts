/**
 * Hosted sparse (KDMV) output: monolithicSparse and twoGbMaxExtentSparse extents laid out the way
 * VMware creates them (format doc §2.5), filled with the chain's allocated grains in LBA order.
 * Used by `convert --to monolithicSparse|twoGbMaxExtentSparse` and `export`.
 */
import { DiskchainError } from '../../shared/errors.js';
import type { Chain } from '../disk/chain.js';
import { dataBytes, dataRanges, isZero } from '../disk/source.js';
import type { OutFile, StagedOutput } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { GRAIN_BYTES, type OutputPlan } from './layout.js';
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

export interface SparseWriteOptions {
  skipZeroGrains: boolean;
  /** descriptor text to embed (monolithicSparse), or null for split extents */
  embeddedDescriptor: string | null;
}

/**
 * Grains read and written per step: 256 KiB, one write slice (io/write.ts). A buffer this small
 * stays in the CPU cache between the read that fills it and the write that empties it; 2 MiB
 * steps made the same copy 1.5–3× slower.
 */
const CHUNK_GRAINS = 4;
/** Grain table entries are uint32 sector offsets, so a hosted sparse file ends before 2^32 sectors (§2.4). */
const MAX_FILE_SECTORS = 2 ** 32;

/**
 * Writes every extent of `plan` into `out.open(e.name)`, each a KDMV file of `e.sizeBytes`
 * covering the next range of the chain. Does not commit or abort `out`.
 */
export async function writeHostedSparse(chain: Chain, plan: OutputPlan, out: StagedOutput, options: SparseWriteOptions, ctx: JobContext): Promise<void> {
  const progress = new CopyProgress(ctx, dataBytes(chain));
  const ranges = dataRanges(chain);
  let pending = nextRange(ranges);
  let extentStart = 0;
  for (const [index, extent] of plan.extents.entries()) {
    const extentEnd = extentStart + extent.sizeBytes;
    const descriptor = index === 0 ? options.embeddedDescriptor : null;
    const writer = new SparseExtentWriter(chain, out.open(extent.name), extentStart, extent.sizeBytes, descriptor, options.skipZeroGrains, progress);
    while (pending && pending.offset < extentEnd) {
      const end = Math.min(pending.offset + pending.length, extentEnd);
      await writer.writeRange(pending.offset - extentStart, end - pending.offset);
      pending = end < pending.offset + pending.length ? { offset: end, length: pending.offset + pending.length - end } : nextRange(ranges);
    }
    writer.finish();
    extentStart = extentEnd;
  }
}

function nextRange(ranges: Generator<{ offset: number; length: number }>): { offset: number; length: number } | null {
  const r = ranges.next();
  return r.done ? null : { ...r.value };
}

/** Progress in bytes of data ranges handled, the same unit as `dataBytes`. */
class CopyProgress {
  private done = 0;

  constructor(
    private readonly ctx: JobContext,
    private readonly total: number,
  ) {}

  /** Before each chunk: a cancel lands between writes, never inside one. */
  checkpoint(): void {
    this.ctx.throwIfCancelled();
  }

  advance(bytes: number): void {
    this.done += bytes;
    this.ctx.progress('copy', this.done, this.total);
  }
}

/**
 * One extent file. GD and RGD are written up front (every GT preallocated, as VMware does);
 * grains are appended in LBA order, so each grain table is final once the copy passes its range
 * and is written out then: only one GT is ever held in memory, whatever the disk size.
 */
class SparseExtentWriter {
  private readonly layout: SparseLayout;
  private readonly table = Buffer.alloc(GTES_PER_GT * 4);
  private tableIndex = -1;
  private tableDirty = false;
  /** Extent-relative grains below this one are written (or skipped as zero) already. */
  private nextGrain = 0;
  private readonly chunk = Buffer.alloc(CHUNK_GRAINS * GRAIN_BYTES);

  constructor(
    private readonly chain: Chain,
    private readonly file: OutFile,
    /** Where this extent starts on the flattened disk. */
    private readonly diskOffset: number,
    private readonly sizeBytes: number,
    private readonly descriptor: string | null,
    private readonly skipZeroGrains: boolean,
    private readonly progress: CopyProgress,
  ) {
    const descriptorBytes = descriptor === null ? null : Buffer.byteLength(descriptor, 'utf8');
    this.layout = hostedSparseLayout(Math.ceil(sizeBytes / SECTOR), descriptorBytes);
    if (this.layout.overHead >= MAX_FILE_SECTORS) throw tooLarge(file.path);
    this.writeMetadata();
  }

  /** Copies the grains touching [offset, offset+length) of this extent; the disk writes behind the copy (OutFile.writeBehind). */
  async writeRange(offset: number, length: number): Promise<void> {
    const rangeEnd = offset + length;
    const lastGrain = Math.ceil(rangeEnd / GRAIN_BYTES);
    let reported = 0;
    let grain = Math.max(this.nextGrain, Math.floor(offset / GRAIN_BYTES));
    while (grain < lastGrain) {
      this.progress.checkpoint();
      const count = Math.min(CHUNK_GRAINS, lastGrain - grain);
      this.copyGrains(grain, count);
      const behind = this.file.writeBehind();
      if (behind) await behind;
      grain += count;
      const covered = Math.min(grain * GRAIN_BYTES, rangeEnd) - offset;
      this.progress.advance(covered - reported);
      reported = covered;
    }
    // The range lay inside a grain an earlier range already wrote.
    if (reported < length) this.progress.advance(length - reported);
    this.nextGrain = Math.max(this.nextGrain, lastGrain);
  }

  /** Reads `count` grains with one chain read and appends the ones kept with one write. */
  private copyGrains(first: number, count: number): void {
    const start = first * GRAIN_BYTES;
    const buf = this.chunk.subarray(0, count * GRAIN_BYTES);
    const readable = Math.max(0, Math.min(buf.length, this.sizeBytes - start, this.chain.capacityBytes - this.diskOffset - start));
    if (readable > 0) this.chain.read(buf.subarray(0, readable), this.diskOffset + start);
    buf.fill(0, readable);

    const kept: number[] = [];
    for (let i = 0; i < count; i++) {
      const grain = buf.subarray(i * GRAIN_BYTES, (i + 1) * GRAIN_BYTES);
      if (this.skipZeroGrains && isZero(grain)) continue;
      // Kept grains land next to each other in the file, so pack them to the front of the chunk.
      if (kept.length !== i) buf.copyWithin(kept.length * GRAIN_BYTES, i * GRAIN_BYTES, (i + 1) * GRAIN_BYTES);
      kept.push(first + i);
    }
    if (kept.length === 0) return;

    const fileSector = this.file.size / SECTOR;
    if (fileSector + kept.length * GRAIN_SECTORS > MAX_FILE_SECTORS) throw tooLarge(this.file.path);
    this.file.append(buf.subarray(0, kept.length * GRAIN_BYTES));
    kept.forEach((grain, i) => this.setEntry(grain, fileSector + i * GRAIN_SECTORS));
  }

  private setEntry(grain: number, sector: number): void {
    const index = Math.floor(grain / GTES_PER_GT);
    if (index !== this.tableIndex) {
      this.flushTable();
      this.table.fill(0);
      this.tableIndex = index;
    }
    this.table.writeUInt32LE(sector, (grain % GTES_PER_GT) * 4);
    this.tableDirty = true;
  }

  /** The same table goes to both the GT and the redundant GT (§2.4): VirtualBox checks they match. */
  private flushTable(): void {
    if (!this.tableDirty) return;
    const { rgdOffset, gdOffset, gdSectors } = this.layout;
    const tableSector = this.tableIndex * GT_SECTORS;
    this.file.writeAt(this.table, (rgdOffset + gdSectors + tableSector) * SECTOR);
    this.file.writeAt(this.table, (gdOffset + gdSectors + tableSector) * SECTOR);
    this.tableDirty = false;
  }

  /** Descriptor, RGD and GD; tables not yet written stay holes, which read as empty GTs. */
  private writeMetadata(): void {
    const { descriptorOffset, descriptorSize, rgdOffset, gdOffset, gdSectors, numGTs, overHead } = this.layout;
    this.file.truncate(overHead * SECTOR);
    if (this.descriptor !== null) {
      const text = Buffer.alloc(descriptorSize * SECTOR);
      text.write(this.descriptor, 'utf8');
      this.file.writeAt(text, descriptorOffset * SECTOR);
    }
    for (const dirOffset of [rgdOffset, gdOffset]) {
      this.file.writeAt(encodeDirectory(dirOffset, gdSectors, numGTs), dirOffset * SECTOR);
    }
  }

  /** Last GT, then the header: a file cut short before this never carries the KDMV magic. */
  finish(): void {
    this.flushTable();
    this.file.writeAt(encodeSparseHeader(this.layout), 0);
  }
}

function tooLarge(file: string): DiskchainError {
  return new DiskchainError(
    'E_UNSUPPORTED',
    'a hosted sparse file cannot grow past 2 TiB (grain tables hold 32-bit sector offsets); write twoGbMaxExtentSparse instead',
    file,
  );
}

