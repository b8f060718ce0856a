/**
 * Where the metadata of a new hosted sparse extent goes (format doc §2.5), and its header bytes.
 * VMware, QEMU and VirtualBox all lay a fresh extent out this way.
 */
export const KDMV_MAGIC = 0x564d444b;
export const GTES_PER_GT = 512;
export const GT_SECTORS = (GTES_PER_GT * 4) / 512;

export interface SparseLayout {
  capacitySectors: number;
  grainSectors: number;
  descriptorOffset: number;
  descriptorSectors: number;
  numGTs: number;
  gdSectors: number;
  rgdOffset: number;
  gdOffset: number;
  /** First sector of grain data. */
  overHead: number;
}

export function sparseLayout(capacitySectors: number, grainSectors: number, descriptorSectors: number): SparseLayout {
  const numGrains = Math.ceil(capacitySectors / grainSectors);
  const numGTs = Math.max(1, Math.ceil(numGrains / GTES_PER_GT));
  const gdSectors = Math.ceil((numGTs * 4) / 512);
  const descriptorOffset = descriptorSectors > 0 ? 1 : 0;
  const rgdOffset = descriptorSectors > 0 ? descriptorOffset + descriptorSectors : 1;
  const gdOffset = rgdOffset + gdSectors + numGTs * GT_SECTORS;
  const end = gdOffset + gdSectors + numGTs * GT_SECTORS;
  const overHead = Math.ceil(end / grainSectors) * grainSectors;
  return { capacitySectors, grainSectors, descriptorOffset, descriptorSectors, numGTs, gdSectors, rgdOffset, gdOffset, overHead };
}

export interface HeaderFields {
  version: number;
  flags: number;
  capacitySectors: number;
  grainSectors: number;
  descriptorOffset: number;
  descriptorSectors: number;
  rgdOffset: number;
  gdOffset: number;
  overHead: number;
  compressAlgorithm?: number;
}

/** The 512-byte SparseExtentHeader (§2.1), newline-detection bytes included. */
export function sparseHeader(h: HeaderFields): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt32LE(KDMV_MAGIC, 0);
  b.writeUInt32LE(h.version, 4);
  b.writeUInt32LE(h.flags, 8);
  b.writeBigUInt64LE(BigInt(h.capacitySectors), 12);
  b.writeBigUInt64LE(BigInt(h.grainSectors), 20);
  b.writeBigUInt64LE(BigInt(h.descriptorOffset), 28);
  b.writeBigUInt64LE(BigInt(h.descriptorSectors), 36);
  b.writeUInt32LE(GTES_PER_GT, 44);
  b.writeBigUInt64LE(BigInt(h.rgdOffset), 48);
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(h.gdOffset)), 56);
  b.writeBigUInt64LE(BigInt(h.overHead), 64);
  b[72] = 0;
  b[73] = 0x0a;
  b[74] = 0x20;
  b[75] = 0x0d;
  b[76] = 0x0a;
  b.writeUInt16LE(h.compressAlgorithm ?? 0, 77);
  return b;
}

/**
 * The directory of a fresh layout: every GT preallocated (VMware cannot use sparse files whose
 * GTs are not, §2.4), entry i pointing at GT i behind the directory.
 */
export function directory(gdStart: number, gdSectors: number, numGTs: number): Buffer {
  const b = Buffer.alloc(gdSectors * 512);
  for (let i = 0; i < numGTs; i++) b.writeUInt32LE(gdStart + gdSectors + i * GT_SECTORS, i * 4);
  return b;
}
