/**
 * Opening a damaged disk for `recover`. A file with a binary header (hosted sparse or stream,
 * COWD, seSparse) is opened here with every salvage option, since the normal open refuses
 * damage that recover is meant to get around: a torn stream is read as far as its markers go, and a
 * hosted sparse takes the redundant grain table where the primary one is unusable. Descriptor
 * files and every parent open as usual. Each link then reads through a SalvageReader, which turns
 * damage into lost ranges instead of errors.
 */
import * as path from 'node:path';
import { DiskchainError, formatError } from '../../shared/errors.js';
import type { Problem } from '../../shared/types.js';
import type { CowdExtent } from '../formats/cowd/reader.js';
import { parseDescriptor, type Descriptor } from '../formats/descriptor.js';
import { cowdDriver, readHead, seSparseDriver, sniff, sparseDriver } from '../formats/drivers.js';
import type { ExtentReader } from '../formats/extent.js';
import type { SeSparseExtent } from '../formats/sesparse/reader.js';
import { openSparseExtent, type SparseExtent } from '../formats/sparse/reader.js';
import { DiskFile } from '../io/disk-file.js';
import { hostFiles } from '../io/file-source.js';
import { Chain, checkCid, openChain, resolveParent } from './chain.js';
import type { Link } from './link.js';
import { LostRanges, SalvageReader } from './salvage-reader.js';

export interface SalvagedDisk {
  /** Reads never fail on damage; what could not be read is in `lost` once it has been read. */
  chain: Chain;
  lost: LostRanges;
  /** How the open worked around damage, one line each. */
  notes: string[];
}

const SECTOR = 512;

export function openSalvaged(src: string, options: { ignoreCid?: boolean; allowDevices?: boolean } = {}): SalvagedDisk {
  const notes: string[] = [];
  const lost = new LostRanges();
  const top = openTopLink(path.resolve(src), notes, lost);
  let links: Link[];
  const problems: Problem[] = [];
  // acceptDamage: the disk is opened to work around what it lost, not refused for it.
  const chainOptions = { ignoreCid: options.ignoreCid === true, acceptDamage: true, allowDevices: options.allowDevices === true };
  if (top === null) {
    const chain = openChain(src, chainOptions);
    links = chain.links;
    problems.push(...chain.problems);
  } else {
    links = [top];
    try {
      const parentPath = resolveParent(top);
      if (parentPath !== null) {
        const parent = openChain(parentPath, chainOptions);
        links.push(...parent.links);
        problems.push(...parent.problems);
        const cidProblem = checkCid(top, parent.top);
        if (cidProblem && !options.ignoreCid) throw new DiskchainError('E_CID', `${cidProblem.message}; use --ignore-cid to read anyway`, top.path);
        if (cidProblem) problems.push(cidProblem);
      }
    } catch (e) {
      for (const l of links) l.data.close();
      throw e;
    }
  }
  const salvaging = links.map((l) => ({ ...l, data: new SalvageReader(l.data, lost, grainBytesOf(l)) }));
  return { chain: new Chain(salvaging, problems), lost, notes };
}

/** The link of a file with a binary header, opened for salvage; null for a descriptor or raw file. */
function openTopLink(abs: string, notes: string[], lost: LostRanges): Link | null {
  const file = DiskFile.open(abs, hostFiles);
  try {
    if (file.size === 0) throw formatError(abs, 'empty file: nothing to recover');
    const driver = sniff(readHead(file));
    const whole = { sizeBytes: file.size, offsetBytes: 0 };
    if (driver === sparseDriver) return sparseLink(abs, openSparseExtent(file, { salvageTruncatedStream: true, redundantWhereBad: true }), notes, lost);
    if (driver === cowdDriver) return cowdLink(abs, cowdDriver.open(file, whole) as CowdExtent);
    if (driver === seSparseDriver) {
      const reader = seSparseDriver.open(file, whole) as SeSparseExtent;
      return bareLink(abs, 'seSparse', reader, 'SESPARSE', { grainSizeSectors: reader.header.grainSizeSectors });
    }
  } catch (e) {
    file.close();
    throw e;
  }
  file.close();
  return null;
}

