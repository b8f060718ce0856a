/**
 * `DISK[:VOL]/path` for parts, ls, get, find and diff: which file is the disk (the longest prefix that is
 * an existing file, so `C:\vms\web.vmdk:2/etc` and names with ':' work; or a file inside a VMFS
 * volume image, `lun.img:/web01/web01.vmdk:1/etc`, a disk file like any other), which volume, which path;
 * and the chain at `--at N` with the file system on the chosen volume.
 *
 * A prefix may also be a container that holds disks: an archive made by `backup` (a folder with
 * manifest.json, or a .tar of one), written `ARCHIVE[:DISK[:VOL]]/path`. Containers are tried
 * before disk files (a .tar is a file too); another kind is one more entry in CONTAINERS, with its
 * own syntax after the prefix, and one more case in openTargetChain.
 */
import * as fs from 'node:fs';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { looksLikeArchive } from '../backup/archive-probe.js';
import type { ArchiveFiles } from '../backup/archive-source.js';
import { openChain, type Chain } from '../disk/chain.js';
import { chainDevice, type BlockDevice } from '../guest/block-device.js';
import type { GuestFileSystem } from '../guest/types.js';
import { openFileSystem } from '../guest/volumes.js';
import { splitGuestPath } from '../guest/walk.js';
import { imageSourceOf } from '../io/path-sources.js';

/** What holds the disk when `disk` is not a disk file: its kind and what the target says inside it. */
export interface GuestContainer {
  kind: 'archive';
  /** The `:A[:B]` parts after the archive: DISK and VOL, or (one part) either; resolved against the manifest. */
  selectors: string[];
}

export interface GuestTarget {
  /** The disk file, or the container (archive) that holds the disk. */
  disk: string;
  container?: GuestContainer;
  /** A partition number or LV name, when given. */
  volume?: string;
  /** Inside the volume, from its root: "/" when none was given. */
  path: string;
}

/** A host file, or a file inside a volume image (`lun.img:/web01/web01.vmdk:1/etc`: the disk is in the image). */
const isFile = (p: string): boolean => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return isImageFile(p);
  }
};

function isImageFile(p: string): boolean {
  const source = p.includes(':/') ? imageSourceOf(p) : null;
  try {
    return source?.stat(p)?.kind === 'file';
  } catch (e) {
    if (e instanceof DiskchainError) return false; // the image holds no VMFS volume: not a path into one
    throw e;
  }
}

/** The kinds of container a target's prefix may name, tried in order before disk files. */
const CONTAINERS: Array<{ kind: GuestContainer['kind']; is: (p: string) => boolean; parse: (rest: string) => Omit<GuestTarget, 'disk'> | null }> = [
  { kind: 'archive', is: looksLikeArchive, parse: parseArchiveRest },
];

export function parseGuestTarget(arg: string, exists: (p: string) => boolean = isFile, containers = CONTAINERS): GuestTarget {
  for (let cut = arg.length; cut > 0; cut--) {
    if (cut < arg.length && arg[cut] !== ':' && arg[cut] !== '/') continue;
    const disk = arg.slice(0, cut);
    const rest = arg.slice(cut);
    const container = containers.find((c) => c.is(disk));
    if (container) {
      const parsed = container.parse(rest);
      if (parsed) return { disk, ...parsed };
      continue;
    }
    if (!exists(disk)) continue;
    if (rest === '' || rest === ':') return { disk, path: '/' };
    if (rest.startsWith('/')) return { disk, path: rest };
    const slash = rest.indexOf('/');
    const volume = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
    return { disk, ...(volume === '' ? {} : { volume }), path: slash < 0 ? '/' : rest.slice(slash) };
  }
  throw new DiskchainError('E_NOTFOUND', 'no such disk file or archive (write DISK[:VOL]/path, VOL a partition number or LV name, or ARCHIVE[:DISK[:VOL]]/path)', arg);
}

/** `[:DISK[:VOL]][/path]` after an archive. */
function parseArchiveRest(rest: string): Omit<GuestTarget, 'disk'> | null {
  if (rest === '' || rest.startsWith('/')) return { container: { kind: 'archive', selectors: [] }, path: rest || '/' };
  const slash = rest.indexOf('/');
  const selectors = (slash < 0 ? rest.slice(1) : rest.slice(1, slash)).split(':').filter((s) => s !== '');
  if (selectors.length > 2) throw usageError(`${rest}: write ARCHIVE[:DISK[:VOL]]/path (at most a disk and a volume)`);
  return { container: { kind: 'archive', selectors }, path: slash < 0 ? '/' : rest.slice(slash) };
}

