/**
 * Where the metadata of a new hosted sparse extent goes (format doc §2.5), and its header bytes.
 * VMware, QEMU and VirtualBox all lay a fresh extent out this way; the converter, `extend` and
 * backup segments all write through here.
 */
import { SECTOR } from '../extent.js';

export { SECTOR };
/** 64 KiB grains, as VMware writes hosted sparse and streamOptimized extents. */
export const GRAIN_SECTORS = 128;
export const GTES_PER_GT = 512;
export const GT_SECTORS = (GTES_PER_GT * 4) / SECTOR;
/** VMware, QEMU and VirtualBox all reserve 20 sectors (10 KiB) for an embedded descriptor (§1.1). */
export const DEFAULT_DESCRIPTOR_SECTORS = 20;
/** Newline detection and redundant GD (§2.2). */
export const SPARSE_FLAGS = 0x3;

/** Where everything of a new hosted sparse extent lives, in sectors (§2.5). */
export interface SparseLayout {
  capacitySectors: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTs: number;
  gdSectors: number;
  rgdOffset: number;
  gdOffset: number;
  overHead: number;
}

export function hostedSparseLayout(capacitySectors: number, descriptorBytes: number | null): SparseLayout {
  const numGrains = Math.ceil(capacitySectors / GRAIN_SECTORS);
  const numGTs = Math.ceil(numGrains / GTES_PER_GT);
  const gdSectors = Math.ceil((numGTs * 4) / SECTOR);
  const descriptorOffset = descriptorBytes === null ? 0 : 1;
  const descriptorSize = descriptorBytes === null ? 0 : Math.max(DEFAULT_DESCRIPTOR_SECTORS, Math.ceil(descriptorBytes / SECTOR));
  const rgdOffset = descriptorOffset ? descriptorOffset + descriptorSize : 1;
  const gdOffset = rgdOffset + gdSectors + numGTs * GT_SECTORS;
  const overHead = roundUp(gdOffset + gdSectors + numGTs * GT_SECTORS, GRAIN_SECTORS);
  return { capacitySectors, descriptorOffset, descriptorSize, numGTs, gdSectors, rgdOffset, gdOffset, overHead };
}

/** The 512-byte SparseExtentHeader of §2.1 for a new, cleanly closed, uncompressed extent. */
export function encodeSparseHeader(layout: SparseLayout): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(SPARSE_FLAGS, 8);
  h.writeBigUInt64LE(BigInt(layout.capacitySectors), 12);
  h.writeBigUInt64LE(BigInt(GRAIN_SECTORS), 20);
  h.writeBigUInt64LE(BigInt(layout.descriptorOffset), 28);
  h.writeBigUInt64LE(BigInt(layout.descriptorSize), 36);
  h.writeUInt32LE(GTES_PER_GT, 44);
  h.writeBigUInt64LE(BigInt(layout.rgdOffset), 48);
  h.writeBigUInt64LE(BigInt(layout.gdOffset), 56);
  h.writeBigUInt64LE(BigInt(layout.overHead), 64);
  // uncleanShutdown (72) stays 0; then the newline-detection bytes "\n \r\n"; compressAlgorithm 0.
  h.set([0x0a, 0x20, 0x0d, 0x0a], 73);
  return h;
}

/** A directory with every GT preallocated right behind it (VMware cannot use sparse files whose GTs are not, §2.4). */
export function encodeDirectory(dirOffset: number, gdSectors: number, numGTs: number): Buffer {
  const dir = Buffer.alloc(gdSectors * SECTOR);
  for (let i = 0; i < numGTs; i++) dir.writeUInt32LE(dirOffset + gdSectors + i * GT_SECTORS, i * 4);
  return dir;
}

export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

/** GT offsets are uint32 sectors, so a hosted sparse file ends before 2 TiB (§2.4). */
export const MAX_FILE_SECTORS = 0xffffffff;

/**
 * An empty hosted sparse extent in the VMware layout: header, embedded descriptor (when given),
 * RGD, RGTs, GD, GTs, padding to the first grain. Returns the bytes up to the end of the GD (the
 * tables after each directory are zero, left as holes) and the file's length.
 */
export function newHostedSparseExtent(capacitySectors: number, descriptor: Buffer | null): { head: Buffer; fileBytes: number } {
  const layout = hostedSparseLayout(capacitySectors, descriptor === null ? null : descriptor.length);
  if (layout.overHead > MAX_FILE_SECTORS) throw new RangeError(`capacity of ${capacitySectors} sectors is too large for a hosted sparse file`);
  const head = Buffer.alloc((layout.gdOffset + layout.gdSectors) * SECTOR);
  encodeSparseHeader(layout).copy(head, 0);
  descriptor?.copy(head, layout.descriptorOffset * SECTOR);
  encodeDirectory(layout.rgdOffset, layout.gdSectors, layout.numGTs).copy(head, layout.rgdOffset * SECTOR);
  encodeDirectory(layout.gdOffset, layout.gdSectors, layout.numGTs).copy(head, layout.gdOffset * SECTOR);
  return { head, fileBytes: layout.overHead * SECTOR };
}
