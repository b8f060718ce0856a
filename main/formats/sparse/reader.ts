/**
 * Hosted sparse extents (`KDMV`, QEMU's "VMDK4"): monolithicSparse disks, the extents of
 * twoGbMaxExtentSparse disks, and streamOptimized files (compressed grains behind markers).
 * Format facts: docs/vmdk-format.md §2 (hosted), §3 (stream), §8 (quirks).
 */
import { DiskchainError, formatError, unsupportedError } from '../../../shared/errors.js';
import type { DiskFile } from '../../io/disk-file.js';
import { zlib } from '../../io/lazy-zlib.js';
import { decodeDescriptor, MAX_CAPACITY_BYTES, MAX_DESCRIPTOR_BYTES, rawNames, type RawNames } from '../descriptor.js';
import { pushLost, pushRun, SECTOR, type ExtentReader, type LostRange, type Problem, type Run, type RunState, type Severity } from '../extent.js';
import { assertInsideExtent, CoalescedReads, isAllZero, LITTLE_ENDIAN, littleEndianWords, LruCache, ProblemReport, SectorUsage } from '../support.js';

const MAGIC = Buffer.from('KDMV', 'latin1');
/** open-vmdk writes the magic XOR 0x20202020 until a conversion finishes (§0). */
const INCOMPLETE_MAGIC = Buffer.from('kdmv', 'latin1');
const MAX_VERSION = 3;

const FLAG_NEWLINE_TEST = 0x1;
const FLAG_REDUNDANT_GD = 0x2;
const FLAG_ZEROED_GTE = 0x4;
const FLAG_COMPRESSED = 0x10000;
const FLAG_MARKERS = 0x20000;
/** Bits 16–31 are "incompatible": a reader must refuse any it does not know (open-vmdk). */
const INCOMPATIBLE_FLAGS = 0xffff0000;
const KNOWN_INCOMPATIBLE_FLAGS = FLAG_COMPRESSED | FLAG_MARKERS;
const NEWLINE_BYTES = Buffer.from([0x0a, 0x20, 0x0d, 0x0a]);
const COMPRESS_DEFLATE = 1;

const GD_AT_END = 0xffffffffffffffffn;
/** How SparseHeader.gdOffsetSectors shows GD_AT_END: the directory is in the footer, if anywhere. */
export const GD_AT_END_SECTOR = -1;
/** §8 quirk 17: accept any power of two from 1 to 2^21 sectors (QEMU's 1 GiB limit). */
const MAX_GRAIN_SECTORS = 2 ** 21;
/** Every inflated stream grain is held in memory; real streams use 128 sectors. */
const MAX_STREAM_GRAIN_SECTORS = 2 ** 14;
/** Always 512 in practice; a bigger table is still read in one piece. */
const MAX_GTES_PER_GT = 65536;
const MAX_SAFE_SECTOR = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / SECTOR));

const GTE_UNALLOCATED = 0;
/** Zeroed grain: reads zeros even over a parent. Sector 1 is always header space, so 1 is never data. */
const GTE_ZERO_GRAIN = 1;

const GT_CACHE_TABLES = 256;
/** Below this many table entries a range is stepped through; the memcmp's views cost more than the loop. */
const MEMCMP_MIN_ENTRIES = 64;
/** Tables that sit back to back in the file (VMware and QEMU lay them out so) are read together. */
const GT_READAHEAD_TABLES = 128;
/** Table bytes the damage verdict reads at a time. */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
/** Runs of tables at most this long are read whole, holes or not. */
const HOLE_SCAN_BYTES = 1024 * 1024;
/** Above this much grain-table space (disks over 256 GiB), allocatedBytes() derives the count from the file size. */
const SIZE_SHORTCUT_MIN_TABLE_BYTES = 16 * 1024 * 1024;

const MARKER_HEAD_BYTES = 12;
const MARKER_EOS = 0;
const MARKER_GT = 1;
const MARKER_GD = 2;
const MARKER_FOOTER = 3;
/** Seen in recent vSphere exports; payload unknown, VirtualBox skips just the marker sector. */
const MARKER_PROGRESS = 4;
/** One read usually holds a whole compressed grain, so most grains cost one system call. */
const SPECULATIVE_GRAIN_READ = 64 * 1024 + SECTOR;
const SCAN_WINDOW_BYTES = 1024 * 1024;


// ---------------------------------------------------------------------------------------------
// Public face

export type SparseLayout = 'hosted' | 'stream-footer' | 'stream-front-gd' | 'stream-scanned';

/** The header in use (a stream's footer when it has one); plain values, so it spreads into a record. */
export interface SparseHeader {
  version: number;
  flags: number;
  capacitySectors: number;
  grainSizeSectors: number;
  descriptorOffsetSectors: number;
  descriptorSizeSectors: number;
  numGTEsPerGT: number;
  /** 0 when the file keeps no redundant directory (flags bit 1 clear). */
  rgdOffsetSectors: number;
  /** GD_AT_END_SECTOR (-1) when the header says GD_AT_END. */
  gdOffsetSectors: number;
  overheadSectors: number;
  uncleanShutdown: boolean;
  compressAlgorithm: number;
  /** The primary grain directory could not be read, so lookups use the redundant copy. */
  redundantGDInUse: boolean;
}

export interface SparseExtent extends ExtentReader {
  readonly header: SparseHeader;
  /** The descriptor stored in the file, up to its first NUL; null when there is none (or it is empty). */
  readonly embeddedDescriptor: string | null;
  /** The embedded descriptor's file names as the bytes it holds (see rawNames). */
  readonly embeddedRawNames: RawNames;
  /** streamOptimized: compressed grains behind markers. */
  readonly isStream: boolean;
  readonly layout: SparseLayout;
}

export interface OpenSparseOptions {
  /**
   * Read a stream that was cut short (no footer, no end-of-stream marker) as far as its complete
   * grains go, the rest as unallocated. Default: refuse it, since the missing grains would read as zeros.
   */
  salvageTruncatedStream?: boolean;
  /**
   * Hosted: where a grain table entry is unusable (zeroed, or pointing outside the grain area or
   * the file) take the redundant table's entry instead (recover). Default: the primary alone, as VMware reads.
   */
  redundantWhereBad?: boolean;
}

export function isSparseMagic(buf: Uint8Array): boolean {
  return buf.length >= MAGIC.length && MAGIC.equals(buf.subarray(0, MAGIC.length));
}

export function openSparseExtent(file: DiskFile, options: OpenSparseOptions = {}): SparseExtent {
  const header = parseSparseHeader(readHeaderSector(file), file.path, 'header');
  const embedded = readEmbeddedDescriptor(file, header);
  const index = header.flags & FLAG_COMPRESSED ? resolveStream(file, header, options) : resolveHosted(file, header, options);
  return new SparseReader(file, index, embedded.text, embedded.raw);
}

// ---------------------------------------------------------------------------------------------
// Header

function readHeaderSector(file: DiskFile): Buffer {
  if (file.size === 0) throw formatError(file.path, 'empty file: not a hosted sparse (KDMV) extent');
  const head = Buffer.alloc(Math.min(SECTOR, file.size));
  file.readAt(head, 0, 'sparse header');
  if (INCOMPLETE_MAGIC.equals(head.subarray(0, 4))) {
    throw formatError(file.path, "incomplete conversion: magic 'kdmv' is open-vmdk's temporary header, so the file was never finished");
  }
  if (!isSparseMagic(head)) {
    throw formatError(file.path, `not a hosted sparse extent: magic is ${head.subarray(0, 4).toString('hex')}, expected 4b444d56 (KDMV)`);
  }
  if (file.size < SECTOR) {
    throw formatError(file.path, `truncated: the sparse header needs ${SECTOR} bytes but the file has ${file.size}`);
  }
  return head;
}

type HeaderPart = 'header' | 'footer';

