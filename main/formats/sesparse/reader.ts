/**
 * seSparse extents (space-efficient sparse: VMFS-6 snapshots, View linked clones). Read-only, as in
 * QEMU: nothing but ESX writes them. Format facts: docs/vmdk-format.md §5.
 *
 * The format is not published, so the reader is strict where QEMU is strict about what it needs
 * (magic, version, grain and table sizes, flags, directory encoding) and lenient where a field only
 * matters to ESX's own bookkeeping (journal, free bitmap, backmap, padding): those go to check().
 */
import { formatError, unsupportedError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import { pushLost, pushRun, SECTOR, type ExtentReader, type LostRange, type Problem, type Run, type RunState } from '../extent.js';
import { assertInsideExtent, CoalescedReads, forEachSpan, isAllZero, ProblemReport } from '../support.js';

const HEADER_BYTES = 512;
const VOLATILE_HEADER_BYTES = 512;
/** dissect's constant says CAFEBABE here; QEMU and vmdk-forensic agree on CAFECAFE (§5.2). */
const VOLATILE_MAGIC = 0xcafecafe;
const KNOWN_VERSION_HIGH = 2;
const KNOWN_VERSION_LOW = 1;
/** The only grain and grain-table sizes anyone has seen (4 KiB grains, 4096-entry tables); QEMU refuses others. */
const KNOWN_GRAIN_SECTORS = 8;
const KNOWN_GT_SECTORS = 64;
/** Beyond these a size field is garbage rather than an unknown variant. */
const MAX_GRAIN_SECTORS = 0x200000;
const MAX_GT_SECTORS = 4096;
/** VMware caps seSparse at just under 64 TiB; QEMU's directory limit allows no more either. */
const MAX_CAPACITY_SECTORS = 2 ** 37;
/** Sector fields beyond this cannot be turned into byte offsets exactly. */
const MAX_SECTOR_FIELD = Math.floor(Number.MAX_SAFE_INTEGER / SECTOR);
const GT_BYTES_PER_ENTRY = 8;
/** A directory entry's upper half must be exactly this: "table allocated", index in the lower half. */
const GD_ALLOCATED_HIGH = 0x10000000;
const GT_CACHE_TABLES = 64;
/** check() finds grains shared by two entries with one bit per grain slot; beyond this it skips that test. */
const MAX_SHARING_BITMAP_BYTES = 128 * 1024 * 1024;

/** Grain table entry types, the top nibble of the uint64 (§5.3). */
const GTE_UNALLOCATED = 0x0;
const GTE_UNMAPPED = 0x1;
const GTE_ZERO = 0x2;
const GTE_ALLOCATED = 0x3;

/** Lookup results that are not a file offset. */
const LOOKUP_UNALLOCATED = -1;
const LOOKUP_ZERO = -2;

/** uint64 LE 0x00000000CAFEBABE. */
const MAGIC_BYTES = Buffer.from([0xbe, 0xba, 0xfe, 0xca, 0, 0, 0, 0]);

export interface SeSparseHeader {
  version: number;
  capacitySectors: number;
  grainSizeSectors: number;
  grainTableSizeSectors: number;
  flags: number;
  volatileHeaderOffsetSectors: number;
  volatileHeaderSizeSectors: number;
  journalHeaderOffsetSectors: number;
  journalHeaderSizeSectors: number;
  journalOffsetSectors: number;
  journalSizeSectors: number;
  grainDirOffsetSectors: number;
  grainDirSizeSectors: number;
  grainTablesOffsetSectors: number;
  grainTablesSizeSectors: number;
  freeBitmapOffsetSectors: number;
  freeBitmapSizeSectors: number;
  backmapOffsetSectors: number;
  backmapSizeSectors: number;
  grainsOffsetSectors: number;
  grainsSizeSectors: number;
  /** Derived: entries the grain directory holds, and entries per grain table. */
  numGDEntries: number;
  gtEntries: number;
  /** False when the volatile header lies outside the file or has the wrong magic; its fields are then 0. */
  volatileHeaderValid: boolean;
  freeGTNumber: number;
  nextTxnSeqNumber: number;
  /** ESX left a journal to replay: grain tables may be stale. QEMU refuses such files; check() reports it. */
  journalNeedsReplay: boolean;
}

export interface SeSparseExtent extends ExtentReader {
  readonly header: SeSparseHeader;
}

export function isSeSparseMagic(buf: Uint8Array): boolean {
  return buf.length >= MAGIC_BYTES.length && MAGIC_BYTES.equals(buf.subarray(0, MAGIC_BYTES.length));
}

export function openSeSparseExtent(file: DiskFile): SeSparseExtent {
  const head = readConstHeader(file);
  const constFields = parseSeSparseHeader(head, file.path);
  validateLayout(constFields, file);
  const header = { ...constFields, ...readVolatileHeader(file, constFields) };
  const directory = readGrainDirectory(file, header);
  return new SeSparseReader(file, header, head, directory);
}

// ---------------------------------------------------------------------------------------------
// Const header

function readConstHeader(file: DiskFile): Buffer {
  if (file.size === 0) throw formatError(file.path, 'empty file: not a seSparse extent');
  const head = Buffer.alloc(Math.min(HEADER_BYTES, file.size));
  file.readAt(head, 0, 'seSparse header');
  if (!isSeSparseMagic(head)) {
    throw formatError(
      file.path,
      `not a seSparse extent: magic is ${head.subarray(0, 8).toString('hex')}, expected ${MAGIC_BYTES.toString('hex')}`,
    );
  }
  if (file.size < HEADER_BYTES) {
    throw formatError(file.path, `truncated: the seSparse header needs ${HEADER_BYTES} bytes but the file has ${file.size}`);
  }
  return head;
}

const hex64 = (buf: Buffer, at: number): string => `0x${buf.readBigUInt64LE(at).toString(16).padStart(16, '0')}`;

/** A uint64 sector count or offset, refused when it cannot be a byte position in a real file. */
function sectorField(buf: Buffer, at: number, name: string, path: string): number {
  const value = buf.readUInt32LE(at + 4) * 2 ** 32 + buf.readUInt32LE(at);
  if (value > MAX_SECTOR_FIELD) {
    throw formatError(path, `${name} of ${hex64(buf, at)} sectors (header byte ${at}) is not plausible`);
  }
  return value;
}

/** Parses and checks the 512-byte const header; where its regions lie is checked against the file later. */
export function parseSeSparseHeader(buf: Buffer, path: string): SeSparseHeader {
  const versionHigh = buf.readUInt32LE(12);
  const versionLow = buf.readUInt32LE(8);
  if (versionHigh !== KNOWN_VERSION_HIGH || versionLow !== KNOWN_VERSION_LOW) {
    throw formatError(path, `unknown seSparse version ${hex64(buf, 8)} (header byte 8); only 0x0000000200000001 is known`);
  }
  const capacitySectors = sectorField(buf, 16, 'capacity', path);
  if (capacitySectors > MAX_CAPACITY_SECTORS) {
    throw formatError(
      path,
      `capacity of ${capacitySectors} sectors (header byte 16) is not plausible: seSparse disks hold at most 64 TiB`,
    );
  }
  const grainSizeSectors = knownSize(buf, 24, 'grain size', MAX_GRAIN_SECTORS, KNOWN_GRAIN_SECTORS, path);
  const grainTableSizeSectors = knownSize(buf, 32, 'grain table size', MAX_GT_SECTORS, KNOWN_GT_SECTORS, path);
  if (buf.readUInt32LE(40) !== 0 || buf.readUInt32LE(44) !== 0) {
    throw unsupportedError(path, `unknown seSparse flags ${hex64(buf, 40)} (header byte 40); only 0 is known`);
  }
  const gtEntries = (grainTableSizeSectors * SECTOR) / GT_BYTES_PER_ENTRY;
  const grainDirSizeSectors = sectorField(buf, 136, 'grain directory size', path);
  return {
    version: versionHigh * 2 ** 32 + versionLow,
    capacitySectors,
    grainSizeSectors,
    grainTableSizeSectors,
    flags: 0,
    volatileHeaderOffsetSectors: sectorField(buf, 80, 'volatile header offset', path),
    volatileHeaderSizeSectors: sectorField(buf, 88, 'volatile header size', path),
    journalHeaderOffsetSectors: sectorField(buf, 96, 'journal header offset', path),
    journalHeaderSizeSectors: sectorField(buf, 104, 'journal header size', path),
    journalOffsetSectors: sectorField(buf, 112, 'journal offset', path),
    journalSizeSectors: sectorField(buf, 120, 'journal size', path),
    grainDirOffsetSectors: sectorField(buf, 128, 'grain directory offset', path),
    grainDirSizeSectors,
    grainTablesOffsetSectors: sectorField(buf, 144, 'grain tables offset', path),
    grainTablesSizeSectors: sectorField(buf, 152, 'grain tables size', path),
    freeBitmapOffsetSectors: sectorField(buf, 160, 'free bitmap offset', path),
    freeBitmapSizeSectors: sectorField(buf, 168, 'free bitmap size', path),
    backmapOffsetSectors: sectorField(buf, 176, 'backmap offset', path),
    backmapSizeSectors: sectorField(buf, 184, 'backmap size', path),
    grainsOffsetSectors: sectorField(buf, 192, 'grains offset', path),
    grainsSizeSectors: sectorField(buf, 200, 'grains size', path),
    numGDEntries: (grainDirSizeSectors * SECTOR) / GT_BYTES_PER_ENTRY,
    gtEntries,
    volatileHeaderValid: false,
    freeGTNumber: 0,
    nextTxnSeqNumber: 0,
    journalNeedsReplay: false,
  };
}

/** Garbage (zero, not a power of two, huge) is damage; a sane size nobody has seen is unsupported. */
function knownSize(buf: Buffer, at: number, name: string, max: number, known: number, path: string): number {
  const value = buf.readUInt32LE(at + 4) * 2 ** 32 + buf.readUInt32LE(at);
  const isPowerOfTwo = value > 0 && value <= max && (value & (value - 1)) === 0;
  if (!isPowerOfTwo) {
    throw formatError(path, `${name} of ${hex64(buf, at)} sectors (header byte ${at}) is not a power of two up to ${max}`);
  }
  if (value !== known) {
    throw unsupportedError(path, `${name} of ${value} sectors (header byte ${at}) is not supported; only ${known} is known`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Layout

interface Region {
  name: string;
  start: number;
  /** Exclusive; sectors. */
  end: number;
}

/** The regions reads depend on must lie apart and (for the directory) inside the file. */
function validateLayout(header: SeSparseHeader, file: DiskFile): void {
  const coverage = header.gtEntries * header.grainSizeSectors;
  const neededEntries = Math.ceil(header.capacitySectors / coverage);
  if (header.numGDEntries < neededEntries) {
    throw formatError(
      file.path,
      `grain directory of ${header.numGDEntries} entries (header byte 136) covers only ` +
        `${header.numGDEntries * coverage} of the ${header.capacitySectors} sectors of capacity`,
    );
  }
  const essential = essentialRegions(header);
  for (const region of essential) {
    if (region.start < 1) throw formatError(file.path, `${region.name} at sector ${region.start} overlaps the const header`);
  }
  const overlap = firstOverlap(essential);
  if (overlap) throw formatError(file.path, overlap);
  const gdEnd = header.grainDirOffsetSectors + header.grainDirSizeSectors;
  if (gdEnd * SECTOR > file.size) {
    throw formatError(
      file.path,
      `truncated: grain directory at sector ${header.grainDirOffsetSectors} (${header.grainDirSizeSectors} sectors) ` +
        `needs bytes up to ${gdEnd * SECTOR} but the file has ${file.size}`,
    );
  }
}

/** Directory, table area and grain area: what a read goes through. */
function essentialRegions(header: SeSparseHeader): Region[] {
  return [
    region('grain directory', header.grainDirOffsetSectors, header.grainDirSizeSectors),
    region('grain table area', header.grainTablesOffsetSectors, header.grainTablesSizeSectors),
    // A zero-sized grain area still starts somewhere: grains are addressed from there upward.
    region('grain area', header.grainsOffsetSectors, Math.max(1, header.grainsSizeSectors)),
  ];
}

/** ESX bookkeeping a reader never consults. */
function bookkeepingRegions(header: SeSparseHeader): Region[] {
  return [
    region('volatile header', header.volatileHeaderOffsetSectors, header.volatileHeaderSizeSectors),
    region('journal header', header.journalHeaderOffsetSectors, header.journalHeaderSizeSectors),
    region('journal', header.journalOffsetSectors, header.journalSizeSectors),
    region('free bitmap', header.freeBitmapOffsetSectors, header.freeBitmapSizeSectors),
    region('backmap', header.backmapOffsetSectors, header.backmapSizeSectors),
  ].filter((r) => r.end > r.start);
}

const region = (name: string, start: number, sectors: number): Region => ({ name, start, end: start + sectors });

function overlaps(a: Region, b: Region): boolean {
  return a.start < b.end && b.start < a.end;
}

function firstOverlap(regions: Region[]): string | undefined {
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i]!;
      const b = regions[j]!;
      if (overlaps(a, b)) {
        return `${a.name} (sectors ${a.start}-${a.end - 1}) overlaps the ${b.name} (sectors ${b.start}-${b.end - 1})`;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Volatile header

type VolatileFields = Pick<SeSparseHeader, 'volatileHeaderValid' | 'freeGTNumber' | 'nextTxnSeqNumber' | 'journalNeedsReplay'>;

/** Reads never need it, so damage here is left for check() to report rather than refusing the file. */
function readVolatileHeader(file: DiskFile, header: SeSparseHeader): VolatileFields {
  const block = volatileHeaderBlock(file, header);
  if (!block || block.readUInt32LE(0) !== VOLATILE_MAGIC || block.readUInt32LE(4) !== 0) {
    return { volatileHeaderValid: false, freeGTNumber: 0, nextTxnSeqNumber: 0, journalNeedsReplay: false };
  }
  return {
    volatileHeaderValid: true,
    freeGTNumber: Number(block.readBigUInt64LE(8)),
    nextTxnSeqNumber: Number(block.readBigUInt64LE(16)),
    journalNeedsReplay: block.readBigUInt64LE(24) !== 0n,
  };
}

function volatileHeaderBlock(file: DiskFile, header: SeSparseHeader): Buffer | undefined {
  const at = header.volatileHeaderOffsetSectors * SECTOR;
  if (header.volatileHeaderOffsetSectors < 1 || at + VOLATILE_HEADER_BYTES > file.size) return undefined;
  return file.readBlock(VOLATILE_HEADER_BYTES, at, 'volatile header');
}

// ---------------------------------------------------------------------------------------------
// Grain directory

/** The raw entries the capacity needs; the rest of a larger directory is never consulted. */
function readGrainDirectory(file: DiskFile, header: SeSparseHeader): Buffer {
  const neededEntries = Math.ceil(header.capacitySectors / (header.gtEntries * header.grainSizeSectors));
  return file.readBlock(neededEntries * GT_BYTES_PER_ENTRY, header.grainDirOffsetSectors * SECTOR, 'grain directory');
}

// ---------------------------------------------------------------------------------------------
// Reader

class SeSparseReader implements SeSparseExtent {
  readonly file: string;
  readonly sizeBytes: number;
  private readonly grainBytes: number;
  private readonly gtBytes: number;
  /** Virtual bytes one grain table maps (16 MiB). */
  private readonly tableSpanBytes: number;
  /** Grain table slots the table area holds. */
  private readonly tableSlots: number;
  private readonly grainsOffsetBytes: number;
  private readonly tableCache = new Map<number, Buffer>();
  private lostMemo: LostRange[] | undefined;

  constructor(
    private readonly disk: DiskFile,
    readonly header: SeSparseHeader,
    private readonly rawHeader: Buffer,
    private readonly directory: Buffer,
  ) {
    this.file = disk.path;
    this.sizeBytes = header.capacitySectors * SECTOR;
    this.grainBytes = header.grainSizeSectors * SECTOR;
    this.gtBytes = header.grainTableSizeSectors * SECTOR;
    this.tableSpanBytes = header.gtEntries * this.grainBytes;
    this.tableSlots = Math.floor(header.grainTablesSizeSectors / header.grainTableSizeSectors);
    this.grainsOffsetBytes = header.grainsOffsetSectors * SECTOR;
  }

  private get directoryEntries(): number {
    return this.directory.length / GT_BYTES_PER_ENTRY;
  }

  blockStatus(offset: number, length: number): Run[] {
    const runs: Run[] = [];
    const start = Math.max(0, offset);
    const end = Math.min(this.sizeBytes, offset + length);
    forEachSpan(start, end, this.tableSpanBytes, (gdIndex, from, to) => {
      const table = this.grainTable(gdIndex);
      if (!table) pushRun(runs, from, to - from, 'unallocated');
      else this.tableRuns(runs, gdIndex, table, from, to);
    });
    return runs;
  }

  private tableRuns(runs: Run[], gdIndex: number, table: Buffer, start: number, end: number): void {
    forEachSpan(start, end, this.grainBytes, (grain, from, to) => {
      const location = this.grainLocation(gdIndex, table, grain % this.header.gtEntries, 0, to - from);
      pushRun(runs, from, to - from, stateOf(location));
    });
  }

  read(buf: Buffer, offset: number): void {
    assertInsideExtent(this.file, this.sizeBytes, offset, buf.length);
    const reads = new CoalescedReads(this.disk, buf, offset);
    forEachSpan(offset, offset + buf.length, this.tableSpanBytes, (gdIndex, from, to) => {
      const table = this.grainTable(gdIndex);
      if (!table) reads.zeros(from, to - from);
      else this.readTableRange(reads, gdIndex, table, from, to);
    });
    reads.flush();
  }

  private readTableRange(reads: CoalescedReads, gdIndex: number, table: Buffer, start: number, end: number): void {
    forEachSpan(start, end, this.grainBytes, (grain, from, to) => {
      const withinGrain = from - grain * this.grainBytes;
      const location = this.grainLocation(gdIndex, table, grain % this.header.gtEntries, withinGrain, to - from);
      if (location >= 0) reads.data(from, location + withinGrain, to - from);
      else reads.zeros(from, to - from);
    });
  }

  /**
   * The grain's byte offset in the file, or a LOOKUP_ sentinel. Throws for entries no reader can
   * interpret and for grains whose needed bytes lie past the end of the file.
   */
  private grainLocation(gdIndex: number, table: Buffer, entry: number, withinGrain: number, length: number): number {
    const decoded = decodeTableEntry(table, entry);
    if (typeof decoded === 'string') {
      throw formatError(this.file, `${this.grainName(gdIndex, entry)}: ${decoded}`);
    }
    if (decoded.type === GTE_UNALLOCATED) return LOOKUP_UNALLOCATED;
    // QEMU and vmdk-forensic read SCSI-unmapped grains as zeros; dissect asks the parent (§5.3, unconfirmed).
    if (decoded.type !== GTE_ALLOCATED) return LOOKUP_ZERO;
    const fileOffset = this.grainsOffsetBytes + decoded.index * this.grainBytes;
    if (fileOffset + withinGrain + length > this.disk.size) {
      throw formatError(
        this.file,
        `${this.grainName(gdIndex, entry)} at grain slot ${decoded.index} lies past the end of the file (${this.disk.size} bytes)`,
      );
    }
    return fileOffset;
  }

  private grainName(gdIndex: number, entry: number): string {
    return `grain ${gdIndex * this.header.gtEntries + entry} (grain table ${gdIndex} entry ${entry})`;
  }

  private grainTable(gdIndex: number): Buffer | undefined {
    const cached = this.tableCache.get(gdIndex);
    if (cached) {
      this.tableCache.delete(gdIndex);
      this.tableCache.set(gdIndex, cached);
      return cached;
    }
    const located = this.tableLocation(gdIndex);
    if (located === undefined) return undefined;
    if (typeof located === 'string') throw formatError(this.file, located);
    const table = this.disk.readBlock(this.gtBytes, located * SECTOR, 'grain table');
    if (this.tableCache.size >= GT_CACHE_TABLES) {
      const oldest = this.tableCache.keys().next().value;
      if (oldest !== undefined) this.tableCache.delete(oldest);
    }
    this.tableCache.set(gdIndex, table);
    return table;
  }

  /** The table's sector, undefined when the entry is empty, or a description of what is wrong. */
  private tableLocation(gdIndex: number): number | string | undefined {
    const low = this.directory.readUInt32LE(gdIndex * GT_BYTES_PER_ENTRY);
    const high = this.directory.readUInt32LE(gdIndex * GT_BYTES_PER_ENTRY + 4);
    if (low === 0 && high === 0) return undefined;
    const where = `grain directory entry ${gdIndex}`;
    if (high !== GD_ALLOCATED_HIGH) {
      return `${where} is ${hex64(this.directory, gdIndex * GT_BYTES_PER_ENTRY)}: not a grain table reference (upper half must be 0x10000000)`;
    }
    if (low >= this.tableSlots) {
      return `${where} names grain table slot ${low}, but the grain table area holds ${this.tableSlots}`;
    }
    const sector = this.header.grainTablesOffsetSectors + low * this.header.grainTableSizeSectors;
    if (sector * SECTOR + this.gtBytes > this.disk.size) {
      return `${where}: grain table slot ${low} at sector ${sector} lies past the end of the file (${this.disk.size} bytes)`;
    }
    return sector;
  }

  /**
   * The one verdict on damage (disk/damage.ts): what a read would fail on. A directory entry that
   * names no usable table (past the end of the file, outside the table area, not a reference)
   * loses its whole range; an entry of unknown type or a grain past the end of the file, that grain.
   */
  lostRanges(): LostRange[] {
    if (this.lostMemo) return this.lostMemo;
    const lost: LostRange[] = [];
    for (let gdIndex = 0; gdIndex < this.directoryEntries; gdIndex++) {
      const spanStart = gdIndex * this.tableSpanBytes;
      if (spanStart >= this.sizeBytes) break;
      const located = this.tableLocation(gdIndex);
      if (located === undefined) continue;
      if (typeof located === 'string') {
        pushLost(lost, spanStart, Math.min(this.tableSpanBytes, this.sizeBytes - spanStart));
        continue;
      }
      const table = this.tableCache.get(gdIndex) ?? this.disk.readBlock(this.gtBytes, located * SECTOR, 'grain table');
      for (let entry = 0; entry < this.header.gtEntries; entry++) {
        const grainSectors = this.grainSectorsInCapacity(gdIndex, entry);
        if (grainSectors <= 0) break;
        const decoded = decodeTableEntry(table, entry);
        const unusable =
          typeof decoded === 'string' ||
          (decoded.type === GTE_ALLOCATED && this.grainsOffsetBytes + decoded.index * this.grainBytes + grainSectors * SECTOR > this.disk.size);
        if (unusable) pushLost(lost, spanStart + entry * this.grainBytes, grainSectors * SECTOR);
      }
    }
    this.lostMemo = lost;
    return lost;
  }

  /** Grains whose data the file holds; tables that cannot be read are left to check(). */
  allocatedBytes(): number {
    let grains = 0;
    this.forEachReadableTable((gdIndex, table) => {
      for (let entry = 0; entry < this.header.gtEntries; entry++) {
        if (this.grainSectorsInCapacity(gdIndex, entry) <= 0) break;
        const decoded = decodeTableEntry(table, entry);
        if (typeof decoded !== 'string' && decoded.type === GTE_ALLOCATED) grains++;
      }
    });
    return grains * this.grainBytes;
  }

  private forEachReadableTable(visit: (gdIndex: number, table: Buffer) => void): void {
    for (let gdIndex = 0; gdIndex < this.directoryEntries; gdIndex++) {
      const located = this.tableLocation(gdIndex);
      if (typeof located !== 'number') continue;
      visit(gdIndex, this.tableCache.get(gdIndex) ?? this.disk.readBlock(this.gtBytes, located * SECTOR, 'grain table'));
    }
  }

  check(): Problem[] {
    const report = new ProblemReport(this.file);
    this.checkConstHeader(report);
    this.checkVolatileHeader(report);
    this.checkRegions(report);
    this.checkDirectory(report);
    const sharing = GrainSharing.forGrainArea(this.disk.size - this.grainsOffsetBytes, this.grainBytes);
    if (!sharing) report.warning(undefined, 'file too large to check grains for sharing; skipped that test');
    this.forEachReadableTable((gdIndex, table) => this.checkTableEntries(report, sharing, gdIndex, table));
    return report.problems();
  }

  /** QEMU refuses these; VMware has never been seen to set them. The data is still readable. */
  private checkConstHeader(report: ProblemReport): void {
    for (let at = 48; at < 80; at += 8) {
      if (this.rawHeader.readBigUInt64LE(at) !== 0n) {
        report.warning(`header byte ${at}`, `reserved field is ${hex64(this.rawHeader, at)}, expected 0`);
      }
    }
    if (!isAllZero(this.rawHeader.subarray(208, HEADER_BYTES))) {
      report.warning('header byte 208', 'const header padding is not zero');
    }
  }

  private checkVolatileHeader(report: ProblemReport): void {
    const { volatileHeaderOffsetSectors: sector } = this.header;
    const block = volatileHeaderBlock(this.disk, this.header);
    if (!block) {
      const where = sector < 1 ? 'overlaps the const header' : `lies past the end of the file (${this.disk.size} bytes)`;
      report.error('header byte 80', `volatile header at sector ${sector} ${where}`);
      return;
    }
    if (!this.header.volatileHeaderValid) {
      report.error(`volatile header (sector ${sector})`, `bad volatile header magic ${hex64(block, 0)}, expected 0x00000000cafecafe`);
      return;
    }
    if (this.header.journalNeedsReplay) {
      report.error(
        `volatile header (sector ${sector}) byte 24`,
        'the journal was not replayed (ESX did not close the disk cleanly): grain tables may be stale',
      );
    }
    if (!isAllZero(block.subarray(32))) report.warning(`volatile header (sector ${sector}) byte 32`, 'volatile header padding is not zero');
  }

  private checkRegions(report: ProblemReport): void {
    const regions = [...essentialRegions(this.header), ...bookkeepingRegions(this.header)];
    // The volatile header's own position is reported by checkVolatileHeader.
    for (const r of bookkeepingRegions(this.header).filter((b) => b.name !== 'volatile header')) {
      if (r.start < 1) report.error(undefined, `${r.name} at sector ${r.start} overlaps the const header`);
      else if (r.end * SECTOR > this.disk.size) {
        report.warning(undefined, `${r.name} (sectors ${r.start}-${r.end - 1}) extends past the end of the file (${this.disk.size} bytes)`);
      }
    }
    for (let i = 0; i < regions.length; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        const message = firstOverlap([regions[i]!, regions[j]!]);
        if (message) report.error(undefined, message);
      }
    }
  }

  private checkDirectory(report: ProblemReport): void {
    const owner = new Map<number, number>();
    for (let gdIndex = 0; gdIndex < this.directoryEntries; gdIndex++) {
      const located = this.tableLocation(gdIndex);
      if (located === undefined) continue;
      const location = `grain directory entry ${gdIndex}`;
      if (typeof located === 'string') {
        report.error(location, located);
        continue;
      }
      const previous = owner.get(located);
      if (previous !== undefined) {
        report.error(location, `shares its grain table (sector ${located}) with grain directory entry ${previous}`);
      } else {
        owner.set(located, gdIndex);
      }
    }
  }

  private checkTableEntries(report: ProblemReport, sharing: GrainSharing | undefined, gdIndex: number, table: Buffer): void {
    const grainSlots = Math.floor(this.header.grainsSizeSectors / this.header.grainSizeSectors);
    for (let entry = 0; entry < this.header.gtEntries; entry++) {
      const grainSectors = this.grainSectorsInCapacity(gdIndex, entry);
      if (grainSectors <= 0) break;
      const decoded = decodeTableEntry(table, entry);
      const location = `grain table ${gdIndex} entry ${entry}`;
      const grain = gdIndex * this.header.gtEntries + entry;
      if (typeof decoded === 'string') {
        report.error(location, `grain ${grain}: ${decoded}`);
        continue;
      }
      if (decoded.type !== GTE_ALLOCATED) continue;
      const end = this.grainsOffsetBytes + decoded.index * this.grainBytes + grainSectors * SECTOR;
      if (end > this.disk.size) {
        report.error(location, `grain ${grain} at grain slot ${decoded.index} lies past the end of the file (${this.disk.size} bytes)`);
      } else if (sharing && !sharing.claim(decoded.index)) {
        report.error(location, `grain ${grain} shares grain slot ${decoded.index} with another grain`);
      } else if (this.header.grainsSizeSectors > 0 && decoded.index >= grainSlots) {
        report.warning(location, `grain ${grain} at grain slot ${decoded.index} lies past the grain area (${grainSlots} slots)`);
      }
    }
  }

  /** A last grain may stick out past the capacity; only its part inside the disk needs file space. */
  private grainSectorsInCapacity(gdIndex: number, entry: number): number {
    const first = (gdIndex * this.header.gtEntries + entry) * this.header.grainSizeSectors;
    return Math.min(this.header.grainSizeSectors, this.header.capacitySectors - first);
  }

  close(): void {
    this.tableCache.clear();
    this.disk.close();
  }
}

interface TableEntry {
  type: number;
  /** Allocated grains only: the slot in the grain area. */
  index: number;
}

/** Decodes one uint64 grain table entry (§5.3), or says why it is invalid. */
function decodeTableEntry(table: Buffer, entry: number): TableEntry | string {
  const low = table.readUInt32LE(entry * GT_BYTES_PER_ENTRY);
  const high = table.readUInt32LE(entry * GT_BYTES_PER_ENTRY + 4);
  const type = high >>> 28;
  switch (type) {
    case GTE_UNALLOCATED:
      if (low !== 0 || high !== 0) return `entry ${hex64(table, entry * GT_BYTES_PER_ENTRY)} has type 0 but is not 0`;
      return { type, index: 0 };
    case GTE_UNMAPPED:
    case GTE_ZERO:
      return { type, index: 0 };
    case GTE_ALLOCATED: {
      // Bits 48-59 are the low 12 bits of the slot, bits 0-47 the rest. Above 2^53 the float is
      // inexact, but such a slot lies far past any real file and fails the end-of-file test anyway.
      const rest = (high & 0xffff) * 2 ** 32 + low;
      return { type, index: rest * 4096 + ((high >>> 16) & 0xfff) };
    }
    default:
      return `entry ${hex64(table, entry * GT_BYTES_PER_ENTRY)} has unknown type ${type}`;
  }
}

function stateOf(location: number): RunState {
  if (location === LOOKUP_UNALLOCATED) return 'unallocated';
  return location === LOOKUP_ZERO ? 'zero' : 'data';
}

/** One bit per grain slot, to find two table entries that point at the same grain. */
class GrainSharing {
  private constructor(private readonly bits: Uint8Array) {}

  static forGrainArea(areaBytes: number, grainBytes: number): GrainSharing | undefined {
    const bitmapBytes = Math.ceil(Math.ceil(Math.max(0, areaBytes) / grainBytes) / 8);
    return bitmapBytes > MAX_SHARING_BITMAP_BYTES ? undefined : new GrainSharing(new Uint8Array(bitmapBytes));
  }

  /** Marks a slot used; false when it already was. Slots past the file are reported elsewhere. */
  claim(slot: number): boolean {
    const byte = Math.floor(slot / 8);
    const mask = 1 << (slot % 8);
    const current = this.bits[byte];
    if (current === undefined) return true;
    this.bits[byte] = current | mask;
    return (current & mask) === 0;
  }
}

