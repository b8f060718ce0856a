/**
 * A VMFS-3/5/6 file system on its logical volume, read-only: FDs, directories, file data through
 * every address type (vmfs.md §3.4–3.8). Every count and offset is checked before use; damage is a
 * DiskchainError naming the structure and the volume byte.
 */
import { DiskchainError } from '../../shared/errors.js';
import { deviceRun, type BlockDevice } from '../guest/block-device.js';
import type { HostRegion } from '../io/file-source.js';
import { ADDR_FB, ADDR_FD, ADDR_LFB, ADDR_PB, ADDR_PB2, ADDR_SB, address32, address64, fdAddress, makeFdAddress, TYPE_NAMES, type Address } from './address.js';
import {
  CONFIG_DENSE_SBPC,
  FD_TYPE,
  fdLayout,
  parseFd,
  ZLA_DIRECT,
  ZLA_DOUBLE,
  ZLA_POINTER,
  ZLA_POINTER2,
  ZLA_RESIDENT,
  ZLA_SUBBLOCK,
  type FdLayout,
  type FileDescriptor,
  type FsDescriptor,
} from './descriptor.js';
import { readScsiId } from './lvm.js';
import { clusterHeaderOffset, parseResourceHeader, RESOURCE_HEADER_BYTES, resourceOffset, type ResourceGeometry } from './resource.js';
import { textField } from './text.js';
import type { VmfsEntry, VmfsEntryType } from './types.js';

const MiB = 1024 * 1024;

/** Appends a region, merged with the last when it continues it (in the file and, if placed, in the host file). */
function pushHostRegion(out: HostRegion[], region: HostRegion): void {
  const last = out[out.length - 1];
  if (last && last.end === region.start) {
    const unplaced = last.position === undefined && region.position === undefined;
    const continues = last.position !== undefined && last.file === region.file && last.position + (last.end - last.start) === region.position;
    if (unplaced || continues) {
      last.end = region.end;
      return;
    }
  }
  out.push(region);
}
export const ROOT_FD = makeFdAddress(0, 0);
const SYSTEM_FD = { fbb: makeFdAddress(0, 1), fdc: makeFdAddress(0, 2), pbc: makeFdAddress(0, 3), sbc: makeFdAddress(0, 4), pb2: makeFdAddress(0, 6) };
const DIRENT_V5 = 0x8c;
const DIRENT_V6 = 0x120;
const V6_DIR_HEADER = 0x10000;
const V6_BLOCK_HEADER = 0x40;
/** A directory bigger than this is damage, not a folder (a VMFS folder holds at most ~100,000 files). */
const MAX_DIR_BYTES = 256 * MiB;
const MAX_SYMLINK = 4096;
const MAX_PB_BYTES = MiB;

/** A run of a file: `length` bytes at `volumeOffset`, or zeros (a hole, or lazy-zeroed) when null. */
export interface FileRun {
  volumeOffset: number | null;
  length: number;
}

interface SystemFile {
  fd: FileDescriptor;
  geometry: ResourceGeometry;
}

export class VmfsVolume {
  readonly layout: FdLayout;
  readonly fdc: SystemFile;
  private readonly systemFiles = new Map<string, SystemFile>();
  private readonly fdCache = new Map<number, FileDescriptor>();
  private readonly pbCache = new Map<string, Buffer>();
  private readonly dirCache = new Map<number, VmfsEntry[]>();
  private readonly loading = new Set<string>();
  readonly denseSbpc: boolean;

  constructor(
    /** The logical volume: byte 0 is the volume's first byte (the FS descriptor is at +2 MiB). */
    readonly device: BlockDevice,
    readonly fs: FsDescriptor,
    readonly name: string,
  ) {
    this.layout = fdLayout(fs.family, fs.mdAlignment);
    this.denseSbpc = (fs.config & CONFIG_DENSE_SBPC) !== 0;
    this.fdc = this.bootstrapFdc();
  }

  get family(): 3 | 5 | 6 {
    return this.fs.family;
  }

