/**
 * `diskchain snapshot DISK`: adds an empty child on top of DISK, in the layout the disk's own
 * product would have made (format doc §1.8, §2.5, §4.3, §4.4):
 *
 * - ESX 2 raw `.dsk` or a bare COWD REDO log → `DISK.REDO`, a bare COWD naming its parent in the
 *   header (ESX 2 allowed two REDO levels, so a third is refused, as ESX 2 did);
 * - ESX `vmfs` (thin, thick, eager-zeroed), virtual RDMs and vmfsSparse deltas →
 *   `NAME-00000N.vmdk` (createType vmfsSparse) + `NAME-00000N-delta.vmdk` (COWD);
 * - hosted kinds (monolithicSparse/Flat, twoGbMaxExtentSparse/Flat) → `NAME-00000N.vmdk`, a
 *   monolithicSparse child with its descriptor embedded.
 *
 * The child gets the parent's capacity, a new CID and `parentCID` = the parent's CID. Files are
 * written into a staging folder beside the parent and renamed into place, descriptor last, so an
 * interrupted snapshot never leaves a child that looks complete. The parent is not touched.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capabilitiesOf, type SnapshotLayout } from '../../shared/capabilities.js';
import { DiskchainError, unsupportedError } from '../../shared/errors.js';
import type { JobResult, SnapshotSpec } from '../../shared/jobs.js';
import { openChain, type Chain } from '../disk/chain.js';
import { headerNumber, type Link } from '../disk/link.js';
import { COWD_MAX_CAPACITY_SECTORS } from '../formats/cowd/create.js';
import { cowdDriver, sparseDriver, type NewExtentBytes } from '../formats/drivers.js';
import { formatCid, randomCid, serializeDescriptor, type Descriptor } from '../formats/descriptor.js';
import { SECTOR } from '../formats/extent.js';
import { StagedOutput } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { guardedSnapshot } from './guards.js';

/** ESX 2 kept at most a REDO log and a REDO of that REDO. */
const MAX_REDO_LEVELS = 2;
/** VMware numbers snapshots -000001 … -999999. */
const MAX_SNAPSHOT_NUMBER = 999999;

export type { SnapshotLayout };

/** Writer locks, the in-use check and the .vmx follow-up around adding the child (guards.ts). */
export function snapshotJob(spec: SnapshotSpec, ctx: JobContext): Promise<JobResult> {
  return guardedSnapshot(spec, () => addChild(spec, ctx));
}

async function addChild(spec: SnapshotSpec, ctx: JobContext): Promise<JobResult> {
  ctx.throwIfCancelled();
  // Opening the whole chain refuses a disk whose own chain is broken: a child of it could not be read.
  const chain = openChain(spec.disk);
  let created: string;
  try {
    const parent = chain.top;
    const layout = layoutFor(parent);
    if (layout === 'redo') created = writeRedo(chain);
    else if (layout === 'vmfsSparse') created = writeVmfsSparseChild(parent);
    else created = writeHostedChild(parent);
  } finally {
    chain.close();
  }
  ctx.progress('snapshot', 1, 1);
  return { outputs: [created], summary: `created ${path.basename(created)} on top of ${path.basename(chain.top.path)}` };
}

export function layoutFor(parent: Link): SnapshotLayout {
  const layout = capabilitiesOf(parent.createType).snapshot;
  if (layout) return layout;
  throw unsupportedError(parent.path, `cannot create a snapshot of a ${parent.createType} disk`);
}

// ---------------------------------------------------------------------------------------------
// ESX 2 REDO logs

function writeRedo(chain: Chain): string {
  const parent = chain.top;
  let levels = 0;
  while (chain.links[levels]?.createType === 'cowd') levels++;
  if (levels >= MAX_REDO_LEVELS) {
    throw new DiskchainError(
      'E_USAGE',
      `${path.basename(parent.path)} is already a REDO log of a REDO log; ESX 2 allowed at most ${MAX_REDO_LEVELS} REDO levels ` +
        '(commit one first)',
      parent.path,
    );
  }
  const capacitySectors = capacityOf(parent, COWD_MAX_CAPACITY_SECTORS, 'a REDO log');
  const name = `${path.basename(parent.path)}.REDO`;
  const { head: content } = cowdDriver.create!({
    capacitySectors,
    parentFileName: path.basename(parent.path),
    parentGeneration: headerNumber(parent, 'generation') ?? 0,
  });
  return writeStaged(path.dirname(parent.path), [{ name, content }], name);
}

// ---------------------------------------------------------------------------------------------
// ESX 3+ vmfsSparse and hosted monolithicSparse children