function sparseLink(abs: string, sparse: SparseExtent, notes: string[], lost: LostRanges): Link {
  if (sparse.header.redundantGDInUse) notes.push('the grain directory is unreadable: grains were located through the redundant grain directory');
  if (sparse.layout === 'stream-scanned') {
    notes.push("the stream's grain tables are missing or unusable: grains were located by scanning its markers");
    if (isTornStream(abs)) lostTail(sparse, lost, notes);
  }
  const header = { ...sparse.header, layout: sparse.layout };
  const link = bareLink(abs, sparse.isStream ? 'streamOptimized' : 'monolithicSparse', sparse, 'SPARSE', header);
  const descriptor = embeddedDescriptor(abs, sparse, notes);
  if (descriptor) {
    link.descriptor = descriptor;
    link.descriptorText = sparse.embeddedDescriptor;
    link.createType = descriptor.createType;
    if (descriptor.parentFileNameHint) link.parent = { name: descriptor.parentFileNameHint, source: 'parentFileNameHint' };
  }
  return link;
}

/** Whether the normal open refuses the stream: its marker scan ended before the end-of-stream marker. */
function isTornStream(abs: string): boolean {
  const file = DiskFile.open(abs, hostFiles);
  try {
    openSparseExtent(file).close();
    return false;
  } catch (e) {
    file.close();
    if (e instanceof DiskchainError) return true;
    throw e;
  }
}

/**
 * Streams hold their grains in ascending LBA order (§3.7), so a torn stream has lost whatever lay
 * after its last complete grain: unknown, and counted as lost.
 */
function lostTail(sparse: SparseExtent, lost: LostRanges, notes: string[]): void {
  const runs = sparse.blockStatus(0, sparse.sizeBytes);
  const lastData = runs.filter((r) => r.state !== 'unallocated').pop();
  const grainBytes = sparse.header.grainSizeSectors * SECTOR;
  const tail = lastData ? Math.ceil((lastData.offset + lastData.length) / grainBytes) * grainBytes : 0;
  if (tail >= sparse.sizeBytes) return;
  lost.add(tail, sparse.sizeBytes - tail);
  notes.push(`the stream is cut short after LBA ${tail / SECTOR}: what it held beyond is unknown and counted as lost`);
}

/** A damaged embedded descriptor costs only the DDB (adapter, geometry) and the parent link. */
function embeddedDescriptor(abs: string, sparse: SparseExtent, notes: string[]): Descriptor | null {
  const text = sparse.embeddedDescriptor;
  if (text === null || text.trim() === '') return null;
  try {
    return parseDescriptor(text, abs);
  } catch (e) {
    if (!(e instanceof DiskchainError)) throw e;
    notes.push(`the embedded descriptor is unusable (${e.message}): read as a disk on its own`);
    return null;
  }
}

function cowdLink(abs: string, cowd: CowdExtent): Link {
  const link = bareLink(abs, 'cowd', cowd, 'VMFSSPARSE', { grainSizeSectors: cowd.header.grainSizeSectors });
  const name = cowd.header.parentFileName;
  if (name) link.parent = { name, source: 'cowd-header' };
  else if (/\.REDO$/i.test(abs)) link.parent = { name: path.basename(abs).replace(/\.REDO$/i, ''), source: 'redo-name' };
  return link;
}

function bareLink(abs: string, createType: string, reader: ExtentReader, type: string, header: Link['header']): Link {
  return {
    path: abs,
    source: hostFiles,
    createType,
    descriptor: null,
    descriptorText: null,
    capacityBytes: reader.sizeBytes,
    extents: [{ path: abs, type, access: 'RW', sectors: reader.sizeBytes / SECTOR, offset: 0 }],
    data: reader,
    parent: null,
    header,
    warnings: [],
  };
}

/**
 * The unit a link loses data in. Links opened through a descriptor do not show their grain size:
 * seSparse grains are 4 KiB, and a sector is the safe floor for the rest (COWD grains are one sector).
 */
function grainBytesOf(link: Link): number {
  const sectors = link.header['grainSizeSectors'];
  if (typeof sectors === 'number' && sectors > 0) return sectors * SECTOR;
  return link.extents.every((e) => e.type === 'SESPARSE') ? 8 * SECTOR : SECTOR;
}
