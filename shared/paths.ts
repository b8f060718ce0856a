/** Path rules both sides share (no node:path here: the renderer uses them too). */

/** Absolute: `/…`, `C:\…` or `\\server\…`. The file browser refuses anything else (no folder is implied). */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}
