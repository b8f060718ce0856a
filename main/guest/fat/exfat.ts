import { DiskchainError } from '../../../shared/errors.js';
import { readBytes, type BlockDevice } from '../block-device.js';
import type { GuestEntry, GuestFileSystem } from '../types.js';
import { ClusterChains, clustersFor, type ClusterRun } from './cluster-chain.js';
import { folderChunks, readExtents, runExtents, type ByteExtent } from './extents.js';
import { joinPath } from './fat.js';
import { checkOffset, FolderLoops, parseEntryId, RecentExtents } from './folders.js';
import { decodeUtf16, serialUuid } from './names.js';

/** exFAT caps a folder at 256 MiB (Microsoft's exFAT specification, 6.2). */
const MAX_FOLDER_BYTES = 256 * 1024 * 1024;
const ENTRY_FILE = 0x85;
const ENTRY_STREAM = 0xc0;
const ENTRY_NAME = 0xc1;
const ENTRY_LABEL = 0x83;
const MAX_NOTES = 20;

export function probeExfatBoot(boot: Buffer): boolean {
  return boot.length >= 512 && boot.toString('latin1', 3, 11) === 'EXFAT   ';
}

interface ExfatGeometry {
  sectorSize: number;
  clusterSize: number;
  fatOffset: number;
  fatBytes: number;
  heapOffset: number;
  clusterCount: number;
  rootCluster: number;
  serial: number;
  flags: number;
}

/** A read-only exFAT volume. */
export class ExfatFileSystem implements GuestFileSystem {
  readonly type = 'exfat' as const;
  readonly label: string | null;
  readonly uuid: string;
  readonly notes: string[] = [];
  private readonly geometry: ExfatGeometry;
  private readonly chains: ClusterChains;
  private readonly loops: FolderLoops;
  private readonly extents = new RecentExtents();
  private readonly rootEntry: GuestEntry = { name: '', type: 'dir', size: 0, id: 'root', mtimeMs: null };

  constructor(readonly device: BlockDevice) {
    this.geometry = readBootRegion(device, this.notes);
    const g = this.geometry;
    this.chains = new ClusterChains(device, g.fatOffset, g.fatBytes, 'exfat', g.clusterCount, 'exFAT');
    this.loops = new FolderLoops('exFAT', device.file, g.rootCluster);
    this.loops.enter(this.rootEntry, g.rootCluster, -1, '/');
    this.uuid = serialUuid(g.serial);
    if (g.flags & 0x02) this.notes.push('volume is dirty (not cleanly unmounted): recent changes may be missing or half-written');
    if (g.flags & 0x04) this.notes.push('volume is marked as having media failures');
    this.label = this.rootLabel();
  }

  root(): GuestEntry {
    return this.rootEntry;
  }

  list(dir: GuestEntry): GuestEntry[] {
    if (dir.type !== 'dir') throw new DiskchainError('E_USAGE', `${this.loops.path(dir)} is not a folder`, this.device.file);
    const folderCluster = dir.id === 'root' ? this.geometry.rootCluster : parseEntryId(dir.id, this.device.file).first;
    const parentPath = this.loops.path(dir);
    const entries: GuestEntry[] = [];
    for (const set of this.entrySets(dir, ENTRY_FILE)) {
      const entry = this.entry(set.bytes, folderCluster, set.position / 32, parentPath);
      if (!entry) continue;
      const path = joinPath(parentPath, entry.name);
      if (entry.type === 'dir') this.loops.enter(entry, parseEntryId(entry.id, this.device.file).first, folderCluster, path);
      else this.loops.remember(entry, path);
      entries.push(entry);
    }
    return entries;
  }

  read(file: GuestEntry, buf: Buffer, offset: number, stream?: string): number {
    if (stream !== undefined) throw new DiskchainError('E_NOTFOUND', `${this.loops.path(file)}: exFAT has no named streams`, this.device.file);
    if (file.type !== 'file') throw new DiskchainError('E_USAGE', `${this.loops.path(file)} is not a file`, this.device.file);
    checkOffset(offset, this.device.file);
    const length = Math.max(0, Math.min(buf.length, file.size - offset));
    if (length === 0) return 0;
    const id = parseEntryId(file.id, this.device.file);
    const valid = id.validLength ?? file.size;
    // Bytes past ValidDataLength were allocated but never written: they read as zeros.
    const stored = Math.max(0, Math.min(length, valid - offset));
    if (stored > 0) readExtents(this.device, this.dataExtents(file, valid), buf.subarray(0, stored), offset);
    buf.fill(0, stored, length);
    return length;
  }

