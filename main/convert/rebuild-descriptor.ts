/**
 * `rebuild-descriptor`: the text descriptor of orphan extents, written again from what the extents
 * themselves say. The kind follows VMware's file names (format doc §1.5, §6):
 *
 *   NAME-s001.vmdk …   twoGbMaxExtentSparse, each extent's size from its KDMV header
 *   NAME-f001.vmdk …   twoGbMaxExtentFlat, sizes from the file sizes
 *   NAME-flat.vmdk     vmfs (ESX), geometry for the adapter
 *   NAME-delta.vmdk    vmfsSparse (COWD), NAME-sesparse.vmdk seSparse: child of the disk beside it
 *                      that has the same capacity and is not itself a child of NAME.vmdk
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, formatError, usageError } from '../../shared/errors.js';
import type { Adapter, DiskKind } from '../../shared/jobs.js';
import { openChain, type Chain } from '../disk/chain.js';
import { openLink, type Link } from '../disk/link.js';
import { NO_PARENT_CID, randomCid, serializeDescriptor, type Descriptor, type ExtentLine } from '../formats/descriptor.js';
import { cowdDriver, readHead, seSparseDriver, sniff, sparseDriver } from '../formats/drivers.js';
import { DiskFile } from '../io/disk-file.js';
import { StagedOutput } from '../io/staged-output.js';
import { outputDdb, outputDescriptor, type OutputPlan } from './layout.js';

export interface RebuildOptions {
  adapter?: Adapter;
  /** The descriptor to write; default NAME.vmdk beside the extent. */
  out?: string;
  /** The parent of a delta, when more than one disk beside it could be. */
  parent?: string;
}

export interface RebuildResult {
  descriptor: string;
  createType: string;
  extents: string[];
  parent?: string;
}

const SECTOR = 512;
const SPLIT = /^(.*)-([sf])(\d{3})\.vmdk$/i;
const NAMED = /^(.*)-(flat|delta|sesparse)\.vmdk$/i;

export function rebuildDescriptor(extent: string, options: RebuildOptions = {}): RebuildResult {
  const abs = path.resolve(extent);
  if (!fs.existsSync(abs)) throw new DiskchainError('E_NOTFOUND', 'no such file', abs);
  const base = path.basename(abs);
  const split = SPLIT.exec(base);
  const named = NAMED.exec(base);
  const stem = split?.[1] ?? named?.[1];
  if (!stem) {
    throw usageError(`${base}: not a name an orphan extent has (NAME-s001.vmdk, NAME-f001.vmdk, NAME-flat.vmdk, NAME-delta.vmdk, NAME-sesparse.vmdk)`);
  }
  const out = path.resolve(options.out ?? path.join(path.dirname(abs), `${stem}.vmdk`));
  if (!/\.vmdk$/i.test(out)) throw usageError(`${out}: the descriptor must be named .vmdk`);
  if (fs.existsSync(out)) throw new DiskchainError('E_EXISTS', 'already exists: rebuild-descriptor never replaces a file', out);
  const built = split
    ? splitSet(abs, stem, split[2]!.toLowerCase() === 's' ? 'twoGbMaxExtentSparse' : 'twoGbMaxExtentFlat', out, options)
    : named![2]!.toLowerCase() === 'flat'
      ? vmfsFlat(abs, out, options)
      : delta(abs, out, options);
  writeNew(out, built.text);
  return { descriptor: out, createType: built.createType, extents: built.extents, ...(built.parent ? { parent: built.parent } : {}) };
}

interface Built {
  text: string;
  createType: string;
  extents: string[];
  parent?: string;
}

