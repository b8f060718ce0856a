/**
 * `IMAGE:/dir/file` — a file inside a VMFS volume image, named wherever a host file is: on the
 * command line, in the app, in a job's spec. A spanned volume names every extent's image joined
 * by `+` (`a.img+b.img:/web01/web01.vmdk`). The image part is the longest prefix before a `:/`
 * that is an existing host file, so image names with `:` work. Read-only: a chain inside resolves
 * its parents and extents in the same image, and nothing is ever written there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as posix from 'node:path/posix';
import { DiskchainError } from '../../shared/errors.js';
import { registerPathSource } from '../io/path-sources.js';
import { shownPath, type FileSource, type FileStat, type HostRegion, type RandomAccessFile, type SourcePath } from '../io/file-source.js';
import { vmfsFileSource } from './file-source.js';
import { openVmfsImages, type OpenedImages } from './images.js';
import type { VmfsEntry } from './types.js';
import { walkVmfs } from './walk.js';

export const VMFS_READ_ONLY = 'read-only: inside a VMFS volume image';

export interface VmfsPath {
  /** The host image files (every extent of a spanned volume), as written. */
  images: string[];
  /** The path inside the volume, absolute ("/" the root). */
  inner: string;
}

const isHostFile = (p: string): boolean => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/** `IMAGE[+IMAGE…]:/path` split, or null when `p` is not of that form (a host path). */
export function splitVmfsPath(p: string, isFile: (p: string) => boolean = isHostFile): VmfsPath | null {
  // On Windows, path.resolve (link.ts) turns `lun.img:/web01/x.vmdk` into `…\lun.img:\web01\x.vmdk`.
  const cuts = path.sep === '\\' ? /:[\\/]/g : /:\//g;
  const at = [...p.matchAll(cuts)].map((m) => m.index).reverse();
  for (const cut of at) {
    if (cut === 0) continue;
    const head = p.slice(0, cut);
    const images = isFile(head) ? [head] : head.includes('+') ? head.split('+') : null;
    if (!images || !images.every((i) => i !== '' && isFile(i))) continue;
    // A host folder named `lun.img:` beside the image is still a host path.
    if (fs.existsSync(p)) return null;
    const inner = path.sep === '\\' ? p.slice(cut + 1).replace(/\\/g, '/') : p.slice(cut + 1);
    return { images, inner: posix.resolve('/', inner) };
  }
  return null;
}

export function joinVmfsPath(images: string[], inner: string): string {
  return `${images.join('+')}:${inner.startsWith('/') ? inner : `/${inner}`}`;
}

const keyOf = (images: string[]): string => images.map((i) => path.resolve(i)).join('\0');

/**
 * Open volumes by their images, shared by every file open in them (a chain's descriptors and
 * extents) and closed with the last: a long-lived query worker keeps no image open between queries.
 */
const held = new Map<string, { opened: OpenedImages; refs: number }>();

export interface HeldVolume {
  opened: OpenedImages;
  release(): void;
}

/** Images found to hold no volume, by name, size and mtime: asked again for each candidate of a path (guest-target.ts). */
const refused = new Map<string, { stamp: string; error: unknown }>();

const stampOf = (images: string[]): string =>
  images
    .map((i) => {
      const st = fs.statSync(i, { throwIfNoEntry: false });
      return st ? `${st.size}:${st.mtimeMs}` : '-';
    })
    .join('\0');

export function holdVolume(images: string[]): HeldVolume {
  const key = keyOf(images);
  let entry = held.get(key);
  if (!entry) {
    const stamp = stampOf(images);
    const before = refused.get(key);
    if (before && before.stamp === stamp) throw before.error;
    try {
      entry = { opened: openVmfsImages(images.map((i) => path.resolve(i))), refs: 0 };
    } catch (e) {
      if (refused.size > 64) refused.clear();
      refused.set(key, { stamp, error: e });
      throw e;
    }
    held.set(key, entry);
  }
  entry.refs++;
  const it = entry;
  let released = false;
  return {
    opened: it.opened,
    release() {
      if (released) return;
      released = true;
      if (--it.refs > 0) return;
      held.delete(key);
      it.opened.close();
    },
  };
}

/** Runs `use` on the volume the images make up, holding it for the call. */
export function withVolume<T>(images: string[], use: (opened: OpenedImages) => T): T {
  const h = holdVolume(images);
  try {
    return use(h.opened);
  } finally {
    h.release();
  }
}

/** The entry `IMAGE:/path` names (symlinks followed); null when the image holds no VMFS or no such entry. */
export function vmfsEntryAt(p: string): VmfsEntry | null {
  const at = splitVmfsPath(p);
  if (!at) return null;
  try {
    return withVolume(at.images, ({ volume }) => volume.lookup(at.inner, true));
  } catch (e) {
    if (e instanceof DiskchainError) return null;
    throw e;
  }
}

