/**
 * Writes bytes into one link of a chain, in place: the parent side of a commit. Each extent of
 * the link is written by its format's driver (formats/drivers.ts); this module lays them end to
 * end, makes pointers durable every EPOCH_BYTES and refuses links whose kind cannot be written.
 */
import { capabilitiesOf, READ_ONLY_EXTENT_TYPES } from '../../shared/capabilities.js';
import { DiskchainError } from '../../shared/errors.js';
import type { ExtentInfo } from '../../shared/types.js';
import { Chain } from '../disk/chain.js';
import type { Link } from '../disk/link.js';
import { extentDriver } from '../formats/drivers.js';
import { SECTOR, type ExtentWriter, type FillSource } from '../formats/extent.js';
import { ZeroExtentWriter } from '../formats/flat/writer.js';
import { DiskFile } from '../io/disk-file.js';

export type { FillSource } from '../formats/extent.js';

/** Pointers are made durable at least this often; also bounds the tables kept dirty in memory. */
const EPOCH_BYTES = 256 * 1024 * 1024;


export interface GrainStore {
  readonly path: string;
  /**
   * New file space that writing (`zero`: zeroing) [offset, offset+length) would take, counted as
   * if no earlier range had been written. Throws, before anything is written, for ranges the link
   * cannot hold (a ZERO extent asked to hold data).
   */
  spaceNeeded(offset: number, length: number, zero: boolean): number;
  write(buf: Buffer, offset: number): void;
  /** Makes [offset, offset+length) read as zeros in this link (not from its parent). */
  writeZeros(offset: number, length: number): void;
  /** Starts writing what is dirty to disk in the background when enough is (DiskFile.writeBehind); await it between writes. */
  writeBehind(): Promise<void> | null;
  /** Writes every pointer and fsyncs every file: after it the link reads what was written. */
  flush(): void;
  close(): void;
}

/** Why a link cannot be written in place, or null when it can (ZERO extents are checked per range). */
export function unwritableReason(link: Link): string | null {
  if (!capabilitiesOf(link.createType).writeInPlace) return `a ${link.createType} disk cannot be written in place`;
  for (const e of link.extents) {
    if (READ_ONLY_EXTENT_TYPES.has(e.type)) return `its ${e.type} extent cannot be written`;
    if (e.type !== 'ZERO' && e.access !== 'RW') return `its extent ${e.path ?? ''} is ${e.access}`;
  }
  return null;
}

export function openGrainStore(link: Link, below: FillSource | null): GrainStore {
  const reason = unwritableReason(link);
  if (reason) throw new DiskchainError('E_USAGE', `cannot write into this disk: ${reason}`, link.path);
  const pieces: Piece[] = [];
  try {
    let start = 0;
    for (const e of link.extents) {
      const sizeBytes = e.sectors * SECTOR;
      const fill: FillSource | null = below ? shifted(below, start) : null;
      pieces.push({ start, sizeBytes, ...openExtentWriter(link, e, sizeBytes, fill) });
      start += sizeBytes;
    }
  } catch (e) {
    for (const p of pieces) p.writer.close();
    throw e;
  }
  return new LinkStore(link.path, pieces);
}

function shifted(below: FillSource, start: number): FillSource {
  return (buf, offset) => below(buf, start + offset);
}

function openExtentWriter(link: Link, e: ExtentInfo, sizeBytes: number, fill: FillSource | null): { writer: ExtentWriter; disk: DiskFile | null } {
  // The file the reader opened (never a name re-derived from the descriptor); sizeBytes is the
  // descriptor's, a sparse writer checks ranges against its own header instead.
  const file = e.path;
  if (e.type === 'ZERO' || file === null) return { writer: new ZeroExtentWriter(link.path, sizeBytes), disk: null };
  const disk = DiskFile.openForWrite(file);
  try {
    return { writer: extentDriver(e.type, disk).openWriter(disk, { sizeBytes, offsetBytes: e.offset * SECTOR }, fill), disk };
  } catch (err) {
    disk.close();
    throw err;
  }
}

interface Piece {
  start: number;
  sizeBytes: number;
  writer: ExtentWriter;
  /** The file the writer owns (it closes it); null for ZERO extents. */
  disk: DiskFile | null;
}

/** The link's extents laid end to end, each written by its own writer. */
class LinkStore implements GrainStore {
  private sinceEpoch = 0;

  constructor(
    readonly path: string,
    private readonly pieces: Piece[],
  ) {}

  spaceNeeded(offset: number, length: number, zero: boolean): number {
    let total = 0;
    this.forEachSlice(offset, length, (w, at, n) => {
      total += w.spaceNeeded(at, n, zero);
    });
    return total;
  }

  write(buf: Buffer, offset: number): void {
    this.forEachSlice(offset, buf.length, (w, at, n, linkAt) => w.write(buf.subarray(linkAt - offset, linkAt - offset + n), at));
    this.count(buf.length);
  }

  writeZeros(offset: number, length: number): void {
    this.forEachSlice(offset, length, (w, at, n) => w.writeZeros(at, n));
    this.count(length);
  }

  private count(bytes: number): void {
    this.sinceEpoch += bytes;
    if (this.sinceEpoch >= EPOCH_BYTES) {
      for (const p of this.pieces) p.writer.endEpoch();
      this.sinceEpoch = 0;
    }
  }

  writeBehind(): Promise<void> | null {
    const started = this.pieces.map((p) => p.disk?.writeBehind() ?? null).filter((b) => b !== null);
    return started.length === 0 ? null : Promise.all(started).then(() => undefined);
  }

  flush(): void {
    for (const p of this.pieces) p.writer.flush();
    this.sinceEpoch = 0;
  }

  close(): void {
    for (const p of this.pieces) p.writer.close();
  }

  private forEachSlice(offset: number, length: number, visit: (w: ExtentWriter, at: number, n: number, linkAt: number) => void): void {
    const end = offset + length;
    const capacity = this.pieces.reduce((s, p) => s + p.sizeBytes, 0);
    if (offset < 0 || end > capacity) {
      throw new DiskchainError('E_USAGE', `write of ${length} bytes at ${offset} lies outside the disk (${capacity} bytes)`, this.path);
    }
    for (const p of this.pieces) {
      const from = Math.max(offset, p.start);
      const to = Math.min(end, p.start + p.sizeBytes);
      if (from < to) visit(p.writer, from - p.start, to - from, from);
    }
  }
}

/** What a link's parents read (zeros past their end), for filling partly written grains. */
export function fillFrom(links: Link[]): FillSource | null {
  if (links.length === 0) return null;
  const below = new Chain(links, []);
  return (buf, offset) => {
    const inside = Math.max(0, Math.min(buf.length, below.capacityBytes - offset));
    if (inside > 0) below.read(buf.subarray(0, inside), offset);
    buf.fill(0, inside);
  };
}
