import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import type { GuestEntry, GuestFileSystem } from '../types.js';
import { ClusterChains, clustersFor } from './cluster-chain.js';
import { fatName, readFatGeometry, type FatGeometry } from './fat-boot.js';
import { folderChunks, readExtents, runExtents, type ByteExtent } from './extents.js';
import { checkOffset, FolderLoops, parseEntryId, RecentExtents } from './folders.js';
import { decodeUtf16, serialUuid, shortName, shortNameChecksum } from './names.js';

/** A FAT folder holds at most 65,536 entries (Microsoft's FAT specification): 2 MiB. */
const MAX_FOLDER_BYTES = 65536 * 32;
const ATTR_READONLY = 0x01;
const ATTR_HIDDEN = 0x02;
const ATTR_SYSTEM = 0x04;
const ATTR_LABEL = 0x08;
const ATTR_DIR = 0x10;
const ATTR_ARCHIVE = 0x20;
const ATTR_LONG_NAME = 0x0f;
/** VFAT long-name characters in a slot: 5 at byte 1, 6 at byte 14, 2 at byte 28. */
const LFN_PIECES = [
  [1, 5],
  [14, 6],
  [28, 2],
] as const;

/** A read-only FAT12/16/32 volume. */
export class FatFileSystem implements GuestFileSystem {
  readonly type: FatGeometry['type'];
  readonly label: string | null;
  readonly uuid: string | null;
  readonly notes: string[] = [];
  private readonly geometry: FatGeometry;
  private readonly chains: ClusterChains;
  private readonly name: string;
  private readonly loops: FolderLoops;
  private readonly extents = new RecentExtents();
  private readonly rootEntry: GuestEntry = { name: '', type: 'dir', size: 0, id: 'root', mtimeMs: null };

  constructor(readonly device: BlockDevice) {
    this.geometry = readFatGeometry(device);
    this.type = this.geometry.type;
    this.name = fatName(this.type);
    const g = this.geometry;
    this.chains = new ClusterChains(device, g.fatOffset, g.fatBytes, g.bits, g.clusterCount, this.name);
    this.loops = new FolderLoops(this.name, device.file, g.rootCluster);
    this.loops.enter(this.rootEntry, g.rootCluster, -1, '/');
    this.uuid = g.serial === null ? null : serialUuid(g.serial);
    this.label = this.rootLabel() ?? g.label;
    // FAT entry 1 holds the "clean shutdown" bit (fatgen103): clear means the volume was not unmounted.
    const cleanBit = { fat12: 0, fat16: 0x8000, fat32: 0x08000000 }[this.type];
    if (g.bootDirty || (cleanBit !== 0 && (this.chains.entry(1) & cleanBit) === 0)) {
      this.notes.push('volume is dirty (not cleanly unmounted): recent changes may be missing or half-written');
    }
  }

  root(): GuestEntry {
    return this.rootEntry;
  }

  list(dir: GuestEntry): GuestEntry[] {
    if (dir.type !== 'dir') throw new DiskchainError('E_USAGE', `${this.loops.path(dir)} is not a folder`, this.device.file);
    const entries: GuestEntry[] = [];
    const folderCluster = this.folderCluster(dir);
    const parentPath = this.loops.path(dir);
    let long: LongName | null = null;
    for (const { bytes, position } of folderChunks(this.device, this.folderExtents(dir))) {
      for (let at = 0; at < bytes.length; at += 32) {
        const first = bytes[at]!;
        if (first === 0x00) return entries; // the end of the folder
        const attributes = bytes[at + 11]!;
        if (first === 0xe5) {
          long = null; // deleted
        } else if ((attributes & 0x3f) === ATTR_LONG_NAME) {
          long = nextLongSlot(long, bytes, at);
        } else {
          const name = entryName(bytes, at, long);
          long = null;
          if (attributes & ATTR_LABEL || name === '.' || name === '..') continue;
          const entry = this.entry(bytes, at, name, folderCluster, (position + at) / 32);
          if (entry.type === 'dir') this.loops.enter(entry, this.firstCluster(bytes, at), folderCluster, joinPath(parentPath, name));
          else this.loops.remember(entry, joinPath(parentPath, name));
          entries.push(entry);
        }
      }
    }
    return entries;
  }

  read(file: GuestEntry, buf: Buffer, offset: number, stream?: string): number {
    if (stream !== undefined) throw new DiskchainError('E_NOTFOUND', `${this.loops.path(file)}: ${this.name} has no named streams`, this.device.file);
    if (file.type !== 'file') throw new DiskchainError('E_USAGE', `${this.loops.path(file)} is not a file`, this.device.file);
    checkOffset(offset, this.device.file);
    const length = Math.max(0, Math.min(buf.length, file.size - offset));
    if (length === 0) return 0;
    readExtents(this.device, this.fileExtents(file), buf.subarray(0, length), offset);
    return length;
  }

  private fileExtents(file: GuestEntry): ByteExtent[] {
    return this.extents.get(file.id, () => {
      const { first } = parseEntryId(file.id, this.device.file);
      const path = this.loops.path(file);
      const needed = clustersFor(file.size, this.geometry.clusterSize);
      if (first === 0) throw this.error(`file ${path} has ${file.size} bytes but no clusters`);
      const runs = this.chains.runs(first, needed, path);
      const got = runs.reduce((n, r) => n + r.count, 0);
      if (got < needed) throw this.error(`cluster chain of ${path} ends after ${got} of its ${needed} clusters`);
      return runExtents(runs, this.geometry.heapOffset, this.geometry.clusterSize, file.size);
    });
  }

