import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveParent } from './chain.js';
import { openLink } from './link.js';

/** File names that can be a chain link (descriptors, sparse/COWD files, REDO logs). */
const LINK_NAME = /(\.vmdk|\.REDO|\.dsk)$/i;
/** Extent files are named by their descriptor; they are never links of their own. */
const EXTENT_NAME = /(-flat|-delta|-sesparse|-s\d{3}|-f\d{3}|-rdmp?|-ctk)\.vmdk$/i;

/**
 * Links in the same folder whose parent is `diskPath` (VMware keeps snapshots beside their
 * parent). Files that do not open are skipped: they cannot be anyone's child either.
 */
export function findChildren(diskPath: string): string[] {
  const target = realpath(path.resolve(diskPath));
  const dir = path.dirname(target);
  const children: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!LINK_NAME.test(name) || EXTENT_NAME.test(name)) continue;
    const candidate = path.join(dir, name);
    if (realpath(candidate) === target) continue;
    let link;
    try {
      link = openLink(candidate);
    } catch {
      continue;
    }
    try {
      const parent = link.parent ? tryResolve(link) : null;
      if (parent !== null && realpath(parent) === target) children.push(candidate);
    } finally {
      link.data.close();
    }
  }
  return children.sort();
}

function tryResolve(link: Parameters<typeof resolveParent>[0]): string | null {
  try {
    return resolveParent(link);
  } catch {
    return null;
  }
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