/** Parses and validates one 512-byte SparseExtentHeader; where tables lie is checked against the file later. */
/** Parses and validates a 512-byte SparseExtentHeader (§2.1); writers of hosted extents use it too. */
export function parseSparseHeader(buf: Buffer, path: string, part: HeaderPart = 'header'): SparseHeader {
  const at = (byte: number): string => `${part} byte ${byte}`;
  const version = buf.readUInt32LE(4);
  const flags = buf.readUInt32LE(8);
  validateVersion(version, path, at(4));
  validateFlags(flags, path, at(8));
  if (flags & FLAG_NEWLINE_TEST) validateNewlines(buf, path, at(73));
  const isStream = (flags & FLAG_COMPRESSED) !== 0;
  const capacitySectors = sectorField(buf, 12, 'capacity', path, at(12));
  if (capacitySectors * SECTOR > MAX_CAPACITY_BYTES) {
    throw formatError(path, `capacity of ${capacitySectors} sectors (${at(12)}) is not plausible: more than ${MAX_CAPACITY_BYTES} bytes`);
  }
  const grainSizeSectors = sectorField(buf, 20, 'grain size', path, at(20));
  validateGrainSize(grainSizeSectors, isStream, path, at(20));
  const numGTEsPerGT = buf.readUInt32LE(44);
  if (numGTEsPerGT < 1 || numGTEsPerGT > MAX_GTES_PER_GT) {
    throw formatError(path, `${numGTEsPerGT} entries per grain table (${at(44)}) is not plausible (1 to ${MAX_GTES_PER_GT})`);
  }
  const compressAlgorithm = buf.readUInt16LE(77);
  if (isStream && compressAlgorithm !== COMPRESS_DEFLATE) {
    throw unsupportedError(path, `compression algorithm ${compressAlgorithm} (${at(77)}) is unknown; only 1 (deflate) exists`);
  }
  return {
    version,
    flags,
    capacitySectors,
    grainSizeSectors,
    descriptorOffsetSectors: sectorField(buf, 28, 'descriptor offset', path, at(28)),
    descriptorSizeSectors: sectorField(buf, 36, 'descriptor size', path, at(36)),
    numGTEsPerGT,
    // Without flags bit 1 the field means nothing, and stream writers leave odd values in it.
    rgdOffsetSectors: flags & FLAG_REDUNDANT_GD ? sectorField(buf, 48, 'redundant grain directory offset', path, at(48)) : 0,
    gdOffsetSectors:
      buf.readBigUInt64LE(56) === GD_AT_END ? GD_AT_END_SECTOR : sectorField(buf, 56, 'grain directory offset', path, at(56)),
    overheadSectors: sectorField(buf, 64, 'overhead', path, at(64)),
    uncleanShutdown: buf[72] !== 0,
    compressAlgorithm,
    redundantGDInUse: false,
  };
}

function validateVersion(version: number, path: string, at: string): void {
  if (version === 0) throw formatError(path, `version 0 (${at}) is not a hosted sparse version`);
  if (version > MAX_VERSION) {
    throw unsupportedError(path, `hosted sparse version ${version} (${at}) is newer than the versions 1–${MAX_VERSION} this reader knows`);
  }
}

function validateFlags(flags: number, path: string, at: string): void {
  const unknown = (flags & INCOMPATIBLE_FLAGS & ~KNOWN_INCOMPATIBLE_FLAGS) >>> 0;
  if (unknown !== 0) {
    throw unsupportedError(path, `unknown incompatible flags 0x${unknown.toString(16)} (${at}) in 0x${flags.toString(16)}`);
  }
  if (flags & FLAG_MARKERS && !(flags & FLAG_COMPRESSED)) {
    throw formatError(path, `flags 0x${flags.toString(16)} (${at}) ask for markers without compression, which no format has`);
  }
  if (flags & FLAG_COMPRESSED && !(flags & FLAG_MARKERS)) {
    // Writers disagree on this framing (size prefix or bare zlib) and none is known to produce it (§3.3).
    throw unsupportedError(path, `compressed grains without markers (flags 0x${flags.toString(16)}, ${at}) are not supported`);
  }
}

function validateNewlines(buf: Buffer, path: string, at: string): void {
  const found = buf.subarray(73, 77);
  if (!found.equals(NEWLINE_BYTES)) {
    throw formatError(
      path,
      `newline test bytes (${at}) are ${found.toString('hex')} instead of 0a200d0a: the file went through a text-mode (CRLF) transfer and is damaged`,
    );
  }
}

function validateGrainSize(grainSizeSectors: number, isStream: boolean, path: string, at: string): void {
  const isPowerOfTwo = grainSizeSectors > 0 && Number.isInteger(Math.log2(grainSizeSectors));
  if (!isPowerOfTwo || grainSizeSectors > MAX_GRAIN_SECTORS) {
    throw formatError(path, `grain size of ${grainSizeSectors} sectors (${at}) is not a power of two from 1 to ${MAX_GRAIN_SECTORS}`);
  }
  if (isStream && grainSizeSectors > MAX_STREAM_GRAIN_SECTORS) {
    throw unsupportedError(path, `compressed grains of ${grainSizeSectors} sectors (${at}) are larger than the ${MAX_STREAM_GRAIN_SECTORS} supported`);
  }
}

/** A uint64 sector number, refused when its byte offset would not fit a JavaScript number. */
function sectorField(buf: Buffer, offset: number, name: string, path: string, at: string): number {
  const value = buf.readBigUInt64LE(offset);
  if (value > MAX_SAFE_SECTOR) throw formatError(path, `${name} of ${value} sectors (${at}) is not plausible`);
  return Number(value);
}

function readEmbeddedDescriptor(file: DiskFile, header: SparseHeader): { text: string | null; raw: RawNames } {
  const { descriptorOffsetSectors: offset, descriptorSizeSectors: size } = header;
  if (offset === 0 || size === 0) return { text: null, raw: { extents: [], parentHint: undefined } };
  // QEMU reads at most 1 MiB of descriptor; the text ends at its first NUL long before.
  const bytes = Math.min(size * SECTOR, MAX_DESCRIPTOR_BYTES);
  if (offset * SECTOR + bytes > file.size) {
    throw formatError(
      file.path,
      `truncated: embedded descriptor at sector ${offset} (${size} sectors) lies past the end of the file (${file.size} bytes)`,
    );
  }
  const block = file.readBlock(bytes, offset * SECTOR, 'embedded descriptor');
  const text = decodeDescriptor(block);
  // QEMU reserves descriptor space in every extent of a split disk and leaves it all NUL.
  return { text: text === '' ? null : text, raw: rawNames(block) };
}

// ---------------------------------------------------------------------------------------------
// Finding the grain tables: directory (hosted, stream footer, stream front GD) or marker scan

/** A problem found while opening, reported again by check(). */
interface Note {
  severity: Severity;
  location?: string;
  message: string;
}

interface GrainIndex {
  header: SparseHeader;
  layout: SparseLayout;
  tables: GrainTables;
  /** Sector of the redundant directory to compare against in check(), when the primary is in use. */
  spareDirectorySector?: number;
  notes: Note[];
}

function grainCount(header: SparseHeader): number {
  return Math.ceil(header.capacitySectors / header.grainSizeSectors);
}

function directoryEntries(header: SparseHeader): number {
  return Math.ceil(grainCount(header) / header.numGTEsPerGT);
}

function resolveHosted(file: DiskFile, header: SparseHeader, options: OpenSparseOptions = {}): GrainIndex {
  if (header.gdOffsetSectors === GD_AT_END_SECTOR) {
    // VMware tooling writes plain monolithicSparse files this way too: the real header is in a
    // footer at the end (footer marker, header, end-of-stream marker), as in a stream (§3.3).
    const footer = readFooter(file);
    if (typeof footer === 'string') {
      throw formatError(file.path, `the grain directory is "at end" (GD_AT_END, header byte 56) but the footer cannot be used: ${footer}`, 56);
    }
    const found = openDirectories(file, footer, options);
    if ('problem' in found) throw formatError(file.path, `the footer's ${found.problem}`);
    found.notes.push(...footerDifferences(header, footer));
    return { ...found, layout: 'hosted' };
  }
  const found = openDirectories(file, header, options);
  if ('problem' in found) throw formatError(file.path, found.problem);
  return { ...found, layout: 'hosted' };
}

function resolveStream(file: DiskFile, header: SparseHeader, options: OpenSparseOptions): GrainIndex {
  if (header.gdOffsetSectors !== GD_AT_END_SECTOR) {
    // QEMU and open-vmdk put a real directory at the front (§3.4).
    const found = openDirectories(file, header);
    if (!('problem' in found)) return { ...found, layout: 'stream-front-gd' };
    return scanStream(file, header, found.problem, options);
  }
  const footer = readFooter(file);
  if (typeof footer === 'string') return scanStream(file, header, `no usable footer (${footer})`, options);
  const found = openDirectories(file, footer);
  if ('problem' in found) return scanStream(file, header, `the footer's ${found.problem}`, options);
  found.notes.push(...footerDifferences(header, footer));
  return { ...found, layout: 'stream-footer' };
}

type Directories = Omit<GrainIndex, 'layout'>;

/** The primary directory, or the redundant one when the primary cannot be read (as vmdk-forensic recovers). */
function openDirectories(file: DiskFile, header: SparseHeader, options: OpenSparseOptions = {}): Directories | { problem: string } {
  const entries = directoryEntries(header);
  const primaryProblem = directoryProblem(file, header.gdOffsetSectors, entries, 'grain directory');
  const hasRedundant = (header.flags & FLAG_REDUNDANT_GD) !== 0;
  const redundantProblem = hasRedundant
    ? directoryProblem(file, header.rgdOffsetSectors, entries, 'redundant grain directory')
    : 'no redundant grain directory';
  const open = (sector: number): DirectoryTables =>
    new DirectoryTables(file, readDirectory(file, sector, entries), header.numGTEsPerGT);
  if (primaryProblem === undefined) {
    const notes: Note[] = hasRedundant && redundantProblem ? [{ severity: 'error', location: 'header byte 48', message: redundantProblem }] : [];
    const spare = hasRedundant && !redundantProblem ? { spareDirectorySector: header.rgdOffsetSectors } : {};
    if (options.redundantWhereBad && hasRedundant && !redundantProblem) {
      const tables = new MergedTables(open(header.gdOffsetSectors), open(header.rgdOffsetSectors), header, file.size);
      return { header, tables, notes };
    }
    return { header, tables: open(header.gdOffsetSectors), notes, ...spare };
  }
  if (!hasRedundant || redundantProblem !== undefined) return { problem: primaryProblem };
  return {
    header: { ...header, redundantGDInUse: true },
    tables: open(header.rgdOffsetSectors),
    notes: [{ severity: 'error', location: 'header byte 56', message: `${primaryProblem}; read through the redundant grain directory` }],
  };
}