export interface ChainOptions {
  ignoreCid?: boolean;
  at?: string;
  /** false (--no-replay): read a journalled volume as it is on disk. */
  replay?: boolean;
}

/** The chain as the guest saw it at link N (0 = the disk named; links counted from the top towards the base). */
export function openChainAt(disk: string, options: ChainOptions): Chain {
  const ignoreCid = options.ignoreCid === true;
  const chain = openChain(disk, { ignoreCid });
  if (options.at === undefined) return chain;
  const at = Number(options.at);
  const links = chain.links.length;
  if (!/^\d+$/.test(options.at) || at >= links) {
    chain.close();
    const range = links === 1 ? 'only 0, the disk named' : `0 is the disk named, ${links - 1} its base`;
    throw usageError(`--at ${options.at}: ${disk} has ${links} link${links === 1 ? '' : 's'} (${range})`);
  }
  if (at === 0) return chain;
  const file = chain.links[at]!.path;
  chain.close();
  return openChain(file, { ignoreCid });
}

export interface OpenedGuest {
  chain: Chain;
  /** The archive the disk is read from, when the target named one. */
  archive?: ArchiveFiles;
  device: BlockDevice;
  fs: GuestFileSystem;
  /** The path inside the volume (an LV named `vg/lv` takes a part of the path). */
  path: string;
}

/**
 * The file system a target names. `disk:vg0/root/etc` is read as VG vg0, LV root when vg0 itself
 * is no volume: LV names hold a '/' that the path syntax also uses.
 */
export async function openGuest(target: GuestTarget, options: ChainOptions): Promise<OpenedGuest> {
  const { chain, volume, archive } = await openTargetChain(target, options);
  const withArchive = archive ? { archive } : {};
  try {
    const device = chainDevice(chain);
    const open = { replay: options.replay !== false };
    try {
      return { chain, device, fs: openFileSystem(device, volume, undefined, open), path: target.path, ...withArchive };
    } catch (e) {
      const [first, ...rest] = splitGuestPath(target.path);
      if (!(e instanceof DiskchainError) || e.code !== 'E_NOTFOUND' || volume === undefined || first === undefined) throw e;
      try {
        return { chain, device, fs: openFileSystem(device, `${volume}/${first}`, undefined, open), path: `/${rest.join('/')}`, ...withArchive };
      } catch (second) {
        throw second instanceof DiskchainError && second.code === 'E_NOTFOUND' ? e : second;
      }
    }
  } catch (e) {
    chain.close();
    throw e;
  }
}

/** The chain a target names at `--at N`, and the volume it names inside it. */
export async function openTargetChain(target: GuestTarget, options: ChainOptions): Promise<{ chain: Chain; volume?: string; archive?: ArchiveFiles }> {
  const volumeOf = (v: string | undefined): { volume?: string } => (v === undefined ? {} : { volume: v });
  if (!target.container) return { chain: openChainAt(target.disk, options), ...volumeOf(target.volume) };
  // Loaded only for an archive: its manifest schemas (zod) were a fifth of `parts`'s start-up.
  const { archiveDisk, isArchiveDisk, openArchive, openArchivedDisk } = await import('../backup/archive-source.js');
  const archive = openArchive(target.disk);
  const [first, second] = target.container.selectors;
  // One part names a disk when the manifest has one by that name, else a volume of the only disk.
  const diskName = second !== undefined || (first !== undefined && (isArchiveDisk(archive, first) || archive.manifest.disks.length > 1)) ? first : undefined;
  const volume = second ?? (diskName === undefined ? first : undefined);
  const disk = archiveDisk(archive, diskName);
  if (options.at !== undefined && !/^\d+$/.test(options.at)) throw usageError(`--at ${options.at}: give a link number (0 = the top)`);
  const chain = openArchivedDisk(archive, disk, options.at === undefined ? 0 : Number(options.at), { ignoreCid: options.ignoreCid === true });
  return { chain, ...volumeOf(volume), archive };
}

/** For `parts`: a disk file as named, or `ARCHIVE[:DISK]`. */
export async function openDiskOrArchive(arg: string, options: ChainOptions): Promise<Chain> {
  if (!isFile(arg) || looksLikeArchive(arg)) {
    let target: GuestTarget | null = null;
    try {
      target = parseGuestTarget(arg);
    } catch {
      // Not an archive either: the disk's own open says what is wrong with it.
    }
    if (target?.container) return (await openTargetChain(target, options)).chain;
  }
  return openChainAt(arg, options);
}