  private error(message: string, offset?: number): DiskchainError {
    return new DiskchainError('E_FORMAT', message, this.device.file, offset);
  }

  private readVolume(buf: Buffer, offset: number): void {
    this.device.read(buf, offset);
  }

  /**
   * The FD of .fdc.sf is found before anything else is open: its first block sits right after the
   * heartbeats (4 MiB, rounded up to a block; VMFS-6: mdAlignment × 1024 + 3 MiB, rounded up to 1 MiB).
   */
  private bootstrapFdc(): SystemFile {
    const fbs = this.fs.fileBlockSize;
    const base = this.family === 6 ? Math.ceil((this.fs.mdAlignment * 1024 + 3 * MiB) / MiB) * MiB : Math.max(1, Math.floor((4 * MiB) / fbs)) * fbs;
    if (base + fbs > this.device.size) throw this.error(`the volume (${this.device.size} bytes) ends before its FD cluster file at ${base}`, base);
    const header = Buffer.alloc(RESOURCE_HEADER_BYTES);
    this.readVolume(header, base);
    const geometry = parseResourceHeader(header, '.fdc.sf', this.clusterHeaderSize(), this.family, this.device.file, base);
    if (geometry.resourceSize < this.layout.size) throw this.error(`.fdc.sf resources are ${geometry.resourceSize} bytes, an FD needs ${this.layout.size}`, base + 0x0c);
    const a = fdAddress(SYSTEM_FD.fdc);
    const at = base + resourceOffset(geometry, a.cluster, a.resource, this.device.file);
    if (at + this.layout.size > base + fbs) throw this.error(`the FD of .fdc.sf (at ${at}) lies outside the file's first block`, at);
    const fd = this.parseFdAt(SYSTEM_FD.fdc, at);
    return { fd, geometry };
  }

  private clusterHeaderSize(): number {
    return this.family === 6 ? 2 * this.fs.mdAlignment : 1024;
  }

  private parseFdAt(address: number, volumeOffset: number): FileDescriptor {
    const raw = Buffer.alloc(this.layout.size);
    this.readVolume(raw, volumeOffset);
    return parseFd(raw, this.layout, address, volumeOffset, this.device.file);
  }

  /** The FD at an FD address (type 4), read through .fdc.sf. */
  readFd(address: number): FileDescriptor {
    const cached = this.fdCache.get(address);
    if (cached) return cached;
    const a = fdAddress(address);
    if (a.type !== ADDR_FD) throw this.error(`<0x${address.toString(16)}> is a ${TYPE_NAMES[a.type] ?? 'null'} address, not an FD address`);
    const offset = resourceOffset(this.fdc.geometry, a.cluster, a.resource, this.device.file);
    const raw = this.readSystemBytes(this.fdc.fd, offset, this.layout.size, '.fdc.sf');
    const fd = parseFd(raw, this.layout, address, this.volumeByte(this.fdc.fd, offset), this.device.file);
    // Bounded: 1,024 FDs are 2 MiB on VMFS-5, 8 MiB on VMFS-6.
    if (this.fdCache.size >= 1024) this.fdCache.clear();
    this.fdCache.set(address, fd);
    return fd;
  }

  /** Bytes of a system file (a header, an FD, a pointer block), wherever its blocks put them; a hole there is damage. */
  private readSystemBytes(fd: FileDescriptor, offset: number, length: number, what: string): Buffer {
    const buf = Buffer.alloc(length);
    for (let at = offset; at < offset + length; ) {
      const run = this.locate(fd, at);
      if (run.volumeOffset === null || run.length <= 0) throw this.error(`${what}: byte ${at} of the file is ${run.length <= 0 ? 'past its end' : 'a hole'}`, fd.volumeOffset);
      const n = Math.min(run.length, offset + length - at);
      this.readVolume(buf.subarray(at - offset, at - offset + n), run.volumeOffset);
      at += n;
    }
    return buf;
  }

  /** The volume byte where byte `offset` of a file is, for messages (-1 in a hole). */
  private volumeByte(fd: FileDescriptor, offset: number): number {
    return this.locate(fd, offset).volumeOffset ?? -1;
  }

