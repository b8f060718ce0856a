/**
 * What a converted disk looks like on disk: its file names, its descriptor and its DDB (format
 * doc §1.7, §2.7, §6). Writers fill extents; this module decides everything else.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { DEFAULT_SEGMENT_BYTES, type Adapter, type DiskKind } from '../../shared/jobs.js';
import type { Chain } from '../disk/chain.js';
import { adapterTypeOf, ddbLookup, writeGeometry } from '../disk/geometry.js';
import { formatCid, NO_PARENT_CID, randomCid, serializeDescriptor, type Descriptor, type ExtentLine } from '../formats/descriptor.js';

/** 64 KiB grains, as VMware writes hosted sparse and streamOptimized extents. */
export const GRAIN_BYTES = 128 * 512;

export interface ExtentPlan {
  /** Base name of the extent file. */
  name: string;
  sizeBytes: number;
}

export interface OutputPlan {
  dir: string;
  /** The file users open: the descriptor, or the single file of monolithicSparse/streamOptimized/raw. */
  primary: string;
  /** Data files in disk order (for monolithicSparse/streamOptimized the primary itself). */
  extents: ExtentPlan[];
  /** Whether a separate text descriptor file is written (primary is that file). */
  separateDescriptor: boolean;
}

/** `dir/stem.vmdk` for DST `dir/stem.vmdk`, `dir/stem`, or `dir/stem.img`. */
export function stemOf(dst: string): { dir: string; stem: string } {
  const abs = path.resolve(dst);
  return { dir: path.dirname(abs), stem: path.basename(abs).replace(/\.(vmdk|img|raw|dsk)$/i, '') };
}

export function planOutput(kind: DiskKind, dst: string, capacityBytes: number, segmentBytes = DEFAULT_SEGMENT_BYTES): OutputPlan {
  const { dir, stem } = stemOf(dst);
  const whole = (name: string): ExtentPlan[] => [{ name, sizeBytes: capacityBytes }];
  switch (kind) {
    case 'monolithicSparse':
    case 'streamOptimized':
      return { dir, primary: `${stem}.vmdk`, extents: whole(`${stem}.vmdk`), separateDescriptor: false };
    case 'raw':
      return { dir, primary: path.basename(path.resolve(dst)), extents: whole(path.basename(path.resolve(dst))), separateDescriptor: false };
    case 'monolithicFlat':
    case 'vmfs':
    case 'vmfsThin':
      return { dir, primary: `${stem}.vmdk`, extents: whole(`${stem}-flat.vmdk`), separateDescriptor: true };
    case 'twoGbMaxExtentSparse':
    case 'twoGbMaxExtentFlat': {
      const letter = kind === 'twoGbMaxExtentSparse' ? 's' : 'f';
      const extents: ExtentPlan[] = [];
      for (let at = 0, i = 1; at < capacityBytes || i === 1; at += segmentBytes, i++) {
        extents.push({ name: `${stem}-${letter}${String(i).padStart(3, '0')}.vmdk`, sizeBytes: Math.min(segmentBytes, capacityBytes - at) });
        if (capacityBytes === 0) break;
      }
      return { dir, primary: `${stem}.vmdk`, extents, separateDescriptor: true };
    }
  }
}

/** All base names an output will create, for existence checks before anything is written. */
export function outputNames(plan: OutputPlan): string[] {
  return [...new Set([plan.primary, ...plan.extents.map((e) => e.name)])];
}


function uuid(): string {
  const b = crypto.randomBytes(16);
  b[0] = 0x60;
  b[1] = 0x00;
  b[2] = 0xc2;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0'));
  return `${hex.slice(0, 8).join(' ')}-${hex.slice(8).join(' ')}`;
}

export interface DdbChoice {
  /** Adapter asked for; otherwise the source's (legacyESX becomes lsilogic: ESX 2 disks were SCSI). */
  adapter?: Adapter;
  kind: DiskKind;
}

/**
 * The DDB of a converted disk. The geometry is the source's when the adapter stays the same and
 * the source named one, else VMware's default for the adapter.
 */
