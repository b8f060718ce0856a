/**
 * Which descriptor a data file belongs to. `info web01-flat.vmdk` or `info split-s001.vmdk` opens
 * an extent as if it were a disk of its own (raw, or a sparse file without a descriptor); a
 * descriptor beside it that names it says what it really is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeDescriptor, looksLikeDescriptor, MAX_DESCRIPTOR_BYTES, parseDescriptor } from '../formats/descriptor.js';

const HEAD_BYTES = 1024;

/** The descriptor beside `file` that lists it as an extent, or null. Read only; unreadable files are skipped. */
export function extentOwner(file: string): string | null {
  const target = canonical(file);
  const dir = path.dirname(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return null;
  }
  for (const name of names) {
    if (!/\.vmdk$/i.test(name) || name === path.basename(target)) continue;
    const candidate = path.join(dir, name);
    const text = smallDescriptor(candidate);
    if (text === null) continue;
    let extents;
    try {
      extents = parseDescriptor(text, candidate).extents;
    } catch {
      continue;
    }
    if (extents.some((e) => e.fileName !== undefined && isNamed(e.fileName, dir, target))) return candidate;
  }
  return null;
}

/** An extent's name as written (relative to its descriptor; Windows separators allowed). */
function isNamed(fileName: string, dir: string, target: string): boolean {
  return canonical(path.resolve(dir, fileName.replace(/\\/g, '/'))) === target;
}

function smallDescriptor(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_DESCRIPTOR_BYTES) return null;
    const head = Buffer.alloc(Math.min(HEAD_BYTES, st.size));
    fs.readSync(fd, head, 0, head.length, 0);
    if (!looksLikeDescriptor(head)) return null;
    const all = Buffer.alloc(st.size);
    fs.readSync(fd, all, 0, all.length, 0);
    return decodeDescriptor(all);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function canonical(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}
