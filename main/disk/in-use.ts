/**
 * Is a disk in use by a VM? VMware marks open files with locks beside them: Workstation and Fusion
 * make a `NAME.lck` folder (holding `M*.lck` files) for the .vmx, each disk file and the memory
 * file; older hosted products a `NAME.lck` file; ESX hidden `.lck-XXXXXXXX` files on VMFS. Any of
 * these means a hypervisor may be writing the disks. Every writing job refuses such a disk unless
 * forced, and the desktop app's dialogs show the same answer before a job starts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { readVmx, vmxDisks } from '../formats/vmx.js';
import { openChain, type Chain } from './chain.js';

export interface DiskUse {
  /** VMware lock files or folders found for the disk's chain or for a VM that uses it. */
  locks: string[];
  /** .vmx files beside the disk whose disks are this disk or a snapshot of it. */
  vms: string[];
}

/** What `diskPath` is used by: read only, quick (a folder listing and the .vmx files beside it). */
export function diskUse(diskPath: string): DiskUse {
  const disk = canonical(diskPath);
  const files = chainFilesOf(disk);
  const vms = vmxUsing(disk);
  const locks = new Set(findLocks(files, null));
  for (const vmx of vms) for (const l of findLocks([vmx, ...files], path.dirname(vmx))) locks.add(l);
  return { locks: [...locks].sort(), vms };
}

/** Throws the in-use refusal when `use` found locks and the job is not forced. */
export function refuseInUse(file: string, use: DiskUse, force: boolean, anyway: string): void {
  if (use.locks.length > 0 && !force) throw inUseError(file, use.locks, anyway);
}

/**
 * `looks in use: lock file web01.vmx.lck beside it. Shut the VM down first, or use --force to …`;
 * `anyway` ends the sentence: "commit it anyway (the VM may be writing to it)".
 */
export function inUseError(file: string, locks: string[], anyway: string): DiskchainError {
  const shown = locks.slice(0, 3).map((l) => path.basename(l)).join(', ') + (locks.length > 3 ? ` and ${locks.length - 3} more` : '');
  return new DiskchainError(
    'E_USAGE',
    `looks in use: lock ${locks.length === 1 ? 'file' : 'files'} ${shown} beside it. Shut the VM down first, or use --force to ${anyway}`,
    file,
  );
}

/**
 * Lock files or folders found for `files` (the .vmx and every file of every chain). In `vmFolder`
 * (the .vmx's folder) any `*.lck` counts, since a running VM also locks files we do not read.
 */
export function findLocks(files: string[], vmFolder: string | null): string[] {
  const found = new Set<string>();
  const vmDir = vmFolder === null ? null : path.resolve(vmFolder);
  const folders = new Set(files.map((f) => path.dirname(path.resolve(f))));
  if (vmDir) folders.add(vmDir);
  const names = new Set(files.map((f) => path.basename(f).toLowerCase()));
  for (const folder of folders) {
    for (const entry of listFolder(folder)) {
      const lower = entry.toLowerCase();
      const esxLock = lower.startsWith('.lck-');
      const ownLock = lower.endsWith('.lck') && names.has(lower.slice(0, -'.lck'.length));
      const vmLock = folder === vmDir && lower.endsWith('.lck');
      if (esxLock || ownLock || vmLock) found.add(path.join(folder, entry));
    }
  }
  return [...found].sort();
}

/** Every file a chain reads (link files and their extents): where its locks would be, and what a backup must not see change. */
export function chainFiles(chain: Chain): string[] {
  const files = new Set<string>();
  for (const link of chain.links) {
    files.add(link.path);
    for (const e of link.extents) if (e.path !== null && link.source.stat(e.path) !== null) files.add(e.path);
  }
  return [...files];
}

/** Link paths of the chain from `disk` down, top first; just `disk` when the chain does not open. */
export function chainLinks(disk: string): string[] {
  return withChain(disk, (chain) => chain.links.map((l) => l.path)) ?? [disk];
}

function chainFilesOf(disk: string): string[] {
  return withChain(disk, chainFiles) ?? [disk];
}

/** The .vmx files in the disk's folder with a disk whose chain passes through `disk`. */
function vmxUsing(disk: string): string[] {
  const dir = path.dirname(disk);
  const users: string[] = [];
  for (const name of listFolder(dir).sort()) {
    if (!/\.vmx$/i.test(name)) continue;
    const file = path.join(dir, name);
    let entries: string[];
    try {
      entries = vmxDisks(readVmx(file)).map((d) => d.path);
    } catch {
      continue; // not a .vmx we can read: it cannot be shown to use the disk either
    }
    if (entries.some((entry) => chainLinks(entry).some((l) => canonical(l) === disk))) users.push(file);
  }
  return users;
}

function withChain<T>(disk: string, use: (chain: Chain) => T): T | null {
  let chain: Chain;
  try {
    // A chain with a CID mismatch is still the VM's chain: lock files concern it all the same.
    chain = openChain(disk, { ignoreCid: true });
  } catch {
    return null;
  }
  try {
    return use(chain);
  } finally {
    chain.close();
  }
}

/** The real path of a file (symbolic links followed), or the path itself when it cannot be resolved. */
export function canonical(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/** A folder's names, or none when it cannot be listed. */
export function listFolder(folder: string): string[] {
  try {
    return fs.readdirSync(folder);
  } catch {
    return [];
  }
}
