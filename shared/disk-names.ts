/** Names derived from disk file names, the same in the CLI, the services and the UI. */

/** The file name of a path written with either separator. */
export function fileNameOf(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] || file;
}

/** A disk's name without chain decorations: `vm.dsk.REDO` → `vm`, `vm-000002.vmdk` → `vm` (export names its output so). */
export function diskStem(file: string): string {
  let name = fileNameOf(file);
  while (/\.REDO$/i.test(name)) name = name.replace(/\.REDO$/i, '');
  return name.replace(/\.(vmdk|dsk|img|raw)$/i, '').replace(/-\d{6}$/, '') || 'disk';
}

/**
 * The descriptor an extent file belongs to by VMware's naming (`web01-flat.vmdk`, `web01-s001.vmdk`,
 * `web01-f002.vmdk`, `web01-delta.vmdk`, `web01-sesparse.vmdk` → `web01.vmdk`), or null for any other name.
 */
export function extentDescriptorName(file: string): string | null {
  const m = /^(.+)-(?:[sf]\d{3}|flat|delta|sesparse)\.vmdk$/i.exec(fileNameOf(file));
  return m ? `${m[1]}.vmdk` : null;
}
