/**
 * Paths inside a guest file system: find the entry a `/a/b/c` path names, and walk a tree with
 * loop detection (a damaged folder that contains an ancestor is reported once, never walked
 * again) and a depth cap. A folder that cannot be listed is reported and the walk goes on.
 */
import { DiskchainError } from '../../shared/errors.js';
import { NameList, typeCode } from './name-list.js';
import type { GuestEntry, GuestFileSystem, GuestName } from './types.js';

/** Deeper than any real tree (PATH_MAX / 2); a chain of folders this deep is damage. */
export const MAX_DEPTH = 2048;

/** File systems whose names Windows compares without case: a path may be typed in any case. */
const CASELESS = new Set(['fat12', 'fat16', 'fat32', 'exfat', 'ntfs']);

export function splitGuestPath(guestPath: string): string[] {
  return guestPath.split('/').filter((p) => p !== '' && p !== '.');
}

export function joinGuestPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** The entry at `guestPath` ("/" is the root); E_NOTFOUND naming the first part that is missing. */
export function resolveGuestPath(fs: GuestFileSystem, guestPath: string): GuestEntry {
  let entry = fs.root();
  let here = '/';
  for (const part of splitGuestPath(guestPath)) {
    if (part === '..') throw new DiskchainError('E_USAGE', `"..": give a path from the root of the volume (${guestPath})`, fs.device.file);
    if (entry.type !== 'dir') throw new DiskchainError('E_NOTFOUND', `${here} is not a folder (in ${guestPath})`, fs.device.file);
    const entries = fs.list(entry);
    let next = entries.find((e) => e.name === part);
    if (!next && CASELESS.has(fs.type)) {
      const lower = part.toLowerCase();
      const matches = entries.filter((e) => e.name.toLowerCase() === lower);
      if (matches.length === 1) next = matches[0];
    }
    here = joinGuestPath(here, next?.name ?? part);
    if (!next) throw new DiskchainError('E_NOTFOUND', `${here}: no such file or folder`, fs.device.file);
    entry = next;
  }
  return entry;
}

export interface WalkItem {
  path: string;
  entry: GuestEntry;
  depth: number;
}

export interface WalkProblem {
  path: string;
  message: string;
}

/** One folder of a walk: its path, depth (0 for the folder the walk started at) and entries by name. */
export interface WalkFolder<T extends GuestName = GuestEntry> {
  path: string;
  depth: number;
  entries: T[];
}

/**
 * Every folder below `dir` and `dir` itself, depth first, each folder before its subfolders and the
 * subfolders by name (the order of `ls -R`), one at a time: next() lists the next folder into `path`,
 * `depth` and `listing`, which are the caller's until it calls next() again. `onProblem` hears of
 * folders that loop or cannot be listed; the walk skips them and goes on. `list` lists a folder, sorted
 * by name; `subfolders` gives the folders of a listing in that order. A plain loop, not a generator:
 * a walk of a thousand folders spent a tenth of `ls -R` resuming generators.
 */
class TreeWalk<D extends GuestName, L> {
  path = '';
  depth = 0;
  listing: L | undefined;
  private readonly seen: Set<string>;
  private readonly stack: Array<{ entry: D; path: string; depth: number }>;
  /** Whether `listing`'s subfolders are still to be put on the stack (done at the next call). */
  private pending = false;

  constructor(
    private readonly list: (dir: D) => L,
    private readonly subfolders: (listing: L) => Iterable<D>,
    dir: D,
    dirPath: string,
    private readonly onProblem: (p: WalkProblem) => void,
  ) {
    this.seen = new Set<string>([dir.id]);
    this.stack = [{ entry: dir, path: dirPath, depth: 0 }];
  }

  next(): boolean {
    if (this.pending) this.pushSubfolders();
    while (this.stack.length > 0) {
      const { entry, path, depth } = this.stack.pop()!;
      try {
        this.listing = this.list(entry);
      } catch (e) {
        if (!(e instanceof DiskchainError)) throw e;
        this.onProblem({ path, message: e.message });
        continue;
      }
      this.path = path;
      this.depth = depth;
      this.pending = true;
      return true;
    }
    return false;
  }

  private pushSubfolders(): void {
    this.pending = false;
    const { path, depth } = this;
    const below: Array<{ entry: D; path: string; depth: number }> = [];
    for (const child of this.subfolders(this.listing!)) {
      const childPath = joinGuestPath(path, child.name);
      if (this.seen.has(child.id)) this.onProblem({ path: childPath, message: `folder loop: ${childPath} is a folder already walked (id ${child.id}); not walked again` });
      else if (depth + 1 >= MAX_DEPTH) this.onProblem({ path: childPath, message: `folders nest deeper than ${MAX_DEPTH}; not walked further` });
      else {
        this.seen.add(child.id);
        below.push({ entry: child, path: childPath, depth: depth + 1 });
      }
    }
    // Pushed in reverse so the first subfolder is walked first.
    for (let i = below.length - 1; i >= 0; i--) this.stack.push(below[i]!);
  }
}

