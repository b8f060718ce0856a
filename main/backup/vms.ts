/**
 * `diskchain vms DIR...`: the VMs (.vmx files) under folders, their disks, whether each disk's
 * chain opens, and whether the VM looks in use — the laptop counterpart of the seed's `vmsnap -g`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { openChain } from '../disk/chain.js';
import { findChildren } from '../disk/children.js';
import { chainFiles, findLocks } from '../disk/in-use.js';
import { readVmx, vmxDisks, vmxNvram, vmxValue, type VmxDisk } from '../formats/vmx.js';

export interface VmDiskListing {
  /** `scsi0:0`, `ide0:1`… */
  device: string;
  /** The entry's value as written in the .vmx. */
  fileName: string;
  path: string;
  /** Whether the whole chain opens (every link found, CIDs matching). */
  opens: boolean;
  /** Why it does not, as one line. */
  error: string | null;
  /** createType of the disk named; null when it does not open. */
  kind: string | null;
  capacityBytes: number | null;
  /** Link files of the chain, top first. */
  links: string[];
  /**
   * Snapshots of the disk this entry names that no listed VM uses: the VM writes into their
   * parent, which breaks them (a snapshot whose .vmx was left on the old disk).
   */
  unusedChildren: string[];
}

export interface VmListing {
  vmx: string;
  displayName: string | null;
  guestOS: string | null;
  nvram: string | null;
  /** Lock files or folders that say the VM is in use. */
  locks: string[];
  disks: VmDiskListing[];
  /** Set when the .vmx itself cannot be read. */
  error: string | null;
}

/** Folders are searched this deep; VM folders are rarely more than a few levels down. */
const MAX_DEPTH = 16;

/**
 * The .vmx files inside an image a root names (a VMFS volume image, `IMAGE[:/folder]`), as paths
 * every reader opens (`IMAGE:/web01/web01.vmx`); null when the root is no such image. Given by
 * the layer that reads images (vmfs/), which this one cannot import.
 */
export type VmxInImage = (root: string) => string[] | null;

export function listVms(roots: string[], inImage: VmxInImage = () => null): VmListing[] {
  const found: string[] = [];
  for (const root of roots) {
    const inside = inImage(root);
    if (inside) {
      found.push(...inside);
      continue;
    }
    const abs = path.resolve(root);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      throw new DiskchainError('E_NOTFOUND', 'no such folder', abs);
    }
    if (st.isFile() && /\.vmx$/i.test(abs)) found.push(abs);
    else if (st.isDirectory()) collectVmx(abs, 0, found);
    else throw new DiskchainError('E_USAGE', 'neither a folder nor a .vmx file', abs);
  }
  return flagUnusedChildren([...new Set(found)].sort().map(describeVm));
}

/** Children of a VM's disk are in use when some listed VM's chain holds them. */
function flagUnusedChildren(vms: VmListing[]): VmListing[] {
  const used = new Set(vms.flatMap((vm) => vm.disks.flatMap((d) => d.links.map(canonical))));
  for (const vm of vms) for (const d of vm.disks) d.unusedChildren = d.unusedChildren.filter((c) => !used.has(canonical(c)));
  return vms;
}

function canonical(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

function collectVmx(dir: string, depth: number, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // unreadable folder: nothing to list there
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isFile() && /\.vmx$/i.test(e.name)) out.push(full);
    // Symbolic links to folders are not followed (no loops); lock folders and our staging folders hold no VMs.
    else if (e.isDirectory() && depth < MAX_DEPTH && !/\.lck$/i.test(e.name) && !/^\.diskchain-.*\.partial$/.test(e.name)) {
      collectVmx(full, depth + 1, out);
    }
  }
}

function describeVm(file: string): VmListing {
  let vmx;
  try {
    vmx = readVmx(file);
  } catch (e) {
    return { vmx: file, displayName: null, guestOS: null, nvram: null, locks: [], disks: [], error: oneLine(e) };
  }
  const disks = vmxDisks(vmx).map(describeDisk);
  const nvram = vmxNvram(vmx);
  const files = [vmx.path, ...(nvram ? [nvram] : []), ...disks.flatMap((d) => d.files)];
  return {
    vmx: vmx.path,
    displayName: vmxValue(vmx, 'displayName') ?? null,
    guestOS: vmxValue(vmx, 'guestOS') ?? null,
    nvram,
    locks: findLocks(files, path.dirname(vmx.path)),
    disks: disks.map((d) => d.listing),
    error: null,
  };
}

/** A disk entry, and the files its chain reads (where its locks would be). */
function describeDisk(d: VmxDisk): { listing: VmDiskListing; files: string[] } {
  const named = { device: d.device, fileName: d.fileName, path: d.path };
  let chain;
  try {
    chain = openChain(d.path);
  } catch (e) {
    return { listing: { ...named, opens: false, error: oneLine(e), kind: null, capacityBytes: null, links: [], unusedChildren: [] }, files: [d.path] };
  }
  try {
    const listing = {
      ...named,
      opens: true,
      error: null,
      kind: chain.top.createType,
      capacityBytes: chain.capacityBytes,
      links: chain.links.map((l) => l.path),
      unusedChildren: childrenOf(chain.top.path),
    };
    return { listing, files: chainFiles(chain) };
  } finally {
    chain.close();
  }
}

function childrenOf(disk: string): string[] {
  try {
    return findChildren(disk);
  } catch {
    return [];
  }
}

function oneLine(e: unknown): string {
  if (e instanceof DiskchainError) return e.file === undefined ? e.message : `${path.basename(e.file)}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