  /** The device ranges of a file's or folder's first `bytes` bytes. */
  private dataExtents(entry: GuestEntry, bytes: number): ByteExtent[] {
    return this.extents.get(entry.id, () => {
      const { first, contiguous } = parseEntryId(entry.id, this.device.file);
      const path = this.loops.path(entry);
      const g = this.geometry;
      const needed = clustersFor(bytes, g.clusterSize);
      if (needed === 0) return [];
      let runs: ClusterRun[];
      if (contiguous) {
        // NoFatChain: the clusters follow one another and the FAT is not kept for them.
        if (!this.chains.isCluster(first) || first + needed - 1 > g.clusterCount + 1) {
          throw this.error(`${path}: its ${needed} contiguous clusters from cluster ${first} lie outside the volume (clusters 2–${g.clusterCount + 1})`);
        }
        runs = [{ first, count: needed }];
      } else {
        runs = this.chains.runs(first, needed, path);
        const got = runs.reduce((n, r) => n + r.count, 0);
        if (got < needed) throw this.error(`cluster chain of ${path} ends after ${got} of its ${needed} clusters`);
      }
      return runExtents(runs, g.heapOffset, g.clusterSize, bytes);
    });
  }

  private folderExtents(dir: GuestEntry): ByteExtent[] {
    const g = this.geometry;
    if (dir.id === 'root') {
      // The root folder has no stream entry giving its size: its FAT chain is all there is.
      const limit = MAX_FOLDER_BYTES / g.clusterSize;
      const runs = this.chains.runs(g.rootCluster, limit + 1, 'the root folder');
      if (runs.reduce((n, r) => n + r.count, 0) > limit) throw this.error('root folder is larger than 256 MiB');
      return runExtents(runs, g.heapOffset, g.clusterSize);
    }
    const id = parseEntryId(dir.id, this.device.file);
    this.loops.check(dir, id.first);
    const bytes = id.validLength ?? 0;
    if (bytes > MAX_FOLDER_BYTES) throw this.error(`folder ${this.loops.path(dir)} is ${bytes} bytes (at most 256 MiB)`);
    return this.dataExtents(dir, bytes);
  }

  /** The in-use entry sets of a folder that start with `primary`, each as one (reused) buffer of its 32-byte entries. */
  private *entrySets(dir: GuestEntry, primary: number): Generator<{ bytes: Buffer; position: number }> {
    const setBytes = Buffer.alloc(256 * 32); // the largest set: a primary and 255 secondaries
    let set: Buffer | null = null;
    let filled = 0;
    let setPosition = 0;
    for (const { bytes, position } of folderChunks(this.device, this.folderExtents(dir))) {
      for (let at = 0; at < bytes.length; at += 32) {
        const type = bytes[at]!;
        if (type === 0x00) return; // end of the folder
        if (set && type & 0x80 && type & 0x40) {
          bytes.copy(set, filled, at, at + 32);
          filled += 32;
          if (filled === set.length) {
            if (setChecksum(set) === set.readUInt16LE(2)) yield { bytes: set, position: setPosition };
            else this.note(`exFAT folder ${this.loops.path(dir)}: the entry set at entry ${setPosition / 32} fails its checksum; skipped`);
            set = null;
          }
          continue;
        }
        set = null; // a set cut short by a deleted or primary entry: not a whole file
        if (type === primary) {
          const secondaries = bytes[at + 1]!;
          if (secondaries < 1) continue;
          set = setBytes.subarray(0, (secondaries + 1) * 32);
          bytes.copy(set, 0, at, at + 32);
          filled = 32;
          setPosition = position + at;
        }
      }
    }
  }

