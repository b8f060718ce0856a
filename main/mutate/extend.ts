/**
 * `extend DISK SIZE` (like vmkfstools -X): grow a base disk, never shrink it. Data files grow
 * first and are fsynced; the header or descriptor that announces the new size is written last
 * (descriptors by temp file + rename), so a crash leaves the disk at its old size, intact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { DEFAULT_SEGMENT_BYTES, type ExtendSpec, type JobResult } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import { findChildren } from '../disk/children.js';
import { adapterTypeOf, writeGeometry } from '../disk/geometry.js';
import type { Link } from '../disk/link.js';
import { randomCid, serializeDescriptor, type Descriptor } from '../formats/descriptor.js';
import { SECTOR } from '../formats/extent.js';
import { encodeDirectory, encodeSparseHeader, GT_SECTORS, GTES_PER_GT, hostedSparseLayout } from '../formats/sparse/layout.js';
import { replaceFile } from '../io/staged-output.js';
import { parseKdmvHeader } from '../formats/sparse/writer.js';
import type { SparseHeader } from '../formats/sparse/reader.js';
import type { JobContext } from '../io/job-context.js';
import { guardedExtend } from './guards.js';


/** Writer lock and the in-use check around growing the disk (guards.ts). */
export function extendJob(spec: ExtendSpec, ctx: JobContext): Promise<JobResult> {
  return guardedExtend(spec, () => growDisk(spec, ctx));
}

async function growDisk(spec: ExtendSpec, ctx: JobContext): Promise<JobResult> {
  const chain = openChain(spec.disk);
  let link: Link;
  try {
    link = chain.top;
    if (chain.links.length > 1) {
      throw usageError(`${path.basename(link.path)} is a snapshot of ${path.basename(chain.links[1]!.path)}: commit it, then extend the base disk`);
    }
    const children = findChildren(link.path);
    if (children.length > 0) {
      throw usageError(`${path.basename(link.path)} has snapshots (${children.map((c) => path.basename(c)).join(', ')}): commit them first`);
    }
    if (spec.sizeBytes % SECTOR !== 0) throw usageError(`size ${spec.sizeBytes} is not a whole number of 512-byte sectors`);
    if (spec.sizeBytes === link.capacityBytes) throw usageError(`${path.basename(link.path)} is already ${spec.sizeBytes} bytes`);
    if (spec.sizeBytes < link.capacityBytes) {
      throw usageError(`cannot shrink ${path.basename(link.path)} from ${link.capacityBytes} to ${spec.sizeBytes} bytes: Diskchain never shrinks a disk`);
    }
  } finally {
    chain.close();
  }
  ctx.progress('extend', 0, 1);
  const adapter = adapterTypeOf(chain);
  const changed = extendLink(link, spec.sizeBytes, adapter);
  ctx.progress('extend', 1, 1);
  return { outputs: changed, summary: `extended ${path.basename(link.path)} from ${link.capacityBytes} to ${spec.sizeBytes} bytes` };
}

function extendLink(link: Link, sizeBytes: number, adapter: string): string[] {
  if (link.createType === 'raw') {
    growFile(link.path, sizeBytes);
    return [link.path];
  }
  const d = link.descriptor;
  const types = new Set(link.extents.map((e) => e.type));
  if (!d || link.createType === 'cowd') throw unsupported(link);
  if (d.createType === 'streamOptimized') {
    throw new DiskchainError('E_UNSUPPORTED', 'a streamOptimized disk cannot grow in place: convert it to monolithicSparse or vmfs first', link.path);
  }
  if ([...types].every((t) => t === 'FLAT' || t === 'VMFS')) return extendFlat(link, d, sizeBytes, adapter);
  if (types.size === 1 && types.has('SPARSE')) {
    if (link.extents.length === 1 && link.descriptorText !== null && link.extents[0]!.path === link.path) {
      return extendMonolithicSparse(link, d, sizeBytes, adapter);
    }
    return extendSplitSparse(link, d, sizeBytes, adapter);
  }
  throw unsupported(link);
}

function unsupported(link: Link): DiskchainError {
  return new DiskchainError('E_UNSUPPORTED', `extending a ${link.createType} disk is not supported: convert it to vmfs or monolithicSparse first`, link.path);
}

