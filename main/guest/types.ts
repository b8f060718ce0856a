/**
 * The one face of every guest file system reader (NTFS, FAT, exFAT, ext, XFS): list a folder, stat a
 * path, read a file's bytes. The CLI (parts, ls, get, find, diff), the app's Files tab and the archive
 * catalog talk to this interface only, never to a file system's internals (style.md §1).
 */
import type { BlockDevice } from './block-device.js';
import type { NameList } from './name-list.js';

export type FileSystemType = 'ntfs' | 'fat12' | 'fat16' | 'fat32' | 'exfat' | 'ext2' | 'ext3' | 'ext4' | 'xfs';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** One directory entry as the guest has it. Times are ms since 1970 (UTC), null where the fs has none. */
export interface GuestEntry {
  /** The name in its folder (UTF-8; unpaired UTF-16 surrogates become U+FFFD). */
  name: string;
  type: EntryType;
  /** Logical size in bytes (a symlink: the length of its target). */
  size: number;
  /** Stable within one opened volume: inode, MFT reference, first cluster + entry position. */
  id: string;
  mtimeMs: number | null;
  atimeMs?: number | null;
  ctimeMs?: number | null;
  birthtimeMs?: number | null;
  /** POSIX mode bits (ext, XFS), or undefined. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Attribute words: 'hidden', 'system', 'readonly', 'archive', 'compressed', 'encrypted', 'sparse', 'reparse'. */
  attributes?: string[];
  /** A symlink's or reparse point's target, as stored (never followed off the volume). */
  linkTarget?: string;
  /** Named data streams (NTFS ADS) besides the unnamed one. */
  streams?: { name: string; size: number }[];
}

/** What a listing of names needs of an entry: its name, its type, and the id that lists it when it is a folder. */
export type GuestName = Pick<GuestEntry, 'name' | 'type' | 'id'>;

export interface GuestFileSystem {
  readonly type: FileSystemType;
  readonly device: BlockDevice;
  readonly label: string | null;
  readonly uuid: string | null;
  /** What the reader wants a person to know: "journal not replayed (needs_recovery)", "volume is dirty". */
  readonly notes: string[];
  /** The root folder. */
  root(): GuestEntry;
  /** The entries of a folder, without "." and "..", in on-disk order. Throws E_FORMAT on a damaged folder. */
  list(dir: GuestEntry): GuestEntry[];
  /**
   * Optional, for listings of names only (`ls` without -l, find by name, diff's shortcut): fills `out`
   * (reset first) with a folder's names, types and ids from the folder alone, where the file system keeps
   * each entry's type there (ext's dirent file type, which `ls` uses as d_type), so no per-file record is
   * read. False when some entry's type is not in the folder (list() it instead). `dir` is the root or an
   * entry that list() or a NameList gave.
   */
  listNamesInto?(dir: GuestName, out: NameList): boolean;
  /** True when a journal was replayed in memory: the volume is read as it is not on disk. */
  readonly replayed?: boolean;
  /**
   * Optional, for diff's shortcut: whether everything a listing of `dir` with these `entries` is read
   * from (the folder's inode and blocks, its entries' inodes) lies in bytes the chain's top link did not
   * write, so that the folder and its entries read the same in the parent state (device.sameAsParent).
   * False when it cannot tell.
   */
  unchangedListing?(dir: GuestName, entries: GuestName[]): boolean;
  /**
   * Reads up to buf.length bytes of a file's data (or of a named stream) at offset; returns the count
   * (less only at the end of the file). Sparse and unwritten ranges read as zeros.
   */
  read(file: GuestEntry, buf: Buffer, offset: number, stream?: string): number;
  /**
   * Optional, for long sequential reads (get): where bytes [offset, offset+length) of a file's data lie
   * on the device, in order, ending early only at the end of the file. Null where the data is not on
   * the device as it is (inline data, a fast symlink): read() it.
   */
  dataRuns?(file: GuestEntry, offset: number, length: number): FileRun[] | null;
}

/** A piece of a file's data: `length` bytes at device offset `at`, or zeros (a hole) where `at` is null. */
export interface FileRun {
  at: number | null;
  length: number;
}

/** How to open a file system. */
export interface OpenOptions {
  /**
   * Replay a journal that needs recovery into an in-memory view of the volume (the default; ext3/4), or
   * (false) read the volume exactly as it is on disk. Nothing is ever written either way.
   */
  replay?: boolean;
}

/** A driver: recognises its file system from the first bytes and opens it. */
export interface FileSystemDriver {
  readonly types: readonly FileSystemType[];
  /** Cheap: looks only at the boot sector / superblock; null when this is not its file system. */
  probe(device: BlockDevice): FileSystemType | null;
  open(device: BlockDevice, options?: OpenOptions): GuestFileSystem;
}
