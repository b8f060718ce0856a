/**
 * What changed between two states of a guest file system (a chain link and its parent, or two
 * disks): files and folders added, removed, and changed in type, size, mtime, link target or — only
 * when asked, since it reads both files whole — content. Both trees are walked side by side, folder
 * pair by folder pair, with the loop and depth checks of walk.ts; a folder that cannot be listed on
 * either side is reported and the walk goes on. Results stream out as found (bounded memory).
 */
import { DiskchainError } from '../../shared/errors.js';
import type { EntryType, GuestEntry, GuestFileSystem, GuestName } from './types.js';
import { NameList } from './name-list.js';
import { joinGuestPath, listNames, MAX_DEPTH, walkGuest, type WalkProblem } from './walk.js';

export type ChangeKind = 'added' | 'removed' | 'changed';
export type ChangeReason = 'type' | 'size' | 'mtime' | 'content' | 'target';

/** One side of a change: what the entry was (before) or is (after). */
export interface DiffSide {
  type: EntryType;
  size: number;
  mtimeMs: number | null;
}

export interface DiffItem {
  path: string;
  change: ChangeKind;
  /** For 'changed': what differs. */
  reasons: ChangeReason[];
  before: DiffSide | null;
  after: DiffSide | null;
}

export interface DiffOptions {
  /** Compare the bytes of files whose size and mtime agree. */
  content?: boolean;
  /** Folders that loop or cannot be listed, on either side; the diff skips them and goes on. */
  onProblem?: (p: WalkProblem) => void;
  /** Called between folders and file reads; throws to stop (the app's Cancel). */
  throwIfCancelled?: () => void;
  /**
   * `after` is `before` with one more chain link on top (diff --at N), both read as they are on disk:
   * a folder (same id on both sides) whose listing the top link did not write cannot have changed, so
   * its entries are not compared, only its subfolders walked (GuestFileSystem.unchangedListing). Not
   * with `content`: a file's bytes can change under an unchanged inode.
   */
  linkOnTop?: boolean;
  /** Hears of each folder the shortcut skipped comparing. */
  onUnchanged?: (path: string) => void;
}

/** Bytes compared per read when --content is asked for; two such buffers, reused. */
const CHUNK = 1024 * 1024;

/**
 * The changes from `before` to `after` below the folders `dirA` and `dirB` (both at `dirPath`),
 * parents before children. A folder added or removed is listed with everything in it.
 */