function growFile(file: string, size: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    if (fs.fstatSync(fd).size < size) fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function updateDescriptor(link: Link, d: Descriptor, sizeBytes: number, adapter: string): void {
  const next: Descriptor = { ...d, cid: randomCid(), ddb: new Map(d.ddb) };
  if (adapter !== 'legacyESX' && next.ddb.has('ddb.geometry.cylinders')) {
    const g = writeGeometry(sizeBytes / SECTOR, adapter);
    next.ddb.set('ddb.geometry.cylinders', String(g.cylinders));
    next.ddb.set('ddb.geometry.heads', String(g.heads));
    next.ddb.set('ddb.geometry.sectors', String(g.sectors));
  }
  Object.assign(d, next);
}

/** Flat and VMFS extents: grow the last file (split kinds up to a segment), add files beyond. */
function extendFlat(link: Link, d: Descriptor, sizeBytes: number, adapter: string): string[] {
  const last = d.extents[d.extents.length - 1]!;
  const lastInfo = link.extents[link.extents.length - 1]!;
  if (last.offsetSectors !== 0 || lastInfo.path === null) throw unsupported(link);
  const split = d.createType === 'twoGbMaxExtentFlat';
  let grow = (sizeBytes - link.capacityBytes) / SECTOR;
  const changed: string[] = [];
  const room = split ? Math.max(0, DEFAULT_SEGMENT_BYTES / SECTOR - last.sizeSectors) : grow;
  const first = Math.min(room, grow);
  if (first > 0) {
    growFile(lastInfo.path, (last.sizeSectors + first) * SECTOR);
    last.sizeSectors += first;
    grow -= first;
    changed.push(lastInfo.path);
  }
  const dir = path.dirname(link.path);
  const stem = path.basename(link.path).replace(/\.vmdk$/i, '');
  let n = d.extents.length + 1;
  while (grow > 0) {
    const sectors = Math.min(grow, DEFAULT_SEGMENT_BYTES / SECTOR);
    const name = `${stem}-f${String(n++).padStart(3, '0')}.vmdk`;
    const file = path.join(dir, name);
    if (fs.existsSync(file)) throw new DiskchainError('E_EXISTS', 'would be the next extent of the disk but already exists', file);
    fs.writeFileSync(file, '');
    growFile(file, sectors * SECTOR);
    d.extents.push({ access: last.access, sizeSectors: sectors, type: last.type, fileName: name, offsetSectors: 0, extra: [] });
    grow -= sectors;
    changed.push(file);
  }
  updateDescriptor(link, d, sizeBytes, adapter);
  replaceFile(link.path, serializeDescriptor(d));
  return [link.path, ...changed];
}

function readHeader(fd: number, file: string): SparseHeader {
  const b = Buffer.alloc(512);
  fs.readSync(fd, b, 0, 512, 0);
  const h = parseKdmvHeader(b, file);
  if (h.numGTEsPerGT !== GTES_PER_GT || (h.flags & 0x10000) !== 0) {
    throw new DiskchainError('E_UNSUPPORTED', 'only uncompressed sparse extents with 512-entry grain tables can grow', file);
  }
  return h;
}

/**
 * One KDMV extent grows: new (zeroed) grain tables, and when the directory has no room for their
 * entries, a new directory (and redundant one) at the end of the file. The header is rewritten
 * last; until then the file reads as before.
 */
function growSparseExtent(file: string, newCapacity: number, descriptor: string | null): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const h = readHeader(fd, file);
    const redundant = (h.flags & 2) !== 0;
    const oldGTs = Math.ceil(Math.ceil(h.capacitySectors / h.grainSizeSectors) / GTES_PER_GT);
    const newGTs = Math.ceil(Math.ceil(newCapacity / h.grainSizeSectors) / GTES_PER_GT);
    const oldGdSectors = Math.ceil((oldGTs * 4) / 512);
    const newGdSectors = Math.ceil((newGTs * 4) / 512);
    let end = Math.ceil(fs.fstatSync(fd).size / 512);
    const sync = (): void => fs.fsyncSync(fd);
    const zeroGTs = (count: number): number => {
      const at = end;
      fs.writeSync(fd, Buffer.alloc(count * GT_SECTORS * 512), 0, count * GT_SECTORS * 512, at * 512);
      end += count * GT_SECTORS;
      return at;
    };
    const dirs = redundant ? [h.gdOffsetSectors, h.rgdOffsetSectors] : [h.gdOffsetSectors];
    const newDirs: number[] = [];
    for (const oldDir of dirs) {
      const old = Buffer.alloc(oldGdSectors * 512);
      fs.readSync(fd, old, 0, old.length, oldDir * 512);
      const gtStart = zeroGTs(newGTs - oldGTs);
      const entries = Buffer.alloc(newGdSectors * 512);
      old.copy(entries, 0, 0, oldGTs * 4);
      for (let i = oldGTs; i < newGTs; i++) entries.writeUInt32LE(gtStart + (i - oldGTs) * GT_SECTORS, i * 4);
      if (newGdSectors === oldGdSectors) {
        // The new entries fit in the directory's last sector: the tables are already on disk.
        sync();
        fs.writeSync(fd, entries, 0, entries.length, oldDir * 512);
        newDirs.push(oldDir);
      } else {
        const at = end;
        fs.writeSync(fd, entries, 0, entries.length, at * 512);
        end += newGdSectors;
        newDirs.push(at);
      }
    }
    // Keep the end of the file on a grain boundary: grains are appended there, grain-aligned.
    const aligned = Math.ceil(end / h.grainSizeSectors) * h.grainSizeSectors;
    if (aligned * 512 > fs.fstatSync(fd).size) fs.ftruncateSync(fd, aligned * 512);
    sync();
    // Patch only what changed, so version, flags and anything else of the original header stay.
    const header = Buffer.alloc(512);
    fs.readSync(fd, header, 0, 512, 0);
    header.writeBigUInt64LE(BigInt(newCapacity), 12);
    if (redundant) header.writeBigUInt64LE(BigInt(newDirs[1]!), 48);
    header.writeBigUInt64LE(BigInt(newDirs[0]!), 56);
    fs.writeSync(fd, header, 0, 512, 0);
    if (descriptor !== null) {
      const bytes = Buffer.alloc(h.descriptorSizeSectors * 512);
      if (Buffer.byteLength(descriptor) > bytes.length) {
        throw new DiskchainError('E_UNSUPPORTED', 'the grown descriptor does not fit in its space in the file', file);
      }
      bytes.write(descriptor);
      fs.writeSync(fd, bytes, 0, bytes.length, h.descriptorOffsetSectors * 512);
    }
    sync();
  } finally {
    fs.closeSync(fd);
  }
}

