/**
 * ESX COW sparse extents (`COWD`, QEMU's "VMDK3"): ESX 3+ vmfsSparse deltas, ESX 2 REDO logs and
 * legacy hosted COW disks. Format facts: docs/vmdk-format.md §4.
 */
import { formatError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import { pushLost, pushRun, SECTOR, type ExtentReader, type LostRange, type Problem, type Run, type RunState } from '../extent.js';
import { assertInsideExtent, CoalescedReads, forEachSpan, littleEndianWords, ProblemReport, SectorUsage } from '../support.js';

const HEADER_BYTES = 2048;
const HEADER_SECTORS = HEADER_BYTES / SECTOR;
const ESX_GT_ENTRIES = 4096;
const HOSTED_LEGACY_VERSION = 3;
const HOSTED_LEGACY_GT_ENTRIES = 512;
const MAX_GRAIN_SIZE_SECTORS = 2048;
const GTE_UNALLOCATED = 0;
/** Xen Orchestra and Aaru read GTE 1 as "emptied grain": zeros, do not look into the parent. */
const GTE_ZERO_GRAIN = 1;
const GT_CACHE_TABLES = 64;

const COWD_MAGIC = Buffer.from('COWD', 'latin1');
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Entries of table[0, limit) that point at data. */
function countData(table: Uint32Array, limit: number): number {
  let count = 0;
  for (let entry = 0; entry < limit; entry++) if ((table[entry] ?? 0) > GTE_ZERO_GRAIN) count++;
  return count;
}

export interface CowdGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

export interface CowdHeader {
  version: number;
  flags: number;
  capacitySectors: number;
  grainSizeSectors: number;
  gdOffsetSectors: number;
  /** As stored; may exceed what the capacity needs. */
  numGDEntries: number;
  freeSector: number;
  /** Entries per grain table: 4096 on ESX, 512 for hosted legacy (version 3) files. */
  gtEntries: number;
  isRoot: boolean;
  /** Root disks only (union of §4.1), when heads and sectors are plausible. */
  geometry?: CowdGeometry;
  /** Child (REDO) files only: printable text from the header union, a hint for finding the parent. */
  parentFileName?: string;
  parentGeneration: number;
  generation: number;
  name: string;
  description: string;
  savedGeneration: number;
  /** On hosted legacy files this word is a split-chain position counter instead. */
  uncleanShutdown: number;
}

export interface CowdExtent extends ExtentReader {
  readonly header: CowdHeader;
}

export function isCowdMagic(buf: Uint8Array): boolean {
  return buf.length >= COWD_MAGIC.length && COWD_MAGIC.equals(buf.subarray(0, COWD_MAGIC.length));
}

export function openCowdExtent(file: DiskFile): CowdExtent {
  const header = parseCowdHeader(readHeaderBlock(file), file.path);
  const directory = readGrainDirectory(file, header);
  return new CowdReader(file, header, directory);
}

// ---------------------------------------------------------------------------------------------
// Header

function readHeaderBlock(file: DiskFile): Buffer {
  if (file.size === 0) throw formatError(file.path, 'empty file: not a COWD extent');
  const head = Buffer.alloc(Math.min(HEADER_BYTES, file.size));
  file.readAt(head, 0, 'COWD header');
  if (!isCowdMagic(head)) {
    throw formatError(file.path, `not a COWD extent: magic is ${head.subarray(0, 4).toString('hex')}, expected 434f5744`);
  }
  if (file.size < HEADER_BYTES) {
    throw formatError(file.path, `truncated: the COWD header needs ${HEADER_BYTES} bytes but the file has ${file.size}`);
  }
  return head;
}

/** Parses and validates the 2048-byte header; the grain directory is checked against the file later. */
export function parseCowdHeader(buf: Buffer, path: string): CowdHeader {
  const version = buf.readUInt32LE(4);
  const capacitySectors = buf.readUInt32LE(12);
  const grainSizeSectors = buf.readUInt32LE(16);
  const gdOffsetSectors = buf.readUInt32LE(20);
  const numGDEntries = buf.readUInt32LE(24);
  if (capacitySectors === 0) throw formatError(path, 'capacity of 0 sectors (header byte 12): no disk to read');
  validateGrainSize(grainSizeSectors, path);
  if (gdOffsetSectors < HEADER_SECTORS) {
    throw formatError(path, `grain directory at sector ${gdOffsetSectors} overlaps the ${HEADER_SECTORS}-sector header`);
  }
  const gtEntries = grainTableEntries(version, capacitySectors, grainSizeSectors, numGDEntries, path);
  const union = parseUnion(buf);
  return {
    version,
    flags: buf.readUInt32LE(8),
    capacitySectors,
    grainSizeSectors,
    gdOffsetSectors,
    numGDEntries,
    freeSector: buf.readUInt32LE(28),
    gtEntries,
    ...union,
    generation: buf.readUInt32LE(1060),
    name: cString(buf.subarray(1064, 1124)),
    description: cString(buf.subarray(1124, 1636)),
    savedGeneration: buf.readUInt32LE(1636),
    uncleanShutdown: buf.readUInt32LE(1648),
  };
}

function validateGrainSize(grainSizeSectors: number, path: string): void {
  const isPowerOfTwo = grainSizeSectors > 0 && (grainSizeSectors & (grainSizeSectors - 1)) === 0;
  if (!isPowerOfTwo || grainSizeSectors > MAX_GRAIN_SIZE_SECTORS) {
    throw formatError(
      path,
      `grain size of ${grainSizeSectors} sectors (header byte 16) is not a power of two from 1 to ${MAX_GRAIN_SIZE_SECTORS}`,
    );
  }
}

/**
 * 4096 entries per GT on ESX, 512 on hosted legacy version 3 (§4.5). When the directory cannot cover
 * the capacity with 512, a legacy file may use bigger tables: derive them as Aaru does, up to 4096.
 */
function grainTableEntries(
  version: number,
  capacitySectors: number,
  grainSizeSectors: number,
  numGDEntries: number,
  path: string,
): number {
  const grains = Math.ceil(capacitySectors / grainSizeSectors);
  const preferred = version === HOSTED_LEGACY_VERSION ? HOSTED_LEGACY_GT_ENTRIES : ESX_GT_ENTRIES;
  if (numGDEntries * preferred >= grains) return preferred;
  if (version === HOSTED_LEGACY_VERSION && numGDEntries > 0) {
    const derived = Math.ceil(grains / numGDEntries);
    if (derived <= ESX_GT_ENTRIES) return derived;
  }
  throw formatError(
    path,
    `grain directory of ${numGDEntries} entries (header byte 24) covers only ` +
      `${numGDEntries * preferred * grainSizeSectors} of the ${capacitySectors} sectors of capacity`,
  );
}

type UnionFields = Pick<CowdHeader, 'isRoot' | 'geometry' | 'parentFileName' | 'parentGeneration'>;

/**
 * The 1028-byte union holds either a root's C/H/S or a child's parent name. Nothing in the header
 * says which, so: plausible heads/sectors with a "name" ending inside the cylinders word is a root
 * (small cylinder counts are printable bytes); any other printable non-empty name is a child.
 */
function parseUnion(buf: Buffer): UnionFields {
  const nameBytes = buf.subarray(32, 1056);
  const nameLength = nameBytes.indexOf(0) < 0 ? nameBytes.length : nameBytes.indexOf(0);
  const geometry = plausibleGeometry(buf);
  const parentGeneration = buf.readUInt32LE(1056);
  if (geometry && nameLength < 4) return { isRoot: true, geometry, parentGeneration };
  const parentFileName = printableText(nameBytes.subarray(0, nameLength));
  if (parentFileName) return { isRoot: false, parentFileName, parentGeneration };
  return geometry ? { isRoot: true, geometry, parentGeneration } : { isRoot: true, parentGeneration };
}

function plausibleGeometry(buf: Buffer): CowdGeometry | undefined {
  const cylinders = buf.readUInt32LE(32);
  const heads = buf.readUInt32LE(36);
  const sectors = buf.readUInt32LE(40);
  if (heads < 1 || heads > 255 || sectors < 1 || sectors > 63) return undefined;
  return { cylinders, heads, sectors };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function printableText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text) ? undefined : text;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Grain directory

/** The entries the capacity needs; the rest of a larger directory is never consulted. */
function readGrainDirectory(file: DiskFile, header: CowdHeader): Uint32Array {
  const gdStart = header.gdOffsetSectors * SECTOR;
  const gdBytes = header.numGDEntries * 4;
  if (gdStart + gdBytes > file.size) {
    throw formatError(
      file.path,
      `truncated: grain directory of ${header.numGDEntries} entries at sector ${header.gdOffsetSectors} ` +
        `needs bytes up to ${gdStart + gdBytes} but the file has ${file.size}`,
    );
  }
  const usedEntries = Math.ceil(header.capacitySectors / (header.gtEntries * header.grainSizeSectors));
  const raw = file.readBlock(usedEntries * 4, gdStart, 'grain directory');
  const directory = new Uint32Array(usedEntries);
  for (let i = 0; i < usedEntries; i++) directory[i] = raw.readUInt32LE(i * 4);
  return directory;
}

// ---------------------------------------------------------------------------------------------
// Reader

/** A grain-table lookup result: the data sector, or one of the two GTE sentinels. */
type GrainSector = number;

class CowdReader implements CowdExtent {
  readonly file: string;
  readonly sizeBytes: number;
  private readonly grainBytes: number;
  private readonly gtBytes: number;
  /** Header plus grain directory, in sectors: nothing in [0, metadataEndSector) except GD can be data. */
  private readonly gdEndSector: number;
  private readonly tableCache = new Map<number, Uint32Array>();
  private tableScratch: Buffer = Buffer.alloc(0);

  constructor(
    private readonly disk: DiskFile,
    readonly header: CowdHeader,
    private readonly directory: Uint32Array,
  ) {
    this.file = disk.path;
    this.sizeBytes = header.capacitySectors * SECTOR;
    this.grainBytes = header.grainSizeSectors * SECTOR;
    this.gtBytes = header.gtEntries * 4;
    this.gdEndSector = header.gdOffsetSectors + Math.ceil((header.numGDEntries * 4) / SECTOR);
  }

  blockStatus(offset: number, length: number, backing = false): Run[] {
    const runs: Run[] = [];
    const start = Math.max(0, offset);
    const end = Math.min(this.sizeBytes, offset + length);
    forEachSpan(start, end, this.header.gtEntries * this.grainBytes, (gdIndex, from, to) => {
      const table = this.grainTable(gdIndex);
      if (!table) pushRun(runs, from, to - from, 'unallocated');
      else this.tableRuns(runs, gdIndex, table, from, to, backing);
    });
    return runs;
  }

  /**
   * One pass over a table, a run pushed only where the state or the file position breaks off:
   * REDO logs have 512-byte grains, so a per-grain walk would cost more than copying the data.
   */
  private tableRuns(runs: Run[], gdIndex: number, table: Uint32Array, start: number, end: number, backing: boolean): void {
    const grainBytes = this.grainBytes;
    const tableFirst = gdIndex * this.header.gtEntries;
    const endEntry = Math.ceil(end / grainBytes) - tableFirst;
    for (let runEntry = Math.floor(start / grainBytes) - tableFirst; runEntry < endEntry; ) {
      const runGte = table[runEntry] ?? 0;
      const next = this.runEnd(table, runEntry, endEntry, false);
      const from = Math.max(start, (tableFirst + runEntry) * grainBytes);
      const to = Math.min(end, (tableFirst + next) * grainBytes);
      if (runGte <= GTE_ZERO_GRAIN) {
        pushRun(runs, from, to - from, stateOf(runGte));
      } else {
        const position = this.checkedRunPosition(gdIndex, table, runEntry, next, from, to);
        pushRun(runs, from, to - from, 'data', backing ? { file: this.file, position } : undefined);
      }
      runEntry = next;
    }
  }

  /**
   * The entry after the run that starts at `runEntry`: data grains that continue each other in
   * the file, or sentinels (with `zerosAlike`, unallocated and zeroed together: both read as zeros).
   */
  private runEnd(table: Uint32Array, runEntry: number, endEntry: number, zerosAlike: boolean): number {
    const runGte = table[runEntry] ?? 0;
    let next = runEntry + 1;
    if (runGte > GTE_ZERO_GRAIN) {
      const grainSectors = this.header.grainSizeSectors;
      while (next < endEntry && table[next] === runGte + (next - runEntry) * grainSectors) next++;
    } else if (zerosAlike) {
      while (next < endEntry && (table[next] ?? 0) <= GTE_ZERO_GRAIN) next++;
    } else {
      while (next < endEntry && (table[next] ?? 0) === runGte) next++;
    }
    return next;
  }

  /**
   * Where the data run of entries [runEntry, next), read as [from, to), starts in the file. A
   * run not plainly inside the file's data area is checked grain by grain, so a damaged table
   * fails at its first bad grain.
   */
  private checkedRunPosition(gdIndex: number, table: Uint32Array, runEntry: number, next: number, from: number, to: number): number {
    const runGte = table[runEntry] ?? 0;
    const position = runGte * SECTOR + (from - (gdIndex * this.header.gtEntries + runEntry) * this.grainBytes);
    const lastSector = runGte + (next - runEntry) * this.header.grainSizeSectors;
    const plain = runGte >= HEADER_SECTORS && (lastSector <= this.header.gdOffsetSectors || runGte >= this.gdEndSector) && position + (to - from) <= this.disk.size;
    if (!plain) this.checkGrains(gdIndex, table, runEntry, next, from, to);
    return position;
  }

  read(buf: Buffer, offset: number): void {
    assertInsideExtent(this.file, this.sizeBytes, offset, buf.length);
    const reads = new CoalescedReads(this.disk, buf, offset);
    forEachSpan(offset, offset + buf.length, this.header.gtEntries * this.grainBytes, (gdIndex, from, to) => {
      const table = this.grainTable(gdIndex);
      if (!table) reads.zeros(from, to - from);
      else this.readTableRange(reads, gdIndex, table, from, to);
    });
    reads.flush();
  }

  /**
   * Walks the table by entry (small integers) and hands on one read per run of grains that
   * continue each other in the file, or one fill per run of zeros: REDO logs have 512-byte
   * grains, and a step per grain with byte offsets past 2 GiB (heap numbers) cost more in
   * garbage collection than the reads themselves.
   */
  private readTableRange(reads: CoalescedReads, gdIndex: number, table: Uint32Array, start: number, end: number): void {
    const grainBytes = this.grainBytes;
    const tableFirst = gdIndex * this.header.gtEntries;
    const endEntry = Math.ceil(end / grainBytes) - tableFirst;
    for (let runEntry = Math.floor(start / grainBytes) - tableFirst; runEntry < endEntry; ) {
      const next = this.runEnd(table, runEntry, endEntry, true);
      const from = Math.max(start, (tableFirst + runEntry) * grainBytes);
      const to = Math.min(end, (tableFirst + next) * grainBytes);
      if ((table[runEntry] ?? 0) <= GTE_ZERO_GRAIN) reads.zeros(from, to - from);
      else reads.data(from, this.checkedRunPosition(gdIndex, table, runEntry, next, from, to), to - from);
      runEntry = next;
    }
  }

  /** Checks every grain of entries [first, end) as a read of [from, to) would use them; throws at the first bad one. */
  private checkGrains(gdIndex: number, table: Uint32Array, first: number, end: number, from: number, to: number): void {
    const tableStart = gdIndex * this.header.gtEntries * this.grainBytes;
    for (let entry = first; entry < end; entry++) {
      const grainStart = tableStart + entry * this.grainBytes;
      const pieceFrom = Math.max(from, grainStart);
      const pieceTo = Math.min(to, grainStart + this.grainBytes);
      this.checkedGrainSector(gdIndex, entry, table[entry] ?? 0, pieceFrom - grainStart, pieceTo - pieceFrom);
    }
  }

  /** Returns the GTE when it is a sentinel or a data sector whose bytes the file holds; throws otherwise. */
  private checkedGrainSector(
    gdIndex: number,
    entry: number,
    gte: number,
    withinGrain: number,
    length: number,
  ): GrainSector {
    if (gte === GTE_UNALLOCATED || gte === GTE_ZERO_GRAIN) return gte;
    const grain = gdIndex * this.header.gtEntries + entry;
    const where = `grain ${grain} (grain table ${gdIndex} entry ${entry})`;
    if (this.isMetadataSector(gte)) {
      throw formatError(this.file, `${where} points into the header or grain directory (sector ${gte})`, gte * SECTOR);
    }
    if (gte * SECTOR + withinGrain + length > this.disk.size) {
      throw formatError(this.file, `${where} at sector ${gte} lies past the end of the file (${this.disk.size} bytes)`, gte * SECTOR);
    }
    return gte;
  }

  private isMetadataSector(sector: number): boolean {
    return sector < HEADER_SECTORS || (sector >= this.header.gdOffsetSectors && sector < this.gdEndSector);
  }

  private grainTable(gdIndex: number): Uint32Array | undefined {
    const cached = this.tableCache.get(gdIndex);
    if (cached) {
      this.tableCache.delete(gdIndex);
      this.tableCache.set(gdIndex, cached);
      return cached;
    }
    const gtSector = this.directory[gdIndex] ?? 0;
    if (gtSector === 0) return undefined;
    const problem = this.tableLocationProblem(gdIndex, gtSector);
    if (problem) throw formatError(this.file, problem);
    const table = this.loadTable(gtSector);
    if (this.tableCache.size >= GT_CACHE_TABLES) {
      const oldest = this.tableCache.keys().next().value;
      if (oldest !== undefined) this.tableCache.delete(oldest);
    }
    this.tableCache.set(gdIndex, table);
    return table;
  }

  private tableLocationProblem(gdIndex: number, gtSector: number): string | undefined {
    if (this.isMetadataSector(gtSector)) {
      return `grain directory entry ${gdIndex} points into the header or grain directory (sector ${gtSector})`;
    }
    if (gtSector * SECTOR + this.gtBytes > this.disk.size) {
      return `grain table ${gdIndex} at sector ${gtSector} lies past the end of the file (${this.disk.size} bytes)`;
    }
    return undefined;
  }

  /** Tables are read into one reused buffer (the first read checks its size) and copied out. */
  private loadTable(gtSector: number): Uint32Array {
    return littleEndianWords(this.readTable(gtSector), this.header.gtEntries);
  }

  /** A table for one look, without a copy where the host allows: valid until the next table is read. */
  private viewTable(gtSector: number): Uint32Array {
    const raw = this.readTable(gtSector);
    if (LITTLE_ENDIAN && raw.byteOffset % 4 === 0) return new Uint32Array(raw.buffer, raw.byteOffset, this.header.gtEntries);
    return littleEndianWords(raw, this.header.gtEntries);
  }

  private readTable(gtSector: number): Buffer {
    if (this.tableScratch.length !== this.gtBytes) this.tableScratch = this.disk.readBlock(this.gtBytes, gtSector * SECTOR, 'grain table');
    else this.disk.readAt(this.tableScratch, gtSector * SECTOR, 'grain table');
    return this.tableScratch;
  }

  /**
   * A table outside the file loses its range, a grain past the end of the file that grain (see
   * ExtentReader). Every table is read, one at a time, as allocatedBytes() does.
   */
  lostRanges(): LostRange[] {
    const lost: LostRange[] = [];
    const rangeBytes = this.header.gtEntries * this.grainBytes;
    for (let gdIndex = 0; gdIndex < this.directory.length; gdIndex++) {
      const gtSector = this.directory[gdIndex] ?? 0;
      const spanStart = gdIndex * rangeBytes;
      if (gtSector === 0 || spanStart >= this.sizeBytes) continue;
      if (this.tableLocationProblem(gdIndex, gtSector)) {
        pushLost(lost, spanStart, Math.min(rangeBytes, this.sizeBytes - spanStart));
        continue;
      }
      const table = this.tableCache.get(gdIndex) ?? this.viewTable(gtSector);
      // Cheap test first: a whole grain that ends inside the file loses nothing (REDO logs hold millions).
      const wholeGrainFits = this.disk.size / SECTOR - this.header.grainSizeSectors;
      for (let entry = 0; entry < table.length; entry++) {
        const gte = table[entry] ?? 0;
        if (gte <= GTE_ZERO_GRAIN || gte <= wholeGrainFits) continue;
        const sectors = this.grainSectorsInCapacity(gdIndex * this.header.gtEntries + entry);
        if (sectors > 0 && (gte + sectors) * SECTOR > this.disk.size) pushLost(lost, spanStart + entry * this.grainBytes, sectors * SECTOR);
      }
    }
    return lost;
  }

  /**
   * Grains whose data the file holds, counted whole; entries past the capacity are ignored and
   * tables that cannot be read are left to check().
   */
  allocatedBytes(): number {
    let grains = 0;
    const grainsInCapacity = Math.ceil(this.header.capacitySectors / this.header.grainSizeSectors);
    for (let gdIndex = 0; gdIndex < this.directory.length; gdIndex++) {
      const gtSector = this.directory[gdIndex] ?? 0;
      if (gtSector === 0 || this.tableLocationProblem(gdIndex, gtSector)) continue;
      const table = this.tableCache.get(gdIndex) ?? this.viewTable(gtSector);
      grains += countData(table, Math.min(table.length, grainsInCapacity - gdIndex * this.header.gtEntries));
    }
    return grains * this.grainBytes;
  }

  private forEachReadableTable(visit: (gdIndex: number, table: Uint32Array, gtSector: number) => void): void {
    for (let gdIndex = 0; gdIndex < this.directory.length; gdIndex++) {
      const gtSector = this.directory[gdIndex] ?? 0;
      if (gtSector === 0 || this.tableLocationProblem(gdIndex, gtSector)) continue;
      visit(gdIndex, this.tableCache.get(gdIndex) ?? this.loadTable(gtSector), gtSector);
    }
  }

  check(): Problem[] {
    const report = new ProblemReport(this.file);
    this.checkHeader(report);
    const usage = SectorUsage.forFile(this.disk.size);
    if (!usage) report.warning(undefined, 'file too large to check grains for overlaps; skipped that test');
    usage?.claim(0, HEADER_SECTORS);
    usage?.claim(this.header.gdOffsetSectors, this.gdEndSector - this.header.gdOffsetSectors);
    this.checkTableLocations(report, usage);
    this.forEachReadableTable((gdIndex, table) => this.checkTableEntries(report, usage, gdIndex, table));
    return report.problems();
  }

  private checkHeader(report: ProblemReport): void {
    const { version, freeSector, uncleanShutdown } = this.header;
    if (version !== 1 && version !== HOSTED_LEGACY_VERSION) {
      report.warning('header byte 4', `unknown COWD version ${version}; read as ESX version 1`);
    }
    if (version !== HOSTED_LEGACY_VERSION && uncleanShutdown !== 0) {
      report.warning('header byte 1648', 'the disk was not shut down cleanly (uncleanShutdown is set)');
    }
    if (freeSector < this.gdEndSector) {
      report.warning('header byte 28', `freeSector ${freeSector} lies inside the header or grain directory`);
    } else if (freeSector * SECTOR > this.disk.size) {
      report.warning('header byte 28', `freeSector ${freeSector} lies past the end of the file (${this.disk.size} bytes)`);
    }
  }

  private checkTableLocations(report: ProblemReport, usage: SectorUsage | undefined): void {
    const gtSectors = this.gtBytes / SECTOR;
    for (let gdIndex = 0; gdIndex < this.directory.length; gdIndex++) {
      const gtSector = this.directory[gdIndex] ?? 0;
      if (gtSector === 0) continue;
      const location = `grain directory entry ${gdIndex}`;
      const problem = this.tableLocationProblem(gdIndex, gtSector);
      if (problem) {
        report.error(location, problem, this.header.gdOffsetSectors * SECTOR + gdIndex * 4);
      } else if (usage && !usage.claim(gtSector, gtSectors)) {
        report.error(location, `grain table ${gdIndex} at sector ${gtSector} overlaps another grain table`, gtSector * SECTOR);
      }
    }
  }

  private checkTableEntries(report: ProblemReport, usage: SectorUsage | undefined, gdIndex: number, table: Uint32Array): void {
    for (let entry = 0; entry < table.length; entry++) {
      const gte = table[entry] ?? 0;
      if (gte === GTE_UNALLOCATED || gte === GTE_ZERO_GRAIN) continue;
      const grain = gdIndex * this.header.gtEntries + entry;
      const grainSectors = this.grainSectorsInCapacity(grain);
      if (grainSectors <= 0) continue;
      const location = `grain table ${gdIndex} entry ${entry}`;
      const entryOffset = (this.directory[gdIndex] ?? 0) * SECTOR + entry * 4;
      if (this.isMetadataSector(gte)) {
        report.error(location, `grain ${grain} points into the header or grain directory (sector ${gte})`, entryOffset);
      } else if ((gte + grainSectors) * SECTOR > this.disk.size) {
        report.error(location, `grain ${grain} at sector ${gte} lies past the end of the file (${this.disk.size} bytes)`, entryOffset);
      } else if (usage && !usage.claim(gte, grainSectors)) {
        report.error(location, `grain ${grain} at sector ${gte} overlaps a grain table or another grain`, gte * SECTOR);
      }
    }
  }

  /** A last grain may stick out past the capacity; only its part inside the disk needs file space. */
  private grainSectorsInCapacity(grain: number): number {
    const first = grain * this.header.grainSizeSectors;
    return Math.min(this.header.grainSizeSectors, this.header.capacitySectors - first);
  }

  close(): void {
    this.tableCache.clear();
    this.disk.close();
  }
}

function stateOf(gte: GrainSector): RunState {
  if (gte === GTE_UNALLOCATED) return 'unallocated';
  return gte === GTE_ZERO_GRAIN ? 'zero' : 'data';
}

