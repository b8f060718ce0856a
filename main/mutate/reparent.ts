/**
 * `reparent`: the way out of a broken chain. A child whose parent moved or was renamed names it
 * again — by `parentFileNameHint` in its descriptor (a separate file, replaced atomically after a
 * timestamped copy; or the text inside a hosted sparse file, rewritten in place within its fixed
 * area after the old text was saved beside it), or by the parent name in an ESX 2 REDO's COWD
 * header (a fixed 1024-byte field, rewritten in place after the old header was saved).
 *
 * Refused: a parent of another capacity, the child itself or one of its own descendants as parent,
 * a CID that does not match (shown; `fixCid` sets the child's parentCID to the parent's CID), a
 * disk in use (unless forced), a file another job is writing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes } from '../../shared/bytes.js';
import { chainError, DiskchainError, unsupportedError } from '../../shared/errors.js';
import { checkCid, openChain } from '../disk/chain.js';
import { canonical, diskUse, refuseInUse } from '../disk/in-use.js';
import { openLink, type Link } from '../disk/link.js';
import { keepCopy } from '../disk/vmx-repoint.js';
import { COWD_FIELD, cowdParentNameField } from '../formats/cowd/create.js';
import { editDescriptor, type DescriptorEdit } from '../formats/descriptor-edit.js';
import { formatCid } from '../formats/descriptor.js';
import { readEmbeddedDescriptor, writeEmbeddedDescriptor } from '../formats/sparse/embedded.js';
import { DiskFile } from '../io/disk-file.js';
import { replaceFile, syncDir } from '../io/staged-output.js';
import { lockFiles } from '../io/writer-lock.js';

export interface ReparentOptions {
  /** Set the child's parentCID to the new parent's CID when they differ. */
  fixCid?: boolean;
  /** Go ahead although VMware lock files say the disk is in use. */
  force?: boolean;
}

export interface ReparentResult {
  child: string;
  parent: string;
  /** The name now written in the child (relative to its folder where possible). */
  parentName: string;
  /** Where the old descriptor (or COWD header) was kept. */
  backup: string;
  /** `{ from, to }` when --fix-cid changed the child's parentCID. */
  cidChanged: { from: string; to: string } | null;
  summary: string;
}

/** Points `childPath` at `parentPath`; see the module comment for what is written and refused. */
export async function reparent(childPath: string, parentPath: string, options: ReparentOptions = {}): Promise<ReparentResult> {
  const child = canonical(childPath);
  const parent = canonical(parentPath);
  const locks = lockFiles({ job: 'reparent', writes: [child], reads: [parent] });
  try {
    refuseInUse(child, diskUse(child), options.force === true, 'reparent it anyway (the VM may be writing to it)');
    return reparentLocked(child, parent, options);
  } finally {
    await locks.release();
  }
}

function reparentLocked(child: string, parent: string, options: ReparentOptions): ReparentResult {
  const childLink = openLink(child);
  let parentLink: Link;
  try {
    parentLink = openLink(parent);
  } catch (e) {
    childLink.data.close();
    throw e;
  }
  try {
    refuseUnfit(childLink, parentLink);
    refuseLoop(child, parent);
    const name = parentName(child, parent);
    if (childLink.descriptor === null) return rewriteCowdHeader(childLink, parent, name);
    const edit: DescriptorEdit = { parentFileNameHint: name };
    const cidChanged = cidEdit(childLink, parentLink, options.fixCid === true);
    if (cidChanged) edit.parentCid = parentLink.descriptor!.cid;
    const backup = rewriteDescriptor(childLink, edit);
    const cidNote = cidChanged ? `; parentCID ${cidChanged.from} → ${cidChanged.to}` : '';
    return {
      child,
      parent,
      parentName: name,
      backup,
      cidChanged,
      summary: `${path.basename(child)} now names ${name} as its parent${cidNote} (old descriptor kept as ${path.basename(backup)})`,
    };
  } finally {
    childLink.data.close();
    parentLink.data.close();
  }
}

function refuseUnfit(child: Link, parent: Link): void {
  if (child.parent === null) {
    throw chainError(child.path, `${describe(child)} has no parent to re-point: only a snapshot (a child link) can be reparented`);
  }
  if (child.capacityBytes !== parent.capacityBytes) {
    throw chainError(
      child.path,
      `${path.basename(parent.path)} cannot be its parent: its capacity is ${size(parent.capacityBytes)}, the child's is ${size(child.capacityBytes)}`,
    );
  }
}

/** The new parent must not be the child or read through it: that chain would loop. */
function refuseLoop(child: string, parent: string): void {
  if (parent === child) throw chainError(child, 'a disk cannot be its own parent');
  let chain;
  try {
    chain = openChain(parent, { ignoreCid: true, acceptDamage: true });
  } catch {
    return; // the parent's own chain is broken further down: that is for another reparent
  }
  try {
    if (chain.links.some((l) => canonical(l.path) === child)) {
      throw chainError(child, `${path.basename(parent)} is a snapshot of this disk: making it the parent would loop the chain`);
    }
  } finally {
    chain.close();
  }
}