export function outputDdb(source: Chain | null, capacityBytes: number, choice: DdbChoice, cid: number): Map<string, string> {
  const sourceAdapter = source ? adapterTypeOf(source) : 'lsilogic';
  const adapter = choice.adapter ?? (sourceAdapter === 'legacyESX' ? 'lsilogic' : sourceAdapter);
  const sectors = Math.floor(capacityBytes / 512);
  let g = writeGeometry(sectors, adapter);
  if (source && adapter === sourceAdapter) {
    const c = Number(ddbLookup(source, 'ddb.geometry.cylinders'));
    const h = Number(ddbLookup(source, 'ddb.geometry.heads'));
    const s = Number(ddbLookup(source, 'ddb.geometry.sectors'));
    if ([c, h, s].every((v) => Number.isInteger(v) && v > 0) && sameSize(source, capacityBytes)) g = { cylinders: c, heads: h, sectors: s };
  }
  const ddb = new Map<string, string>([
    ['ddb.adaptertype', adapter],
    ['ddb.geometry.cylinders', String(g.cylinders)],
    ['ddb.geometry.heads', String(g.heads)],
    ['ddb.geometry.sectors', String(g.sectors)],
    ['ddb.longcontentid', `${crypto.randomBytes(12).toString('hex')}${formatCid(cid)}`],
    ['ddb.uuid', uuid()],
    ['ddb.virtualhwversion', source ? (ddbLookup(source, 'ddb.virtualHWVersion') ?? '4') : '4'],
  ]);
  if (choice.kind === 'vmfsThin') ddb.set('ddb.thinprovisioned', '1');
  return ddb;
}

function sameSize(source: Chain, capacityBytes: number): boolean {
  return source.capacityBytes === capacityBytes;
}

const DDB_NAMES: Record<string, string> = {
  'ddb.adaptertype': 'ddb.adapterType',
  'ddb.geometry.cylinders': 'ddb.geometry.cylinders',
  'ddb.geometry.heads': 'ddb.geometry.heads',
  'ddb.geometry.sectors': 'ddb.geometry.sectors',
  'ddb.longcontentid': 'ddb.longContentID',
  'ddb.uuid': 'ddb.uuid',
  'ddb.virtualhwversion': 'ddb.virtualHWVersion',
  'ddb.thinprovisioned': 'ddb.thinProvisioned',
};

const CREATE_TYPE: Record<DiskKind, string> = {
  monolithicSparse: 'monolithicSparse',
  twoGbMaxExtentSparse: 'twoGbMaxExtentSparse',
  monolithicFlat: 'monolithicFlat',
  twoGbMaxExtentFlat: 'twoGbMaxExtentFlat',
  streamOptimized: 'streamOptimized',
  vmfs: 'vmfs',
  vmfsThin: 'vmfs',
  raw: 'raw',
};

const EXTENT_TYPE: Record<DiskKind, ExtentLine['type']> = {
  monolithicSparse: 'SPARSE',
  twoGbMaxExtentSparse: 'SPARSE',
  monolithicFlat: 'FLAT',
  twoGbMaxExtentFlat: 'FLAT',
  streamOptimized: 'SPARSE',
  vmfs: 'VMFS',
  vmfsThin: 'VMFS',
  raw: 'FLAT',
};

export interface DescriptorOptions {
  cid?: number;
  parentCid?: number;
  parentFileNameHint?: string;
}

/** The descriptor text of an output in VMware's canonical form. */
export function outputDescriptor(kind: DiskKind, plan: OutputPlan, ddb: Map<string, string>, options: DescriptorOptions = {}): string {
  const cid = options.cid ?? randomCid();
  const d: Descriptor = {
    version: 1,
    encoding: 'UTF-8',
    cid,
    parentCid: options.parentCid ?? NO_PARENT_CID,
    createType: CREATE_TYPE[kind],
    ...(options.parentFileNameHint === undefined ? {} : { parentFileNameHint: options.parentFileNameHint }),
    isNativeSnapshot: 'no',
    extents: plan.extents.map((e) => ({
      access: 'RW',
      sizeSectors: Math.ceil(e.sizeBytes / 512),
      type: EXTENT_TYPE[kind],
      fileName: e.name,
      offsetSectors: 0,
      extra: [],
    })),
    ddb,
    ddbOrder: [...ddb.keys()].map((k) => DDB_NAMES[k] ?? k),
    otherHeader: new Map(),
    warnings: [],
  };
  return serializeDescriptor(d);
}
