/**
 * streamOptimized output (format doc §3.7), written front to back so it can go to stdout:
 *
 *   header (gdOffset GD_AT_END) · descriptor · zeros to overHead ·
 *   grain markers in ascending LBA, each 512-entry group followed by its GT marker + GT ·
 *   GD marker + GD · footer marker + footer (the header with the real gdOffset) · EOS
 *
 * as VMware and VirtualBox write it (ESX/OVF import reads exactly this). Grains the chain holds
 * no data for are skipped without reading, all-zero grains after reading, and all-zero GTs are
 * omitted (their GD entry stays 0).
 *
 * The job thread reads batches of grains and writes finished markers in order; a DeflatePool
 * compresses meanwhile on every core. At most 2 batches per worker are in flight and their
 * buffers are recycled, so memory is about 10 MiB per worker whatever the disk size.
 */
import type { Chain } from '../disk/chain.js';
import { dataRanges, isZero } from '../disk/source.js';
import {
  DEFAULT_DESCRIPTOR_SECTORS,
  encodeSparseHeader,
  GRAIN_SECTORS,
  GT_SECTORS,
  GTES_PER_GT,
  roundUp,
  SECTOR,
  type SparseLayout,
} from '../formats/sparse/layout.js';
import type { ByteSink } from '../io/sink.js';
import type { JobContext } from '../io/job-context.js';
import { DeflatePool, type DeflatePiece, type FramedBatch } from './deflate-pool.js';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { GRAIN_BYTES } from './layout.js';

export interface StreamWriteOptions {
  /** zlib level 1..9 (6 is zlib's and qemu-img's default). */
  compressLevel: number;
  /** The embedded descriptor text. */
  descriptor: string;
  /** Deflate threads; default os.availableParallelism(). */
  workers?: number;
}

/** Header flags: newline test valid (bit 0), compressed grains (16), markers (17); no RGD (§3.1). */
const STREAM_FLAGS = 0x00030001;
const DEFLATE = 1;
/** gdOffset of a head header whose real values live in the footer (0xFFFFFFFFFFFFFFFF as uint64). */
const GD_AT_END = -1;
/** 32 grains = 2 MiB per message: big enough to amortize a round trip, small enough to keep all workers busy. */
const BATCH_GRAINS = 32;
/** Grain tables hold sector numbers as uint32 (§2.4): the file must stay under 2 TiB. */
const MAX_SECTOR = 0xffffffff;

const MARKER_EOS = 0;
const MARKER_GT = 1;
const MARKER_GD = 2;
const MARKER_FOOTER = 3;

/** Writes the whole streamOptimized file sequentially to sink (a staged file or stdout). */
export async function writeStreamOptimized(chain: Chain, sink: ByteSink, options: StreamWriteOptions, ctx: JobContext): Promise<void> {
  const level = options.compressLevel;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw usageError(`compression level must be 1..9, not ${level}`);
  const descriptor = Buffer.from(options.descriptor, 'utf8');
  const layout = streamLayout(chain.capacityBytes, descriptor.length);
  const out = new SectorWriter(sink);
  const head = Buffer.alloc(layout.overHead * SECTOR);
  streamHeader(layout, GD_AT_END).copy(head, 0);
  descriptor.copy(head, layout.descriptorOffset * SECTOR);
  out.write(head);

  const tables = new TableWriter(out, layout);
  await writeGrains(chain, tables, options, ctx);
  tables.finishTable();

  const gdOffset = tables.writeDirectory();
  const footer = Buffer.alloc(2 * SECTOR);
  metadataMarker(MARKER_FOOTER, 1).copy(footer, 0);
  streamHeader(layout, gdOffset).copy(footer, SECTOR);
  out.write(footer);
  out.write(metadataMarker(MARKER_EOS, 0));
}

/**
 * The stream file's metadata: the descriptor at sector 1 with VMware's 20-sector reserve, grains
 * from the next grain boundary, and no GD or GTs up front (§3.7).
 */
