/**
 * Everything a commit decides and checks before its first write (see commit.ts for the whole
 * crash-safety argument): the refusals, P's new CID, the descriptor and header rewrites of P, TOP
 * and TOP's children, and TOP's files in deletion order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, unsupportedError } from '../../shared/errors.js';
import type { JobResult } from '../../shared/jobs.js';
import type { Chain } from '../disk/chain.js';
import { findChildren } from '../disk/children.js';
import { openLink, type Link } from '../disk/link.js';
import { cowdParentNameField, COWD_FIELD } from '../formats/cowd/create.js';
import { editDescriptor, type DescriptorEdit } from '../formats/descriptor-edit.js';
import { randomCid } from '../formats/descriptor.js';
import { readEmbeddedDescriptor } from '../formats/sparse/embedded.js';
import { ioError } from '../io/disk-file.js';
import type { Journal } from './commit-journal.js';
import { unwritableReason } from './grain-store.js';

/** A file's new bytes, written by atomic replace or, for an embedded descriptor, in place. */
export type Rewrite =
  | { kind: 'file'; path: string; bytes: Buffer }
  | { kind: 'embedded'; path: string; bytes: Buffer; where: NonNullable<ReturnType<typeof readEmbeddedDescriptor>> }
  | { kind: 'cowd-parent'; path: string; field: Buffer };

export interface ChildPlan {
  /** Applied before TOP's files go. */
  rewrite: Rewrite;
  /** Where the child ends up (an ESX 2 `x.REDO.REDO` becomes `x.REDO`). */
  finalPath: string;
  /** ESX 2 renames: the child's current path, and its header parent name once renamed. */
  rename?: { from: string; parentName: string };
}

export interface CommitPlan {
  top: string;
  parent: string;
  newCid: number | null;
  parentRewrite: Rewrite | null;
  topRewrite: Rewrite | null;
  children: ChildPlan[];
  /** TOP's files in deletion order: descriptor first. */
  topFiles: string[];
  siblings: string[];
}

export interface PlanOptions {
  force: boolean;
  /** Finishing an interrupted commit: P's new CID was chosen then; the checks passed then. */
  resume?: Journal;
}

export function planCommit(chain: Chain, options: PlanOptions): CommitPlan {
  const top = chain.links[0]!;
  const parent = chain.links[1];
  const topName = path.basename(top.path);
  if (!parent) {
    throw new DiskchainError('E_USAGE', `${topName} is a base disk (it has no parent): there is nothing to commit it into`, top.path);
  }
  const siblings = options.resume ? [] : checkParent(top, parent, options.force);
  const parentCid = parent.descriptor?.cid;
  const newCid = options.resume ? options.resume.newCid : parentCid === undefined ? null : freshCid(parentCid);
  const parentRewrite = newCid === null ? null : descriptorRewrite(parent, { cid: newCid });
  const topRewrite =
    newCid !== null && top.descriptor?.parentCid !== undefined ? descriptorRewrite(top, { parentCid: newCid }) : null;
  return {
    top: top.path,
    parent: parent.path,
    newCid,
    parentRewrite,
    topRewrite,
    children: findChildren(top.path).map((c) => planChild(c, top, parent, newCid)),
    topFiles: filesOf(top),
    siblings,
  };
}

/** The refusals that depend on P; returns P's other children when `force` lets them through. */
function checkParent(top: Link, parent: Link, force: boolean): string[] {
  const topName = path.basename(top.path);
  const parentName = path.basename(parent.path);
  const reason = unwritableReason(parent);
  if (reason) throw new DiskchainError('E_USAGE', `cannot commit into ${parentName}: ${reason}`, parent.path);
  if (parent.capacityBytes < top.capacityBytes) {
    throw new DiskchainError(
      'E_CHAIN',
      `${topName} (${top.capacityBytes} bytes) is larger than its parent ${parentName} (${parent.capacityBytes} bytes); extend the parent first`,
      top.path,
    );
  }
  const siblings = findChildren(parent.path).filter((c) => !samePath(c, top.path));
  if (siblings.length > 0 && !force) {
    const names = siblings.map((s) => path.basename(s)).join(', ');
    throw new DiskchainError(
      'E_CHAIN',
      `${parentName} has other children (${names}) whose content would change if ${topName} were folded into it; ` +
        'commit them or delete them first, or use --force',
      parent.path,
    );
  }
  return siblings;
}

