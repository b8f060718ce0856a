/**
 * Result types shared by the CLI's --json output and the desktop app: the UI shows exactly what
 * `diskchain info --json` prints (style.md §2).
 */

export type Severity = 'error' | 'warning';

export interface Problem {
  severity: Severity;
  file: string;
  /** Where in the file, e.g. "header byte 73", "grain table 12 entry 40". */
  location?: string;
  /** The byte offset in `file` the problem is at, when it has one. */
  offset?: number;
  message: string;
}

export interface Geometry {
  cylinders: number;
  heads: number;
  sectors: number;
}

export interface ExtentInfo {
  /** Absolute path of the extent's file; null for ZERO extents. */
  path: string | null;
  type: string;
  access: string;
  sectors: number;
  offset: number;
  /** Set for an extent on a host device (`/dev/sdb`, `\\.\PhysicalDrive1`): whether it can be read here. */
  device?: { readable: boolean };
}

/** Where a link's parent was named, when it has one. */
export interface ParentRef {
  name: string;
  source: 'parentFileNameHint' | 'cowd-header' | 'redo-name';
}

export interface LayerInfo {
  path: string;
  createType: string;
  /** Hex, 8 digits; null where the format has none (bare COWD, raw). */
  cid: string | null;
  parentCid: string | null;
  parent: ParentRef | null;
  capacityBytes: number;
  extents: ExtentInfo[];
  allocatedBytes: number;
  /** Header fields of the binary format (KDMV, COWD, seSparse), for display. */
  header: Record<string, string | number | boolean>;
  descriptor: string | null;
  warnings: string[];
  /** Raw device mappings: virtual (vmfsRawDeviceMap) or physical/pass-through mode, and the mapping file. */
  rdm?: { mode: 'virtual' | 'physical'; mapping: string };
}

/** Data a disk has lost (a table or grain past the end of a file, a cut flat extent): the verdict at open. */
export interface Damage {
  lostBytes: number;
  /** Virtual byte ranges and the link (0 = the disk named) that lost them; at most 1000 listed. */
  ranges: Array<{ offset: number; length: number; layer: number }>;
}

export interface DiskInfo {
  path: string;
  createType: string;
  capacityBytes: number;
  geometry: Geometry;
  adapterType: string;
  /** layers[0] is the disk named; the last is the base. */
  layers: LayerInfo[];
  /**
   * Set when the file named is an extent of a disk (`web01-flat.vmdk`, `split-s001.vmdk`): the
   * descriptor beside it that lists it. The disk to open is that descriptor.
   */
  extentOf?: string;
  problems: Problem[];
  /** Set when the disk has lost data (see Damage); null when intact. */
  damage: Damage | null;
  /** The app's view of a broken chain: `file` (the last of layers) names a parent that is not there; reparent fixes it. */
  missingParent?: { file: string; name: string; message: string };
}

export interface GeometryReport {
  geometry: Geometry;
  defaultGeometry: Geometry;
  biosGeometry?: Geometry;
  adapterType: string;
  /** Where `geometry` came from. */
  source: 'descriptor' | 'cowd-header' | 'default';
  mismatch: boolean;
  reasons: string[];
}

export interface MapRun {
  start: number;
  length: number;
  state: 'data' | 'zero';
  /** Index into layers of the link that decides these bytes; null where no link holds them. */
  layer: number | null;
  file: string | null;
}

export interface CheckReport {
  path: string;
  problems: Problem[];
  errors: number;
  warnings: number;
}