/** Every folder as TreeWalk walks them, over list(): each folder's entries sorted by name. A consumer that prints whole folders makes no object per entry. */
export function* walkFolders<T extends GuestName>(list: (dir: T) => T[], dir: T, dirPath: string, onProblem: (p: WalkProblem) => void): Generator<WalkFolder<T>> {
  // list() gives a new array: sorted where it is, not copied.
  const sorted = (d: T): T[] => sortByName(list(d));
  const subfolders = (entries: T[]): T[] => entries.filter((e) => e.type === 'dir');
  const walk = new TreeWalk(sorted, subfolders, dir, dirPath, onProblem);
  while (walk.next()) yield { path: walk.path, depth: walk.depth, entries: walk.listing! };
}

/** One folder of a walk by names: its names (a NameList the walk reuses) and their order by name. */
export interface NameFolder {
  path: string;
  depth: number;
  names: NameList;
  order: Uint32Array;
}

/**
 * Every folder below `dir` and `dir` itself as walkFolders walks them, by names only, each handed to
 * `visit` (false stops the walk): through listNamesInto where the file system has it (no object or
 * string per entry), else from list(). The folder's NameList is visit's until it returns.
 */
export function walkNameLists(fs: GuestFileSystem, dir: GuestName, dirPath: string, onProblem: (p: WalkProblem) => void, visit: (folder: NameFolder) => boolean | void): void {
  const names = new NameList();
  // Where the names came from list(), its entries are the folders to walk into (a file system may want its own objects back).
  let listed: GuestEntry[] | null = null;
  const list = (d: GuestName): Uint32Array => {
    listed = fillNames(fs, d, names);
    return names.order();
  };
  const subfolders = (order: Uint32Array): GuestName[] => {
    const dirs: GuestName[] = [];
    const types = names.types;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      if (types[i] === DIR) dirs.push(listed ? listed[i]! : names.entry(i));
    }
    return dirs;
  };
  const walk = new TreeWalk(list, subfolders, dir, dirPath, onProblem);
  while (walk.next()) if (visit({ path: walk.path, depth: walk.depth, names, order: walk.listing! }) === false) return;
}

const DIR = typeCode('dir');

/** Fills `names` with a folder's names; the entries of list() when they came from it, else null. */
function fillNames(fs: GuestFileSystem, dir: GuestName, names: NameList): GuestEntry[] | null {
  if (fs.listNamesInto?.(dir, names) === true) return null;
  // A GuestName that is not a GuestEntry comes only from listNamesInto, whose list() needs no more of a folder.
  const entries = fs.list(dir as GuestEntry);
  names.reset();
  for (const e of entries) names.addName(e.name, e.type, e.id);
  return entries;
}

/**
 * Every entry below `dir` (not `dir` itself), parents before children, each folder's entries by name.
 * `onProblem` hears of folders that loop or cannot be listed; the walk skips them and goes on.
 */
export function* walkGuest(fs: GuestFileSystem, dir: GuestEntry, dirPath: string, onProblem: (p: WalkProblem) => void): Generator<WalkItem> {
  for (const folder of walkFolders((d: GuestEntry) => fs.list(d), dir, dirPath, onProblem)) {
    for (const entry of folder.entries) yield { path: joinGuestPath(folder.path, entry.name), entry, depth: folder.depth + 1 };
  }
}

/**
 * A folder's names, through listNamesInto where the file system has it, else list(). A walk passes one
 * `room` for all its folders (a NameList starts with 16 KiB of room).
 */
export function listNames(fs: GuestFileSystem, dir: GuestName, room?: NameList): GuestName[] {
  if (fs.listNamesInto) {
    const names = room ?? new NameList();
    if (fs.listNamesInto(dir, names)) {
      const out = new Array<GuestName>(names.count);
      for (let i = 0; i < names.count; i++) out[i] = names.entry(i);
      return out;
    }
  }
  return fs.list(dir as GuestEntry);
}

/** A folder's entries sorted as `LC_ALL=C ls` sorts them (by code point, as NameList.order sorts bytes), not in on-disk order. */
export function byName<T extends { name: string }>(entries: T[]): T[] {
  return sortByName([...entries]);
}

/** Sorts `entries` (in place) by code point. */
function sortByName<T extends { name: string }>(entries: T[]): T[] {
  // JavaScript compares UTF-16 units, which differs from code point order only for characters past
  // U+FFFF against U+E000–U+FFFF: the slower compare runs only for a folder that holds any of those.
  return entries.sort(entries.some((e) => PAST_D800.test(e.name)) ? byCodePoint : compareNames);
}

const PAST_D800 = /[\ud800-\uffff]/;

function compareNames(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function byCodePoint(a: { name: string }, b: { name: string }): number {
  const x = a.name;
  const y = b.name;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x.charCodeAt(i);
    const q = y.charCodeAt(i);
    if (p === q) continue;
    // A surrogate (a character past U+FFFF) sorts after U+E000–U+FFFF.
    if (p >= 0xd800 && q >= 0xd800 && p < 0xe000 !== q < 0xe000) return p < 0xe000 ? 1 : -1;
    return p - q;
  }
  return x.length - y.length;
}
