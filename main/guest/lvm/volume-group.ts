/**
 * A volume group from its text metadata: extent size, PVs (where their extents start) and the
 * visible LVs with their segments. Only `striped` segments (linear is one stripe) map straight onto
 * PV extents; thin, raid, mirror, cache and snapshot LVs are named with why they cannot be read.
 */
import { DiskchainError } from '../../../shared/errors.js';
import { MetadataSyntaxError, parseMetadataText, type ConfigSection, type ConfigValue } from './metadata-text.js';

const SECTOR = 512;
const MAX_SEGMENTS = 10_000;
const MAX_STRIPES = 128;

export interface PvRef {
  /** The key in the metadata: pv0, pv1… */
  key: string;
  uuid: string;
  peStart: number;
  peCount: number;
}

export interface StripeArea {
  pv: string;
  startExtent: number;
}

export interface Segment {
  startExtent: number;
  extentCount: number;
  type: string;
  stripeSize: number;
  stripes: StripeArea[];
}

export interface LogicalVolume {
  vg: string;
  name: string;
  size: number;
  /** `linear`, `striped`, `thin`, `raid1`, `snapshot`… */
  kind: string;
  /** Why it cannot be read as a volume, or null. */
  refused: string | null;
  segments: Segment[];
}

export interface VolumeGroup {
  name: string;
  uuid: string;
  seqno: number;
  extentSize: number;
  pvs: PvRef[];
  lvs: LogicalVolume[];
}

const REFUSED_KINDS: Array<[RegExp, string]> = [
  [/^thin-pool$/, 'a thin pool holds thin LVs, not a file system'],
  [/^thin$/, 'thin LVs (their blocks are mapped by the thin pool) are not read yet'],
  [/^raid/, 'RAID LVs are not read yet'],
  [/^mirror$/, 'mirrored LVs are not read yet'],
  [/^cache/, 'cached LVs are not read yet'],
  [/^writecache$/, 'write-cached LVs are not read yet'],
  [/^vdo/, 'VDO LVs are not read yet'],
  [/^integrity$/, 'integrity LVs are not read yet'],
];

