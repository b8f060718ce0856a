/** What the VMFS reader tells: a volume's attributes (`vmfs info`, like `vmkfstools -P`) and its entries (`vmfs ls`). */
import type { ScsiId } from './lvm.js';

export type VmfsEntryType = 'file' | 'dir' | 'symlink' | 'rdm' | 'system' | 'other';

export interface VmfsEntry {
  name: string;
  type: VmfsEntryType;
  /** The FD address (`<0x…>` in debugvmfs): stable within the volume. */
  address: number;
  /** Logical size in bytes (an RDM: the size of the LUN it maps). */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  links: number;
  mtimeMs: number | null;
  ctimeMs: number | null;
  atimeMs: number | null;
  /** A symlink's target as stored (usually /vmfs/volumes/LABEL/…). */
  linkTarget?: string;
  /** The device an RDM mapping file points at; its data is on that LUN, not in this volume. */
  rdm?: ScsiId;
  /** Set when the entry's FD could not be read: the listing goes on, this says why. */
  error?: string;
}

export interface VmfsExtentInfo {
  file: string;
  deviceUuid: string;
  /** The device as the LVM header names it (vendor, model, identifier). */
  scsi: ScsiId;
  firstPE: number;
  lastPE: number;
  bytes: number;
}

export interface VmfsHeartbeat {
  slot: number;
  /** The UUID of the ESXi host holding the slot: it had the volume mounted when the copy was taken. */
  hostUuid: string;
  sequence: number;
}

export interface VmfsInfo {
  /** "VMFS-5.81" */
  version: string;
  family: 3 | 5 | 6;
  majorVersion: number;
  minorVersion: number;
  lvmVersion: string | null;
  /** VMFS-6 is read from the public readers' description only, never checked against ESXi's own volumes. */
  experimental: boolean;
  label: string;
  uuid: string;
  /** Config flags as words: 'dense-sbpc', 'local', 'shared', 'osdata'. */
  flags: string[];
  blockSize: number;
  subBlockSize: number;
  capacityBytes: number;
  fileBlocks: number;
  /** From the cluster headers of .fbb.sf; null where they cannot be read. */
  freeBlocks: number | null;
  freeBytes: number | null;
  createdMs: number | null;
  lvUuid: string | null;
  extents: VmfsExtentInfo[];
  /** Extents the volume has but that were not given. */
  missing: string[];
  heartbeats: VmfsHeartbeat[];
  notes: string[];
}
