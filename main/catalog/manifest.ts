/**
 * Archive manifests as the catalog reads them. The format is `main/backup/manifest.ts`, the one
 * contract between backup, restore and the catalog; this module adds what only the catalog needs.
 */
import * as path from 'node:path';
import type { Manifest } from '../formats/manifest.js';

export { MANIFEST_NAME, parseManifest, type Manifest } from '../formats/manifest.js';

/** A manifest lists files and disks; a few MiB would already be thousands of segments. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * The path of a listed file inside the archive folder, or null when the name would leave the
 * folder (absolute, `..`, a drive letter): such a name is never opened, whatever a manifest says.
 */
export function archiveFilePath(archiveDir: string, name: string): string | null {
  const unix = name.replace(/\\/g, '/');
  if (unix.startsWith('/') || /^[A-Za-z]:/.test(unix)) return null;
  if (unix.split('/').some((part) => part === '..' || part === '.' || part === '')) return null;
  return path.join(archiveDir, ...unix.split('/'));
}

/** The VM an archive came from: the manifest's vmName, the .vmx's displayName, else its base name. */
export function archiveVmName(m: Manifest): string | null {
  if (m.source.vmName) return m.source.vmName;
  if (m.vm?.displayName) return m.vm.displayName;
  if (m.source.kind === 'vmx') return path.posix.basename(m.source.path.replace(/\\/g, '/')).replace(/\.vmx$/i, '');
  return null;
}