/** The VG of a metadata text; `file` names the disk in errors. */
export function parseVolumeGroup(text: string, file: string): VolumeGroup {
  let root: ConfigSection;
  try {
    root = parseMetadataText(text);
  } catch (e) {
    if (e instanceof MetadataSyntaxError) throw new DiskchainError('E_FORMAT', `LVM metadata: ${e.message}`, file);
    throw e;
  }
  const names = Object.keys(root).filter((k) => isSection(root[k]));
  if (names.length !== 1) throw new DiskchainError('E_FORMAT', `LVM metadata: expected one volume group, found ${names.length}`, file);
  const name = names[0]!;
  const vg = root[name] as ConfigSection;
  const fail = (what: string): never => {
    throw new DiskchainError('E_FORMAT', `LVM metadata of VG ${name}: ${what}`, file);
  };
  const int = (section: ConfigSection, key: string, where: string): number => {
    const v = section[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${where}: ${key} is missing or not a count`);
    return v as number;
  };
  const extentSectors = int(vg, 'extent_size', 'VG');
  if (extentSectors === 0 || extentSectors > 2 ** 32) fail(`extent_size ${extentSectors} is out of range`);
  const extentSize = extentSectors * SECTOR;

  const pvs: PvRef[] = [];
  const pvSection = vg['physical_volumes'];
  if (isSection(pvSection)) {
    for (const [key, v] of Object.entries(pvSection)) {
      if (!isSection(v)) continue;
      const peStart = int(v, 'pe_start', `PV ${key}`) * SECTOR;
      const peCount = int(v, 'pe_count', `PV ${key}`);
      pvs.push({ key, uuid: String(v['id'] ?? ''), peStart, peCount });
    }
  }

  const all = isSection(vg['logical_volumes']) ? Object.entries(vg['logical_volumes']).filter((e): e is [string, ConfigSection] => isSection(e[1])) : [];
  // Old-style snapshots: a hidden "snapshotN" LV says which visible LV is its copy-on-write store.
  const cowOf = new Map<string, string>();
  for (const [, lv] of all) {
    for (const seg of segmentSections(lv)) {
      if (seg['type'] === 'snapshot' && typeof seg['cow_store'] === 'string') cowOf.set(seg['cow_store'], String(seg['origin'] ?? '?'));
    }
  }

  const lvs: LogicalVolume[] = [];
  for (const [lvName, lv] of all) {
    const status = lv['status'];
    if (!Array.isArray(status) || !status.includes('VISIBLE')) continue;
    const sections = segmentSections(lv);
    if (sections.length > MAX_SEGMENTS) fail(`LV ${lvName} has more than ${MAX_SEGMENTS} segments`);
    const segments = sections.map((seg, i) => segment(seg, `LV ${lvName} segment ${i + 1}`, int, fail));
    segments.sort((a, b) => a.startExtent - b.startExtent);
    let next = 0;
    for (const s of segments) {
      if (s.startExtent !== next) fail(`LV ${lvName}: segments leave a gap or overlap at extent ${next}`);
      next += s.extentCount;
    }
    const types = new Set(segments.map((s) => s.type));
    const kind = cowOf.has(lvName) ? 'snapshot' : types.size === 1 && types.has('striped') ? (segments.every((s) => s.stripes.length === 1) ? 'linear' : 'striped') : [...types].join('+');
    lvs.push({ vg: name, name: lvName, size: next * extentSize, kind, refused: refusal(kind, lvName, cowOf, pvs, segments), segments });
  }
  const seqno = typeof vg['seqno'] === 'number' ? vg['seqno'] : 0;
  return { name, uuid: String(vg['id'] ?? ''), seqno, extentSize, pvs, lvs };
}

function refusal(kind: string, name: string, cowOf: Map<string, string>, pvs: PvRef[], segments: Segment[]): string | null {
  if (kind === 'snapshot') return `${name} is a snapshot of ${cowOf.get(name)} (copy-on-write store); snapshot LVs are not read yet`;
  for (const s of segments) {
    for (const [pattern, why] of REFUSED_KINDS) if (pattern.test(s.type)) return `${name} is a ${s.type} LV: ${why}`;
    if (s.type !== 'striped') return `${name} has a ${s.type} segment, which is not read`;
    for (const area of s.stripes) {
      const pv = pvs.find((p) => p.key === area.pv);
      if (!pv) return `${name} is stacked on ${area.pv}, which is not a PV of the VG`;
      if (area.startExtent + s.extentCount / s.stripes.length > pv.peCount) return `${name} maps past the last extent of ${area.pv}`;
    }
  }
  return null;
}

type IntOf = (section: ConfigSection, key: string, where: string) => number;

function segment(seg: ConfigSection, where: string, int: IntOf, fail: (what: string) => never): Segment {
  const type = typeof seg['type'] === 'string' ? seg['type'] : fail(`${where}: type is missing`);
  const startExtent = int(seg, 'start_extent', where);
  const extentCount = int(seg, 'extent_count', where);
  if (type !== 'striped') return { startExtent, extentCount, type, stripeSize: 0, stripes: [] };
  const count = int(seg, 'stripe_count', where);
  const list = seg['stripes'];
  if (count < 1 || count > MAX_STRIPES || !Array.isArray(list) || list.length !== count * 2) fail(`${where}: stripes do not match stripe_count ${count}`);
  if (extentCount % count !== 0) fail(`${where}: ${extentCount} extents do not divide into ${count} stripes`);
  const stripes: StripeArea[] = [];
  for (let i = 0; i < count; i++) {
    const pv = (list as ConfigValue[])[i * 2];
    const start = (list as ConfigValue[])[i * 2 + 1];
    if (typeof pv !== 'string' || typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) fail(`${where}: stripe ${i + 1} is not a PV and an extent`);
    stripes.push({ pv: pv as string, startExtent: start as number });
  }
  let stripeSize = 0;
  if (count > 1) {
    const sectors = int(seg, 'stripe_size', where);
    if (sectors === 0 || (sectors & (sectors - 1)) !== 0 || sectors > 2 ** 24) fail(`${where}: stripe_size ${sectors} is not a power of two`);
    stripeSize = sectors * SECTOR;
  }
  return { startExtent, extentCount, type, stripeSize, stripes };
}

function segmentSections(lv: ConfigSection): ConfigSection[] {
  return Object.entries(lv)
    .filter((e): e is [string, ConfigSection] => /^segment\d+$/.test(e[0]) && isSection(e[1]))
    .map((e) => e[1]);
}

function isSection(v: ConfigValue | undefined): v is ConfigSection {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
