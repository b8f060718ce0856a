/**
 * Writes bytes into one link of a chain, in place: the parent side of a commit. Every extent kind
 * a link can have gets a writer:
 *
 * - FLAT / VMFS / raw `.dsk` / `-flat.vmdk` / split `-f00N`: positional writes into the file.
 * - hosted sparse (`KDMV`, format doc §2.6): an unallocated grain gets a new grain appended at the
 *   end of the file, grain-aligned; the GT and its redundant copy (RGT) get the new entry. A missing
 *   GT is appended (zeroed) before the GD/RGD entry that points to it is written.
 * - COWD (vmfsSparse `-delta.vmdk`, ESX 2 `.REDO`, §4.4): grains (and missing GTs) go at the free
 *   sector; `freeSector` in the header moves past them; the GT gets the entry.
 *
 * Crash order (never let a pointer reach a block before the block is on disk, §2.6): writes are
 * grouped in epochs. Within an epoch new grains and zeroed tables are written and the COWD
 * `freeSector` is advanced; at the end of the epoch the files are fsynced and only then the
 * pointers (GD entries, GT entries) are written. Pointers of one epoch become durable with the
 * next epoch's fsync or with flush(). A kill therefore leaves at worst grains nobody points to.
 *
 * A partial write into a grain the link does not hold yet fills the rest of the grain from what
 * the link reads there now: the link's parent chain (`below`) for an unallocated grain, zeros for
 * a zeroed grain (GTE 1) — so the bytes outside the written range read as before.
 */
import * as fs from 'node:fs';
import { DiskchainError, formatError, unsupportedError } from '../../shared/errors.js';
import type { ExtentInfo } from '../../shared/types.js';
import { parseCowdHeader, type CowdHeader } from '../formats/cowd/reader.js';
import { COWD_FIELD } from '../formats/cowd/create.js';
import { SECTOR } from '../formats/extent.js';
import { GD_AT_END_SECTOR, parseSparseHeader, type SparseHeader } from '../formats/sparse/reader.js';
import { ioError } from '../io/disk-file.js';
import { writeFully } from '../io/write.js';
import type { Link } from '../disk/link.js';

/** Reads what lies under the link at a link offset (its parent chain); absent for a base disk. */
export type FillSource = (buf: Buffer, linkOffset: number) => void;

/** Pointers are made durable at least this often; also bounds the tables kept dirty in memory. */
const EPOCH_BYTES = 256 * 1024 * 1024;
/** Clean grain tables kept in memory between epochs. */
const TABLE_CACHE = 1024;
/** Larger grains would need unbounded buffers for a partial write; no producer writes them. */
const MAX_WRITABLE_GRAIN_SECTORS = 2048;
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

/** Link kinds whose format cannot be written in place. */
const READ_ONLY_CREATE_TYPES = new Set(['streamOptimized', 'seSparse', 'vmfsSeSparse', 'fullDevice', 'partitionedDevice']);
const READ_ONLY_EXTENTS = new Set(['SESPARSE', 'VMFSRDM', 'VMFSRAW']);

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
  /** Writes every pointer and fsyncs every file: after it the link reads what was written. */
  flush(): void;
  close(): void;
}