  private systemFile(key: 'fbb' | 'pbc' | 'sbc' | 'pb2', name: string): SystemFile {
    const known = this.systemFiles.get(key);
    if (known) return known;
    // Reading a system file's FD goes through .fdc.sf, whose blocks may be sub-blocks: a loop is damage.
    if (this.loading.has(key)) throw this.error(`${name}: the system files' blocks refer to each other in a loop`);
    this.loading.add(key);
    try {
      const fd = this.readFd(SYSTEM_FD[key]);
      const header = this.readSystemBytes(fd, 0, RESOURCE_HEADER_BYTES, name);
      const file = { fd, geometry: parseResourceHeader(header, name, this.clusterHeaderSize(), this.family, this.device.file, this.volumeByte(fd, 0)) };
      this.systemFiles.set(key, file);
      return file;
    } finally {
      this.loading.delete(key);
    }
  }

  private decode(raw: bigint | number): Address {
    return typeof raw === 'bigint' ? address64(raw) : address32(raw, this.denseSbpc);
  }

  private arrayEntry(fd: FileDescriptor, index: number): bigint | number {
    const l = this.layout;
    if (index >= l.arrayEntries) throw this.error(`FD <0x${fd.address.toString(16)}>: block ${index} lies past its block array (${l.arrayEntries} entries)`, fd.volumeOffset);
    const at = l.arrayOffset + index * l.entryBytes;
    return l.entryBytes === 8 ? fd.raw.readBigUInt64LE(at) : fd.raw.readUInt32LE(at);
  }

  /** A pointer block's bytes (cached: a big file's PBs are read once per pass, not once per block). */
  private pointerBlock(a: Address): Buffer {
    const key = `${a.type}:${a.cluster}:${a.resource}`;
    const cached = this.pbCache.get(key);
    if (cached) return cached;
    let file: SystemFile;
    if (a.type === ADDR_PB2) file = this.systemFile('pb2', '.pb2.sf');
    else if (this.family === 6) file = this.systemFile('sbc', '.sbc.sf'); // VMFS-6 keeps pointer blocks in sub-blocks
    else file = this.systemFile('pbc', '.pbc.sf');
    // Pointer blocks are 4 KiB (VMFS-3/5) or 64 KiB (VMFS-6): a bigger resource is damage, not a buffer to allocate.
    if (file.geometry.resourceSize > MAX_PB_BYTES) throw this.error(`${file.geometry.name}: ${file.geometry.resourceSize}-byte resources cannot be pointer blocks`, file.fd.volumeOffset);
    const offset = resourceOffset(file.geometry, a.cluster, a.resource, this.device.file);
    const buf = this.readSystemBytes(file.fd, offset, file.geometry.resourceSize, file.geometry.name);
    if (this.pbCache.size >= 64) this.pbCache.delete(this.pbCache.keys().next().value!);
    this.pbCache.set(key, buf);
    return buf;
  }

  private pbEntry(pb: Buffer, index: number): bigint | number {
    return this.layout.entryBytes === 8 ? pb.readBigUInt64LE(index * 8) : pb.readUInt32LE(index * 4);
  }

  private pointersPerPb(): number {
    const file = this.family === 6 ? this.systemFile('sbc', '.sbc.sf') : this.systemFile('pbc', '.pbc.sf');
    return Math.floor(file.geometry.resourceSize / this.layout.entryBytes);
  }

  /** The block size a file's array indexes by: its own, checked, or the natural one of its ZLA. */
  blockSizeOf(fd: FileDescriptor): number {
    const natural = fd.zla === ZLA_SUBBLOCK ? this.fs.subBlockSize : this.fs.fileBlockSize;
    const bs = fd.blockSize;
    if (bs === 0) return natural;
    if (bs < 512 || bs > 2 ** 40 || !Number.isInteger(Math.log2(bs))) {
      throw this.error(`FD <0x${fd.address.toString(16)}>: block size ${bs} is not a power of two from 512 bytes to 1 TiB`, fd.volumeOffset + this.layout.metadata + 0x1c);
    }
    return bs;
  }

