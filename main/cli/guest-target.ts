/**
 * `DISK[:VOL]/path` for parts, ls, get and find: which file is the disk (the longest prefix that is
 * an existing file, so `C:\vms\web.vmdk:2/etc` and names with ':' work; or a file inside a VMFS
 * volume image, `lun.img:/web01/web01.vmdk:1/etc`), which volume, which path;
 * and the chain at `--at N` with the file system on the chosen volume.
 */
import * as fs from 'node:fs';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { openChain, type Chain } from '../disk/chain.js';
import { chainDevice, type BlockDevice } from '../guest/block-device.js';
import type { GuestFileSystem } from '../guest/types.js';
import { openFileSystem } from '../guest/volumes.js';
import { splitGuestPath } from '../guest/walk.js';
import { imageSourceOf } from '../io/path-sources.js';

export interface GuestTarget {
  disk: string;
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

export function parseGuestTarget(arg: string, exists: (p: string) => boolean = isFile): GuestTarget {
  for (let cut = arg.length; cut > 0; cut--) {
    if (cut < arg.length && arg[cut] !== ':' && arg[cut] !== '/') continue;
    const disk = arg.slice(0, cut);
    if (!exists(disk)) continue;
    const rest = arg.slice(cut);
    if (rest === '' || rest === ':') return { disk, path: '/' };
    if (rest.startsWith('/')) return { disk, path: rest };
    const slash = rest.indexOf('/');
    const volume = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
    return { disk, ...(volume === '' ? {} : { volume }), path: slash < 0 ? '/' : rest.slice(slash) };
  }
  throw new DiskchainError('E_NOTFOUND', 'no such disk file (write DISK[:VOL]/path, VOL a partition number or LV name)', arg);
}

export interface ChainOptions {
  ignoreCid?: boolean;
  at?: string;
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
  device: BlockDevice;
  fs: GuestFileSystem;
  /** The path inside the volume (an LV named `vg/lv` takes a part of the path). */
  path: string;
}

/**
 * The file system a target names. `disk:vg0/root/etc` is read as VG vg0, LV root when vg0 itself
 * is no volume: LV names hold a '/' that the path syntax also uses.
 */
export function openGuest(target: GuestTarget, options: ChainOptions): OpenedGuest {
  const chain = openChainAt(target.disk, options);
  try {
    const device = chainDevice(chain);
    try {
      return { chain, device, fs: openFileSystem(device, target.volume), path: target.path };
    } catch (e) {
      const [first, ...rest] = splitGuestPath(target.path);
      if (!(e instanceof DiskchainError) || e.code !== 'E_NOTFOUND' || target.volume === undefined || first === undefined) throw e;
      try {
        return { chain, device, fs: openFileSystem(device, `${target.volume}/${first}`), path: `/${rest.join('/')}` };
      } catch (second) {
        throw second instanceof DiskchainError && second.code === 'E_NOTFOUND' ? e : second;
      }
    }
  } catch (e) {
    chain.close();
    throw e;
  }
}