/** Why a link cannot be written in place, or null when it can (ZERO extents are checked per range). */
export function unwritableReason(link: Link): string | null {
  if (READ_ONLY_CREATE_TYPES.has(link.createType)) return `a ${link.createType} disk cannot be written in place`;
  for (const e of link.extents) {
    if (READ_ONLY_EXTENTS.has(e.type)) return `its ${e.type} extent cannot be written`;
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
      pieces.push({ start, sizeBytes, writer: openExtentWriter(link, e, sizeBytes, fill) });
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

function openExtentWriter(link: Link, e: ExtentInfo, sizeBytes: number, fill: FillSource | null): ExtentWriter {
  // sizeBytes is the descriptor's; a sparse writer checks ranges against its own header instead.
  if (e.type === 'ZERO' || e.path === null) return new ZeroExtentWriter(link.path, sizeBytes);
  const fd = openForWrite(e.path);
  try {
    if (e.type === 'FLAT' || e.type === 'VMFS') return new FlatWriter(e.path, fd, e.offset * SECTOR);
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    const kind = magic.toString('latin1');
    if (kind === 'KDMV') return KdmvWriter.open(e.path, fd, fill);
    if (kind === 'COWD') return CowdWriter.open(e.path, fd, fill);
    throw formatError(e.path, `a ${e.type} extent must start with a KDMV or COWD header to be written`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function openForWrite(file: string): number {
  try {
    return fs.openSync(file, 'r+');
  } catch (e) {
    throw ioError(file, e);
  }
}

interface Piece {
  start: number;
  sizeBytes: number;
  writer: ExtentWriter;
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

interface ExtentWriter {
  spaceNeeded(offset: number, length: number, zero: boolean): number;
  write(buf: Buffer, offset: number): void;
  writeZeros(offset: number, length: number): void;
  /** Makes the epoch's new blocks durable, then writes the pointers to them. */
  endEpoch(): void;
  flush(): void;
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// Positional writes, coalesced

function pwriteAll(fd: number, file: string, buf: Uint8Array, position: number): void {
  try {
    writeFully(fd, buf, position);
  } catch (e) {
    throw ioError(file, e);
  }
}

function fsyncFile(fd: number, file: string): void {
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    throw ioError(file, e);
  }
}

function writeZerosAt(fd: number, file: string, position: number, length: number): void {
  for (let done = 0; done < length; done += ZERO_CHUNK.length) {
    pwriteAll(fd, file, ZERO_CHUNK.subarray(0, Math.min(ZERO_CHUNK.length, length - done)), position + done);
  }
}

/**
 * Turns grain-sized writes into few system calls: pieces that continue each other both in the
 * file and in memory become one write.
 */
class WriteBatch {
  private parts: Buffer[] = [];
  private position = 0;
  private length = 0;

  constructor(
    private readonly fd: number,
    private readonly file: string,
  ) {}

  add(buf: Buffer, position: number): void {
    if (this.length > 0 && position === this.position + this.length) {
      const last = this.parts[this.parts.length - 1]!;
      if (last.buffer === buf.buffer && last.byteOffset + last.length === buf.byteOffset) {
        this.parts[this.parts.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + buf.length);
      } else {
        this.parts.push(buf);
      }
      this.length += buf.length;
      if (this.parts.length >= 64) this.flush();
      return;
    }
    this.flush();
    this.parts = [buf];
    this.position = position;
    this.length = buf.length;
  }

  flush(): void {
    if (this.length === 0) return;
    if (this.parts.length === 1) {
      pwriteAll(this.fd, this.file, this.parts[0]!, this.position);
    } else {
      pwriteAll(this.fd, this.file, Buffer.concat(this.parts, this.length), this.position);
    }
    this.parts = [];
    this.length = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Flat extents

class FlatWriter implements ExtentWriter {
  private readonly sparseFile: boolean;
  private readonly fileBytes: number;

  constructor(
    private readonly file: string,
    private readonly fd: number,
    private readonly offsetBytes: number,
  ) {
    const st = fs.fstatSync(fd);
    this.fileBytes = st.size;
    // A thin copy (holes) may need new blocks for every byte written; a thick one needs none.
    this.sparseFile = st.blocks * 512 < st.size;
  }

  spaceNeeded(offset: number, length: number): number {
    if (this.sparseFile) return length;
    const end = this.offsetBytes + offset + length;
    return Math.max(0, Math.min(length, end - this.fileBytes));
  }

  write(buf: Buffer, offset: number): void {
    pwriteAll(this.fd, this.file, buf, this.offsetBytes + offset);
  }

  writeZeros(offset: number, length: number): void {
    writeZerosAt(this.fd, this.file, this.offsetBytes + offset, length);
  }

  endEpoch(): void {}

  flush(): void {
    fsyncFile(this.fd, this.file);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A ZERO extent reads as zeros and can hold nothing else. */
class ZeroExtentWriter implements ExtentWriter {
  constructor(
    private readonly file: string,
    private readonly sizeBytes: number,
  ) {}

  spaceNeeded(offset: number, length: number, zero: boolean): number {
    if (!zero) this.refuse(offset);
    return 0;
  }

  write(_buf: Buffer, offset: number): void {
    this.refuse(offset);
  }

  private refuse(offset: number): never {
    throw unsupportedError(this.file, `a ZERO extent cannot hold data (at byte ${offset} of the extent)`);
  }

  writeZeros(): void {}
  endEpoch(): void {}
  flush(): void {}
  close(): void {}
}

// ---------------------------------------------------------------------------------------------
// Grain-table bookkeeping shared by KDMV and COWD

const GTE_UNALLOCATED = 0;
const GTE_ZERO = 1;

interface Table {
  entries: Uint32Array;
  dirty: boolean;
}

/** One sparse extent's directory and tables, with new space taken at an append point. */
abstract class SparseWriter implements ExtentWriter {
  protected readonly grainBytes: number;
  protected readonly tableBytes: number;
  protected readonly tableSectors: number;
  protected readonly batch: WriteBatch;
  private readonly capacityBytes: number;
  /** Grain tables in memory, least recently used first; dirty ones wait for the epoch's end. */
  private readonly tables = new Map<number, Table>();
  private readonly newTables = new Set<number>();
  private changedPointers = false;
  private changed = false;
  /** spaceNeeded's memory of what it already counted, so ranges sharing a grain count it once. */
  private readonly estimatedTables = new Set<number>();
  private lastEstimatedGrain = -1;

  protected constructor(
    protected readonly file: string,
    protected readonly fd: number,
    protected readonly grainSectors: number,
    private readonly gtEntries: number,
    protected readonly directory: Uint32Array,
    capacitySectors: number,
    private readonly fill: FillSource | null,
    /** Sector where the next grain or table goes. */
    protected nextFree: number,
    /** No grain can start before this sector (header, descriptor, directories). */
    private readonly firstDataSector: number,
  ) {
    this.grainBytes = grainSectors * SECTOR;
    this.tableBytes = gtEntries * 4;
    this.tableSectors = Math.ceil(this.tableBytes / SECTOR);
    this.batch = new WriteBatch(fd, file);
    this.capacityBytes = capacitySectors * SECTOR;
  }

  protected abstract allocateGrainSector(): number;
  /** Puts a zeroed table in the file and its sector in `directory` (not yet on disk). */
  protected abstract allocateTable(gdIndex: number): void;
  protected abstract writeTable(gdIndex: number, table: Uint32Array): void;
  protected abstract writeDirectoryEntry(gdIndex: number): void;
  /** Whether a whole-grain zero write may set GTE 1 instead of allocating a grain. */
  protected abstract zeroGrainAllowed(): boolean;
  /** Called before the first change to the file. */
  protected beforeFirstChange(): void {}
  /** Writes the epoch's header changes that must be durable before pointers (COWD freeSector). */
  protected beforeSync(): void {}
  /** Called once everything written is durable. */
  protected afterFlush(): void {}

  private markChanged(): void {
    if (this.changed) return;
    this.changed = true;
    this.beforeFirstChange();
  }

  private table(gdIndex: number): Table | undefined {
    const cached = this.tables.get(gdIndex);
    if (cached) {
      this.tables.delete(gdIndex);
      this.tables.set(gdIndex, cached);
      return cached;
    }
    const sector = this.directory[gdIndex] ?? 0;
    if (sector === 0) return undefined;
    const raw = Buffer.alloc(this.tableBytes);
    const n = fs.readSync(this.fd, raw, 0, raw.length, sector * SECTOR);
    if (n < raw.length) throw formatError(this.file, `grain table ${gdIndex} at sector ${sector} lies past the end of the file`);
    const entries = new Uint32Array(this.gtEntries);
    for (let i = 0; i < entries.length; i++) entries[i] = raw.readUInt32LE(i * 4);
    const table = { entries, dirty: false };
    this.tables.set(gdIndex, table);
    return table;
  }

  /** Keeps the table cache bounded: drops clean tables, ends the epoch when too many are dirty. */
  private boundCache(): void {
    if (this.tables.size <= TABLE_CACHE) return;
    this.dropCleanTables();
    if (this.tables.size > TABLE_CACHE) {
      this.endEpoch();
      this.dropCleanTables();
    }
  }

  private dropCleanTables(): void {
    for (const [key, table] of this.tables) {
      if (this.tables.size <= TABLE_CACHE / 2) break;
      if (!table.dirty) this.tables.delete(key);
    }
  }

  private gte(grain: number): number {
    const table = this.table(Math.floor(grain / this.gtEntries));
    return table ? (table.entries[grain % this.gtEntries] ?? 0) : GTE_UNALLOCATED;
  }

  private setGte(grain: number, value: number): void {
    const gdIndex = Math.floor(grain / this.gtEntries);
    let table = this.table(gdIndex);
    if (!table) {
      this.allocateTable(gdIndex);
      this.newTables.add(gdIndex);
      table = { entries: new Uint32Array(this.gtEntries), dirty: true };
      this.tables.set(gdIndex, table);
    }
    table.entries[grain % this.gtEntries] = value;
    table.dirty = true;
    this.changedPointers = true;
  }

  private assertInside(offset: number, length: number): void {
    if (offset + length > this.capacityBytes) {
      throw unsupportedError(
        this.file,
        `the descriptor gives this extent more bytes than its header (${this.capacityBytes}); cannot write at byte ${offset}`,
      );
    }
  }

  /** A data grain must lie after the metadata and inside what the file holds or we appended. */
  private checkDataSector(sector: number, grain: number): void {
    if (sector < this.firstDataSector || sector + this.grainSectors > this.nextFree) {
      throw formatError(this.file, `grain ${grain} points to sector ${sector}, outside the grain area; run check on this disk`);
    }
  }

  private isWholeGrain(pos: number, next: number, grainStart: number): boolean {
    return pos === grainStart && next - pos === Math.min(this.grainBytes, this.capacityBytes - grainStart);
  }

  spaceNeeded(offset: number, length: number, zero: boolean): number {
    this.assertInside(offset, length);
    let bytes = 0;
    for (let pos = offset; pos < offset + length; ) {
      const grain = Math.floor(pos / this.grainBytes);
      const grainStart = grain * this.grainBytes;
      const next = Math.min(offset + length, grainStart + this.grainBytes);
      if (grain !== this.lastEstimatedGrain && this.wouldAllocate(this.gte(grain), zero, this.isWholeGrain(pos, next, grainStart))) {
        this.lastEstimatedGrain = grain;
        bytes += this.grainBytes;
        const gdIndex = Math.floor(grain / this.gtEntries);
        if ((this.directory[gdIndex] ?? 0) === 0 && !this.estimatedTables.has(gdIndex)) {
          this.estimatedTables.add(gdIndex);
          bytes += 2 * this.tableSectors * SECTOR + this.grainBytes;
        }
      }
      this.dropCleanTables();
      pos = next;
    }
    return bytes;
  }

  private wouldAllocate(gte: number, zero: boolean, whole: boolean): boolean {
    if (gte > GTE_ZERO) return false;
    if (!zero) return true;
    if (gte === GTE_ZERO || this.fill === null) return false;
    return !(whole && this.zeroGrainAllowed());
  }

  write(buf: Buffer, offset: number): void {
    this.assertInside(offset, buf.length);
    this.markChanged();
    for (let pos = offset; pos < offset + buf.length; ) {
      this.boundCache();
      const grain = Math.floor(pos / this.grainBytes);
      const grainStart = grain * this.grainBytes;
      const next = Math.min(offset + buf.length, grainStart + this.grainBytes);
      const piece = buf.subarray(pos - offset, next - offset);
      const gte = this.gte(grain);
      if (gte > GTE_ZERO) {
        this.checkDataSector(gte, grain);
        this.batch.add(piece, gte * SECTOR + (pos - grainStart));
      } else {
        this.allocateGrain(grain, gte, piece, pos - grainStart);
      }
      pos = next;
    }
    // The batch holds slices of the caller's buffer, which it reuses after we return.
    this.batch.flush();
  }

  writeZeros(offset: number, length: number): void {
    this.assertInside(offset, length);
    this.markChanged();
    for (let pos = offset; pos < offset + length; ) {
      this.boundCache();
      const grain = Math.floor(pos / this.grainBytes);
      const grainStart = grain * this.grainBytes;
      const next = Math.min(offset + length, grainStart + this.grainBytes);
      const gte = this.gte(grain);
      if (gte > GTE_ZERO) {
        this.checkDataSector(gte, grain);
        this.batch.add(ZERO_CHUNK.subarray(0, next - pos), gte * SECTOR + (pos - grainStart));
      } else if (gte === GTE_UNALLOCATED && this.fill !== null) {
        if (this.isWholeGrain(pos, next, grainStart) && this.zeroGrainAllowed()) this.setGte(grain, GTE_ZERO);
        else this.allocateGrain(grain, gte, ZERO_CHUNK.subarray(0, next - pos), pos - grainStart);
      }
      // GTE 1, or unallocated with nothing underneath: already reads as zeros.
      pos = next;
    }
    this.batch.flush();
  }

  /** A new grain holding `piece` at `within`, the rest as the link reads it now. */
  private allocateGrain(grain: number, gte: number, piece: Buffer, within: number): void {
    const grainStart = grain * this.grainBytes;
    let data: Buffer;
    if (within === 0 && piece.length === this.grainBytes) {
      data = piece;
    } else {
      data = Buffer.alloc(this.grainBytes);
      const inside = Math.min(this.grainBytes, this.capacityBytes - grainStart);
      if (gte === GTE_UNALLOCATED && this.fill !== null) this.fill(data.subarray(0, inside), grainStart);
      piece.copy(data, within);
    }
    const gdIndex = Math.floor(grain / this.gtEntries);
    // A missing table is placed first, so its grains follow it (the ESX order "GT, then its grains").
    if ((this.directory[gdIndex] ?? 0) === 0) this.setGte(grain, GTE_UNALLOCATED);
    const sector = this.allocateGrainSector();
    this.batch.add(data, sector * SECTOR);
    this.setGte(grain, sector);
  }

  endEpoch(): void {
    this.batch.flush();
    if (!this.changedPointers) return;
    this.beforeSync();
    fsyncFile(this.fd, this.file);
    for (const gdIndex of this.newTables) this.writeDirectoryEntry(gdIndex);
    this.newTables.clear();
    for (const [gdIndex, table] of this.tables) {
      if (!table.dirty) continue;
      this.writeTable(gdIndex, table.entries);
      table.dirty = false;
    }
    this.changedPointers = false;
  }

  flush(): void {
    this.endEpoch();
    fsyncFile(this.fd, this.file);
    if (this.changed) this.afterFlush();
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  protected tableToBytes(table: Uint32Array): Buffer {
    const raw = Buffer.alloc(this.tableSectors * SECTOR);
    for (let i = 0; i < table.length; i++) raw.writeUInt32LE(table[i] ?? 0, i * 4);
    return raw;
  }
}

// ---------------------------------------------------------------------------------------------
// Hosted sparse (KDMV)

export const KDMV_MAGIC = 'KDMV';
const KDMV_FLAG_NEWLINE = 0x1;
const KDMV_FLAG_REDUNDANT = 0x2;
const KDMV_FLAG_ZERO_GTE = 0x4;
const KDMV_FLAG_COMPRESSED = 0x10000;
const KDMV_FLAG_MARKERS = 0x20000;
const KDMV_UNCLEAN_OFFSET = 72;
/** GT offsets are uint32 sectors, so a hosted sparse file ends before 2 TiB (§2.4). */
const KDMV_MAX_FILE_SECTORS = 0xffffffff;

/** The 512-byte SparseExtentHeader (§2.1) as the reader validates it; stream files are refused for writing. */
export function parseKdmvHeader(buf: Buffer, file: string): SparseHeader {
  if (buf.length < SECTOR || buf.toString('latin1', 0, 4) !== KDMV_MAGIC) throw formatError(file, 'not a hosted sparse extent (no KDMV magic)');
  const header = parseSparseHeader(buf, file);
  if (header.gdOffsetSectors === GD_AT_END_SECTOR) {
    throw unsupportedError(file, 'a streamOptimized extent (grain directory at the end) cannot be written in place');
  }
  return header;
}

function u64(buf: Buffer, offset: number, file: string, what: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(file, `${what} (header byte ${offset}) is not plausible`);
  return Number(v);
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

class KdmvWriter extends SparseWriter {
  private constructor(
    file: string,
    fd: number,
    private readonly header: SparseHeader,
    directory: Uint32Array,
    private readonly redundant: Uint32Array | null,
    fill: FillSource | null,
    nextFree: number,
    firstDataSector: number,
  ) {
    super(file, fd, header.grainSizeSectors, header.numGTEsPerGT, directory, header.capacitySectors, fill, nextFree, firstDataSector);
  }

  static open(file: string, fd: number, fill: FillSource | null): KdmvWriter {
    const head = Buffer.alloc(SECTOR);
    fs.readSync(fd, head, 0, SECTOR, 0);
    const h = parseKdmvHeader(head, file);
    if (h.flags & (KDMV_FLAG_COMPRESSED | KDMV_FLAG_MARKERS)) {
      throw unsupportedError(file, 'compressed grains (streamOptimized) cannot be written in place');
    }
    if (h.version < 1 || h.version > 3) throw unsupportedError(file, `hosted sparse version ${h.version} cannot be written`);
    if (!isPowerOfTwo(h.grainSizeSectors) || h.grainSizeSectors > MAX_WRITABLE_GRAIN_SECTORS) {
      throw unsupportedError(file, `grain size of ${h.grainSizeSectors} sectors cannot be written (1 to ${MAX_WRITABLE_GRAIN_SECTORS} can)`);
    }
    if (!isPowerOfTwo(h.numGTEsPerGT) || h.numGTEsPerGT > 4096) {
      throw formatError(file, `${h.numGTEsPerGT} entries per grain table (header byte 44) is not plausible`);
    }
    const fileBytes = fs.fstatSync(fd).size;
    const numGDEntries = Math.ceil(Math.ceil(h.capacitySectors / h.grainSizeSectors) / h.numGTEsPerGT);
    const tableBytes = h.numGTEsPerGT * 4;
    const directory = readDirectory(fd, file, h.gdOffsetSectors, numGDEntries, tableBytes, fileBytes, 'grain directory');
    const redundant =
      h.flags & KDMV_FLAG_REDUNDANT && h.rgdOffsetSectors > 0
        ? readDirectory(fd, file, h.rgdOffsetSectors, numGDEntries, tableBytes, fileBytes, 'redundant grain directory')
        : null;
    const gdSectors = Math.ceil((numGDEntries * 4) / SECTOR);
    const metadataEnd = Math.max(
      1 + (h.descriptorOffsetSectors > 0 ? h.descriptorOffsetSectors + h.descriptorSizeSectors - 1 : 0),
      h.gdOffsetSectors + gdSectors,
      redundant ? h.rgdOffsetSectors + gdSectors : 0,
    );
    // New grains go at the end of the file, grain-aligned (§2.6), never inside the metadata.
    const nextFree = Math.max(Math.ceil(fileBytes / SECTOR), h.overheadSectors, metadataEnd);
    return new KdmvWriter(file, fd, h, directory, redundant, fill, nextFree, metadataEnd);
  }

  protected override zeroGrainAllowed(): boolean {
    return this.header.version >= 2 && (this.header.flags & KDMV_FLAG_ZERO_GTE) !== 0;
  }

  protected override allocateGrainSector(): number {
    const sector = Math.ceil(this.nextFree / this.grainSectors) * this.grainSectors;
    this.take(sector, this.grainSectors);
    return sector;
  }

  private take(sector: number, count: number): void {
    if (sector + count > KDMV_MAX_FILE_SECTORS) {
      throw unsupportedError(this.file, 'a hosted sparse file cannot grow past 2 TiB (grain offsets are 32-bit sectors)');
    }
    this.nextFree = sector + count;
  }

  /** A zeroed GT (and RGT) at the end of the file; the GD entries follow after the fsync. */
  protected override allocateTable(gdIndex: number): void {
    const bytes = this.tableSectors * SECTOR;
    const gt = this.nextFree;
    this.take(gt, this.tableSectors);
    this.batch.flush();
    writeZerosAt(this.fd, this.file, gt * SECTOR, bytes);
    this.directory[gdIndex] = gt;
    if (this.redundant) {
      const rgt = this.nextFree;
      this.take(rgt, this.tableSectors);
      writeZerosAt(this.fd, this.file, rgt * SECTOR, bytes);
      this.redundant[gdIndex] = rgt;
    }
  }

  protected override writeDirectoryEntry(gdIndex: number): void {
    const entry = Buffer.alloc(4);
    entry.writeUInt32LE(this.directory[gdIndex] ?? 0);
    pwriteAll(this.fd, this.file, entry, this.header.gdOffsetSectors * SECTOR + gdIndex * 4);
    if (this.redundant) {
      entry.writeUInt32LE(this.redundant[gdIndex] ?? 0);
      pwriteAll(this.fd, this.file, entry, this.header.rgdOffsetSectors * SECTOR + gdIndex * 4);
    }
  }

  /** GT and RGT stay identical (§2.4). */
  protected override writeTable(gdIndex: number, table: Uint32Array): void {
    const raw = this.tableToBytes(table);
    pwriteAll(this.fd, this.file, raw, (this.directory[gdIndex] ?? 0) * SECTOR);
    const rgt = this.redundant?.[gdIndex] ?? 0;
    if (rgt !== 0) pwriteAll(this.fd, this.file, raw, rgt * SECTOR);
  }

  /** uncleanShutdown = 1 while we write (§2.6); restored once everything is on disk. */
  protected override beforeFirstChange(): void {
    if (!this.header.uncleanShutdown) pwriteAll(this.fd, this.file, Buffer.from([1]), KDMV_UNCLEAN_OFFSET);
  }

  protected override afterFlush(): void {
    if (this.header.uncleanShutdown) return;
    pwriteAll(this.fd, this.file, Buffer.from([0]), KDMV_UNCLEAN_OFFSET);
    fsyncFile(this.fd, this.file);
  }
}

function readDirectory(
  fd: number,
  file: string,
  sector: number,
  entries: number,
  tableBytes: number,
  fileBytes: number,
  what: string,
): Uint32Array {
  const bytes = entries * 4;
  if (sector === 0 || sector * SECTOR + bytes > fileBytes) {
    throw formatError(file, `${what} at sector ${sector} (${entries} entries) lies outside the file (${fileBytes} bytes)`);
  }
  const raw = Buffer.alloc(bytes);
  fs.readSync(fd, raw, 0, bytes, sector * SECTOR);
  const out = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) {
    const v = raw.readUInt32LE(i * 4);
    if (v !== 0 && v * SECTOR + tableBytes > fileBytes) {
      throw formatError(file, `${what} entry ${i} points past the end of the file (grain table at sector ${v})`);
    }
    out[i] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// COWD (vmfsSparse deltas, ESX 2 REDO logs)

class CowdWriter extends SparseWriter {
  private savedFreeSector: number;

  private constructor(
    file: string,
    fd: number,
    private readonly header: CowdHeader,
    directory: Uint32Array,
    fill: FillSource | null,
    nextFree: number,
    gdEndSector: number,
  ) {
    super(file, fd, header.grainSizeSectors, header.gtEntries, directory, header.capacitySectors, fill, nextFree, gdEndSector);
    this.savedFreeSector = header.freeSector;
  }

  static open(file: string, fd: number, fill: FillSource | null): CowdWriter {
    const head = Buffer.alloc(2048);
    fs.readSync(fd, head, 0, head.length, 0);
    const header = parseCowdHeader(head, file);
    if (header.grainSizeSectors > MAX_WRITABLE_GRAIN_SECTORS) {
      throw unsupportedError(file, `grain size of ${header.grainSizeSectors} sectors cannot be written`);
    }
    const fileBytes = fs.fstatSync(fd).size;
    const usedEntries = Math.ceil(header.capacitySectors / (header.gtEntries * header.grainSizeSectors));
    const directory = readDirectory(fd, file, header.gdOffsetSectors, usedEntries, header.gtEntries * 4, fileBytes, 'grain directory');
    const gdEnd = header.gdOffsetSectors + Math.ceil((header.numGDEntries * 4) / SECTOR);
    // Append after freeSector and after the file's end: only zero padding can lie beyond freeSector
    // in an intact file, and nothing we cannot see is overwritten if freeSector is stale.
    const nextFree = Math.max(header.freeSector, gdEnd, Math.ceil(fileBytes / SECTOR));
    return new CowdWriter(file, fd, header, directory, fill, nextFree, gdEnd);
  }

  protected override zeroGrainAllowed(): boolean {
    // GTE 1 in COWD is read as a zero grain by some tools only (§4.5); ESX's view is unknown.
    return false;
  }

  protected override allocateGrainSector(): number {
    const sector = this.nextFree;
    this.take(this.grainSectors);
    return sector;
  }

  private take(count: number): void {
    if (this.nextFree + count > 0xffffffff) throw unsupportedError(this.file, 'a COWD file cannot grow past 2^32 sectors');
    this.nextFree += count;
  }

  protected override allocateTable(gdIndex: number): void {
    const gt = this.nextFree;
    this.take(this.tableSectors);
    this.batch.flush();
    writeZerosAt(this.fd, this.file, gt * SECTOR, this.tableSectors * SECTOR);
    this.directory[gdIndex] = gt;
  }

  /** freeSector must cover every grain before any GTE points at one (a later writer appends there). */
  protected override beforeSync(): void {
    if (this.nextFree === this.savedFreeSector) return;
    const word = Buffer.alloc(4);
    word.writeUInt32LE(this.nextFree);
    pwriteAll(this.fd, this.file, word, COWD_FIELD.freeSector);
    this.savedFreeSector = this.nextFree;
  }

  protected override writeDirectoryEntry(gdIndex: number): void {
    const entry = Buffer.alloc(4);
    entry.writeUInt32LE(this.directory[gdIndex] ?? 0);
    pwriteAll(this.fd, this.file, entry, this.header.gdOffsetSectors * SECTOR + gdIndex * 4);
  }

  protected override writeTable(gdIndex: number, table: Uint32Array): void {
    pwriteAll(this.fd, this.file, this.tableToBytes(table), (this.directory[gdIndex] ?? 0) * SECTOR);
  }
}

// ---------------------------------------------------------------------------------------------
// Empty hosted sparse extents and embedded descriptors

/** Sectors reserved for an embedded descriptor, as VMware, QEMU and VirtualBox do (§1.1). */
export const EMBEDDED_DESCRIPTOR_SECTORS = 20;
const DEFAULT_GRAIN_SECTORS = 128;
const DEFAULT_GTES_PER_GT = 512;

/**
 * An empty hosted sparse extent in the VMware layout of §2.5: header, embedded descriptor (when
 * given), RGD, RGTs, GD, GTs, padding to the first grain. Returns the bytes up to the end of the
 * GD (the tables after each directory are zero, left as holes) and the file's length.
 */
export function newHostedSparseExtent(capacitySectors: number, descriptor: Buffer | null): { head: Buffer; fileBytes: number } {
  const grain = DEFAULT_GRAIN_SECTORS;
  const perGT = DEFAULT_GTES_PER_GT;
  const numGTs = Math.ceil(Math.ceil(capacitySectors / grain) / perGT);
  const gdSectors = Math.ceil((numGTs * 4) / SECTOR);
  const gtSectors = (perGT * 4) / SECTOR;
  const descriptorOffset = descriptor ? 1 : 0;
  const descriptorSize = descriptor ? Math.max(EMBEDDED_DESCRIPTOR_SECTORS, Math.ceil(descriptor.length / SECTOR)) : 0;
  const rgdOffset = descriptor ? descriptorOffset + descriptorSize : 1;
  const gdOffset = rgdOffset + gdSectors + numGTs * gtSectors;
  const overHead = Math.ceil((gdOffset + gdSectors + numGTs * gtSectors) / grain) * grain;
  if (overHead > KDMV_MAX_FILE_SECTORS) throw new RangeError(`capacity of ${capacitySectors} sectors is too large for a hosted sparse file`);

  const head = Buffer.alloc((gdOffset + gdSectors) * SECTOR);
  head.write(KDMV_MAGIC, 0, 'latin1');
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(KDMV_FLAG_NEWLINE | KDMV_FLAG_REDUNDANT, 8);
  head.writeBigUInt64LE(BigInt(capacitySectors), 12);
  head.writeBigUInt64LE(BigInt(grain), 20);
  head.writeBigUInt64LE(BigInt(descriptorOffset), 28);
  head.writeBigUInt64LE(BigInt(descriptorSize), 36);
  head.writeUInt32LE(perGT, 44);
  head.writeBigUInt64LE(BigInt(rgdOffset), 48);
  head.writeBigUInt64LE(BigInt(gdOffset), 56);
  head.writeBigUInt64LE(BigInt(overHead), 64);
  head.writeUInt8(0, 72);
  head.set([0x0a, 0x20, 0x0d, 0x0a], 73);
  head.writeUInt16LE(0, 77);
  descriptor?.copy(head, descriptorOffset * SECTOR);
  for (let i = 0; i < numGTs; i++) {
    head.writeUInt32LE(rgdOffset + gdSectors + i * gtSectors, rgdOffset * SECTOR + i * 4);
    head.writeUInt32LE(gdOffset + gdSectors + i * gtSectors, gdOffset * SECTOR + i * 4);
  }
  return { head, fileBytes: overHead * SECTOR };
}

export interface EmbeddedDescriptor {
  /** The descriptor bytes up to the first NUL. */
  bytes: Buffer;
  offsetBytes: number;
  /** Room reserved for it. */
  capacityBytes: number;
}

/** The descriptor inside a monolithicSparse file, or null when it has none. */
export function readEmbeddedDescriptor(file: string): EmbeddedDescriptor | null {
  const fd = openForRead(file);
  try {
    const head = Buffer.alloc(SECTOR);
    fs.readSync(fd, head, 0, SECTOR, 0);
    if (head.toString('latin1', 0, 4) !== KDMV_MAGIC) return null;
    const offset = u64(head, 28, file, 'descriptorOffset');
    const size = u64(head, 36, file, 'descriptorSize');
    if (offset === 0 || size === 0) return null;
    if (size > 20480) throw formatError(file, `embedded descriptor of ${size} sectors is not plausible`);
    const raw = Buffer.alloc(size * SECTOR);
    const n = fs.readSync(fd, raw, 0, raw.length, offset * SECTOR);
    const nul = raw.subarray(0, n).indexOf(0);
    return { bytes: Buffer.from(raw.subarray(0, nul < 0 ? n : nul)), offsetBytes: offset * SECTOR, capacityBytes: size * SECTOR };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Rewrites the embedded descriptor in place with one write of its whole reserved area (NUL padded),
 * then fsyncs. A process killed around it leaves the old or the new text, never a mix.
 */
export function writeEmbeddedDescriptor(file: string, where: EmbeddedDescriptor, bytes: Buffer): void {
  if (bytes.length > where.capacityBytes) {
    throw unsupportedError(file, `the new descriptor (${bytes.length} bytes) does not fit the ${where.capacityBytes} bytes reserved for it`);
  }
  const area = Buffer.alloc(where.capacityBytes);
  bytes.copy(area);
  const fd = openForWrite(file);
  try {
    pwriteAll(fd, file, area, where.offsetBytes);
    fsyncFile(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

function openForRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw ioError(file, e);
  }
}