  /** A File entry set as an entry; null (with a note) when its stream or name entries are damaged. */
  private entry(set: Buffer, folderCluster: number, index: number, parentPath: string): GuestEntry | null {
    const where = `exFAT folder ${parentPath}: the entry set at entry ${index}`;
    if (set.length < 96 || set[32] !== ENTRY_STREAM) {
      this.note(`${where} has no stream entry; skipped`);
      return null;
    }
    const nameLength = set[32 + 3]!;
    const units: number[] = [];
    for (let at = 64; at < set.length && units.length < nameLength; at += 32) {
      if (set[at] !== ENTRY_NAME) break;
      for (let i = 0; i < 15 && units.length < nameLength; i++) units.push(set.readUInt16LE(at + 2 + 2 * i));
    }
    if (nameLength === 0 || units.length < nameLength) {
      this.note(`${where} has a name of ${nameLength} characters but ${units.length} stored; skipped`);
      return null;
    }
    const attributeWord = set.readUInt16LE(4);
    const isDir = (attributeWord & 0x10) !== 0;
    const flags = set[33]!;
    const first = set.readUInt32LE(32 + 20);
    const dataLength = Number(set.readBigUInt64LE(32 + 24));
    const validLength = Number(set.readBigUInt64LE(32 + 8));
    const volumeBytes = this.geometry.clusterCount * this.geometry.clusterSize;
    if (dataLength > volumeBytes || validLength > dataLength) {
      this.note(`${where} has data length ${dataLength} and valid data length ${validLength}, more than the volume (${volumeBytes} bytes) or each other; skipped`);
      return null;
    }
    const contiguous = (flags & 0x02) !== 0 ? ':c' : '';
    const valid = isDir ? `:v${dataLength}` : validLength < dataLength ? `:v${validLength}` : '';
    const attributes: string[] = [];
    if (attributeWord & 0x01) attributes.push('readonly');
    if (attributeWord & 0x02) attributes.push('hidden');
    if (attributeWord & 0x04) attributes.push('system');
    if (attributeWord & 0x20) attributes.push('archive');
    return {
      name: decodeUtf16(units),
      type: isDir ? 'dir' : 'file',
      size: isDir ? 0 : dataLength,
      id: `${first}@${folderCluster}:${index}${contiguous}${valid}`,
      mtimeMs: exfatTime(set.readUInt32LE(12), set[21]!, set[23]!),
      atimeMs: exfatTime(set.readUInt32LE(16), 0, set[24]!),
      birthtimeMs: exfatTime(set.readUInt32LE(8), set[20]!, set[22]!),
      attributes,
    };
  }

  private rootLabel(): string | null {
    for (const { bytes, position } of folderChunks(this.device, this.folderExtents(this.rootEntry))) {
      for (let at = 0; at < bytes.length; at += 32) {
        if (bytes[at] === 0x00) return null;
        if (bytes[at] === ENTRY_LABEL) {
          const count = bytes[at + 1]!;
          if (count > 11) throw this.error(`volume label entry (root folder entry ${(position + at) / 32}) holds ${count} characters (at most 11)`);
          const units = Array.from({ length: count }, (_, i) => bytes.readUInt16LE(at + 2 + 2 * i));
          return decodeUtf16(units) || null;
        }
      }
    }
    return null;
  }

  private note(text: string): void {
    if (this.notes.length < MAX_NOTES) this.notes.push(text);
  }

  private error(reason: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `exFAT ${reason}`, this.device.file);
  }
}