/** Every NAME-s/fNNN.vmdk beside the one given, numbered from 001 without gaps. */
function splitSet(abs: string, stem: string, kind: DiskKind, out: string, options: RebuildOptions): Built {
  const dir = path.dirname(abs);
  const letter = kind === 'twoGbMaxExtentSparse' ? 's' : 'f';
  const pattern = new RegExp(`^${escapeRegExp(stem)}-${letter}(\\d{3})\\.vmdk$`, 'i');
  const found = fs
    .readdirSync(dir)
    .map((name) => ({ name, number: Number(pattern.exec(name)?.[1] ?? NaN) }))
    .filter((f) => Number.isInteger(f.number))
    .sort((a, b) => a.number - b.number);
  found.forEach((f, i) => {
    if (f.number !== i + 1) throw formatError(path.join(dir, `${stem}-${letter}${String(i + 1).padStart(3, '0')}.vmdk`), 'missing from the split set: found the extents after it but not this one');
  });
  const extents = found.map((f) => {
    const file = path.join(dir, f.name);
    return { name: relativeTo(out, file), sizeBytes: kind === 'twoGbMaxExtentSparse' ? sparseCapacity(file) : flatSize(file) };
  });
  return finish(kind, extents, out, options);
}

function vmfsFlat(abs: string, out: string, options: RebuildOptions): Built {
  return finish('vmfs', [{ name: relativeTo(out, abs), sizeBytes: flatSize(abs) }], out, { ...options, adapter: options.adapter ?? 'lsilogic' });
}

function finish(kind: DiskKind, extents: OutputPlan['extents'], out: string, options: RebuildOptions): Built {
  const capacityBytes = extents.reduce((s, e) => s + e.sizeBytes, 0);
  const cid = randomCid();
  const plan: OutputPlan = { dir: path.dirname(out), primary: path.basename(out), extents, separateDescriptor: true };
  const ddb = outputDdb(null, capacityBytes, { kind, ...(options.adapter ? { adapter: options.adapter } : {}) }, cid);
  return { text: outputDescriptor(kind, plan, ddb, { cid }), createType: kind === 'vmfsThin' ? 'vmfs' : kind, extents: extents.map((e) => e.name) };
}

/** A KDMV extent's capacity from its header: the size its descriptor line had. */
function sparseCapacity(file: string): number {
  return withFile(file, (f) => {
    if (sniff(readHead(f)) !== sparseDriver) throw formatError(file, 'a -sNNN.vmdk extent must start with a KDMV header; this file has none');
    const reader = sparseDriver.open(f, { sizeBytes: f.size, offsetBytes: 0 });
    return reader.sizeBytes;
  });
}

function flatSize(file: string): number {
  const size = fs.statSync(file).size;
  if (size === 0 || size % SECTOR !== 0) throw formatError(file, `a flat extent holds whole sectors; this file has ${size} bytes`);
  return withFile(file, (f) => {
    if (sniff(readHead(f)) !== null) throw formatError(file, 'this file has a sparse header: it is not a flat extent');
    return size;
  });
}

/** A COWD or seSparse child: its capacity from its header, CID and hint from its parent. */
function delta(abs: string, out: string, options: RebuildOptions): Built {
  const { capacityBytes, type, createType } = withFile(abs, (f) => {
    const driver = sniff(readHead(f));
    const whole = { sizeBytes: f.size, offsetBytes: 0 };
    if (driver === cowdDriver) return { capacityBytes: driver.open(f, whole).sizeBytes, type: 'VMFSSPARSE' as const, createType: 'vmfsSparse' };
    if (driver === seSparseDriver) return { capacityBytes: driver.open(f, whole).sizeBytes, type: 'SESPARSE' as const, createType: 'seSparse' };
    throw formatError(abs, 'a delta extent must start with a COWD or seSparse header; this file has none');
  });
  const parent = options.parent ? path.resolve(options.parent) : findParent(abs, out, capacityBytes);
  const parentLink = openLink(parent);
  const parentCid = parentLink.descriptor?.cid;
  parentLink.data.close();
  if (parentLink.capacityBytes !== capacityBytes) {
    throw formatError(parent, `holds ${parentLink.capacityBytes} bytes but ${path.basename(abs)} holds ${capacityBytes}: it is not the parent`);
  }
  const cid = randomCid();
  const chain = tryChain(parent);
  const ddb = outputDdb(chain, capacityBytes, { kind: 'vmfs', ...(options.adapter ? { adapter: options.adapter } : {}) }, cid);
  chain?.close();
  const line: ExtentLine = { access: 'RW', sizeSectors: capacityBytes / SECTOR, type, fileName: relativeTo(out, abs), offsetSectors: 0, extra: [] };
  const d: Descriptor = {
    version: 1,
    encoding: 'UTF-8',
    cid,
    parentCid: parentCid ?? NO_PARENT_CID,
    createType,
    parentFileNameHint: relativeTo(out, parent),
    isNativeSnapshot: 'no',
    extents: [line],
    ddb,
    ddbOrder: ['ddb.adapterType', 'ddb.geometry.cylinders', 'ddb.geometry.heads', 'ddb.geometry.sectors', 'ddb.longContentID', 'ddb.uuid', 'ddb.virtualHWVersion'],
    otherHeader: new Map(),
    warnings: [],
  };
  return { text: serializeDescriptor(d), createType, extents: [line.fileName!], parent };
}