/** The parent as the child should name it: relative to the child's folder (as VMware writes it) where a relative path exists. */
function parentName(child: string, parent: string): string {
  const relative = path.relative(path.dirname(child), parent);
  if (relative === '' || path.isAbsolute(relative)) return parent;
  return relative.split(path.sep).join('/');
}

/** A CID mismatch is shown and refused, or (fixCid) becomes the edit of parentCID. */
function cidEdit(child: Link, parent: Link, fixCid: boolean): { from: string; to: string } | null {
  const parentCid = parent.descriptor?.cid;
  if (parentCid === undefined || child.descriptor?.parentCid === undefined) return null;
  const problem = checkCid(child, parent);
  if (problem === null) return null;
  const from = child.descriptor.parentCidText ?? formatCid(child.descriptor.parentCid);
  if (!fixCid) {
    throw new DiskchainError(
      'E_CID',
      `${problem.message}. If ${path.basename(parent.path)} is the disk this snapshot was taken from, unchanged since, use --fix-cid to set parentCID to ${formatCid(parentCid)}`,
      child.path,
    );
  }
  return { from, to: formatCid(parentCid) };
}

/** Separate descriptor: timestamped copy, then atomic replace. Embedded: old text saved, then rewritten in place. */
function rewriteDescriptor(link: Link, edit: DescriptorEdit): string {
  const embedded = readEmbeddedDescriptor(link.path);
  if (embedded === null) {
    const bytes = editDescriptor(fs.readFileSync(link.path), edit, link.path);
    const backup = keepCopy(link.path);
    replaceFile(link.path, bytes, { mode: fs.statSync(link.path).mode & 0o7777 });
    return backup;
  }
  const bytes = editDescriptor(embedded.bytes, edit, link.path);
  if (bytes.length > embedded.capacityBytes) {
    throw unsupportedError(
      link.path,
      `the new descriptor (${bytes.length} bytes) does not fit the ${embedded.capacityBytes} bytes the sparse file reserves for it; use a shorter parent path (move the parent nearer the child)`,
    );
  }
  const backup = saveBeside(link.path, 'descriptor', embedded.bytes);
  writeEmbeddedDescriptor(link.path, embedded, bytes);
  return backup;
}

/**
 * A bare ESX 2 REDO names its parent in its COWD header (format doc §4.1: the child union's
 * 1024-byte parentFileName). A header whose union holds a base disk's geometry has no such field.
 */
function rewriteCowdHeader(link: Link, parent: string, name: string): ReparentResult {
  if (link.createType !== 'cowd') {
    throw unsupportedError(link.path, `a ${describe(link)} without a descriptor has no parent name to rewrite`);
  }
  if (link.header['isRoot'] === true && typeof link.header['geometry.cylinders'] === 'number') {
    throw unsupportedError(
      link.path,
      `its COWD header holds a base disk's geometry, not a parent name, so it finds its parent by its own name: rename the parent to ${path.basename(link.path).replace(/\.REDO$/i, '')} instead`,
    );
  }
  let field: Buffer;
  try {
    field = cowdParentNameField(name);
  } catch {
    throw unsupportedError(link.path, `the parent name "${name}" does not fit the COWD header's ${COWD_FIELD.parentFileNameBytes - 1} bytes`);
  }
  const file = DiskFile.openForWrite(link.path);
  try {
    const header = file.readBlock(COWD_FIELD.parentFileName + COWD_FIELD.parentFileNameBytes, 0, 'COWD header');
    const backup = saveBeside(link.path, 'header', header);
    file.writeAt(field, COWD_FIELD.parentFileName);
    file.sync();
    return {
      child: link.path,
      parent,
      parentName: name,
      backup,
      cidChanged: null,
      summary: `${path.basename(link.path)} now names ${name} as its parent in its COWD header (old header kept as ${path.basename(backup)}; a REDO has no CID to check)`,
    };
  } finally {
    file.close();
  }
}

/** `NAME.descriptor.bak` (then `-2`, `-3`… rather than over an older copy), fsynced. */
function saveBeside(file: string, what: string, bytes: Buffer): string {
  for (let n = 1; n < 100; n++) {
    const backup = `${file}.${what}${n === 1 ? '' : `-${n}`}.bak`;
    let fd: number;
    try {
      fd = fs.openSync(backup, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new DiskchainError('E_IO', `cannot save the old ${what} before rewriting it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
    }
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    syncDir(path.dirname(backup));
    return backup;
  }
  throw new DiskchainError('E_EXISTS', `too many saved copies of its ${what}`, file);
}

function describe(link: Link): string {
  return link.createType === 'cowd' ? 'COWD file' : `${link.createType} disk`;
}

function size(bytes: number): string {
  return `${formatBytes(bytes)} (${bytes} bytes)`;
}