  /**
   * The address of block `index` of a file, through its pointer blocks, and how many blocks from
   * `index` on share its fate when it is a hole (a missing PB covers all of its blocks).
   */
  private blockAddress(fd: FileDescriptor, index: number): { raw: bigint | number; holeBlocks: number } {
    switch (fd.zla) {
      case ZLA_DIRECT:
      case ZLA_SUBBLOCK:
        return { raw: this.arrayEntry(fd, index), holeBlocks: 1 };
      case ZLA_POINTER:
      case ZLA_POINTER2: {
        const per = this.pointersPerPb();
        const pbRaw = this.arrayEntry(fd, Math.floor(index / per));
        if (isZero(pbRaw)) return { raw: 0, holeBlocks: per - (index % per) };
        const pb = this.pointerBlock(this.checkPb(this.decode(pbRaw), fd));
        return { raw: this.pbEntry(pb, index % per), holeBlocks: 1 };
      }
      case ZLA_DOUBLE: {
        const per = this.pointersPerPb();
        const top = this.arrayEntry(fd, Math.floor(index / (per * per)));
        if (isZero(top)) return { raw: 0, holeBlocks: per * per - (index % (per * per)) };
        const pb1 = this.pointerBlock(this.checkPb(this.decode(top), fd));
        const mid = this.pbEntry(pb1, Math.floor(index / per) % per);
        if (isZero(mid)) return { raw: 0, holeBlocks: per - (index % per) };
        const pb2 = this.pointerBlock(this.checkPb(this.decode(mid), fd));
        return { raw: this.pbEntry(pb2, index % per), holeBlocks: 1 };
      }
      default:
        throw this.error(`FD <0x${fd.address.toString(16)}>: unknown zero-level address type ${fd.zla}`, fd.volumeOffset + this.layout.metadata + 0x44);
    }
  }

  private checkPb(a: Address, fd: FileDescriptor): Address {
    if (a.type !== ADDR_PB && a.type !== ADDR_PB2) throw this.error(`FD <0x${fd.address.toString(16)}>: a ${TYPE_NAMES[a.type] ?? `type-${a.type}`} address where a pointer block belongs`, fd.volumeOffset);
    return a;
  }

  /**
   * Where byte `offset` of a file is: a run of volume bytes or of zeros, ending at the end of its
   * block (or of a hole spanning several), never past the file's length.
   */
  locate(fd: FileDescriptor, offset: number): FileRun {
    const rest = fd.length - offset;
    if (rest <= 0) return { volumeOffset: null, length: 0 };
    if (fd.zla === ZLA_RESIDENT) throw this.error(`FD <0x${fd.address.toString(16)}>: resident data has no volume bytes`, fd.volumeOffset);
    const bs = this.blockSizeOf(fd);
    const index = Math.floor(offset / bs);
    const within = offset - index * bs;
    const { raw, holeBlocks } = this.blockAddress(fd, index);
    if (isZero(raw)) return { volumeOffset: null, length: Math.min(rest, holeBlocks * bs - within) };
    const a = this.decode(raw);
    switch (a.type) {
      case ADDR_FB:
      case ADDR_LFB: {
        const unit = a.type === ADDR_LFB ? this.fs.fileBlockSize * 2 ** this.fs.sfbToLfbShift : this.fs.fileBlockSize;
        const block = this.family === 6 && a.type === ADDR_FB ? a.cluster * this.sfbPerCluster() + a.resource : a.cluster;
        const start = block * unit;
        if (bs > unit) throw this.error(`FD <0x${fd.address.toString(16)}>: ${bs}-byte blocks held in ${unit}-byte ${TYPE_NAMES[a.type]}s`, fd.volumeOffset);
        if (start + unit > this.device.size) throw this.error(`FD <0x${fd.address.toString(16)}>: block ${index} is ${TYPE_NAMES[a.type]} ${block}, past the end of the volume`, fd.volumeOffset);
        const length = Math.min(rest, bs - within);
        if (a.tbz !== 0) {
          // Lazy-zeroed: the marked eighths of the block were never written and read as zeros.
          const eighth = unit / 8;
          const part = Math.floor(within / eighth);
          const zero = ((a.tbz >> part) & 1) === 1;
          const runEnd = Math.min(length, (part + 1) * eighth - within);
          return { volumeOffset: zero ? null : start + within, length: runEnd };
        }
        return { volumeOffset: start + within, length };
      }
      case ADDR_SB: {
        const sbc = this.systemFile('sbc', '.sbc.sf');
        const size = sbc.geometry.resourceSize;
        if (within >= size) throw this.error(`FD <0x${fd.address.toString(16)}>: byte ${within} of a ${size}-byte sub-block`, fd.volumeOffset);
        // The sub-block's bytes through .sbc.sf's own blocks: a run ends where that file's block does.
        const run = this.locate(sbc.fd, resourceOffset(sbc.geometry, a.cluster, a.resource, this.device.file) + within);
        if (run.volumeOffset === null || run.length <= 0) throw this.error(`.sbc.sf: sub-block ${a.resource} of cluster ${a.cluster} lies in a hole of the file`, sbc.fd.volumeOffset);
        return { volumeOffset: run.volumeOffset, length: Math.min(rest, bs - within, size - within, run.length) };
      }
      default:
        throw this.error(`FD <0x${fd.address.toString(16)}>: block ${index} has a ${TYPE_NAMES[a.type] ?? `type-${a.type}`} address (0x${raw.toString(16)}), not a data block`, fd.volumeOffset);
    }
  }