/** Errors from the volume name the path inside it; the user named the file as `IMAGE:/path`. */
function named(e: unknown, shown: string): unknown {
  if (!(e instanceof DiskchainError) || e.file === undefined || !e.file.startsWith('/')) return e;
  return new DiskchainError(e.code, e.message, shown, e.offset);
}

class HeldFile implements RandomAccessFile {
  constructor(
    private readonly file: RandomAccessFile,
    private readonly hold: HeldVolume,
  ) {}

  get size(): number {
    return this.file.size;
  }

  read(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    return this.file.read(buf, bufOffset, length, position);
  }

  isThin(): boolean {
    return this.file.isThin?.() ?? false;
  }

  dataRegions(start: number, end: number): Array<{ start: number; end: number }> {
    return this.file.dataRegions?.(start, end) ?? [{ start, end }];
  }

  hostRegions(start: number, end: number): HostRegion[] {
    return this.file.hostRegions?.(start, end) ?? this.dataRegions(start, end);
  }

  close(): void {
    this.file.close();
    this.hold.release();
  }
}

/** The files of one volume image, named `IMAGE:/path`; anything else is not there. */
export function vmfsPathSource(images: string[]): FileSource {
  const key = keyOf(images);
  const inside = (raw: SourcePath): string | null => {
    const at = splitVmfsPath(shownPath(raw));
    return at && keyOf(at.images) === key ? at.inner : null;
  };
  return {
    name: `VMFS volume image ${images.join('+')}`,
    hostRegions: true,
    open(raw, mode) {
      const shown = shownPath(raw);
      if (mode === 'write') throw new DiskchainError('E_UNSUPPORTED', VMFS_READ_ONLY, shown);
      const inner = inside(raw);
      if (inner === null) throw new DiskchainError('E_NOTFOUND', `not in the VMFS volume image ${images.join('+')}: a disk inside an image is read with its links from the same image`, shown);
      const hold = holdVolume(images);
      try {
        return new HeldFile(vmfsFileSource(hold.opened.volume).open(inner, 'read'), hold);
      } catch (e) {
        hold.release();
        throw named(e, shown);
      }
    },
    stat(raw): FileStat | null {
      const inner = inside(raw);
      if (inner === null) return null;
      try {
        return withVolume(images, ({ volume }) => vmfsFileSource(volume).stat(inner));
      } catch (e) {
        throw named(e, shownPath(raw));
      }
    },
    realpath(p) {
      const at = splitVmfsPath(p);
      if (!at) return p;
      return joinVmfsPath(at.images.map((i) => fs.realpathSync(i)), at.inner);
    },
  };
}

/**
 * The .vmx files in a volume image (`lun.img`, `a.img+b.img`) or a folder of it (`lun.img:/web01`),
 * named `IMAGE:/dir/x.vmx`; null when the root is a host file that holds no VMFS (not an image).
 */
export function vmxInImage(root: string): string[] | null {
  const at = splitVmfsPath(root) ?? (root.split('+').every(isHostFile) && !/\.vmx$/i.test(root) ? { images: root.split('+'), inner: '/' } : null);
  if (!at) return null;
  let hold: HeldVolume;
  try {
    hold = holdVolume(at.images);
  } catch (e) {
    if (root === at.images.join('+') && e instanceof DiskchainError && e.code === 'E_FORMAT') return null;
    throw e;
  }
  try {
    const { volume } = hold.opened;
    const entry = volume.lookup(at.inner, true);
    const name = (inner: string): string => joinVmfsPath(at.images, inner);
    if (entry.type !== 'dir') {
      if (!/\.vmx$/i.test(at.inner)) throw new DiskchainError('E_USAGE', 'neither a folder nor a .vmx file', root);
      return [name(at.inner)];
    }
    const found: string[] = [];
    // Damaged folders are skipped here; `vmfs ls -R` names them.
    for (const item of walkVmfs(volume, entry, at.inner, () => {})) {
      if (item.entry.type === 'file' && /\.vmx$/i.test(item.entry.name)) found.push(name(item.path));
    }
    return found;
  } finally {
    hold.release();
  }
}

/** Makes `IMAGE:/path` a disk source for openChain (and so for every command) in this process. */
export function installVmfsPaths(): void {
  registerPathSource(VMFS_PATHS);
}

const VMFS_PATHS = {
  sourceOf: (p: string): FileSource | null => {
    const at = splitVmfsPath(p);
    return at ? vmfsPathSource(at.images) : null;
  },
  readOnlyReason: VMFS_READ_ONLY,
};