function directoryProblem(file: DiskFile, sector: number, entries: number, name: string): string | undefined {
  if (sector === 0) return `no ${name}: its offset is 0`;
  const end = sector * SECTOR + entries * 4;
  if (end > file.size) {
    return `truncated: ${name} of ${entries} entries at sector ${sector} needs bytes up to ${end} but the file has ${file.size}`;
  }
  return undefined;
}

function readDirectory(file: DiskFile, sector: number, entries: number): Uint32Array {
  return littleEndianWords(file.readBlock(entries * 4, sector * SECTOR, 'grain directory'), entries);
}

/**
 * The footer of a GD_AT_END stream: marker, header copy and end-of-stream marker in the last three
 * sectors (§3.5). Returns why it is unusable instead of throwing, so the caller can scan instead.
 */
function readFooter(file: DiskFile): SparseHeader | string {
  const end = Math.floor(file.size / SECTOR) * SECTOR;
  if (end < 4 * SECTOR) return 'the file is too small to hold one';
  const tail = Buffer.alloc(3 * SECTOR);
  file.readAt(tail, end - 3 * SECTOR, 'stream footer');
  const markerSector = end / SECTOR - 3;
  if (tail.readUInt32LE(8) !== 0 || tail.readUInt32LE(12) !== MARKER_FOOTER) return `no footer marker at sector ${markerSector}`;
  if (!isSparseMagic(tail.subarray(SECTOR))) return `no KDMV magic in the footer at sector ${markerSector + 1}`;
  const eos = tail.subarray(2 * SECTOR);
  if (eos.readBigUInt64LE(0) !== 0n || eos.readUInt32LE(8) !== 0 || eos.readUInt32LE(12) !== MARKER_EOS) {
    return `no end-of-stream marker at sector ${markerSector + 2}`;
  }
  let footer: SparseHeader;
  try {
    footer = parseSparseHeader(tail.subarray(SECTOR, 2 * SECTOR), file.path, 'footer');
  } catch (e) {
    if (e instanceof DiskchainError) return e.message;
    throw e;
  }
  return footer.gdOffsetSectors === GD_AT_END_SECTOR ? 'the footer says GD_AT_END too' : footer;
}

/** "The footer takes precedence over the header" (§3.1); anything but the GD offset differing is worth a word. */
function footerDifferences(header: SparseHeader, footer: SparseHeader): Note[] {
  const keys = ['capacitySectors', 'grainSizeSectors', 'numGTEsPerGT', 'flags', 'version'] as const;
  return keys
    .filter((key) => header[key] !== footer[key])
    .map((key) => ({
      severity: 'warning' as const,
      location: 'footer',
      message: `${key} is ${footer[key]} in the footer but ${header[key]} in the header; the footer's value is used`,
    }));
}

// ---------------------------------------------------------------------------------------------
// Grain tables

interface GrainTables {
  /** Grain tables the capacity needs: the number of directory entries. */
  readonly count: number;
  /** The table of directory entry gdIndex; undefined when its whole range is unallocated. Throws E_FORMAT when unreadable. */
  get(gdIndex: number): Uint32Array | undefined;
  /** Why table gdIndex cannot be read, or undefined. */
  problem(gdIndex: number): string | undefined;
  /** False when problem() is undefined for every table (so callers need not ask each one). */
  mayHaveProblems(): boolean;
  /** Sector where table gdIndex is stored, 0 when none is. */
  sectorOf(gdIndex: number): number;
  /** The first directory entry at or after gdIndex that may hold a table; `count` when none does. */
  nextTable(gdIndex: number): number;
  /**
   * Every readable table that may hold grains, in directory order, with bounded memory: the table
   * passed may be a view into a reused buffer, valid only during the call.
   */
  forEachTable(visit: (gdIndex: number, table: Uint32Array) => void): void;
  clear(): void;
}

/** Visits the tables one get() at a time (their own LRU bounds the memory). */
function forEachByGet(tables: GrainTables, visit: (gdIndex: number, table: Uint32Array) => void): void {
  for (let gdIndex = tables.nextTable(0); gdIndex < tables.count; gdIndex = tables.nextTable(gdIndex + 1)) {
    if (tables.problem(gdIndex)) continue;
    const table = tables.get(gdIndex);
    if (table) visit(gdIndex, table);
  }
}

/** Tables located through a grain directory, with a bounded LRU cache and read-ahead of neighbours. */
class DirectoryTables implements GrainTables {
  private readonly cache = new LruCache<Uint32Array>(GT_CACHE_TABLES);
  /** 1 marks a table read once and found all zero, so it is skipped without reading it again. */
  private readonly knownEmpty: Uint8Array;
  private readonly gtBytes: number;
  private readonly gtSectors: number;
  private runBuffer = Buffer.alloc(0);
  /** The highest table sector the directory names: one comparison tells whether every table is in the file. */
  readonly lastSector: number;
  /** Whether some directory entry names no table. */
  readonly hasEmptyEntries: boolean;

  constructor(
    private readonly disk: DiskFile,
    readonly entries: Uint32Array,
    private readonly gtEntries: number,
  ) {
    this.knownEmpty = new Uint8Array(entries.length);
    this.gtBytes = gtEntries * 4;
    this.gtSectors = Math.ceil(this.gtBytes / SECTOR);
    let last = 0;
    for (let i = 0; i < entries.length; i++) if (entries[i]! > last) last = entries[i]!;
    this.lastSector = last;
    this.hasEmptyEntries = entries.includes(0);
  }

  /** Whether every table the directory names lies inside the file (the file may grow, so asked each time). */
  allInFile(): boolean {
    return this.lastSector * SECTOR + this.gtBytes <= this.disk.size;
  }

  get count(): number {
    return this.entries.length;
  }

  sectorOf(gdIndex: number): number {
    return this.entries[gdIndex] ?? 0;
  }

  nextTable(gdIndex: number): number {
    let next = gdIndex;
    while (next < this.entries.length && (this.sectorOf(next) === 0 || this.knownEmpty[next])) next++;
    return Math.min(next, this.entries.length);
  }

  get(gdIndex: number): Uint32Array | undefined {
    if (this.sectorOf(gdIndex) === 0 || this.knownEmpty[gdIndex]) return undefined;
    const cached = this.cache.get(gdIndex);
    if (cached) return cached;
    const problem = this.problem(gdIndex);
    if (problem) throw formatError(this.disk.path, problem);
    return this.loadRun(gdIndex);
  }

  mayHaveProblems(): boolean {
    return !this.allInFile();
  }

  problem(gdIndex: number): string | undefined {
    const sector = this.sectorOf(gdIndex);
    if (sector === 0 || sector * SECTOR + this.gtBytes <= this.disk.size) return undefined;
    return `truncated: grain table ${gdIndex} at sector ${sector} lies past the end of the file (${this.disk.size} bytes)`;
  }

  /** Reads table gdIndex and the readable tables stored right after it in one go. */
  private loadRun(gdIndex: number): Uint32Array | undefined {
    const first = this.sectorOf(gdIndex);
    let count = 1;
    while (
      count < GT_READAHEAD_TABLES &&
      gdIndex + count < this.entries.length &&
      this.sectorOf(gdIndex + count) === first + count * this.gtSectors &&
      !this.problem(gdIndex + count)
    ) {
      count++;
    }
    const stride = this.gtSectors * SECTOR;
    const raw = this.readBuffer((count - 1) * stride + this.gtBytes);
    this.disk.readAt(raw, first * SECTOR, 'grain tables');
    if (isAllZero(raw)) {
      this.knownEmpty.fill(1, gdIndex, gdIndex + count);
      return undefined;
    }
    for (let k = 0; k < count; k++) {
      const bytes = raw.subarray(k * stride, k * stride + this.gtBytes);
      if (isAllZero(bytes)) this.knownEmpty[gdIndex + k] = 1;
      else this.cache.set(gdIndex + k, littleEndianWords(bytes, this.gtEntries));
    }
    return this.knownEmpty[gdIndex] ? undefined : this.cache.get(gdIndex);
  }