  /**
   * SFBs per .fbb.sf cluster on VMFS-6: a cluster of small file blocks is one large file block
   * (512 at 1 MiB blocks). Taken from the FS descriptor, not from .fbb.sf, whose own blocks are SFBs.
   */
  private sfbPerCluster(): number {
    return 2 ** this.fs.sfbToLfbShift;
  }

  /** Reads a file's bytes at `offset` into buf; returns the count (less only at the end). */
  readFile(fd: FileDescriptor, buf: Buffer, offset: number): number {
    const want = Math.max(0, Math.min(buf.length, fd.length - offset));
    if (fd.zla === ZLA_RESIDENT) {
      const l = this.layout;
      if (fd.length > l.residentSize) throw this.error(`FD <0x${fd.address.toString(16)}>: resident file of ${fd.length} bytes (at most ${l.residentSize} fit)`, fd.volumeOffset);
      return fd.raw.copy(buf, 0, l.residentOffset + offset, l.residentOffset + offset + want);
    }
    let done = 0;
    while (done < want) {
      const run = this.locate(fd, offset + done);
      const n = Math.min(run.length, want - done);
      if (n <= 0) throw this.error(`FD <0x${fd.address.toString(16)}>: no data at byte ${offset + done}`, fd.volumeOffset);
      const part = buf.subarray(done, done + n);
      if (run.volumeOffset === null) part.fill(0);
      else this.readVolume(part, run.volumeOffset);
      done += n;
    }
    return want;
  }

  /** The ranges of [start, end) that hold data: holes and lazy-zeroed parts left out, neighbours merged. */
  dataRegions(fd: FileDescriptor, start: number, end: number): Array<{ start: number; end: number }> {
    const out: Array<{ start: number; end: number }> = [];
    for (const run of this.storedRuns(fd, start, end)) {
      const last = out[out.length - 1];
      if (last && last.end === run.start) last.end = run.end;
      else out.push({ start: run.start, end: run.end });
    }
    return out;
  }

  /**
   * As dataRegions, each region also saying where its bytes lie as they are in a host file (the
   * image, or an extent's image of a spanned volume) where the device can tell: 1 MiB file blocks
   * that follow each other on the volume make one region, read straight from the image.
   */
  hostRegions(fd: FileDescriptor, start: number, end: number): HostRegion[] {
    const out: HostRegion[] = [];
    for (const run of this.storedRuns(fd, start, end)) {
      const n = run.end - run.start;
      if (run.volumeOffset === null) {
        pushHostRegion(out, { start: run.start, end: run.end }); // resident: its bytes are in the descriptor
        continue;
      }
      const volumeOffset = run.volumeOffset;
      const parts = this.device.hostRuns?.(volumeOffset, n) ?? [deviceRun(volumeOffset, n)];
      for (const part of parts) {
        const from = run.start + (part.offset - volumeOffset);
        const placed = part.zero !== true && part.file !== undefined && part.position !== undefined;
        pushHostRegion(out, placed ? { start: from, end: from + part.length, file: part.file, position: part.position } : { start: from, end: from + part.length });
      }
    }
    return out;
  }

