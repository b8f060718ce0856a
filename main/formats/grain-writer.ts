/**
 * Writing grains into a sparse extent in place, for every format with a grain directory and grain
 * tables (hosted sparse KDMV, COWD): the bookkeeping both share; each format's writer says where
 * new grains and tables go and how its pointers are stored.
 *
 * Crash order (never let a pointer reach a block before the block is on disk, format doc §2.6):
 * writes are grouped in epochs. Within an epoch new grains and zeroed tables are written (and a
 * COWD `freeSector` advanced); at the end of the epoch the file is fsynced and only then the
 * pointers (GD entries, GT entries) are written. Pointers of one epoch become durable with the
 * next epoch's fsync or with flush(). A kill therefore leaves at worst grains nobody points to.
 *
 * A partial write into a grain the extent does not hold yet fills the rest of the grain from what
 * the link reads there now: the parent chain (`fill`) for an unallocated grain, zeros for a zeroed
 * grain (GTE 1), so the bytes outside the written range read as before.
 */
import { formatError, unsupportedError } from '../../shared/errors.js';
import type { DiskFile } from '../io/disk-file.js';
import { WriteBatch } from '../io/write-batch.js';
import { SECTOR, type ExtentWriter, type FillSource } from './extent.js';

/** Clean grain tables kept in memory between epochs. */
const TABLE_CACHE = 1024;
/** Larger grains would need unbounded buffers for a partial write; no producer writes them. */
export const MAX_WRITABLE_GRAIN_SECTORS = 2048;
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

export const GTE_UNALLOCATED = 0;
export const GTE_ZERO = 1;

interface Table {
  entries: Uint32Array;
  dirty: boolean;
}

/** One sparse extent's directory and tables, with new space taken at an append point. */
export abstract class GrainTableWriter implements ExtentWriter {
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

  protected readonly file: string;

  protected constructor(
    protected readonly disk: DiskFile,
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
    this.file = disk.path;
    this.grainBytes = grainSectors * SECTOR;
    this.tableBytes = gtEntries * 4;
    this.tableSectors = Math.ceil(this.tableBytes / SECTOR);
    this.batch = new WriteBatch(disk);
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
    const raw = this.disk.readBlock(this.tableBytes, sector * SECTOR, `grain table ${gdIndex}`);
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
    this.disk.sync();
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
    this.disk.sync();
    if (this.changed) this.afterFlush();
  }

  close(): void {
    this.disk.close();
  }

  protected tableToBytes(table: Uint32Array): Buffer {
    const raw = Buffer.alloc(this.tableSectors * SECTOR);
    for (let i = 0; i < table.length; i++) raw.writeUInt32LE(table[i] ?? 0, i * 4);
    return raw;
  }
}

/** A grain directory whose every table lies inside the file; refuses anything else before allocating. */
export function readDirectory(disk: DiskFile, sector: number, entries: number, tableBytes: number, what: string): Uint32Array {
  const bytes = entries * 4;
  if (sector === 0 || sector * SECTOR + bytes > disk.size) {
    throw formatError(disk.path, `${what} at sector ${sector} (${entries} entries) lies outside the file (${disk.size} bytes)`);
  }
  const raw = disk.readBlock(bytes, sector * SECTOR, what);
  const out = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) {
    const v = raw.readUInt32LE(i * 4);
    if (v !== 0 && v * SECTOR + tableBytes > disk.size) {
      throw formatError(disk.path, `${what} entry ${i} points past the end of the file (grain table at sector ${v})`);
    }
    out[i] = v;
  }
  return out;
}
