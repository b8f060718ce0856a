/**
 * What Diskchain can do with each kind of disk link, in one table (issue 9): the writers, the
 * snapshot layout, the app's filters and the descriptor parser all read it instead of keeping
 * lists of createTypes of their own.
 */

/** How a child of a link of this kind is made by `snapshot`. */
export type SnapshotLayout = 'redo' | 'vmfsSparse' | 'monolithicSparse';

export interface KindCapabilities {
  /** The link's own data can be written in place (commit into it, extend it). */
  writeInPlace: boolean;
  /** How `snapshot` makes a child of it; null when it cannot. */
  snapshot: SnapshotLayout | null;
  /** An ESX (VMFS) kind rather than a hosted (Workstation) one. */
  esx: boolean;
}

const hosted = (writeInPlace: boolean, snapshot: SnapshotLayout | null = writeInPlace ? 'monolithicSparse' : null): KindCapabilities => ({
  writeInPlace,
  snapshot,
  esx: false,
});
const esx = (writeInPlace: boolean, snapshot: SnapshotLayout | null = 'vmfsSparse'): KindCapabilities => ({ writeInPlace, snapshot, esx: true });

/**
 * Every createType VMware writes (format doc §1.3), plus `cowd` (a bare COWD file: an ESX 2 REDO
 * log) and `raw` (an ESX 2 `.dsk` or a `-flat.vmdk` without its descriptor), which Diskchain names.
 */
export const CREATE_TYPES = {
  monolithicSparse: hosted(true),
  monolithicFlat: hosted(true),
  twoGbMaxExtentSparse: hosted(true),
  twoGbMaxExtentFlat: hosted(true),
  streamOptimized: hosted(false),
  vmfs: esx(true),
  vmfsPreallocated: esx(true),
  vmfsEagerZeroedThick: esx(true),
  vmfsThin: esx(true),
  vmfsThick: esx(true),
  vmfsSparse: esx(true),
  seSparse: esx(false, null),
  vmfsSeSparse: esx(false, null),
  vmfsRawDeviceMap: esx(true),
  vmfsRDM: esx(true),
  vmfsPassthroughRawDeviceMap: esx(true, null),
  vmfsRDMP: esx(true, null),
  vmfsRaw: esx(true, null),
  fullDevice: hosted(false, null),
  partitionedDevice: hosted(false, null),
  custom: hosted(true, null),
  cowd: { writeInPlace: true, snapshot: 'redo', esx: true },
  raw: { writeInPlace: true, snapshot: 'redo', esx: true },
} as const satisfies Record<string, KindCapabilities>;

export type CreateType = keyof typeof CREATE_TYPES;

export const CREATE_TYPE_NAMES = Object.keys(CREATE_TYPES) as CreateType[];

/** Kinds a descriptor may name (`cowd` and `raw` are Diskchain's names for descriptor-less files). */
export const DESCRIPTOR_CREATE_TYPES = CREATE_TYPE_NAMES.filter((t) => t !== 'cowd' && t !== 'raw');

const UNKNOWN: KindCapabilities = { writeInPlace: false, snapshot: null, esx: false };

/** The capabilities of a createType as written (case as VMware spells it); unknown kinds can do nothing. */
export function capabilitiesOf(createType: string): KindCapabilities {
  return (CREATE_TYPES as Record<string, KindCapabilities>)[createType] ?? UNKNOWN;
}

/** Extent types whose data Diskchain cannot write (raw device mappings point at a LUN; seSparse is read only). */
export const READ_ONLY_EXTENT_TYPES: ReadonlySet<string> = new Set(['SESPARSE', 'VMFSRDM', 'VMFSRAW']);
