/**
 * What the app's Files tab receives about the files inside a disk (the guest-file channels of
 * shared/ipc/contract.ts). Plain data built in the query worker; guest paths are '/'-separated
 * strings from the volume's root.
 */

export type GuestEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** One volume of a disk, as `diskchain parts` lists it. */
export interface GuestVolumeRow {
  /** The selector to pass back: a partition number or `vg/lv`. */
  volume: string;
  type: string;
  size: number;
  fileSystem: string | null;
  label: string | null;
  /** LVM PV, BitLocker, swap… when it is not a file system. */
  content: string | null;
  /** Whether Diskchain has a reader for its file system (a file system named without one is not). */
  readable: boolean;
  notes: string[];
}

export interface GuestRow {
  name: string;
  type: GuestEntryType;
  size: number;
  mtimeMs: number | null;
  attributes?: string[];
  linkTarget?: string;
}

export interface GuestListing {
  /** The folder, normalised ("/" or "/a/b"). */
  path: string;
  entries: GuestRow[];
  /** More entries than the listing sends (the rest are left out). */
  truncated: boolean;
  /** The reader's notes about the volume ("journal not replayed"). */
  notes: string[];
}

export interface GuestPreview {
  path: string;
  size: number;
  kind: 'text' | 'image' | 'hex';
  /** text: 'UTF-8', 'UTF-16LE', 'UTF-16BE' or 'Latin-1'. */
  encoding: string | null;
  /** text: the decoded text; hex: the hex dump lines. */
  text: string | null;
  /** image: the bytes as base64, with their type. */
  base64: string | null;
  mime: string | null;
  /** Fewer bytes were read than the file holds. */
  truncated: boolean;
}

export interface GuestChange {
  path: string;
  change: 'added' | 'removed' | 'changed';
  reasons: string[];
  before: { type: GuestEntryType; size: number; mtimeMs: number | null } | null;
  after: { type: GuestEntryType; size: number; mtimeMs: number | null } | null;
}

export interface GuestDiff {
  /** The link compared (its state) and its parent. */
  at: number;
  changes: GuestChange[];
  /** More changes than sent. */
  truncated: boolean;
  /** Folders that could not be compared. */
  problems: string[];
}