export function* diffGuest(before: GuestFileSystem, dirA: GuestEntry, after: GuestFileSystem, dirB: GuestEntry, dirPath: string, options: DiffOptions = {}): Generator<DiffItem> {
  const problem = (p: WalkProblem): void => options.onProblem?.(p);
  const cancelled = (): void => options.throwIfCancelled?.();
  const bufs = options.content ? [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const : null;
  const seenA = new Set<string>([dirA.id]);
  const seenB = new Set<string>([dirB.id]);
  // Folders reached through the shortcut are known by name and id only (listNames), which is all list() needs of them.
  const stack: Array<{ a: GuestName; b: GuestName; path: string; depth: number }> = [{ a: dirA, b: dirB, path: dirPath, depth: 0 }];
  const shortcut = options.linkOnTop === true && !options.content && before.type === after.type && before.uuid === after.uuid && after.listNamesInto !== undefined && after.unchangedListing !== undefined;
  // One NameList for every folder the shortcut lists.
  const room = new NameList();
  while (stack.length > 0) {
    cancelled();
    const { a, b, path, depth } = stack.pop()!;
    if (shortcut && a.id === b.id) {
      const names = unchangedNames(after, b, room);
      if (names !== null) {
        options.onUnchanged?.(path);
        const below: typeof stack = [];
        for (const e of names) {
          if (e.type !== 'dir') continue;
          const at = joinGuestPath(path, e.name);
          if (seenA.has(e.id) || seenB.has(e.id)) problem({ path: at, message: `folder loop: ${at} is a folder already walked; not walked again` });
          else if (depth + 1 >= MAX_DEPTH) problem({ path: at, message: `folders nest deeper than ${MAX_DEPTH}; not walked further` });
          else {
            seenA.add(e.id);
            seenB.add(e.id);
            below.push({ a: e, b: e, path: at, depth: depth + 1 });
          }
        }
        for (let i = below.length - 1; i >= 0; i--) stack.push(below[i]!);
        continue;
      }
    }
    const listA = listOrReport(before, a, path, 'before', problem);
    const listB = listOrReport(after, b, path, 'after', problem);
    if (listA === null || listB === null) continue;
    const byName = new Map<string, GuestEntry>();
    for (const e of listA) byName.set(e.name, e);
    const below: typeof stack = [];
    for (const eb of listB) {
      const at = joinGuestPath(path, eb.name);
      const ea = byName.get(eb.name);
      if (ea === undefined) {
        yield* whole('added', after, eb, at, problem);
        continue;
      }
      byName.delete(eb.name);
      if (ea.type !== eb.type) {
        // A file that became a folder (or the reverse): the old one and what it held went, the new one came.
        yield* whole('removed', before, ea, at, problem);
        yield* whole('added', after, eb, at, problem);
        continue;
      }
      if (ea.type === 'dir') {
        // Folder times change with every entry they hold: only what is inside them counts.
        if (seenA.has(ea.id) || seenB.has(eb.id)) problem({ path: at, message: `folder loop: ${at} is a folder already walked; not walked again` });
        else if (depth + 1 >= MAX_DEPTH) problem({ path: at, message: `folders nest deeper than ${MAX_DEPTH}; not walked further` });
        else {
          seenA.add(ea.id);
          seenB.add(eb.id);
          below.push({ a: ea, b: eb, path: at, depth: depth + 1 });
        }
        continue;
      }
      const reasons: ChangeReason[] = [];
      if (ea.size !== eb.size) reasons.push('size');
      if (ea.mtimeMs !== eb.mtimeMs) reasons.push('mtime');
      if (ea.type === 'symlink' && ea.linkTarget !== eb.linkTarget) reasons.push('target');
      if (reasons.length === 0 && bufs !== null && ea.type === 'file') {
        try {
          if (!sameContent(before, ea, after, eb, at, bufs, cancelled)) reasons.push('content');
        } catch (e) {
          if (!(e instanceof DiskchainError) || e.code === 'E_CANCELLED') throw e;
          problem({ path: at, message: `${at}: contents not compared: ${e.message}` });
        }
      }
      if (reasons.length > 0) yield { path: at, change: 'changed', reasons, before: side(ea), after: side(eb) };
    }
    // What is left of the old listing is gone from the new one.
    for (const ea of byName.values()) yield* whole('removed', before, ea, joinGuestPath(path, ea.name), problem);
    for (let i = below.length - 1; i >= 0; i--) stack.push(below[i]!);
  }
}

/** An entry added or removed, and when it is a folder everything below it. */
function* whole(change: 'added' | 'removed', fsys: GuestFileSystem, e: GuestEntry, at: string, problem: (p: WalkProblem) => void): Generator<DiffItem> {
  const item = (x: GuestEntry, p: string): DiffItem => ({ path: p, change, reasons: [], before: change === 'removed' ? side(x) : null, after: change === 'added' ? side(x) : null });
  yield item(e, at);
  if (e.type !== 'dir') return;
  for (const w of walkGuest(fsys, e, at, problem)) yield item(w.entry, w.path);
}

/** A folder's names when the top link did not write its listing, else null (and null on any error: the full compare says it). */
function unchangedNames(fsys: GuestFileSystem, dir: GuestName, room: NameList): GuestName[] | null {
  try {
    const names = listNames(fsys, dir, room);
    return fsys.unchangedListing!(dir, names) ? names : null;
  } catch (e) {
    if (e instanceof DiskchainError) return null;
    throw e;
  }
}

function listOrReport(fsys: GuestFileSystem, dir: GuestName, at: string, which: string, problem: (p: WalkProblem) => void): GuestEntry[] | null {
  try {
    // A GuestName comes only from a file system with listNames, whose list() needs no more of a folder.
    return fsys.list(dir as GuestEntry);
  } catch (e) {
    if (!(e instanceof DiskchainError)) throw e;
    problem({ path: at, message: `${at} (${which}): ${e.message}` });
    return null;
  }
}

function sameContent(fa: GuestFileSystem, a: GuestEntry, fb: GuestFileSystem, b: GuestEntry, at: string, bufs: readonly [Buffer, Buffer], cancelled: () => void): boolean {
  for (let offset = 0; offset < a.size; ) {
    cancelled();
    const want = Math.min(CHUNK, a.size - offset);
    const na = fa.read(a, bufs[0].subarray(0, want), offset);
    const nb = fb.read(b, bufs[1].subarray(0, want), offset);
    if (na <= 0 || nb <= 0) throw new DiskchainError('E_FORMAT', `${at}: the file ends at ${offset} bytes, its size says ${a.size}`, (na <= 0 ? fa : fb).device.file);
    const n = Math.min(na, nb);
    if (!bufs[0].subarray(0, n).equals(bufs[1].subarray(0, n))) return false;
    offset += n;
  }
  return true;
}

function side(e: GuestEntry): DiffSide {
  return { type: e.type, size: e.size, mtimeMs: e.mtimeMs };
}
