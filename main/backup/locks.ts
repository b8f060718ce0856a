/**
 * Is a VM in use? VMware marks open files with locks beside them: Workstation and Fusion make a
 * `NAME.lck` folder (holding `M*.lck` files) for the .vmx, each disk file and the memory file;
 * older hosted products a `NAME.lck` file; ESX hidden `.lck-XXXXXXXX` files on VMFS. Any of these
 * means a hypervisor may be writing the disks as we read them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Chain } from '../disk/chain.js';

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

function listFolder(folder: string): string[] {
  try {
    return fs.readdirSync(folder);
  } catch {
    return [];
  }
}

/** Every file a chain reads (link files and their extents): where its locks would be, and what a backup must not see change. */
export function chainFiles(chain: Chain): string[] {
  const files = new Set<string>();
  for (const link of chain.links) {
    files.add(link.path);
    for (const e of link.extents) if (e.path !== null && fs.existsSync(e.path)) files.add(e.path);
  }
  return [...files];
}