function streamLayout(capacityBytes: number, descriptorBytes: number): SparseLayout {
  const capacitySectors = Math.ceil(capacityBytes / SECTOR);
  const numGTs = Math.max(1, Math.ceil(capacitySectors / GRAIN_SECTORS / GTES_PER_GT));
  const descriptorSize = Math.max(DEFAULT_DESCRIPTOR_SECTORS, Math.ceil(descriptorBytes / SECTOR));
  return {
    capacitySectors,
    descriptorOffset: 1,
    descriptorSize,
    numGTs,
    gdSectors: Math.ceil((numGTs * 4) / SECTOR),
    rgdOffset: 0,
    gdOffset: GD_AT_END,
    overHead: roundUp(1 + descriptorSize, GRAIN_SECTORS),
  };
}

/** The hosted header with the stream differences of §3.1: version 3, flags, deflate, and gdOffset. */
function streamHeader(layout: SparseLayout, gdOffset: number): Buffer {
  const h = encodeSparseHeader({ ...layout, gdOffset: 0 });
  h.writeUInt32LE(3, 4);
  h.writeUInt32LE(STREAM_FLAGS, 8);
  h.writeBigUInt64LE(BigInt.asUintN(64, BigInt(gdOffset)), 56);
  h.writeUInt16LE(DEFLATE, 77);
  return h;
}

interface Batch {
  /** Index of the 512-grain group every grain of the batch belongs to. */
  table: number;
  grains: number[];
  /** Bytes of source data these grains cover (for progress). */
  dataBytes: number;
}

interface InFlight {
  table: number;
  /** Grain index of each compressed piece, in order. */
  grains: number[];
  result: Promise<FramedBatch>;
}

async function writeGrains(chain: Chain, tables: TableWriter, options: StreamWriteOptions, ctx: JobContext): Promise<void> {
  const total = sumDataBytes(chain);
  ctx.progress('compress', 0, total);
  const pool = DeflatePool.create({ level: options.compressLevel, ...(options.workers === undefined ? {} : { workers: options.workers }) });
  const maxInFlight = 2 * pool.size;
  const spareInputs: ArrayBuffer[] = [];
  const spareOutputs: ArrayBuffer[] = [];
  const queue: InFlight[] = [];
  let done = 0;

  const drainOne = async (): Promise<void> => {
    const next = queue.shift()!;
    const framed = await next.result;
    tables.place(next.table, next.grains, framed);
    spareInputs.push(framed.input);
    spareOutputs.push(framed.output);
  };

  try {
    for (const batch of grainBatches(chain)) {
      ctx.throwIfCancelled();
      const input = spareInputs.pop() ?? new ArrayBuffer(BATCH_GRAINS * GRAIN_BYTES);
      const pieces = readBatch(chain, batch.grains, Buffer.from(input));
      if (pieces.length === 0) {
        spareInputs.push(input);
      } else {
        const result = pool.compress(input, pieces, spareOutputs.pop() ?? null);
        // Batches still queued when a job fails or is cancelled are rejected by destroy(); nobody awaits them then.
        result.catch(() => undefined);
        queue.push({ table: batch.table, grains: pieces.map((p) => p.lba / GRAIN_SECTORS), result });
      }
      done += batch.dataBytes;
      ctx.progress('compress', done, total);
      if (queue.length >= maxInFlight) await drainOne();
    }
    while (queue.length > 0) {
      ctx.throwIfCancelled();
      await drainOne();
    }
  } finally {
    await pool.destroy();
  }
}

/**
 * Reads the batch's grains into `buf` (consecutive grains with one read) and returns the ones
 * that are not all zeros. The last grain of a disk that is not a grain multiple is zero-padded.
 */
function readBatch(chain: Chain, grains: number[], buf: Buffer): DeflatePiece[] {
  for (let i = 0; i < grains.length; ) {
    let j = i + 1;
    while (j < grains.length && grains[j] === grains[j - 1]! + 1) j++;
    const from = grains[i]! * GRAIN_BYTES;
    const want = (j - i) * GRAIN_BYTES;
    const inside = Math.min(want, chain.capacityBytes - from);
    chain.read(buf.subarray(i * GRAIN_BYTES, i * GRAIN_BYTES + inside), from);
    buf.fill(0, i * GRAIN_BYTES + inside, j * GRAIN_BYTES);
    i = j;
  }
  const pieces: DeflatePiece[] = [];
  grains.forEach((grain, i) => {
    const offset = i * GRAIN_BYTES;
    if (!isZero(buf.subarray(offset, offset + GRAIN_BYTES))) pieces.push({ offset, length: GRAIN_BYTES, lba: grain * GRAIN_SECTORS });
  });
  return pieces;
}

