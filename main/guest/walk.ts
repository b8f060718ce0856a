/**
 * Paths inside a guest file system: find the entry a `/a/b/c` path names, and walk a tree with
 * loop detection (a damaged folder that contains an ancestor is reported once, never walked
 * again) and a depth cap. A folder that cannot be listed is reported and the walk goes on.
 */
import { DiskchainError } from '../../shared/errors.js';
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
 * subfolders by name (the order of `ls -R`). `onProblem` hears of folders that loop or cannot be listed;
 * the walk skips them and goes on. A consumer that prints whole folders makes no object per entry.
 * `list` lists a folder: a file system's list(), or its listNames() where only names are wanted.
 */
export function* walkFolders<T extends GuestName>(list: (dir: T) => T[], dir: T, dirPath: string, onProblem: (p: WalkProblem) => void): Generator<WalkFolder<T>> {
  const seen = new Set<string>([dir.id]);
  const stack: Array<{ entry: T; path: string; depth: number }> = [{ entry: dir, path: dirPath, depth: 0 }];
  while (stack.length > 0) {
    const { entry, path, depth } = stack.pop()!;
    let entries: T[];
    try {
      // list() gives a new array: sorted where it is, not copied.
      entries = list(entry).sort(compareNames);
    } catch (e) {
      if (!(e instanceof DiskchainError)) throw e;
      onProblem({ path, message: e.message });
      continue;
    }
    yield { path, depth, entries };
    const below: Array<{ entry: T; path: string; depth: number }> = [];
    for (const child of entries) {
      if (child.type !== 'dir') continue;
      const childPath = joinGuestPath(path, child.name);
      if (seen.has(child.id)) onProblem({ path: childPath, message: `folder loop: ${childPath} is a folder already walked (id ${child.id}); not walked again` });
      else if (depth + 1 >= MAX_DEPTH) onProblem({ path: childPath, message: `folders nest deeper than ${MAX_DEPTH}; not walked further` });
      else {
        seen.add(child.id);
        below.push({ entry: child, path: childPath, depth: depth + 1 });
      }
    }
    // Pushed in reverse so the first subfolder is walked first.
    for (let i = below.length - 1; i >= 0; i--) stack.push(below[i]!);
  }
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

/** walkFolders by names only, through listNames where the file system has it (see GuestFileSystem). */
export function walkNames(fs: GuestFileSystem, dir: GuestEntry, dirPath: string, onProblem: (p: WalkProblem) => void): Generator<WalkFolder<GuestName>> {
  const names = fs.listNames?.bind(fs);
  return names ? walkFolders<GuestName>(names, dir, dirPath, onProblem) : walkFolders((d: GuestEntry) => fs.list(d), dir, dirPath, onProblem);
}

/** A folder's names, through listNames where the file system has it. */
export function listNames(fs: GuestFileSystem, dir: GuestEntry): GuestName[] {
  return fs.listNames ? fs.listNames(dir) : fs.list(dir);
}

/** A folder's entries sorted as `LC_ALL=C ls` sorts them (by code point), not in on-disk order. */
export function byName<T extends { name: string }>(entries: T[]): T[] {
  return [...entries].sort(compareNames);
}

function compareNames(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