/** Reads and checks the main boot region (the backup when the main one fails its checksum). */
function readBootRegion(device: BlockDevice, notes: string[]): ExfatGeometry {
  const fail = (reason: string): DiskchainError => new DiskchainError('E_FORMAT', `exFAT boot sector: ${reason}`, device.file);
  if (device.size < 512) throw fail(`the volume is only ${device.size} bytes`);
  const shift = readBytes(device, 0, 512)[108]!;
  if (shift < 9 || shift > 12) throw fail(`bytes per sector shift is ${shift} (9–12 expected)`);
  const sectorSize = 1 << shift;
  if (device.size < 24 * sectorSize) throw fail(`the volume is only ${device.size} bytes`);
  const main = readBytes(device, 0, 12 * sectorSize);
  let boot = main;
  if (!bootChecksumMatches(main, sectorSize)) {
    const backup = readBytes(device, 12 * sectorSize, 12 * sectorSize);
    if (backup[108] !== shift || !bootChecksumMatches(backup, sectorSize)) {
      throw new DiskchainError('E_FORMAT', 'exFAT boot region: the boot checksum does not match (and the backup boot region is damaged too)', device.file);
    }
    notes.push('the main boot region fails its checksum: the backup boot region was used');
    boot = backup;
  }
  if (boot.toString('latin1', 3, 11) !== 'EXFAT   ') throw fail('no "EXFAT" signature');
  if (boot.subarray(11, 64).some((b) => b !== 0)) throw fail('bytes 11–63 must be zero (is this a FAT volume?)');
  if (boot.readUInt16LE(510) !== 0xaa55) throw fail('no 0x55AA boot signature');
  const clusterShift = boot[109]!;
  if (shift + clusterShift > 25) throw fail(`clusters of 2^${shift + clusterShift} bytes (at most 32 MiB)`);
  const volumeSectors = Number(boot.readBigUInt64LE(72));
  const fatOffset = boot.readUInt32LE(80);
  const fatLength = boot.readUInt32LE(84);
  const heapOffset = boot.readUInt32LE(88);
  const clusterCount = boot.readUInt32LE(92);
  const rootCluster = boot.readUInt32LE(96);
  const fats = boot[110]!;
  const flags = boot.readUInt16LE(106);
  if (volumeSectors * sectorSize > device.size) {
    throw fail(`the volume is ${volumeSectors * sectorSize} bytes but ${device.name} holds only ${device.size} (truncated?)`);
  }
  if (fats !== 1 && fats !== 2) throw fail(`${fats} FATs (1 or 2 expected)`);
  if (fatOffset < 24 || fatOffset + fats * fatLength > heapOffset) throw fail(`the FAT (sectors ${fatOffset}+${fatLength}×${fats}) overlaps the boot region or the cluster heap (sector ${heapOffset})`);
  if (clusterCount === 0 || clusterCount > 0xfffffff5) throw fail(`${clusterCount} clusters`);
  if (heapOffset + clusterCount * 2 ** clusterShift > volumeSectors) throw fail(`the cluster heap (${clusterCount} clusters from sector ${heapOffset}) runs past the volume's ${volumeSectors} sectors`);
  if (fatLength * sectorSize < (clusterCount + 2) * 4) throw fail(`the FAT (${fatLength} sectors) is too small for ${clusterCount} clusters`);
  if (rootCluster < 2 || rootCluster > clusterCount + 1) throw fail(`the root folder's cluster ${rootCluster} lies outside the volume (clusters 2–${clusterCount + 1})`);
  // ActiveFat (flag bit 0) picks the second FAT, on TexFAT volumes with two.
  const activeFat = fats === 2 && flags & 1 ? 1 : 0;
  return {
    sectorSize,
    clusterSize: sectorSize * 2 ** clusterShift,
    fatOffset: (fatOffset + activeFat * fatLength) * sectorSize,
    fatBytes: fatLength * sectorSize,
    heapOffset: heapOffset * sectorSize,
    clusterCount,
    rootCluster,
    serial: boot.readUInt32LE(100),
    flags,
  };
}

/** Sectors 0–10 summed (skipping VolumeFlags and PercentInUse, which change) must repeat through sector 11. */
function bootChecksumMatches(region: Buffer, sectorSize: number): boolean {
  let sum = 0;
  for (let i = 0; i < 11 * sectorSize; i++) {
    if (i === 106 || i === 107 || i === 112) continue;
    sum = ((sum & 1 ? 0x80000000 : 0) + (sum >>> 1) + region[i]!) >>> 0;
  }
  for (let at = 11 * sectorSize; at < 12 * sectorSize; at += 4) if (region.readUInt32LE(at) !== sum) return false;
  return true;
}

/** SetChecksum: all bytes of the set but the checksum field itself. */
export function setChecksum(set: Buffer): number {
  let sum = 0;
  for (let i = 0; i < set.length; i++) {
    if (i === 2 || i === 3) continue;
    sum = ((sum & 1 ? 0x8000 : 0) + (sum >> 1) + set[i]!) & 0xffff;
  }
  return sum;
}

/** An exFAT timestamp with its 10 ms increment and UTC offset (15-minute units, bit 7 = valid). */
export function exfatTime(stamp: number, tenMs: number, utcOffset: number): number | null {
  const day = (stamp >> 16) & 31;
  const month = (stamp >> 21) & 15;
  if (stamp === 0 || day === 0 || month === 0 || month > 12) return null;
  const hours = (stamp >> 11) & 31;
  const minutes = (stamp >> 5) & 63;
  const seconds = (stamp & 31) * 2;
  if (hours > 23 || minutes > 59 || seconds > 59 || tenMs > 199) return null;
  let ms = Date.UTC(1980 + (stamp >>> 25), month - 1, day, hours, minutes, seconds) + tenMs * 10;
  if (utcOffset & 0x80) {
    const quarters = utcOffset & 0x40 ? (utcOffset & 0x7f) - 0x80 : utcOffset & 0x7f;
    ms -= quarters * 15 * 60_000;
  }
  return ms;
}