  /**
   * Reads runs of adjacent tables in chunks of at most SCAN_CHUNK_BYTES into one buffer, reading
   * only the tables that overlap data regions of the file: tables in file holes read as zeros, so
   * they hold no grain. The verdict on a 2 TiB disk passes over its 128 MiB of tables without
   * keeping them, and over a fresh disk's unwritten tables without reading them.
   */
  forEachTable(visit: (gdIndex: number, table: Uint32Array) => void): void {
    const stride = this.gtSectors * SECTOR;
    const maxRun = Math.max(1, Math.floor(SCAN_CHUNK_BYTES / stride));
    const checked = this.mayHaveProblems();
    let chunk: Buffer | undefined;
    for (let gdIndex = 0; gdIndex < this.entries.length; ) {
      const first = this.sectorOf(gdIndex);
      if (first === 0 || (checked && this.problem(gdIndex))) {
        gdIndex++;
        continue;
      }
      let count = 1;
      while (count < maxRun && gdIndex + count < this.entries.length && this.sectorOf(gdIndex + count) === first + count * this.gtSectors && !(checked && this.problem(gdIndex + count))) {
        count++;
      }
      const start = first * SECTOR;
      const end = start + (count - 1) * stride + this.gtBytes;
      let next = 0;
      // Holes are looked for only in a long run (a thin copy of a huge disk's tables): the query costs more than reading a few tables.
      for (const region of end - start > HOLE_SCAN_BYTES ? this.disk.dataRegions(start, end) : [{ start, end }]) {
        // The tables of the run that this region touches, from the first not yet visited.
        const from = Math.max(next, Math.floor((region.start - start) / stride));
        const to = Math.min(count, Math.ceil((region.end - start) / stride));
        if (to <= from) continue;
        chunk ??= Buffer.allocUnsafeSlow(Math.min(maxRun, this.entries.length) * stride);
        const raw = chunk.subarray(0, (to - from - 1) * stride + this.gtBytes);
        this.disk.readAt(raw, start + from * stride, 'grain tables');
        for (let k = from; k < to; k++) visit(gdIndex + k, wordsView(raw, (k - from) * stride, this.gtEntries));
        next = to;
      }
      gdIndex += count;
    }
  }

  /** One reused buffer for read-ahead: tables are copied out of it, and nothing else keeps it. */
  private readBuffer(length: number): Buffer {
    if (this.runBuffer.length < length) this.runBuffer = Buffer.allocUnsafe(Math.max(length, GT_READAHEAD_TABLES * this.gtSectors * SECTOR));
    return this.runBuffer.subarray(0, length);
  }

  clear(): void {
    this.cache.clear();
  }
}

/**
 * The primary tables with the redundant ones filling in (redundantWhereBad): per entry, the primary
 * unless it is unusable and the redundant copy holds a grain inside the file. A healthy file's
 * copies are equal, so this reads as the primary does.
 */
class MergedTables implements GrainTables {
  private readonly cache = new LruCache<Uint32Array>(GT_CACHE_TABLES);
  private readonly grainBytes: number;

  constructor(
    private readonly primary: DirectoryTables,
    private readonly spare: DirectoryTables,
    private readonly header: SparseHeader,
    private readonly fileBytes: number,
  ) {
    this.grainBytes = header.grainSizeSectors * SECTOR;
  }

  get count(): number {
    return this.primary.count;
  }

  get(gdIndex: number): Uint32Array | undefined {
    const cached = this.cache.get(gdIndex);
    if (cached) return cached;
    const spare = readable(this.spare, gdIndex);
    if (!spare) return this.primary.get(gdIndex);
    const primary = readable(this.primary, gdIndex);
    const merged = primary ? primary.map((gte, i) => this.pick(gte, spare[i] ?? 0)) : spare;
    this.cache.set(gdIndex, merged);
    return merged;
  }

  /** A grain inside the file wins; of two unusable entries, "no grain" beats a pointer to nowhere. */
  private pick(primary: number, spare: number): number {
    if (this.usable(primary)) return primary;
    if (this.usable(spare)) return spare;
    return primary > GTE_ZERO_GRAIN && spare <= GTE_ZERO_GRAIN ? spare : primary;
  }

  private usable(gte: number): boolean {
    return gte > GTE_ZERO_GRAIN && gte >= this.header.overheadSectors && gte * SECTOR + this.grainBytes <= this.fileBytes;
  }

  problem(gdIndex: number): string | undefined {
    return this.spare.problem(gdIndex) === undefined ? undefined : this.primary.problem(gdIndex);
  }

  mayHaveProblems(): boolean {
    return this.primary.mayHaveProblems() && this.spare.mayHaveProblems();
  }

  sectorOf(gdIndex: number): number {
    return this.primary.sectorOf(gdIndex) || this.spare.sectorOf(gdIndex);
  }

  nextTable(gdIndex: number): number {
    return Math.min(this.primary.nextTable(gdIndex), this.spare.nextTable(gdIndex));
  }

  forEachTable(visit: (gdIndex: number, table: Uint32Array) => void): void {
    forEachByGet(this, visit);
  }

  clear(): void {
    this.cache.clear();
    this.primary.clear();
    this.spare.clear();
  }
}

/** A table that can be read, else undefined (no table, or one past the end of the file). */
function readable(tables: DirectoryTables, gdIndex: number): Uint32Array | undefined {
  return tables.problem(gdIndex) === undefined ? tables.get(gdIndex) : undefined;
}

/** Tables synthesized from a marker scan: grain numbers and marker sectors, sorted by grain. */
class ScannedTables implements GrainTables {
  private readonly cache = new LruCache<Uint32Array>(GT_CACHE_TABLES);

  constructor(
    private readonly grains: Float64Array,
    private readonly sectors: Float64Array,
    readonly count: number,
    private readonly gtEntries: number,
  ) {}

  get(gdIndex: number): Uint32Array | undefined {
    const cached = this.cache.get(gdIndex);
    if (cached) return cached;
    const firstGrain = gdIndex * this.gtEntries;
    const endGrain = firstGrain + this.gtEntries;
    let i = lowerBound(this.grains, firstGrain);
    if (i >= this.grains.length || (this.grains[i] ?? endGrain) >= endGrain) return undefined;
    const table = new Uint32Array(this.gtEntries);
    for (; i < this.grains.length && (this.grains[i] ?? endGrain) < endGrain; i++) {
      table[(this.grains[i] ?? 0) - firstGrain] = this.sectors[i] ?? 0;
    }
    this.cache.set(gdIndex, table);
    return table;
  }

  problem(): string | undefined {
    return undefined;
  }

  mayHaveProblems(): boolean {
    return false;
  }

  sectorOf(): number {
    return 0;
  }

  /** Jumps straight to the next table with grains, so absurd geometry cannot make walks long. */
  nextTable(gdIndex: number): number {
    const i = lowerBound(this.grains, gdIndex * this.gtEntries);
    const grain = this.grains[i];
    return grain === undefined ? this.count : Math.floor(grain / this.gtEntries);
  }

  forEachTable(visit: (gdIndex: number, table: Uint32Array) => void): void {
    forEachByGet(this, visit);
  }

  clear(): void {
    this.cache.clear();
  }
}

