/**
 * The hosted sparse (KDMV, format doc §2.6) writer in place: an unallocated grain gets a new grain
 * appended at the end of the file, grain-aligned; the GT and its redundant copy (RGT) get the new
 * entry. A missing GT is appended (zeroed) before the GD/RGD entry that points to it is written.
 */
import { formatError, unsupportedError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import { SECTOR, type FillSource } from '../extent.js';
import { GrainTableWriter, MAX_WRITABLE_GRAIN_SECTORS, readDirectory } from '../grain-writer.js';
import { MAX_FILE_SECTORS } from './layout.js';
import { GD_AT_END_SECTOR, parseSparseHeader, type SparseHeader } from './reader.js';

export const KDMV_MAGIC = 'KDMV';
const KDMV_FLAG_REDUNDANT = 0x2;
const KDMV_FLAG_ZERO_GTE = 0x4;
const KDMV_FLAG_COMPRESSED = 0x10000;
const KDMV_FLAG_MARKERS = 0x20000;
const KDMV_UNCLEAN_OFFSET = 72;

/** The 512-byte SparseExtentHeader (§2.1) as the reader validates it; stream files are refused for writing. */
export function parseKdmvHeader(buf: Buffer, file: string): SparseHeader {
  if (buf.length < SECTOR || buf.toString('latin1', 0, 4) !== KDMV_MAGIC) throw formatError(file, 'not a hosted sparse extent (no KDMV magic)');
  const header = parseSparseHeader(buf, file);
  if (header.gdOffsetSectors === GD_AT_END_SECTOR) {
    throw unsupportedError(file, 'a streamOptimized extent (grain directory at the end) cannot be written in place');
  }
  return header;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export class KdmvWriter extends GrainTableWriter {
  private constructor(
    disk: DiskFile,
    private readonly header: SparseHeader,
    directory: Uint32Array,
    private readonly redundant: Uint32Array | null,
    fill: FillSource | null,
    nextFree: number,
    firstDataSector: number,
  ) {
    super(disk, header.grainSizeSectors, header.numGTEsPerGT, directory, header.capacitySectors, fill, nextFree, firstDataSector);
  }

  static open(disk: DiskFile, fill: FillSource | null): KdmvWriter {
    const file = disk.path;
    const h = parseKdmvHeader(disk.readBlock(SECTOR, 0, 'sparse header'), file);
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
    const numGDEntries = Math.ceil(Math.ceil(h.capacitySectors / h.grainSizeSectors) / h.numGTEsPerGT);
    const tableBytes = h.numGTEsPerGT * 4;
    const directory = readDirectory(disk, h.gdOffsetSectors, numGDEntries, tableBytes, 'grain directory');
    const redundant =
      h.flags & KDMV_FLAG_REDUNDANT && h.rgdOffsetSectors > 0
        ? readDirectory(disk, h.rgdOffsetSectors, numGDEntries, tableBytes, 'redundant grain directory')
        : null;
    const gdSectors = Math.ceil((numGDEntries * 4) / SECTOR);
    const metadataEnd = Math.max(
      1 + (h.descriptorOffsetSectors > 0 ? h.descriptorOffsetSectors + h.descriptorSizeSectors - 1 : 0),
      h.gdOffsetSectors + gdSectors,
      redundant ? h.rgdOffsetSectors + gdSectors : 0,
    );
    // New grains go at the end of the file, grain-aligned (§2.6), never inside the metadata.
    const nextFree = Math.max(Math.ceil(disk.size / SECTOR), h.overheadSectors, metadataEnd);
    return new KdmvWriter(disk, h, directory, redundant, fill, nextFree, metadataEnd);
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
    if (sector + count > MAX_FILE_SECTORS) {
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
    this.disk.writeZeros(gt * SECTOR, bytes);
    this.directory[gdIndex] = gt;
    if (this.redundant) {
      const rgt = this.nextFree;
      this.take(rgt, this.tableSectors);
      this.disk.writeZeros(rgt * SECTOR, bytes);
      this.redundant[gdIndex] = rgt;
    }
  }

  protected override writeDirectoryEntry(gdIndex: number): void {
    const entry = Buffer.alloc(4);
    entry.writeUInt32LE(this.directory[gdIndex] ?? 0);
    this.disk.writeAt(entry, this.header.gdOffsetSectors * SECTOR + gdIndex * 4);
    if (this.redundant) {
      entry.writeUInt32LE(this.redundant[gdIndex] ?? 0);
      this.disk.writeAt(entry, this.header.rgdOffsetSectors * SECTOR + gdIndex * 4);
    }
  }

  /** GT and RGT stay identical (§2.4). */
  protected override writeTable(gdIndex: number, table: Uint32Array): void {
    const raw = this.tableToBytes(table);
    this.disk.writeAt(raw, (this.directory[gdIndex] ?? 0) * SECTOR);
    const rgt = this.redundant?.[gdIndex] ?? 0;
    if (rgt !== 0) this.disk.writeAt(raw, rgt * SECTOR);
  }

  /** uncleanShutdown = 1 while we write (§2.6); restored once everything is on disk. */
  protected override beforeFirstChange(): void {
    if (!this.header.uncleanShutdown) this.disk.writeAt(Buffer.from([1]), KDMV_UNCLEAN_OFFSET);
  }

  protected override afterFlush(): void {
    if (this.header.uncleanShutdown) return;
    this.disk.writeAt(Buffer.from([0]), KDMV_UNCLEAN_OFFSET);
    this.disk.sync();
  }
}