function extendMonolithicSparse(link: Link, d: Descriptor, sizeBytes: number, adapter: string): string[] {
  d.extents[0]!.sizeSectors = sizeBytes / SECTOR;
  updateDescriptor(link, d, sizeBytes, adapter);
  growSparseExtent(link.path, sizeBytes / SECTOR, serializeDescriptor(d));
  return [link.path];
}

/** Split sparse disks get new extent files for the added capacity; existing ones stay as they are. */
function extendSplitSparse(link: Link, d: Descriptor, sizeBytes: number, adapter: string): string[] {
  const dir = path.dirname(link.path);
  const stem = path.basename(link.path).replace(/\.vmdk$/i, '');
  let grow = (sizeBytes - link.capacityBytes) / SECTOR;
  let n = d.extents.length + 1;
  const changed: string[] = [];
  const segment = DEFAULT_SEGMENT_BYTES / SECTOR;
  while (grow > 0) {
    const sectors = Math.min(grow, segment);
    const name = `${stem}-s${String(n++).padStart(3, '0')}.vmdk`;
    const file = path.join(dir, name);
    if (fs.existsSync(file)) throw new DiskchainError('E_EXISTS', 'would be the next extent of the disk but already exists', file);
    writeEmptySparse(file, sectors);
    d.extents.push({ access: 'RW', sizeSectors: sectors, type: 'SPARSE', fileName: name, offsetSectors: 0, extra: [] });
    changed.push(file);
    grow -= sectors;
  }
  updateDescriptor(link, d, sizeBytes, adapter);
  replaceFile(link.path, serializeDescriptor(d));
  return [link.path, ...changed];
}

/** A fresh extent with no grains, laid out as §2.5 (no embedded descriptor). */
function writeEmptySparse(file: string, capacitySectors: number): void {
  const l = hostedSparseLayout(capacitySectors, null);
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeSync(fd, encodeSparseHeader(l), 0, 512, 0);
    for (const dir of [l.rgdOffset, l.gdOffset]) fs.writeSync(fd, encodeDirectory(dir, l.gdSectors, l.numGTs), 0, l.gdSectors * 512, dir * 512);
    fs.ftruncateSync(fd, l.overHead * 512);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