function lowerBound(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// Marker scan (§3.6 step 4): the only way into a stream whose footer is missing or damaged

interface ScanOutcome {
  markers: MarkerList;
  complete: boolean;
  /** Why the scan stopped early, when it did. */
  stop?: string;
  stopSector: number;
}

function scanStream(file: DiskFile, header: SparseHeader, reason: string, options: OpenSparseOptions): GrainIndex {
  const outcome = new MarkerScan(file, header).run();
  const { grains, sectors } = outcome.markers.sorted();
  const notes: Note[] = [{ severity: 'warning', message: `${reason}; the grains were found by scanning the stream's markers` }];
  if (!outcome.complete) {
    const lastLba = grains.length > 0 ? (grains[grains.length - 1] ?? 0) * header.grainSizeSectors : undefined;
    const message =
      `truncated stream: ${reason}, and the marker scan ${outcome.stop ?? 'stopped'}; ` +
      `${grains.length} complete grains precede it${lastLba === undefined ? '' : ` (the last at LBA ${lastLba})`}`;
    if (!options.salvageTruncatedStream) throw formatError(file.path, message);
    notes.push({ severity: 'error', location: `sector ${outcome.stopSector}`, message: `${message}; the rest reads as unallocated` });
  }
  const tables = new ScannedTables(grains, sectors, directoryEntries(header), header.numGTEsPerGT);
  return { header, layout: 'stream-scanned', tables, notes };
}

/**
 * Walks the stream from the end of the descriptor, one marker at a time. Memory grows with the grains
 * found (16 bytes each, at most one per file sector), never with the capacity, and the file is read
 * once through a 1 MiB window.
 */
class MarkerScan {
  private readonly window: SectorWindow;
  private readonly grainBytes: number;
  private readonly gtSectors: number;
  private readonly gdSectors: number;
  private readonly markers = new MarkerList();

  constructor(
    private readonly file: DiskFile,
    private readonly header: SparseHeader,
  ) {
    this.window = new SectorWindow(file);
    this.grainBytes = header.grainSizeSectors * SECTOR;
    this.gtSectors = Math.ceil((header.numGTEsPerGT * 4) / SECTOR);
    this.gdSectors = Math.ceil((directoryEntries(header) * 4) / SECTOR);
  }

  run(): ScanOutcome {
    const { descriptorOffsetSectors, descriptorSizeSectors, overheadSectors } = this.header;
    let sector = descriptorOffsetSectors > 0 ? descriptorOffsetSectors + descriptorSizeSectors : 1;
    let seenMarker = false;
    for (;;) {
      const bytes = this.window.sector(sector * SECTOR);
      if (!bytes) return this.stopped(sector, `reached the end of the file at sector ${sector} without an end-of-stream marker`);
      const step = this.step(bytes, sector, seenMarker);
      if (step === 'eos') return { markers: this.markers, complete: true, stopSector: sector };
      if (typeof step === 'string') {
        // Padding between descriptor and grains is zeros; garbage there means overHead is the better start.
        if (!seenMarker && sector < overheadSectors) {
          sector = overheadSectors;
          continue;
        }
        return this.stopped(sector, step);
      }
      if (step.marker) seenMarker = true;
      sector += step.sectors;
    }
  }

  private stopped(sector: number, stop: string): ScanOutcome {
    return { markers: this.markers, complete: false, stop, stopSector: sector };
  }

  /** What the sector at `sector` is: how far to move on, the end of the stream, or why it is not a marker. */
  private step(bytes: Buffer, sector: number, seenMarker: boolean): { sectors: number; marker: boolean } | 'eos' | string {
    const val = bytes.readBigUInt64LE(0);
    const size = bytes.readUInt32LE(8);
    const type = bytes.readUInt32LE(12);
    if (size > 0) return this.grainStep(val, size, sector);
    if (type === MARKER_EOS && val === 0n) {
      if (!seenMarker && isAllZero(bytes)) return { sectors: 1, marker: false };
      return 'eos';
    }
    switch (type) {
      case MARKER_GT:
        // Xen Orchestra writes every table in one block after all grains, with val 0 (§3.4): the grains are done.
        return val === 0n ? 'eos' : { sectors: 1 + this.gtSectors, marker: true };
      case MARKER_GD:
        return { sectors: 1 + this.gdSectors, marker: true };
      case MARKER_FOOTER:
        return { sectors: 2, marker: true };
      case MARKER_PROGRESS:
        return { sectors: 1, marker: true };
      default:
        return `found no valid marker at sector ${sector} (type ${type})`;
    }
  }

  private grainStep(val: bigint, size: number, sector: number): { sectors: number; marker: boolean } | string {
    const lba = val <= MAX_SAFE_SECTOR ? Number(val) : -1;
    const valid = lba >= 0 && lba % this.header.grainSizeSectors === 0 && lba < this.header.capacitySectors;
    if (!valid || size > 2 * this.grainBytes) {
      return `found no valid marker at sector ${sector} (LBA ${val}, ${size} bytes)`;
    }
    const end = sector * SECTOR + MARKER_HEAD_BYTES + size;
    if (end > this.file.size) {
      return `found the grain at LBA ${lba} (sector ${sector}) cut off: its ${size} compressed bytes run past the end of the file`;
    }
    // Table entries are uint32 and 1 means "zeroed grain", so such a grain could never have been referenced.
    if (sector < 2 || sector > 0xffffffff) return `found a grain at sector ${sector}, which no grain table can address`;
    this.markers.add(lba / this.header.grainSizeSectors, sector);
    return { sectors: Math.ceil((MARKER_HEAD_BYTES + size) / SECTOR), marker: true };
  }
}

/** Sector-at-a-time access over large sequential reads. */
class SectorWindow {
  private readonly buf = Buffer.alloc(SCAN_WINDOW_BYTES);
  private start = 0;
  private length = 0;

  constructor(private readonly disk: DiskFile) {}

  /** The 512 bytes at `position`, or undefined when the file ends before them. */
  sector(position: number): Buffer | undefined {
    if (position < this.start || position + SECTOR > this.start + this.length) {
      this.start = position;
      this.length = this.disk.readAtMost(this.buf, position);
    }
    if (position + SECTOR > this.start + this.length) return undefined;
    return this.buf.subarray(position - this.start, position - this.start + SECTOR);
  }
}

/** Grain number → marker sector pairs, in typed arrays that double as they fill. */
class MarkerList {
  private grains = new Float64Array(1024);
  private sectors = new Float64Array(1024);
  private length = 0;

  add(grain: number, sector: number): void {
    if (this.length === this.grains.length) {
      this.grains = grow(this.grains);
      this.sectors = grow(this.sectors);
    }
    this.grains[this.length] = grain;
    this.sectors[this.length] = sector;
    this.length++;
  }

  /** Sorted by grain; when a grain appears twice the later marker wins, as it would for a writer that rewrote it. */
  sorted(): { grains: Float64Array; sectors: Float64Array } {
    const grains = this.grains.subarray(0, this.length);
    const sectors = this.sectors.subarray(0, this.length);
    if (grains.every((g, i) => i === 0 || g > (grains[i - 1] ?? 0))) return { grains, sectors };
    const order = Uint32Array.from({ length: this.length }, (_, i) => i);
    order.sort((a, b) => (grains[a] ?? 0) - (grains[b] ?? 0) || a - b);
    const outGrains: number[] = [];
    const outSectors: number[] = [];
    for (const i of order) {
      const grain = grains[i] ?? 0;
      if (outGrains.length > 0 && outGrains[outGrains.length - 1] === grain) outSectors[outSectors.length - 1] = sectors[i] ?? 0;
      else {
        outGrains.push(grain);
        outSectors.push(sectors[i] ?? 0);
      }
    }
    return { grains: Float64Array.from(outGrains), sectors: Float64Array.from(outSectors) };
  }
}

function grow(array: Float64Array): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

// ---------------------------------------------------------------------------------------------
// Reader

type PieceVisitor = (position: number, length: number, gte: number, grain: number) => void;
/** A span of grains alike: `gte` is its first grain's entry, `filePosition` where its first byte lies (data). */
type SpanVisitor = (position: number, length: number, gte: number, filePosition: number) => void;

class SparseReader implements SparseExtent {
  readonly file: string;
  readonly sizeBytes: number;
  readonly header: SparseHeader;
  readonly layout: SparseLayout;
  readonly isStream: boolean;
  private readonly tables: GrainTables;
  private readonly grainBytes: number;
  private readonly tableSpanBytes: number;
  private readonly numGrains: number;
  private readonly stream: StreamGrains | undefined;
  private allocatedMemo: number | undefined;
  private lostMemo: LostRange[] | undefined;

  constructor(
    private readonly disk: DiskFile,
    private readonly index: GrainIndex,
    readonly embeddedDescriptor: string | null,
    readonly embeddedRawNames: RawNames = { extents: [], parentHint: undefined },
  ) {
    this.file = disk.path;
    this.header = index.header;
    this.layout = index.layout;
    this.tables = index.tables;
    this.isStream = index.layout !== 'hosted';
    this.sizeBytes = this.header.capacitySectors * SECTOR;
    this.grainBytes = this.header.grainSizeSectors * SECTOR;
    this.tableSpanBytes = this.header.numGTEsPerGT * this.grainBytes;
    this.numGrains = grainCount(this.header);
    this.stream = this.isStream ? new StreamGrains(disk, this.header) : undefined;
  }

  /** Visits [start, end) grain by grain; a range whose whole table is missing comes as one piece with grain -1. */
  private walk(start: number, end: number, visit: PieceVisitor): void {
    for (let pos = start; pos < end; ) {
      const gdIndex = Math.floor(pos / this.tableSpanBytes);
      const rangeEnd = Math.min(end, (gdIndex + 1) * this.tableSpanBytes);
      const table = this.tables.get(gdIndex);
      if (!table) {
        const holeEnd = Math.min(end, this.tables.nextTable(gdIndex + 1) * this.tableSpanBytes);
        visit(pos, holeEnd - pos, GTE_UNALLOCATED, -1);
        pos = holeEnd;
        continue;
      }
      const firstGrain = gdIndex * this.header.numGTEsPerGT;
      while (pos < rangeEnd) {
        const grain = Math.floor(pos / this.grainBytes);
        const pieceEnd = Math.min(rangeEnd, (grain + 1) * this.grainBytes);
        visit(pos, pieceEnd - pos, table[grain - firstGrain] ?? GTE_UNALLOCATED, grain);
        pos = pieceEnd;
      }
    }
  }

  /**
   * Visits [start, end) in spans of grains that read alike, one call per span instead of per grain:
   * unallocated, zeroed, or data (with `contiguous`, data stored back to back in the file, so a
   * span is one pread; `filePosition` is where its first byte lies). Each grain of a data span is
   * checked to lie in the file.
   */
  private walkSpans(start: number, end: number, contiguous: boolean, visit: SpanVisitor): void {
    const { grainBytes, tableSpanBytes } = this;
    const grainSectors = this.header.grainSizeSectors;
    // A whole grain (a stream: its marker) at an entry up to this lies inside the file; others get the exact check.
    const safeEntry = (this.disk.size - (this.isStream ? MARKER_HEAD_BYTES : grainBytes)) / SECTOR;
    for (let pos = start; pos < end; ) {
      const gdIndex = Math.floor(pos / tableSpanBytes);
      const table = this.tables.get(gdIndex);
      if (!table) {
        const holeEnd = Math.min(end, this.tables.nextTable(gdIndex + 1) * tableSpanBytes);
        visit(pos, holeEnd - pos, GTE_UNALLOCATED, 0);
        pos = holeEnd;
        continue;
      }
      const tableEnd = Math.min(end, (gdIndex + 1) * tableSpanBytes);
      const firstGrain = gdIndex * this.header.numGTEsPerGT;
      // Entries are small integers: the loops below step through them, not through byte offsets.
      const endEntry = Math.ceil(tableEnd / grainBytes) - firstGrain;
      let entry = Math.floor(pos / grainBytes) - firstGrain;
      // A table with nothing in a long range (a hole in a disk whose tables were made up front) is one memcmp.
      if (endEntry - entry >= MEMCMP_MIN_ENTRIES && isAllZero(new Uint8Array(table.buffer, table.byteOffset + entry * 4, (endEntry - entry) * 4))) {
        visit(pos, tableEnd - pos, GTE_UNALLOCATED, 0);
        pos = tableEnd;
        continue;
      }
      while (entry < endEntry) {
        const gte = table[entry] ?? GTE_UNALLOCATED;
        const withinGrain = pos - (firstGrain + entry) * grainBytes;
        let next = entry + 1;
        if (gte <= GTE_ZERO_GRAIN) {
          while (next < endEntry && table[next] === gte) next++;
        } else {
          this.assertGrainInFile(firstGrain + entry, gte, withinGrain, Math.min(tableEnd, (firstGrain + next) * grainBytes) - pos);
          for (let expected = gte + grainSectors; next < endEntry; next++) {
            const nextGte = table[next] ?? GTE_UNALLOCATED;
            if (nextGte <= GTE_ZERO_GRAIN || nextGte > safeEntry || (contiguous && nextGte !== expected)) break;
            expected = nextGte + grainSectors;
          }
        }
        const spanEnd = Math.min(tableEnd, (firstGrain + next) * grainBytes);
        visit(pos, spanEnd - pos, gte, gte * SECTOR + withinGrain);
        pos = spanEnd;
        entry = next;
      }
    }
  }

  blockStatus(offset: number, length: number, backing = false): Run[] {
    const runs: Run[] = [];
    // Compressed grains have no position their bytes can be copied from.
    const positions = backing && !this.stream;
    const start = Math.max(0, offset);
    const end = Math.min(this.sizeBytes, offset + length);
    this.walkSpans(start, end, positions, (pos, spanLength, gte, filePosition) => {
      const state = stateOf(gte);
      pushRun(runs, pos, spanLength, state, positions && state === 'data' ? { file: this.file, position: filePosition } : undefined);
    });
    return runs;
  }

  read(buf: Buffer, offset: number): void {
    assertInsideExtent(this.file, this.sizeBytes, offset, buf.length);
    if (this.stream) {
      this.readStream(this.stream, buf, offset);
      return;
    }
    const reads = new CoalescedReads(this.disk, buf, offset);
    this.walkSpans(offset, offset + buf.length, true, (pos, length, gte, filePosition) => {
      if (gte <= GTE_ZERO_GRAIN) reads.zeros(pos, length);
      else reads.data(pos, filePosition, length);
    });
    reads.flush();
  }

  private readStream(stream: StreamGrains, buf: Buffer, offset: number): void {
    this.walk(offset, offset + buf.length, (pos, length, gte, grain) => {
      const target = pos - offset;
      if (gte <= GTE_ZERO_GRAIN) {
        buf.fill(0, target, target + length);
        return;
      }
      const data = stream.grain(grain, gte);
      const withinGrain = pos - grain * this.grainBytes;
      const copied = withinGrain < data.length ? data.copy(buf, target, withinGrain, withinGrain + length) : 0;
      // A short last grain: whatever it lacks lies past the capacity, but keep the buffer defined anyway.
      if (copied < length) buf.fill(0, target + copied, target + length);
    });
  }

  /** Hosted: the grain bytes must be in the file. Stream: at least the marker must be. */
  private assertGrainInFile(grain: number, gte: number, withinGrain: number, length: number): void {
    const needed = this.isStream ? gte * SECTOR + MARKER_HEAD_BYTES : gte * SECTOR + withinGrain + length;
    if (needed <= this.disk.size) return;
    throw formatError(
      this.file,
      `truncated: ${describeGrain(grain, this.header)} at sector ${gte} lies past the end of the file (${this.disk.size} bytes)`,
      gte * SECTOR,
    );
  }

  /**
   * Grains the tables map to data, times the grain size. A table or grain past the end of the file
   * (a truncated copy) makes the count meaningless, so it fails with E_FORMAT like a read of that grain
   * would; check() describes the same damage without throwing.
   */
  allocatedBytes(): number {
    if (this.allocatedMemo !== undefined) return this.allocatedMemo;
    const fromSize = this.grainsFromFileSize();
    if (fromSize !== undefined) {
      this.allocatedMemo = fromSize * this.grainBytes;
      return this.allocatedMemo;
    }
    return this.countAllocatedBytes();
  }

  /**
   * A table past the end of the file loses its whole range; a grain past it (hosted: its bytes,
   * stream: its marker, or the last grain's compressed bytes) loses that grain. Every table is
   * read, whatever the size of the disk, in bounded chunks (forEachTable).
   */
  lostRanges(): LostRange[] {
    if (this.lostMemo) return this.lostMemo;
    const lostTables: LostRange[] = [];
    const count = this.tables.mayHaveProblems() ? this.tables.count : 0;
    for (let gdIndex = 0; gdIndex < count; gdIndex++) {
      if (!this.tables.problem(gdIndex)) continue;
      const spanStart = gdIndex * this.tableSpanBytes;
      pushLost(lostTables, spanStart, Math.min(this.tableSpanBytes, this.sizeBytes - spanStart));
    }
    const lostGrains: LostRange[] = [];
    let lastGrain: { grain: number; sector: number } | null = null;
    // Past this sector a hosted grain cannot be whole: one comparison per entry for the common case.
    const lastWholeSector = (this.disk.size - this.grainBytes) / SECTOR;
    this.tables.forEachTable((gdIndex, table) => {
      // A hosted table whose largest entry names a whole grain loses nothing: one native max instead
      // of a loop over its 512 entries (most of the verdict's time at open, before V8 optimises it).
      if (!this.isStream && largest(table) <= lastWholeSector) return;
      const firstGrain = gdIndex * this.header.numGTEsPerGT;
      const limit = Math.min(table.length, this.numGrains - firstGrain);
      for (let i = 0; i < limit; i++) {
        const gte = table[i]!;
        if (gte <= GTE_ZERO_GRAIN || (!this.isStream && gte <= lastWholeSector)) continue;
        const grain = firstGrain + i;
        const start = grain * this.grainBytes;
        const length = Math.min(this.grainBytes, this.sizeBytes - start);
        const needed = this.isStream ? gte * SECTOR + MARKER_HEAD_BYTES : gte * SECTOR + length;
        if (needed > this.disk.size) pushLost(lostGrains, start, length);
        else if (this.isStream && (!lastGrain || gte > lastGrain.sector)) lastGrain = { grain, sector: gte };
      }
    });
    const lost = mergeLost(lostTables, lostGrains);
    // A stream cut inside its last grain: the marker is there, its compressed bytes are not.
    if (lastGrain !== null) {
      const { grain, sector } = lastGrain;
      if (this.lastGrainCut(sector)) {
        const start = grain * this.grainBytes;
        insertLost(lost, start, Math.min(this.grainBytes, this.sizeBytes - start));
      }
    }
    this.lostMemo = lost;
    return lost;
  }

  private lastGrainCut(sector: number): boolean {
    const head = Buffer.alloc(MARKER_HEAD_BYTES);
    if (this.disk.readAtMost(head, sector * SECTOR) < MARKER_HEAD_BYTES) return true;
    return sector * SECTOR + MARKER_HEAD_BYTES + head.readUInt32LE(8) > this.disk.size;
  }

  /** The exact count: every grain table is read (128 MiB of tables for a 2 TiB disk). */
  countAllocatedBytes(): number {
    let grains = 0;
    if (!this.hasNoGrainArea()) {
      for (let gdIndex = this.tables.nextTable(0); gdIndex < this.tables.count; gdIndex = this.tables.nextTable(gdIndex + 1)) {
        const table = this.tables.get(gdIndex);
        if (table) grains += this.countDataGrains(gdIndex, table);
      }
    }
    this.allocatedMemo = grains * this.grainBytes;
    return this.allocatedMemo;
  }

  private countDataGrains(gdIndex: number, table: Uint32Array): number {
    const firstGrain = gdIndex * this.header.numGTEsPerGT;
    const limit = Math.min(table.length, this.numGrains - firstGrain);
    let count = 0;
    for (let entry = 0; entry < limit; entry++) {
      const gte = table[entry] ?? 0;
      if (gte <= GTE_ZERO_GRAIN) continue;
      count++;
      // Cheap test first: only grains near the end of the file need the exact one.
      if (gte * SECTOR + this.grainBytes > this.disk.size) {
        const grain = firstGrain + entry;
        this.assertGrainInFile(grain, gte, 0, Math.min(this.grainBytes, this.sizeBytes - grain * this.grainBytes));
      }
    }
    return count;
  }

  /**
   * A hosted file that ends where its metadata ends holds no grain: any data GTE would point into
   * metadata or past the end. Knowing this spares reading every table of a freshly created huge disk:
   * 128 MiB of preallocated, all-zero tables for 2 TiB, slow from a cold cache. (A copy cut exactly
   * there reads as empty here; read() and check() still find its lost grains.)
   */
  /**
   * VMware and QEMU preallocate every table before `overHead` and append grains, grain-aligned,
   * behind it: in such a file the grain count follows from its size, which spares `info` reading
   * every table of a huge disk. Anything else (tables elsewhere, streams) is counted exactly;
   * check() compares both and reports grains no table points to.
   */
  private grainsFromFileSize(): number | undefined {
    if (this.isStream || !(this.tables instanceof DirectoryTables)) return undefined;
    // Small disks are counted exactly: it is cheap, and it notices a copy cut short.
    if (this.tables.count * this.header.numGTEsPerGT * 4 < SIZE_SHORTCUT_MIN_TABLE_BYTES) return undefined;
    const grainArea = this.header.overheadSectors * SECTOR;
    if (grainArea % this.grainBytes !== 0 || this.disk.size < grainArea) return undefined;
    const gtBytes = this.header.numGTEsPerGT * 4;
    if (this.tables.hasEmptyEntries || this.tables.lastSector * SECTOR + gtBytes > grainArea) return undefined;
    return Math.ceil((this.disk.size - grainArea) / this.grainBytes);
  }

  private hasNoGrainArea(): boolean {
    if (this.isStream || !(this.tables instanceof DirectoryTables)) return false;
    const gtBytes = this.header.numGTEsPerGT * 4;
    const tablesEnd = this.tables.lastSector * SECTOR + gtBytes;
    // A table past the end is damage: no shortcut, so that the full count reports it.
    if (tablesEnd > this.disk.size) return false;
    return this.disk.size <= Math.max(this.header.overheadSectors * SECTOR, tablesEnd);
  }

  check(): Problem[] {
    const problems = new SparseChecker(this.disk, this.index, this.stream).run();
    const fromSize = this.grainsFromFileSize();
    if (fromSize !== undefined && problems.every((p) => p.severity !== 'error')) {
      const counted = this.countAllocatedBytes() / this.grainBytes;
      if (counted !== fromSize) {
        problems.push({
          severity: 'warning',
          file: this.disk.path,
          location: 'grain area',
          message: `the file holds ${fromSize} grains after its metadata but its tables point to ${counted}: ${fromSize - counted} grains are not used (leaked space)`,
        });
      }
    }
    return problems;
  }

  close(): void {
    this.tables.clear();
    this.stream?.clear();
    this.disk.close();
  }
}

function stateOf(gte: number): RunState {
  if (gte === GTE_UNALLOCATED) return 'unallocated';
  return gte === GTE_ZERO_GRAIN ? 'zero' : 'data';
}

function describeGrain(grain: number, header: SparseHeader): string {
  return `grain ${grain} (LBA ${grain * header.grainSizeSectors})`;
}

// ---------------------------------------------------------------------------------------------
// Compressed grains

interface GrainMarker {
  lba: bigint;
  compressedBytes: number;
}

/** Reads and inflates stream grains, keeping the last one: sequential readers hit each grain many times. */
class StreamGrains {
  private scratch = Buffer.alloc(0);
  private cachedGrain = -1;
  private cachedData: Buffer | undefined;
  private readonly grainBytes: number;

  constructor(
    private readonly disk: DiskFile,
    private readonly header: SparseHeader,
  ) {
    this.grainBytes = header.grainSizeSectors * SECTOR;
  }

  grain(grain: number, sector: number): Buffer {
    if (grain === this.cachedGrain && this.cachedData) return this.cachedData;
    const compressed = this.readCompressed(grain, sector);
    const data = this.inflate(grain, sector, compressed);
    this.cachedGrain = grain;
    this.cachedData = data;
    return data;
  }

  /** Why the marker of `grain` at `sector` is not a valid grain marker, or undefined. */
  markerProblem(grain: number, sector: number, marker: GrainMarker): string | undefined {
    const lba = grain * this.header.grainSizeSectors;
    const where = `grain at LBA ${lba} (marker at sector ${sector})`;
    if (marker.lba !== BigInt(lba)) return `${where}: the marker names LBA ${marker.lba} instead`;
    if (marker.compressedBytes === 0 || marker.compressedBytes > 2 * this.grainBytes) {
      return `${where}: compressed size of ${marker.compressedBytes} bytes is not plausible for a ${this.grainBytes}-byte grain`;
    }
    const end = sector * SECTOR + MARKER_HEAD_BYTES + marker.compressedBytes;
    if (end > this.disk.size) {
      return `truncated: ${where}: its ${marker.compressedBytes} compressed bytes run past the end of the file (${this.disk.size} bytes)`;
    }
    return undefined;
  }

  private readCompressed(grain: number, sector: number): Buffer {
    const position = sector * SECTOR;
    const available = Math.min(SPECULATIVE_GRAIN_READ, this.disk.size - position);
    if (available < MARKER_HEAD_BYTES) {
      const lba = grain * this.header.grainSizeSectors;
      throw formatError(this.disk.path, `truncated: grain at LBA ${lba} (marker at sector ${sector}) lies past the end of the file (${this.disk.size} bytes)`);
    }
    const head = this.scratchOf(available);
    this.disk.readAt(head, position, 'grain marker');
    const marker = { lba: head.readBigUInt64LE(0), compressedBytes: head.readUInt32LE(8) };
    const problem = this.markerProblem(grain, sector, marker);
    if (problem) throw formatError(this.disk.path, problem);
    const total = MARKER_HEAD_BYTES + marker.compressedBytes;
    if (total > available) {
      const whole = this.scratchOf(total);
      this.disk.readAt(whole.subarray(available, total), position + available, 'compressed grain');
    }
    return this.scratch.subarray(MARKER_HEAD_BYTES, total);
  }

  /** A scratch buffer of at least `length` bytes, keeping what it holds when it grows. */
  private scratchOf(length: number): Buffer {
    if (this.scratch.length < length) {
      const bigger = Buffer.alloc(Math.max(length, SPECULATIVE_GRAIN_READ));
      this.scratch.copy(bigger);
      this.scratch = bigger;
    }
    return this.scratch.subarray(0, length);
  }

  private inflate(grain: number, sector: number, compressed: Buffer): Buffer {
    const lba = grain * this.header.grainSizeSectors;
    const where = `grain at LBA ${lba} (marker at sector ${sector})`;
    let data: Buffer;
    try {
      // maxOutputLength keeps a hostile grain from inflating to gigabytes; a chunk a little larger than
      // the grain makes zlib return its one output buffer instead of concatenating 16 KiB pieces.
      const options = { maxOutputLength: this.grainBytes, chunkSize: this.grainBytes + 1024 };
      data = looksLikeZlib(compressed) ? zlib().inflateSync(compressed, options) : zlib().inflateRawSync(compressed, options);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than the ${this.grainBytes}-byte grain` : (e as Error).message;
      throw formatError(this.disk.path, `${where}: compressed data is damaged: ${reason}`);
    }
    // The last grain of a disk whose capacity is not a grain multiple may inflate short (§3.3).
    const needed = Math.min(this.grainBytes, this.header.capacitySectors * SECTOR - lba * SECTOR);
    if (data.length !== this.grainBytes && data.length < needed) {
      throw formatError(this.disk.path, `${where}: inflates to ${data.length} bytes instead of ${this.grainBytes}`);
    }
    return data;
  }

  clear(): void {
    this.cachedData = undefined;
    this.cachedGrain = -1;
  }
}

/** Every producer writes zlib (RFC 1950) although the spec says deflate; raw deflate is the fallback (§3.3). */
function looksLikeZlib(data: Uint8Array): boolean {
  const cmf = data[0] ?? 0;
  const flg = data[1] ?? 0;
  return (cmf & 0x0f) === 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

// ---------------------------------------------------------------------------------------------
// check()

/** Structural checks: header, directory copies, table and grain locations, overlaps, stream markers. */
class SparseChecker {
  private readonly report: ProblemReport;
  private readonly usage: SectorUsage | undefined;
  private readonly header: SparseHeader;
  private readonly tables: GrainTables;
  private readonly gtSectors: number;

  constructor(
    private readonly disk: DiskFile,
    private readonly index: GrainIndex,
    private readonly stream: StreamGrains | undefined,
  ) {
    this.report = new ProblemReport(disk.path);
    this.usage = SectorUsage.forFile(disk.size);
    this.header = index.header;
    this.tables = index.tables;
    this.gtSectors = Math.ceil((this.header.numGTEsPerGT * 4) / SECTOR);
  }

  run(): Problem[] {
    for (const note of this.index.notes) this.report.add(note.severity, note.location, note.message);
    if (!this.usage) this.report.warning(undefined, 'file too large to check grains for overlaps; skipped that test');
    this.checkHeader();
    this.claimMetadata();
    this.checkTables();
    this.checkRedundantCopy();
    this.checkGrains();
    return this.report.problems();
  }

  private checkHeader(): void {
    const { uncleanShutdown, overheadSectors, flags, compressAlgorithm } = this.header;
    if (uncleanShutdown) {
      this.report.warning('header byte 72', 'the disk was not shut down cleanly (uncleanShutdown is set): its metadata may be inconsistent');
    }
    if (!this.stream && overheadSectors * SECTOR > this.disk.size) {
      this.report.warning('header byte 64', `the file (${this.disk.size} bytes) ends before the grain area starts at sector ${overheadSectors}`);
    }
    if (!(flags & FLAG_COMPRESSED) && compressAlgorithm !== 0) {
      this.report.warning('header byte 77', `compression algorithm ${compressAlgorithm} is set but grains are not compressed; ignored`);
    }
  }

  private claimMetadata(): void {
    const { descriptorOffsetSectors, descriptorSizeSectors, gdOffsetSectors, rgdOffsetSectors } = this.header;
    this.claim(0, 1, 'the header', 'header');
    if (descriptorOffsetSectors > 0) this.claim(descriptorOffsetSectors, descriptorSizeSectors, 'embedded descriptor', 'header byte 28');
    if (this.index.layout === 'stream-footer') this.claim(Math.floor(this.disk.size / SECTOR) - 3, 3, 'the footer', 'footer');
    if (this.index.layout === 'stream-scanned') return;
    const gdSectors = Math.ceil((this.tables.count * 4) / SECTOR);
    const inUse = this.header.redundantGDInUse ? rgdOffsetSectors : gdOffsetSectors;
    this.claim(inUse, gdSectors, 'grain directory', 'header byte 56');
    if (this.index.spareDirectorySector !== undefined) {
      this.claim(this.index.spareDirectorySector, gdSectors, 'redundant grain directory', 'header byte 48');
    }
  }

  private checkTables(): void {
    if (!(this.tables instanceof DirectoryTables)) return;
    for (let gdIndex = 0; gdIndex < this.tables.count; gdIndex++) {
      const sector = this.tables.sectorOf(gdIndex);
      if (sector === 0) continue;
      const problem = this.tables.problem(gdIndex);
      if (problem) this.report.error(`grain directory entry ${gdIndex}`, problem);
      else this.claim(sector, this.gtSectors, `grain table ${gdIndex}`, `grain directory entry ${gdIndex}`);
    }
  }

  /** GD and RGD must agree entry by entry, and each table must equal its copy (VirtualBox's open check, §2.4). */
  private checkRedundantCopy(): void {
    const spareSector = this.index.spareDirectorySector;
    if (spareSector === undefined || !(this.tables instanceof DirectoryTables)) return;
    const spare = new DirectoryTables(this.disk, readDirectory(this.disk, spareSector, this.tables.count), this.header.numGTEsPerGT);
    for (let gdIndex = 0; gdIndex < this.tables.count; gdIndex++) {
      this.compareCopies(gdIndex, this.tables, spare);
    }
  }

  private compareCopies(gdIndex: number, primary: DirectoryTables, spare: DirectoryTables): void {
    const location = `redundant grain directory entry ${gdIndex}`;
    const a = primary.sectorOf(gdIndex);
    const b = spare.sectorOf(gdIndex);
    if ((a === 0) !== (b === 0)) {
      this.report.error(location, `grain directory entry ${gdIndex} is ${a} but the redundant copy says ${b}`);
      return;
    }
    if (a === 0) return;
    if (a === b) {
      this.report.error(location, `grain directory and its redundant copy both point at sector ${a} for table ${gdIndex}`);
      return;
    }
    const problem = spare.problem(gdIndex);
    if (problem) {
      this.report.error(location, `redundant ${problem.replace(/^truncated: /, '')}`);
      return;
    }
    this.claim(b, this.gtSectors, `redundant grain table ${gdIndex}`, location);
    if (primary.problem(gdIndex)) return;
    const differs = firstDifference(primary.get(gdIndex), spare.get(gdIndex), this.header.numGTEsPerGT);
    if (differs !== undefined) {
      this.report.error(location, `grain table ${gdIndex} and its redundant copy differ (first at entry ${differs})`);
    }
  }

  private checkGrains(): void {
    let zeroedWithoutFlag = 0;
    const numGrains = grainCount(this.header);
    for (let gdIndex = this.tables.nextTable(0); gdIndex < this.tables.count; gdIndex = this.tables.nextTable(gdIndex + 1)) {
      if (this.tables.problem(gdIndex)) continue;
      const table = this.tables.get(gdIndex);
      if (!table) continue;
      const firstGrain = gdIndex * this.header.numGTEsPerGT;
      const limit = Math.min(table.length, numGrains - firstGrain);
      for (let entry = 0; entry < limit; entry++) {
        const gte = table[entry] ?? 0;
        if (gte === GTE_ZERO_GRAIN && !(this.header.flags & FLAG_ZEROED_GTE)) zeroedWithoutFlag++;
        if (gte <= GTE_ZERO_GRAIN) continue;
        const location = this.index.layout === 'stream-scanned' ? undefined : `grain table ${gdIndex} entry ${entry}`;
        if (this.stream) this.checkCompressedGrain(firstGrain + entry, gte, location);
        else this.checkHostedGrain(firstGrain + entry, gte, location);
      }
    }
    if (zeroedWithoutFlag > 0 && !this.stream) {
      this.report.warning('header byte 8', `${zeroedWithoutFlag} grain table entries are 1 (zeroed grain) although flags bit 2 is clear; they read as zeros`);
    }
  }

  private checkHostedGrain(grain: number, gte: number, location: string | undefined): void {
    const sectors = Math.min(this.header.grainSizeSectors, this.header.capacitySectors - grain * this.header.grainSizeSectors);
    if ((gte + sectors) * SECTOR > this.disk.size) {
      this.report.error(location, `${describeGrain(grain, this.header)} at sector ${gte} lies past the end of the file (${this.disk.size} bytes)`, gte * SECTOR);
      return;
    }
    this.claim(gte, sectors, describeGrain(grain, this.header), location);
  }

  /**
   * Marker fields, the zlib header, and the grain inflated: whatever a read of the grain would
   * fail on (a bad checksum, a short grain), check says too, at the cost of a read of the stream.
   */
  private checkCompressedGrain(grain: number, sector: number, location: string | undefined): void {
    const stream = this.stream;
    if (!stream) return;
    const head = Buffer.alloc(MARKER_HEAD_BYTES + 2);
    const got = this.disk.readAtMost(head, sector * SECTOR);
    const lba = grain * this.header.grainSizeSectors;
    if (got < MARKER_HEAD_BYTES) {
      this.report.error(location, `truncated: grain at LBA ${lba} (marker at sector ${sector}) lies past the end of the file (${this.disk.size} bytes)`, sector * SECTOR);
      return;
    }
    const marker = { lba: head.readBigUInt64LE(0), compressedBytes: head.readUInt32LE(8) };
    const problem = stream.markerProblem(grain, sector, marker);
    if (problem) {
      this.report.error(location, problem, sector * SECTOR);
      return;
    }
    const data = head.subarray(MARKER_HEAD_BYTES);
    if (!looksLikeZlib(data)) {
      this.report.warning(location, `grain at LBA ${lba} (marker at sector ${sector}) does not start with a zlib header (${data.toString('hex')}); read as raw deflate`);
    }
    try {
      stream.grain(grain, sector);
    } catch (e) {
      if (!(e instanceof DiskchainError)) throw e;
      this.report.error(location, e.message, sector * SECTOR);
      return;
    }
    const sectors = Math.ceil((MARKER_HEAD_BYTES + marker.compressedBytes) / SECTOR);
    this.claim(sector, sectors, `grain at LBA ${lba}`, location);
  }

  private claim(sector: number, count: number, what: string, location: string | undefined): void {
    if (!this.usage || count <= 0) return;
    if (!this.usage.claim(sector, count)) {
      this.report.error(location, `${what} at sector ${sector} overlaps metadata or a grain stored at the same place`, sector * SECTOR);
    }
  }
}

function firstDifference(a: Uint32Array | undefined, b: Uint32Array | undefined, entries: number): number | undefined {
  for (let i = 0; i < entries; i++) {
    if ((a?.[i] ?? 0) !== (b?.[i] ?? 0)) return i;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** The words at `offset` of `bytes` without a copy where the host allows it (little-endian, aligned). */
function wordsView(bytes: Buffer, offset: number, count: number): Uint32Array {
  const at = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && at % 4 === 0) return new Uint32Array(bytes.buffer, at, count);
  return littleEndianWords(bytes.subarray(offset), count);
}

/** Two ordered lists of disjoint lost ranges as one ordered list. */
function mergeLost(a: readonly LostRange[], b: readonly LostRange[]): LostRange[] {
  const out: LostRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]!.offset < b[j]!.offset) ? a[i++]! : b[j++]!;
    pushLost(out, next.offset, next.length);
  }
  return out;
}

/** Puts a lost range in order (the last stream grain may lie anywhere on the disk). */
function insertLost(lost: LostRange[], offset: number, length: number): void {
  if (lost.some((r) => r.offset <= offset && r.offset + r.length >= offset + length)) return;
  lost.push({ offset, length });
  lost.sort((a, b) => a.offset - b.offset);
}

/** The largest word of `words`, by Math.max over pieces (a call's arguments are bounded). */
function largest(words: Uint32Array): number {
  let max = 0;
  for (let i = 0; i < words.length; i += 4096) max = Math.max(max, Math.max.apply(null, words.subarray(i, i + 4096) as unknown as number[]));
  return max;
}
