/**
 * Puts folders and files on an exFAT image made by mkfs.exfat, without root or FUSE: exfatprogs has no
 * copy tool, so this writes the entry sets, FAT chains and allocation bitmap itself, following
 * Microsoft's exFAT specification. fsck.exfat and sleuthkit check what it writes independently.
 */
import * as fs from 'node:fs';

export interface ExfatFolder {
  /** First cluster and the clusters it has, in order. */
  clusters: number[];
  /** Entries used so far. */
  used: number;
  /** Byte offset in the image of its entry set in the parent (null for the root), and the set's length. */
  setAt: number | null;
  setLength: number;
}

export interface FileOptions {
  /** Spread the clusters out (every other cluster) and link them through the FAT. */
  fragmented?: boolean;
  /** Write through the FAT even when contiguous (default: NoFatChain for contiguous data). */
  fatChain?: boolean;
  /** ValidDataLength below the size: the tail must read as zeros. */
  validLength?: number;
  /** Attribute word (0x20 archive by default). */
  attributes?: number;
}

/** 2021-06-15 13:45:58.37 local time, UTC+02:00 (offset byte 0x88): 11:45:58.37 UTC. */
export const FIXED_STAMP = ((2021 - 1980) << 25) | (6 << 21) | (15 << 16) | (13 << 11) | (45 << 5) | 29;
export const FIXED_TEN_MS = 37;
export const FIXED_OFFSET = 0x88;
export const FIXED_TIME_MS = Date.UTC(2021, 5, 15, 11, 45, 58, 370);

export class ExfatWriter {
  readonly image: Buffer;
  readonly root: ExfatFolder;
  private readonly sectorSize: number;
  readonly clusterSize: number;
  private readonly fatOffset: number;
  private readonly heapOffset: number;
  private readonly clusterCount: number;
  private bitmapOffset = 0;
  private nextFree = 2;

  constructor(private readonly path: string) {
    this.image = fs.readFileSync(path);
    const b = this.image;
    this.sectorSize = 1 << b[108]!;
    this.clusterSize = this.sectorSize << b[109]!;
    this.fatOffset = b.readUInt32LE(80) * this.sectorSize;
    this.heapOffset = b.readUInt32LE(88) * this.sectorSize;
    this.clusterCount = b.readUInt32LE(92);
    const rootCluster = b.readUInt32LE(96);
    this.root = { clusters: [rootCluster], used: 0, setAt: null, setLength: 0 };
    // Skip the entries mkfs.exfat wrote (label, bitmap, up-case table) and find the bitmap.
    const rootAt = this.clusterOffset(rootCluster);
    while (b[rootAt + this.root.used * 32] !== 0) {
      const at = rootAt + this.root.used * 32;
      if (b[at] === 0x81) this.bitmapOffset = this.clusterOffset(b.readUInt32LE(at + 20));
      this.root.used++;
    }
    if (this.bitmapOffset === 0) throw new Error('no allocation bitmap in the root folder');
  }

  mkdir(parent: ExfatFolder, name: string): ExfatFolder {
    const cluster = this.allocate(1)[0]!;
    this.image.fill(0, this.clusterOffset(cluster), this.clusterOffset(cluster) + this.clusterSize);
    this.chain([cluster]);
    const { at, length } = this.addSet(parent, name, 0x10, cluster, this.clusterSize, this.clusterSize, false);
    return { clusters: [cluster], used: 0, setAt: at, setLength: length };
  }

  /** Writes a file; returns its clusters. */
  addFile(parent: ExfatFolder, name: string, data: Buffer, options: FileOptions = {}): number[] {
    const count = Math.ceil(data.length / this.clusterSize);
    const clusters = this.allocate(count, options.fragmented);
    clusters.forEach((c, i) => data.copy(this.image, this.clusterOffset(c), i * this.clusterSize, Math.min(data.length, (i + 1) * this.clusterSize)));
    const contiguous = !options.fragmented && !options.fatChain && count > 0;
    if (!contiguous) this.chain(clusters);
    this.addSet(parent, name, options.attributes ?? 0x20, clusters[0] ?? 0, data.length, options.validLength ?? data.length, contiguous);
    return clusters;
  }

  /** Points a folder's stream entry at another cluster, checksum kept right (damage for tests). */
  repointFolder(folder: ExfatFolder, cluster: number): void {
    const at = folder.setAt!;
    this.image.writeUInt32LE(cluster, at + 32 + 20);
    const set = this.image.subarray(at, at + folder.setLength);
    set.writeUInt16LE(entrySetChecksum(set), 2);
  }

  /** Marks the last entry set written in `folder` deleted (type bit 7 cleared), as a delete does. */
  deleteLast(folder: ExfatFolder, entries: number): void {
    for (let i = folder.used - entries; i < folder.used; i++) this.image[this.entryOffset(folder, i)]! &= 0x7f;
  }

  /** Spoils the checksum of the last entry set written in `folder`. */
  spoilLastChecksum(folder: ExfatFolder, entries: number): void {
    const at = this.entryOffset(folder, folder.used - entries);
    this.image.writeUInt16LE(this.image.readUInt16LE(at + 2) ^ 0x5a5a, at + 2);
  }

  /** Points the FAT entry of `cluster` at `next` (damage for tests). */
  setFat(cluster: number, next: number): void {
    this.image.writeUInt32LE(next >>> 0, this.fatOffset + cluster * 4);
  }

  save(to = this.path): void {
    fs.writeFileSync(to, this.image);
  }

