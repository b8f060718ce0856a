/**
 * Whether a path may name an archive: the guest commands ask this of every argument, so it stays
 * free of the archive reader and the manifest's schemas (zod), loaded only when one is opened.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_NAME } from '../formats/manifest-name.js';

/** A folder holding manifest.json, or a file whose name ends in .tar: what `ARCHIVE` may name. */
export function looksLikeArchive(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (st.isDirectory()) return fs.statSync(path.join(p, MANIFEST_NAME), { throwIfNoEntry: false })?.isFile() === true;
    return st.isFile() && /\.tar$/i.test(p);
  } catch {
    return false;
  }
}