  /**
   * The runs of [start, end) whose bytes are stored: on the volume (at volumeOffset), or in a resident
   * file's descriptor (volumeOffset null, one run); holes and lazy-zeroed blocks are left out.
   */
  private *storedRuns(fd: FileDescriptor, start: number, end: number): Generator<{ start: number; end: number; volumeOffset: number | null }> {
    const stop = Math.min(end, fd.length);
    if (fd.zla === ZLA_RESIDENT) {
      if (start < stop) yield { start, end: stop, volumeOffset: null };
      return;
    }
    for (let at = start; at < stop; ) {
      const run = this.locate(fd, at);
      if (run.length <= 0) break;
      const runEnd = Math.min(stop, at + run.length);
      if (run.volumeOffset !== null) yield { start: at, end: runEnd, volumeOffset: run.volumeOffset };
      at = runEnd;
    }
  }

  /** Bytes of blocks a file holds (thin files less than their size; resident files none). */
  allocatedBytes(fd: FileDescriptor): number {
    if (fd.zla === ZLA_RESIDENT || fd.type === FD_TYPE.rdm) return 0;
    let total = 0;
    const unitOf = (raw: bigint | number): number => {
      if (isZero(raw)) return 0;
      const a = this.decode(raw);
      if (a.type === ADDR_SB) return this.fs.subBlockSize;
      if (a.type === ADDR_LFB) return this.fs.fileBlockSize * 2 ** this.fs.sfbToLfbShift;
      return a.type === ADDR_FB ? this.fs.fileBlockSize : 0;
    };
    const l = this.layout;
    const entries = Array.from({ length: l.arrayEntries }, (_, i) => this.arrayEntry(fd, i));
    const per = fd.zla === ZLA_POINTER || fd.zla === ZLA_POINTER2 || fd.zla === ZLA_DOUBLE ? this.pointersPerPb() : 0;
    const sumPb = (raw: bigint | number, level: number): number => {
      if (isZero(raw)) return 0;
      const pb = this.pointerBlock(this.checkPb(this.decode(raw), fd));
      let sum = 0;
      for (let i = 0; i < per; i++) {
        const e = this.pbEntry(pb, i);
        sum += level === 0 ? unitOf(e) : sumPb(e, level - 1);
      }
      return sum;
    };
    for (const e of entries) {
      if (fd.zla === ZLA_DIRECT || fd.zla === ZLA_SUBBLOCK) total += unitOf(e);
      else if (per > 0) total += sumPb(e, fd.zla === ZLA_DOUBLE ? 1 : 0);
    }
    return total;
  }

  // ---- directories ----

  root(): VmfsEntry {
    return this.entryFor('', ROOT_FD);
  }

  /** An entry for the FD at `address`; a damaged FD gives an entry with `error` set. */
  entryFor(name: string, address: number): VmfsEntry {
    try {
      const fd = this.readFd(address);
      const type = entryType(fd.type);
      const entry: VmfsEntry = {
        name,
        type,
        address,
        size: fd.length,
        mode: fd.mode,
        uid: fd.uid,
        gid: fd.gid,
        links: fd.links,
        mtimeMs: fd.mtime ? fd.mtime * 1000 : null,
        ctimeMs: fd.ctime ? fd.ctime * 1000 : null,
        atimeMs: fd.atime ? fd.atime * 1000 : null,
      };
      if (type === 'symlink') entry.linkTarget = this.symlinkTarget(fd);
      if (type === 'rdm') entry.rdm = readScsiId(fd.raw, this.layout.residentOffset);
      return entry;
    } catch (e) {
      if (!(e instanceof DiskchainError) || e.code === 'E_NOTFOUND') throw e;
      const at = e.offset === undefined ? '' : ` (volume byte ${e.offset})`;
      return { name, type: 'other', address, size: 0, mode: 0, uid: 0, gid: 0, links: 0, mtimeMs: null, ctimeMs: null, atimeMs: null, error: `${e.message}${at}` };
    }
  }