function freshCid(old: number): number {
  for (;;) {
    const cid = randomCid();
    if (cid !== old) return cid;
  }
}

function planChild(childPath: string, top: Link, parent: Link, newCid: number | null): ChildPlan {
  const child = openLink(childPath);
  child.data.close();
  const dir = path.dirname(child.path);
  if (child.createType === 'cowd') {
    const esx2Rename =
      top.createType === 'cowd' &&
      path.dirname(top.path) === dir &&
      path.basename(child.path) === `${path.basename(top.path)}.REDO` &&
      path.basename(top.path) === `${path.basename(parent.path)}.REDO`;
    // ESX 2 finds a REDO's parent beside it by name; the header keeps the name it was made with.
    const name = path.dirname(parent.path) === dir ? path.basename(parent.path) : parent.path;
    if (!esx2Rename) return { rewrite: { kind: 'cowd-parent', path: child.path, field: cowdParentNameField(name) }, finalPath: child.path };
    return {
      // No header name: until the rename the child finds TOP by its own name, after it P.
      rewrite: { kind: 'cowd-parent', path: child.path, field: Buffer.alloc(COWD_FIELD.parentFileNameBytes) },
      finalPath: top.path,
      rename: { from: child.path, parentName: name },
    };
  }
  const hint = path.relative(dir, parent.path).split(path.sep).join('/');
  const edit: DescriptorEdit = { parentFileNameHint: hint };
  if (newCid !== null) edit.parentCid = newCid;
  return { rewrite: descriptorRewrite(child, edit), finalPath: child.path };
}

/** TOP's descriptor first, then its extent files and change-tracking file, each once. */
function filesOf(top: Link): string[] {
  const files = [top.path];
  for (const e of top.extents) if (e.path && !files.some((f) => samePath(f, e.path!))) files.push(e.path);
  const ctk = top.descriptor?.changeTrackPath;
  if (ctk) {
    const ctkPath = path.resolve(path.dirname(top.path), ctk);
    if (fs.existsSync(ctkPath)) files.push(ctkPath);
  }
  return files;
}

export function samePath(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

function descriptorRewrite(link: Link, edit: DescriptorEdit): Rewrite {
  const embedded = readEmbeddedDescriptor(link.path);
  if (embedded) {
    const bytes = editDescriptor(embedded.bytes, edit, link.path);
    if (bytes.length > embedded.capacityBytes) {
      throw unsupportedError(
        link.path,
        `the edited embedded descriptor (${bytes.length} bytes) does not fit the ${embedded.capacityBytes} bytes reserved for it`,
      );
    }
    return { kind: 'embedded', path: link.path, bytes, where: embedded };
  }
  return { kind: 'file', path: link.path, bytes: editDescriptor(readFile(link.path), edit, link.path) };
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw ioError(file, e);
  }
}

/** The job's result: P, the children that now point to it, and what changed for people. */
export function commitResult(plan: CommitPlan, first: string): JobResult {
  const parentName = path.basename(plan.parent);
  const notes = [first];
  const moved = plan.children.length;
  if (moved > 0) notes.push(`${moved} ${moved === 1 ? 'child now points' : 'children now point'} to ${parentName}`);
  if (plan.siblings.length > 0) {
    notes.push(`other children of ${parentName} (${plan.siblings.map((s) => path.basename(s)).join(', ')}) now need --ignore-cid`);
  }
  return { outputs: [plan.parent, ...plan.children.map((c) => c.finalPath)], summary: notes.join('; ') };
}