  private folderExtents(dir: GuestEntry): ByteExtent[] {
    const g = this.geometry;
    if (dir.id === 'root' && g.type !== 'fat32') return [{ offset: g.rootOffset, length: g.rootBytes }];
    const first = this.folderCluster(dir);
    if (dir.id !== 'root') this.loops.check(dir, first);
    const path = this.loops.path(dir);
    const limit = Math.ceil(MAX_FOLDER_BYTES / g.clusterSize);
    const runs = this.chains.runs(first, limit + 1, `folder ${path}`);
    if (runs.reduce((n, r) => n + r.count, 0) > limit) throw this.error(`folder ${path} is longer than 65,536 entries`);
    return runExtents(runs, g.heapOffset, g.clusterSize);
  }

  private folderCluster(dir: GuestEntry): number {
    return dir.id === 'root' ? this.geometry.rootCluster : parseEntryId(dir.id, this.device.file).first;
  }

  private firstCluster(bytes: Buffer, at: number): number {
    const high = this.type === 'fat32' ? bytes.readUInt16LE(at + 20) : 0; // FAT12/16 keep EA data there
    return high * 0x10000 + bytes.readUInt16LE(at + 26);
  }

  private entry(bytes: Buffer, at: number, name: string, folderCluster: number, index: number): GuestEntry {
    const attributeByte = bytes[at + 11]!;
    const isDir = (attributeByte & ATTR_DIR) !== 0;
    const attributes: string[] = [];
    if (attributeByte & ATTR_READONLY) attributes.push('readonly');
    if (attributeByte & ATTR_HIDDEN) attributes.push('hidden');
    if (attributeByte & ATTR_SYSTEM) attributes.push('system');
    if (attributeByte & ATTR_ARCHIVE) attributes.push('archive');
    return {
      name,
      type: isDir ? 'dir' : 'file',
      size: isDir ? 0 : bytes.readUInt32LE(at + 28),
      id: `${this.firstCluster(bytes, at)}@${folderCluster}:${index}`,
      mtimeMs: fatTime(bytes.readUInt16LE(at + 24), bytes.readUInt16LE(at + 22), 0),
      atimeMs: fatTime(bytes.readUInt16LE(at + 18), 0, 0),
      birthtimeMs: fatTime(bytes.readUInt16LE(at + 16), bytes.readUInt16LE(at + 14), bytes[at + 13]!),
      attributes,
    };
  }

  /** The label the root folder's volume-label entry holds (what Windows shows), if any. */
  private rootLabel(): string | null {
    for (const { bytes } of folderChunks(this.device, this.folderExtents(this.rootEntry))) {
      for (let at = 0; at < bytes.length; at += 32) {
        if (bytes[at] === 0) return null;
        const attributes = bytes[at + 11]!;
        if (bytes[at] !== 0xe5 && (attributes & 0x3f) !== ATTR_LONG_NAME && attributes & ATTR_LABEL) {
          return shortName(bytes, at, 0).replace('.', '').trimEnd() || null;
        }
      }
    }
    return null;
  }

  private error(reason: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `${this.name} ${reason}`, this.device.file);
  }
}

/** A VFAT long name being collected, slot by slot, last slot first. */
interface LongName {
  units: Uint16Array;
  checksum: number;
  /** The ordinal the next slot must have; 0 once complete. */
  expect: number;
}

function nextLongSlot(long: LongName | null, bytes: Buffer, at: number): LongName | null {
  const ordinal = bytes[at]! & 0x1f;
  const checksum = bytes[at + 13]!;
  if (bytes[at]! & 0x40) {
    if (ordinal === 0 || ordinal > 20) return null;
    long = { units: new Uint16Array(ordinal * 13), checksum, expect: ordinal };
  } else if (!long || ordinal !== long.expect || checksum !== long.checksum) {
    return null; // an orphaned or out-of-order slot: the 8.3 name stands alone
  }
  let unit = (ordinal - 1) * 13;
  for (const [offset, count] of LFN_PIECES) {
    for (let i = 0; i < count; i++) long.units[unit++] = bytes.readUInt16LE(at + offset + 2 * i);
  }
  long.expect = ordinal - 1;
  return long;
}

/** The long name when its slots are complete and their checksum matches the 8.3 name, else the 8.3 name. */
function entryName(bytes: Buffer, at: number, long: LongName | null): string {
  if (long && long.expect === 0 && long.checksum === shortNameChecksum(bytes, at)) {
    const end = long.units.indexOf(0);
    const name = decodeUtf16(end === -1 ? long.units : long.units.subarray(0, end));
    if (name !== '') return name;
  }
  return shortName(bytes, at, bytes[at + 12]!);
}

/** A FAT date and time (local time of the writer, taken as UTC: FAT stores no zone). */
export function fatTime(date: number, time: number, tenMs: number): number | null {
  const day = date & 31;
  const month = (date >> 5) & 15;
  if (date === 0 || day === 0 || month === 0 || month > 12) return null;
  const hours = time >> 11;
  const minutes = (time >> 5) & 63;
  const seconds = (time & 31) * 2;
  if (hours > 23 || minutes > 59 || seconds > 59 || tenMs > 199) return null;
  return Date.UTC(1980 + (date >> 9), month - 1, day, hours, minutes, seconds) + tenMs * 10;
}

export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