/** Grains that some link holds data in, ascending, cut into batches that never span two GTs. */
function* grainBatches(chain: Chain): Generator<Batch> {
  let batch: Batch | null = null;
  let lastGrain = -1;
  for (const range of dataRanges(chain)) {
    const end = range.offset + range.length;
    for (let grain = Math.floor(range.offset / GRAIN_BYTES); grain * GRAIN_BYTES < end; grain++) {
      const covered = Math.min(end, (grain + 1) * GRAIN_BYTES) - Math.max(range.offset, grain * GRAIN_BYTES);
      const table = Math.floor(grain / GTES_PER_GT);
      if (batch && (batch.table !== table || (batch.grains.length === BATCH_GRAINS && grain !== lastGrain))) {
        yield batch;
        batch = null;
      }
      batch ??= { table, grains: [], dataBytes: 0 };
      // Two ranges can meet inside one grain: it is read once.
      if (grain !== lastGrain) batch.grains.push(grain);
      batch.dataBytes += covered;
      lastGrain = grain;
    }
  }
  if (batch) yield batch;
}

function sumDataBytes(chain: Chain): number {
  let total = 0;
  for (const r of dataRanges(chain)) total += r.length;
  return total;
}

/** Appends whole sectors to the sink and knows the sector it is at. */
class SectorWriter {
  private sectors = 0;
  constructor(private readonly sink: ByteSink) {}

  get sector(): number {
    return this.sectors;
  }

  write(buf: Uint8Array): void {
    if (buf.length % SECTOR !== 0) throw new DiskchainError('E_INTERNAL', `stream write of ${buf.length} bytes is not whole sectors`);
    this.sink.write(buf);
    this.sectors += buf.length / SECTOR;
  }
}

/** Collects grain-table entries as grains are written and emits each GT after its grains. */
class TableWriter {
  private readonly directory: Buffer;
  private readonly gdSectors: number;
  private current = -1;
  private readonly table = Buffer.alloc(GTES_PER_GT * 4);

  constructor(
    private readonly out: SectorWriter,
    layout: SparseLayout,
  ) {
    this.gdSectors = layout.gdSectors;
    this.directory = Buffer.alloc(this.gdSectors * SECTOR);
  }

  /** Writes a compressed batch and records where each of its grains' markers landed. */
  place(table: number, grains: number[], framed: FramedBatch): void {
    if (table !== this.current) {
      this.finishTable();
      this.current = table;
    }
    let sector = this.out.sector;
    expectAddressable(sector + framed.bytes.length / SECTOR);
    grains.forEach((grain, i) => {
      this.table.writeUInt32LE(sector, (grain % GTES_PER_GT) * 4);
      sector += framed.markerSectors[i]!;
    });
    this.out.write(framed.bytes);
  }

  /** GT marker + GT for the group in progress, if it got any grain. */
  finishTable(): void {
    if (this.current < 0) return;
    expectAddressable(this.out.sector + 1);
    this.out.write(metadataMarker(MARKER_GT, GT_SECTORS));
    this.directory.writeUInt32LE(this.out.sector, this.current * 4);
    this.out.write(this.table);
    this.table.fill(0);
    this.current = -1;
  }

  /** GD marker + GD; returns the GD's sector (the footer's gdOffset). */
  writeDirectory(): number {
    this.out.write(metadataMarker(MARKER_GD, this.gdSectors));
    const at = this.out.sector;
    this.out.write(this.directory);
    return at;
  }
}

/** GTEs and GD entries are uint32 sector numbers (§2.4): nothing they point at may lie past 2 TiB. */
function expectAddressable(sector: number): void {
  if (sector > MAX_SECTOR) {
    throw new DiskchainError('E_UNSUPPORTED', 'streamOptimized output would pass 2 TiB, the most its grain tables can address');
  }
}

/** A metadata marker sector: {uint64 val, uint32 size 0, uint32 type}, rest zero (§3.2). */
function metadataMarker(type: number, val: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeBigUInt64LE(BigInt(val), 0);
  b.writeUInt32LE(type, 12);
  return b;
}