  private symlinkTarget(fd: FileDescriptor): string {
    if (fd.length > MAX_SYMLINK) throw this.error(`symlink FD <0x${fd.address.toString(16)}>: a ${fd.length}-byte target`, fd.volumeOffset);
    const buf = Buffer.alloc(fd.length);
    this.readFile(fd, buf, 0);
    return textField(buf, 0, buf.length);
  }

  /** A folder's entries without "." and "..", in on-disk order. Throws E_FORMAT on a damaged folder. */
  list(dir: VmfsEntry): VmfsEntry[] {
    if (dir.type !== 'dir') throw this.error(`${dir.name || '/'} is not a folder`);
    const cached = this.dirCache.get(dir.address);
    if (cached) return cached;
    const fd = this.readFd(dir.address);
    if (fd.length > MAX_DIR_BYTES) throw this.error(`folder FD <0x${fd.address.toString(16)}>: ${fd.length} bytes is no folder`, fd.volumeOffset);
    const pairs = this.family === 6 ? this.direntsV6(fd) : this.direntsV5(fd);
    const entries = pairs.map(([name, address]) => this.entryFor(name, address));
    if (this.dirCache.size >= 256) this.dirCache.clear();
    this.dirCache.set(dir.address, entries);
    return entries;
  }

  /** VMFS-3/5: a packed array of 140-byte entries (type, FD address, generation, name[128]). */
  private direntsV5(fd: FileDescriptor): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const perChunk = 7490;
    const buf = Buffer.alloc(DIRENT_V5 * perChunk);
    const count = Math.floor(fd.length / DIRENT_V5);
    for (let first = 0; first < count; first += perChunk) {
      const n = Math.min(perChunk, count - first);
      const chunk = buf.subarray(0, n * DIRENT_V5);
      this.readFile(fd, chunk, first * DIRENT_V5);
      for (let i = 0; i < n; i++) {
        const at = i * DIRENT_V5;
        const address = chunk.readUInt32LE(at + 4);
        if (address === 0) continue;
        const name = textField(chunk, at + 12, 128);
        if (name === '.' || name === '..') continue;
        out.push([name, address]);
      }
    }
    return out;
  }

  /**
   * VMFS-6: a 64 KiB header (with "." and ".." and the name hash table), then blocks of mdAlignment
   * bytes. A dirent block's 64-byte header has a slot bitmap in which a CLEAR bit is a slot in use;
   * entries are 0x120 bytes. Listing needs no hash: every dirent block is walked.
   */
  private direntsV6(fd: FileDescriptor): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    const m = this.fs.mdAlignment;
    const blocks = Math.floor(Math.max(0, fd.length - V6_DIR_HEADER) / m);
    const block = Buffer.alloc(m);
    const maxSlots = Math.floor((m - V6_BLOCK_HEADER) / DIRENT_V6);
    for (let b = 0; b < blocks; b++) {
      this.readFile(fd, block, V6_DIR_HEADER + b * m);
      if (block.readUInt16LE(2) !== 1) continue; // not a dirent block (link or allocation-map block)
      const slots = Math.min(block.readUInt16LE(4), maxSlots, 56 * 8);
      for (let s = 0; s < slots; s++) {
        if ((block[8 + (s >> 3)]! >> (s & 7)) & 1) continue;
        const at = V6_BLOCK_HEADER + s * DIRENT_V6;
        const address = block.readUInt32LE(at + 4);
        if (address === 0) continue;
        const name = textField(block, at + 0x20, 256);
        if (name === '.' || name === '..') continue;
        out.push([name, address]);
      }
    }
    return out;
  }

  /** The entry a path names ("/" the root); symlinks in the middle are followed when they stay in the volume. */
  lookup(path: string, followLast = false): VmfsEntry {
    return this.resolve(path, followLast).entry;
  }

  /** The entry a path names and its canonical path (symlinks followed, ".." applied). */
  resolve(path: string, followLast = false): { entry: VmfsEntry; path: string } {
    let hops = 0;
    let pending = split(path);
    const names: string[] = [];
    const dirs: VmfsEntry[] = [this.root()];
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        if (names.length > 0) {
          names.pop();
          dirs.pop();
        }
        continue;
      }
      const at = dirs[dirs.length - 1]!;
      if (at.type !== 'dir') throw new DiskchainError('E_NOTFOUND', `/${names.join('/')} is not a folder`, this.device.file);
      const next = this.list(at).find((e) => e.name === part);
      if (!next) throw new DiskchainError('E_NOTFOUND', `no /${[...names, part].join('/')} in the volume`, this.device.file);
      if (next.type === 'symlink' && (pending.length > 0 || followLast)) {
        if (++hops > 16) throw this.error(`too many symlinks (a loop?) in ${path}`);
        const inside = this.volumePath(next.linkTarget ?? '');
        if (inside === null) throw new DiskchainError('E_NOTFOUND', `/${[...names, part].join('/')} links to ${next.linkTarget}, outside this volume`, this.device.file);
        if (inside.startsWith('/')) {
          names.length = 0;
          dirs.length = 1;
        }
        pending = [...split(inside), ...pending];
        continue;
      }
      names.push(part);
      dirs.push(next);
    }
    return { entry: dirs[dirs.length - 1]!, path: `/${names.join('/')}` };
  }

  /** A link target as a path in this volume: /vmfs/volumes/LABEL-or-UUID/x → /x; relative stays relative; null when elsewhere. */
  volumePath(target: string): string | null {
    const m = /^\/vmfs\/volumes\/([^/]+)(\/.*)?$/.exec(target);
    if (m) return m[1] === this.fs.label || m[1] === this.fs.uuid ? (m[2] ?? '/') : null;
    return target.startsWith('/') ? null : target;
  }

  // ---- volume attributes ----

  /** Free file blocks from .fbb.sf's cluster headers (total and free per cluster); null when unreadable. */
  freeBlocks(): { total: number; free: number } | null {
    try {
      const fbb = this.systemFile('fbb', '.fbb.sf');
      const g = fbb.geometry;
      const clusters = Math.ceil(g.numResources / g.resourcesPerCluster);
      if (clusters > g.numGroups * g.clustersPerGroup) return null;
      const meta = g.clusterHeaderSize / 2;
      // A group's cluster headers are contiguous: read them up to 256 at a time, not one by one.
      const batch = Math.min(g.clustersPerGroup, 256);
      let free = 0;
      for (let c = 0; c < clusters; c += batch) {
        const inGroup = c % g.clustersPerGroup;
        const n = Math.min(batch, clusters - c, g.clustersPerGroup - inGroup);
        const headers = this.readSystemBytes(fbb.fd, clusterHeaderOffset(g, c), n * g.clusterHeaderSize, '.fbb.sf');
        for (let i = 0; i < n; i++) {
          const f = headers.readUInt32LE(i * g.clusterHeaderSize + meta + 8);
          if (f > g.resourcesPerCluster) return null;
          free += f;
        }
      }
      return { total: g.numResources, free };
    } catch (e) {
      if (e instanceof DiskchainError && e.code === 'E_FORMAT') return null;
      throw e;
    }
  }
}

function entryType(t: number): VmfsEntryType {
  switch (t) {
    case FD_TYPE.dir:
      return 'dir';
    case FD_TYPE.file:
      return 'file';
    case FD_TYPE.symlink:
      return 'symlink';
    case FD_TYPE.rdm:
      return 'rdm';
    case FD_TYPE.system:
      return 'system';
    default:
      return 'other';
  }
}

const isZero = (raw: bigint | number): boolean => raw === 0 || raw === 0n;

export function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}
