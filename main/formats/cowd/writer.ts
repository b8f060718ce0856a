/**
 * The COWD (vmfsSparse `-delta.vmdk`, ESX 2 `.REDO`, format doc §4.4) writer in place: grains and
 * missing GTs go at the free sector, `freeSector` in the header moves past them before any GTE
 * points there, and the GT gets the entry.
 */
import { unsupportedError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import { SECTOR, type FillSource } from '../extent.js';
import { GrainTableWriter, MAX_WRITABLE_GRAIN_SECTORS, readDirectory } from '../grain-writer.js';
import { COWD_FIELD, COWD_HEADER_BYTES } from './create.js';
import { parseCowdHeader, type CowdHeader } from './reader.js';

export class CowdWriter extends GrainTableWriter {
  private savedFreeSector: number;

  private constructor(
    disk: DiskFile,
    private readonly header: CowdHeader,
    directory: Uint32Array,
    fill: FillSource | null,
    nextFree: number,
    gdEndSector: number,
  ) {
    super(disk, header.grainSizeSectors, header.gtEntries, directory, header.capacitySectors, fill, nextFree, gdEndSector);
    this.savedFreeSector = header.freeSector;
  }

  static open(disk: DiskFile, fill: FillSource | null): CowdWriter {
    const file = disk.path;
    const header = parseCowdHeader(disk.readBlock(COWD_HEADER_BYTES, 0, 'COWD header'), file);
    if (header.grainSizeSectors > MAX_WRITABLE_GRAIN_SECTORS) {
      throw unsupportedError(file, `grain size of ${header.grainSizeSectors} sectors cannot be written`);
    }
    const usedEntries = Math.ceil(header.capacitySectors / (header.gtEntries * header.grainSizeSectors));
    const directory = readDirectory(disk, header.gdOffsetSectors, usedEntries, header.gtEntries * 4, 'grain directory');
    const gdEnd = header.gdOffsetSectors + Math.ceil((header.numGDEntries * 4) / SECTOR);
    // Append after freeSector and after the file's end: only zero padding can lie beyond freeSector
    // in an intact file, and nothing we cannot see is overwritten if freeSector is stale.
    const nextFree = Math.max(header.freeSector, gdEnd, Math.ceil(disk.size / SECTOR));
    return new CowdWriter(disk, header, directory, fill, nextFree, gdEnd);
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
    this.disk.writeZeros(gt * SECTOR, this.tableSectors * SECTOR);
    this.directory[gdIndex] = gt;
  }

  /** freeSector must cover every grain before any GTE points at one (a later writer appends there). */
  protected override beforeSync(): void {
    if (this.nextFree === this.savedFreeSector) return;
    const word = Buffer.alloc(4);
    word.writeUInt32LE(this.nextFree);
    this.disk.writeAt(word, COWD_FIELD.freeSector);
    this.savedFreeSector = this.nextFree;
  }

  protected override writeDirectoryEntry(gdIndex: number): void {
    const entry = Buffer.alloc(4);
    entry.writeUInt32LE(this.directory[gdIndex] ?? 0);
    this.disk.writeAt(entry, this.header.gdOffsetSectors * SECTOR + gdIndex * 4);
  }

  protected override writeTable(gdIndex: number, table: Uint32Array): void {
    this.disk.writeAt(this.tableToBytes(table), (this.directory[gdIndex] ?? 0) * SECTOR);
  }
}
