import { DiskchainError } from '../../../shared/errors.js';
import type { GuestEntry } from '../types.js';
import type { ByteExtent } from './extents.js';

/**
 * An entry's id: "<first cluster>@<folder's first cluster>:<entry index>", unique and stable within
 * the volume, and enough to read the entry again without keeping a table of everything listed.
 * exFAT adds ":c" (contiguous, no FAT chain) and ":v<valid data length>".
 */
export interface EntryId {
  first: number;
  folder: number;
  index: number;
  contiguous: boolean;
  validLength: number | null;
}

export function parseEntryId(id: string, file: string): EntryId {
  const match = /^(\d+)@(\d+):(\d+)(:c)?(?::v(\d+))?$/.exec(id);
  if (!match) throw new DiskchainError('E_USAGE', `"${id}" is not an entry of this volume`, file);
  return {
    first: Number(match[1]),
    folder: Number(match[2]),
    index: Number(match[3]),
    contiguous: match[4] !== undefined,
    validLength: match[5] === undefined ? null : Number(match[5]),
  };
}

export function checkOffset(offset: number, file: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new DiskchainError('E_USAGE', `a read at offset ${offset} (must be a whole number from 0)`, file);
}

/**
 * Paths for messages, and the folder tree seen so far, to refuse a folder whose entry points back at
 * itself or at one of its ancestors (a damaged volume would otherwise make a recursive walk endless).
 */
export class FolderLoops {
  private readonly paths = new WeakMap<GuestEntry, string>();
  private readonly parentOf = new Map<number, number>();
  private readonly folderPath = new Map<number, string>();

  constructor(
    private readonly fsName: string,
    private readonly file: string,
    private readonly rootCluster: number,
  ) {}

  enter(entry: GuestEntry, cluster: number, parentCluster: number, path: string): void {
    this.paths.set(entry, path);
    if (!this.parentOf.has(cluster)) {
      this.parentOf.set(cluster, parentCluster);
      this.folderPath.set(cluster, path);
    }
  }

  remember(entry: GuestEntry, path: string): void {
    this.paths.set(entry, path);
  }

  path(entry: GuestEntry): string {
    return entry.id === 'root' ? '/' : (this.paths.get(entry) ?? entry.name);
  }

  /** Throws when the folder `dir` (first cluster `first`) is its own folder or an ancestor of it. */
  check(dir: GuestEntry, first: number): void {
    const { folder } = parseEntryId(dir.id, this.file);
    let cluster = folder;
    for (let steps = 0; steps <= this.parentOf.size; steps++) {
      if (cluster === first || first === this.rootCluster) {
        const target = first === this.rootCluster ? '/' : (this.folderPath.get(first) ?? `cluster ${first}`);
        throw new DiskchainError('E_FORMAT', `${this.fsName} folder ${this.path(dir)} loops back to ${target} (cluster ${first})`, this.file);
      }
      const parent = this.parentOf.get(cluster);
      if (parent === undefined || parent < 0) return;
      cluster = parent;
    }
  }
}

/** The extents of the last few files read, so that streaming a file walks its chain once. */
export class RecentExtents {
  private readonly recent = new Map<string, ByteExtent[]>();

  get(id: string, make: () => ByteExtent[]): ByteExtent[] {
    let extents = this.recent.get(id);
    if (extents) {
      this.recent.delete(id);
    } else {
      extents = make();
      if (this.recent.size >= 8) this.recent.delete(this.recent.keys().next().value!);
    }
    this.recent.set(id, extents);
    return extents;
  }
}
