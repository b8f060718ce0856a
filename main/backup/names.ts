/** File names inside an archive: plain, short enough for a ustar header, unique even on case-insensitive file systems. */
import * as path from 'node:path';

/** Stems stay under this many UTF-8 bytes, so `STEM-s001.vmdk` fits a ustar name (100 bytes). */
const MAX_STEM_BYTES = 80;

/**
 * A link's own stem: `web01.vmdk` → `web01`, `web01-000002.vmdk` → `web01-000002`,
 * `web01.dsk.REDO` → `web01-REDO` (an ESX 2 REDO log of `web01.dsk`).
 */
export function linkStem(file: string): string {
  const name = path.basename(file).replace(/\.REDO/gi, '-REDO');
  return name.replace(/\.(vmdk|dsk|img|raw)(?=-REDO|$)/gi, '') || 'disk';
}

/** A disk's stem without chain decorations: `web01-000002.vmdk` → `web01`, `web01.dsk.REDO` → `web01`. */
export { diskStem as diskStemOf } from '../../shared/disk-names.js';

/** Control characters and separators become `_`; long names are cut (at a character boundary). */
export function cleanStem(stem: string, maxBytes = MAX_STEM_BYTES): string {
  let clean = [...stem].map((c) => (c.charCodeAt(0) < 32 || c === '/' || c === '\\' ? '_' : c)).join('');
  while (Buffer.byteLength(clean, 'utf8') > maxBytes) clean = [...clean].slice(0, -1).join('');
  return clean === '' || clean === '.' || clean === '..' ? 'disk' : clean;
}

/** Reserves names so that no two files of one archive (or one restore) collide, case-insensitively. */
export class NameBook {
  private readonly taken = new Set<string>();

  constructor(reserved: string[] = []) {
    for (const n of reserved) this.taken.add(n.toLowerCase());
  }

  /** The first of `stem`, `stem-2`, `stem-3`… whose files (as `filesOf` names them) are all free; reserves them. */
  claim(stem: string, filesOf: (stem: string) => string[]): string {
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? stem : `${stem}-${i}`;
      const files = filesOf(candidate);
      if (files.every((f) => !this.taken.has(f.toLowerCase()))) {
        for (const f of files) this.taken.add(f.toLowerCase());
        return candidate;
      }
    }
  }

  /** A single file name, made unique by a `-N` before its extension. */
  claimFile(name: string): string {
    const ext = [...path.extname(name)].filter((c) => c.charCodeAt(0) >= 32).join('').slice(0, 16);
    const stem = cleanStem(name.slice(0, name.length - ext.length), MAX_STEM_BYTES);
    const chosen = this.claim(stem, (s) => [`${s}${ext}`]);
    return `${chosen}${ext}`;
  }
}