/**
 * The disk beside a delta that can be its parent: a descriptor-bearing disk of the same capacity
 * that is not the delta's own child (its parent hint names the descriptor being rebuilt). Of
 * several, the one no other candidate names as parent: the end of the chain the delta continues.
 */
function findParent(abs: string, out: string, capacityBytes: number): string {
  const dir = path.dirname(abs);
  const candidates: Array<{ file: string; link: Link }> = [];
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (!/\.vmdk$/i.test(name) || file === abs || file === out || SPLIT.test(name) || NAMED.test(name)) continue;
    const link = tryLink(file);
    if (!link) continue;
    if (link.descriptor?.cid !== undefined && link.capacityBytes === capacityBytes && !names(link, out)) candidates.push({ file, link });
  }
  const ends = candidates.filter((c) => !candidates.some((other) => other !== c && names(other.link, c.file)));
  if (ends.length === 1) return ends[0]!.file;
  const why = candidates.length === 0 ? `no disk of ${capacityBytes} bytes with a descriptor is beside it` : `it could be the child of ${ends.map((c) => path.basename(c.file)).join(' or ')}`;
  throw new DiskchainError('E_CHAIN', `cannot tell the parent: ${why}; name it with --parent`, abs);
}

/** Whether `link`'s parent hint points at `file`. */
function names(link: Link, file: string): boolean {
  const hint = link.descriptor?.parentFileNameHint;
  if (!hint) return false;
  const unix = hint.replace(/\\/g, '/');
  return path.resolve(path.dirname(link.path), unix) === file || path.posix.basename(unix) === path.basename(file);
}

function tryLink(file: string): Link | null {
  try {
    const link = openLink(file);
    link.data.close();
    return link;
  } catch {
    return null;
  }
}

/** The parent's chain for its DDB (adapter, geometry), when it opens. */
function tryChain(file: string): Chain | null {
  try {
    return openChain(file, { ignoreCid: true });
  } catch {
    return null;
  }
}

function withFile<T>(file: string, use: (f: DiskFile) => T): T {
  const f = DiskFile.open(file);
  try {
    return use(f);
  } finally {
    f.close();
  }
}

/** Extent names are relative to the descriptor (§1.5), with / as VMware writes them everywhere. */
function relativeTo(descriptor: string, file: string): string {
  return path.relative(path.dirname(descriptor), file).split(path.sep).join('/');
}

/** Staged like every output: a crash never leaves half a descriptor under the final name. */
function writeNew(out: string, text: string): void {
  const staged = StagedOutput.create(path.dirname(out), [path.basename(out)]);
  try {
    staged.open(path.basename(out)).writeAt(Buffer.from(text, 'utf8'), 0);
    staged.commit(path.basename(out));
  } catch (e) {
    staged.abort();
    throw e;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