function writeVmfsSparseChild(parent: Link): string {
  const capacitySectors = capacityOf(parent, COWD_MAX_CAPACITY_SECTORS, 'a vmfsSparse delta');
  const dir = path.dirname(parent.path);
  const name = nextSnapshotName(dir, stemOf(parent.path), (n) => [n, n.replace(/\.vmdk$/, '-delta.vmdk')]);
  const deltaName = name.replace(/\.vmdk$/, '-delta.vmdk');
  const descriptor = childDescriptor(parent, 'vmfsSparse', capacitySectors, { type: 'VMFSSPARSE', fileName: deltaName });
  return writeStaged(
    dir,
    [
      { name: deltaName, content: cowdDriver.create!({ capacitySectors }).head },
      { name, content: descriptor },
    ],
    name,
  );
}

function writeHostedChild(parent: Link): string {
  // GT offsets are 32-bit sectors; the driver's metadata check is the real limit.
  const capacitySectors = capacityOf(parent, Number.MAX_SAFE_INTEGER, 'a hosted sparse child');
  const dir = path.dirname(parent.path);
  const name = nextSnapshotName(dir, stemOf(parent.path), (n) => [n]);
  const descriptor = childDescriptor(parent, 'monolithicSparse', capacitySectors, { type: 'SPARSE', fileName: name });
  let extent: NewExtentBytes;
  try {
    extent = sparseDriver.create!({ capacitySectors, descriptor });
  } catch (e) {
    throw unsupportedError(parent.path, (e as Error).message);
  }
  return writeStaged(dir, [{ name, content: extent.head, lengthBytes: extent.fileBytes }], name);
}

function capacityOf(parent: Link, maxSectors: number, what: string): number {
  if (parent.capacityBytes % SECTOR !== 0 || parent.capacityBytes === 0) {
    throw unsupportedError(parent.path, `capacity of ${parent.capacityBytes} bytes is not a whole number of sectors`);
  }
  const sectors = parent.capacityBytes / SECTOR;
  if (sectors > maxSectors) throw unsupportedError(parent.path, `${what} holds at most ${maxSectors} sectors; this disk has ${sectors}`);
  return sectors;
}

/** `web01.vmdk` and `web01-000003.vmdk` both number their snapshots as `web01-00000N`. */
function stemOf(file: string): string {
  return path
    .basename(file)
    .replace(/\.vmdk$/i, '')
    .replace(/-\d{6}$/, '');
}

/** The first `STEM-00000N.vmdk` none of whose files exist yet. */
function nextSnapshotName(dir: string, stem: string, filesOf: (name: string) => string[]): string {
  for (let n = 1; n <= MAX_SNAPSHOT_NUMBER; n++) {
    const name = `${stem}-${String(n).padStart(6, '0')}.vmdk`;
    if (filesOf(name).every((f) => !fs.existsSync(path.join(dir, f)))) return name;
  }
  throw new DiskchainError('E_EXISTS', `every snapshot name ${stem}-000001 … -${MAX_SNAPSHOT_NUMBER} is taken`, path.join(dir, stem));
}

function childDescriptor(
  parent: Link,
  createType: string,
  capacitySectors: number,
  extent: { type: 'VMFSSPARSE' | 'SPARSE'; fileName: string },
): Buffer {
  const parentCid = parent.descriptor?.cid;
  if (parentCid === undefined) {
    throw new DiskchainError('E_CHAIN', 'the descriptor has no CID, so a child could not name the parent content it expects', parent.path);
  }
  const cid = randomCid();
  const ddb = new Map([['ddb.longcontentid', `${crypto.randomBytes(12).toString('hex')}${formatCid(cid)}`]]);
  const d: Descriptor = {
    version: 1,
    encoding: 'UTF-8',
    cid,
    parentCid,
    isNativeSnapshot: 'no',
    createType,
    parentFileNameHint: path.basename(parent.path),
    extents: [{ access: 'RW', sizeSectors: capacitySectors, type: extent.type, fileName: extent.fileName, offsetSectors: 0, extra: [] }],
    ddb,
    ddbOrder: ['ddb.longContentID'],
    otherHeader: new Map(),
    warnings: [],
  };
  return Buffer.from(serializeDescriptor(d), 'utf8');
}

// ---------------------------------------------------------------------------------------------

interface NewFile {
  name: string;
  content: Buffer;
  /** Final length when larger than the content (the rest stays a hole: zeros). */
  lengthBytes?: number;
}

/** Writes the files into a staging folder and renames them into place, `primary` last. */
function writeStaged(dir: string, files: NewFile[], primary: string): string {
  const out = StagedOutput.create(
    dir,
    files.map((f) => f.name),
  );
  try {
    for (const f of files) {
      const file = out.open(f.name);
      file.writeAt(f.content, 0);
      if (f.lengthBytes !== undefined && f.lengthBytes > f.content.length) file.truncate(f.lengthBytes);
    }
    out.commit(primary);
  } catch (e) {
    out.abort();
    throw e;
  }
  return out.finalPath(primary);
}