  clusterOffset(cluster: number): number {
    return this.heapOffset + (cluster - 2) * this.clusterSize;
  }

  private entryOffset(folder: ExfatFolder, index: number): number {
    const cluster = folder.clusters[Math.floor((index * 32) / this.clusterSize)]!;
    return this.clusterOffset(cluster) + ((index * 32) % this.clusterSize);
  }

  private addSet(folder: ExfatFolder, name: string, attributes: number, first: number, dataLength: number, validLength: number, contiguous: boolean): { at: number; length: number } {
    const units = Array.from({ length: name.length }, (_, i) => name.charCodeAt(i));
    const nameEntries = Math.ceil(units.length / 15);
    const set = Buffer.alloc((2 + nameEntries) * 32);
    set[0] = 0x85;
    set[1] = 1 + nameEntries;
    set.writeUInt16LE(attributes, 4);
    for (const at of [8, 12, 16]) set.writeUInt32LE(FIXED_STAMP >>> 0, at);
    set[20] = FIXED_TEN_MS;
    set[21] = FIXED_TEN_MS;
    set[22] = set[23] = set[24] = FIXED_OFFSET;
    set[32] = 0xc0;
    set[33] = 0x01 | (contiguous ? 0x02 : 0);
    set[35] = units.length;
    set.writeUInt16LE(nameHash(units), 36);
    set.writeBigUInt64LE(BigInt(validLength), 40);
    set.writeUInt32LE(first, 52);
    set.writeBigUInt64LE(BigInt(dataLength), 56);
    for (let i = 0; i < nameEntries; i++) {
      set[64 + i * 32] = 0xc1;
      for (let j = 0; j < 15 && i * 15 + j < units.length; j++) set.writeUInt16LE(units[i * 15 + j]!, 64 + i * 32 + 2 + 2 * j);
    }
    set.writeUInt16LE(entrySetChecksum(set), 2);
    // Grow the folder cluster by cluster (through the FAT) when the set does not fit.
    const entries = set.length / 32;
    while ((folder.used + entries) * 32 > folder.clusters.length * this.clusterSize) {
      const cluster = this.allocate(1)[0]!;
      this.image.fill(0, this.clusterOffset(cluster), this.clusterOffset(cluster) + this.clusterSize);
      folder.clusters.push(cluster);
      this.chain(folder.clusters);
      if (folder.setAt !== null) this.growParentSet(folder);
    }
    for (let i = 0; i < entries; i++) set.copy(this.image, this.entryOffset(folder, folder.used + i), i * 32, i * 32 + 32);
    const at = this.entryOffset(folder, folder.used);
    folder.used += entries;
    return { at, length: set.length };
  }

  /** A folder grew: its stream entry's lengths change, and so does its set's checksum. */
  private growParentSet(folder: ExfatFolder): void {
    const at = folder.setAt!;
    const bytes = BigInt(folder.clusters.length * this.clusterSize);
    this.image.writeBigUInt64LE(bytes, at + 32 + 8);
    this.image.writeBigUInt64LE(bytes, at + 32 + 24);
    // A folder growing in a fragmented way must go through the FAT.
    this.image[at + 33] = 0x01;
    const set = this.image.subarray(at, at + folder.setLength);
    set.writeUInt16LE(entrySetChecksum(set), 2);
  }

  private allocate(count: number, fragmented = false): number[] {
    const clusters: number[] = [];
    while (clusters.length < count) {
      if (this.nextFree > this.clusterCount + 1) throw new Error('the exFAT image is full');
      const c = this.nextFree++;
      const bit = c - 2;
      if (this.image[this.bitmapOffset + (bit >> 3)]! & (1 << (bit & 7))) continue;
      this.image[this.bitmapOffset + (bit >> 3)]! |= 1 << (bit & 7);
      clusters.push(c);
      if (fragmented) this.nextFree++; // leave a free cluster between: the file is in pieces
    }
    return clusters;
  }

  private chain(clusters: number[]): void {
    clusters.forEach((c, i) => this.setFat(c, i + 1 < clusters.length ? clusters[i + 1]! : 0xffffffff));
  }
}

function entrySetChecksum(set: Buffer): number {
  let sum = 0;
  for (let i = 0; i < set.length; i++) if (i !== 2 && i !== 3) sum = ((sum & 1 ? 0x8000 : 0) + (sum >> 1) + set[i]!) & 0xffff;
  return sum;
}

/** NameHash over the up-cased name (the default up-case table agrees with toUpperCase for these names). */
function nameHash(units: number[]): number {
  let hash = 0;
  for (const unit of units) {
    const upper = String.fromCharCode(unit).toUpperCase();
    const u = upper.length === 1 ? upper.charCodeAt(0) : unit;
    for (const byte of [u & 0xff, u >> 8]) hash = ((hash & 1 ? 0x8000 : 0) + (hash >> 1) + byte) & 0xffff;
  }
  return hash;
}

/** Recomputes the main boot region's checksum sector after a test changed a boot field. */
export function fixBootChecksum(image: Buffer): void {
  const sectorSize = 1 << image[108]!;
  let sum = 0;
  for (let i = 0; i < 11 * sectorSize; i++) {
    if (i !== 106 && i !== 107 && i !== 112) sum = ((sum & 1 ? 0x80000000 : 0) + (sum >>> 1) + image[i]!) >>> 0;
  }
  for (let at = 11 * sectorSize; at < 12 * sectorSize; at += 4) image.writeUInt32LE(sum, at);
}
