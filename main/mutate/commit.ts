/**
 * `diskchain commit TOP` (ESX 2's `vmkfstools -m`): folds link TOP into its parent P. Afterwards P
 * reads exactly what TOP's chain read before, TOP's files are gone, and every child of TOP points
 * at P instead.
 *
 * Crash safety — a kill at any moment leaves the old chain or the new one readable, equal in content:
 *
 * 1. Only ranges TOP holds (data, or zero grains) are written into P, in place. While TOP exists it
 *    masks exactly those ranges, so the old chain (TOP → P → …) reads the same bytes throughout.
 *    Inside P new grains and tables are written before anything points at them (grain-store.ts),
 *    so P's own structure stays valid too. Cancelling here is safe: the old chain is untouched.
 * 2. P is fsynced.
 * 3. P gets a new CID (its content changed, format doc §1.8) and TOP's parentCID follows it at once,
 *    each by an atomic replace (temp file, fsync, rename; an embedded descriptor is rewritten with
 *    one write of its reserved area). Between these two renames — and only there — the old chain
 *    needs --ignore-cid to open; P, the new chain, reads the committed content.
 * 4. Children of TOP are re-pointed to P (parentFileNameHint, parentCID; a COWD REDO's header
 *    parent name), each atomically. Both a child → TOP → P and a child → P chain read the same.
 * 5. TOP's files are deleted, its descriptor first, then its extents; an ESX 2 REDO child named
 *    `x.REDO.REDO` is renamed to `x.REDO` once the old `x.REDO` is gone.
 *
 * Rerunning an interrupted commit is safe until step 5 ends: writing the same data again is harmless.
 *
 * Refused before anything is written: a base disk; a parent whose format cannot be written in place
 * (streamOptimized, seSparse, RDM, read-only extents); a parent with other children (their content
 * would change) unless `force`; a parent smaller than TOP; too little free space for P to grow.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, unsupportedError } from '../../shared/errors.js';
import type { CommitSpec, JobResult } from '../../shared/jobs.js';
import { Chain, openChain } from '../disk/chain.js';
import { findChildren } from '../disk/children.js';
import { openLink, type Link } from '../disk/link.js';
import { cowdParentNameField, COWD_FIELD } from '../formats/cowd-writer.js';
import { formatCid, randomCid } from '../formats/descriptor.js';
import { ioError } from '../io/disk-file.js';
import { replaceFile, syncDir } from '../io/staged-output.js';
import type { JobContext } from '../jobs/context.js';
import {
  openGrainStore,
  readEmbeddedDescriptor,
  unwritableReason,
  writeEmbeddedDescriptor,
  type FillSource,
  type GrainStore,
} from './grain-store.js';

/** Data moves in pieces of this size; memory stays bounded by it. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** TOP's allocation map is asked for in windows of this size, bounding the run lists. */
const MAP_WINDOW_BYTES = 64 * 1024 * 1024;
/** Headroom on top of the estimate: new grain tables, rounding, the descriptor temp files. */
const SPACE_MARGIN_BYTES = 16 * 1024 * 1024;

export async function commitJob(spec: CommitSpec, ctx: JobContext): Promise<JobResult> {
  const chain = openChain(spec.top);
  let plan: CommitPlan;
  let copied: number;
  try {
    plan = planCommit(chain, spec.force === true);
    copied = copyTopIntoParent(chain, ctx);
  } finally {
    chain.close();
  }
  applyMetadata(plan);
  const parentName = path.basename(plan.parent);
  const moved = plan.children.length;
  const notes = [`folded ${path.basename(plan.top)} into ${parentName} (${formatBytes(copied)} of data)`];
  if (moved > 0) notes.push(`${moved} ${moved === 1 ? 'child now points' : 'children now point'} to ${parentName}`);
  if (plan.siblings.length > 0) {
    notes.push(`other children of ${parentName} (${plan.siblings.map((s) => path.basename(s)).join(', ')}) now need --ignore-cid`);
  }
  return { outputs: [plan.parent, ...plan.children.map((c) => c.finalPath)], summary: notes.join('; ') };
}

// ---------------------------------------------------------------------------------------------
// Preflight: everything is decided and checked before the first write

/** A file's new bytes, written by atomic replace or, for an embedded descriptor, in place. */
type Rewrite =
  | { kind: 'file'; path: string; bytes: Buffer }
  | { kind: 'embedded'; path: string; bytes: Buffer; where: NonNullable<ReturnType<typeof readEmbeddedDescriptor>> }
  | { kind: 'cowd-parent'; path: string; field: Buffer };

interface ChildPlan {
  rewrite: Rewrite;
  /** Where the child ends up (an ESX 2 `x.REDO.REDO` becomes `x.REDO`). */
  finalPath: string;
  renameFrom?: string;
}

interface CommitPlan {
  top: string;
  parent: string;
  parentRewrite: Rewrite | null;
  topRewrite: Rewrite | null;
  children: ChildPlan[];
  /** TOP's files in deletion order: descriptor first. */
  topFiles: string[];
  siblings: string[];
}

function planCommit(chain: Chain, force: boolean): CommitPlan {
  const top = chain.links[0]!;
  const parent = chain.links[1];
  const topName = path.basename(top.path);
  if (!parent) {
    throw new DiskchainError('E_USAGE', `${topName} is a base disk (it has no parent): there is nothing to commit it into`, top.path);
  }
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
  const parentCid = parent.descriptor?.cid;
  const newCid = parentCid === undefined ? undefined : freshCid(parentCid);
  const parentRewrite = newCid === undefined ? null : descriptorRewrite(parent, { cid: newCid });
  const topRewrite =
    newCid !== undefined && top.descriptor?.parentCid !== undefined ? descriptorRewrite(top, { parentCid: newCid }) : null;
  return {
    top: top.path,
    parent: parent.path,
    parentRewrite,
    topRewrite,
    children: findChildren(top.path).map((c) => planChild(c, top, parent, newCid)),
    topFiles: filesOf(top),
    siblings,
  };
}

function freshCid(old: number): number {
  for (;;) {
    const cid = randomCid();
    if (cid !== old) return cid;
  }
}

function planChild(childPath: string, top: Link, parent: Link, newCid: number | undefined): ChildPlan {
  const child = openLink(childPath);
  child.data.close();
  const dir = path.dirname(child.path);
  const esx2Rename =
    child.createType === 'cowd' &&
    path.dirname(top.path) === dir &&
    path.basename(child.path) === `${path.basename(top.path)}.REDO` &&
    path.basename(top.path) === `${path.basename(parent.path)}.REDO`;
  const finalPath = esx2Rename ? top.path : child.path;
  if (child.createType === 'cowd') {
    // ESX 2 finds a REDO's parent beside it by name; the header keeps the name it was made with.
    const name = path.dirname(parent.path) === path.dirname(finalPath) ? path.basename(parent.path) : parent.path;
    return {
      rewrite: { kind: 'cowd-parent', path: child.path, field: cowdParentNameField(name) },
      finalPath,
      ...(esx2Rename ? { renameFrom: child.path } : {}),
    };
  }
  const hint = path.relative(dir, parent.path).split(path.sep).join('/');
  const edit: DescriptorEdit = { parentFileNameHint: hint };
  if (newCid !== undefined) edit.parentCid = newCid;
  return { rewrite: descriptorRewrite(child, edit), finalPath };
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

function samePath(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

// ---------------------------------------------------------------------------------------------
// Descriptor edits: byte-faithful, only the lines that change

export interface DescriptorEdit {
  cid?: number;
  parentCid?: number;
  parentFileNameHint?: string;
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

/**
 * Sets CID / parentCID / parentFileNameHint in descriptor bytes and leaves every other byte as it
 * was (line endings, comments, DDB order, code page). A new CID also renews `ddb.longContentID`
 * (96 random bits + the CID, as VMware writes it). Keys that are missing go after createType.
 */
export function editDescriptor(bytes: Buffer, edit: DescriptorEdit, file: string): Buffer {
  // latin1 maps bytes 1:1, so text in any code page survives untouched.
  const text = bytes.toString('latin1');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const wanted = new Map<string, string>();
  if (edit.cid !== undefined) wanted.set('cid', `CID=${formatCid(edit.cid)}`);
  if (edit.parentCid !== undefined) wanted.set('parentcid', `parentCID=${formatCid(edit.parentCid)}`);
  if (edit.parentFileNameHint !== undefined) {
    wanted.set('parentfilenamehint', `parentFileNameHint="${encodeName(edit.parentFileNameHint, text, file)}"`);
  }
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const key = /^\s*([A-Za-z.]+)\s*=/.exec(lines[i]!)?.[1]?.toLowerCase();
    if (key === undefined) continue;
    const replacement = wanted.get(key);
    if (replacement !== undefined) {
      lines[i] = replacement;
      seen.add(key);
    } else if (key === 'ddb.longcontentid' && edit.cid !== undefined) {
      lines[i] = `ddb.longContentID = "${crypto.randomBytes(12).toString('hex')}${formatCid(edit.cid)}"`;
    }
  }
  const missing = [...wanted].filter(([k]) => !seen.has(k)).map(([, line]) => line);
  if (missing.length > 0) {
    let at = lines.findIndex((l) => /^\s*createType\s*=/i.test(l));
    if (at < 0) at = lines.findIndex((l) => /^\s*version\s*=/i.test(l));
    lines.splice(at + 1, 0, ...missing);
  }
  return Buffer.from(lines.join(eol), 'latin1');
}

/** A file name in the descriptor's code page (as latin1 text, like the rest of the edit). */
function encodeName(name: string, text: string, file: string): string {
  if (name.includes('"')) throw unsupportedError(file, `a parent name with a double quote cannot be written: ${name}`);
  if ([...name].every((c) => c.charCodeAt(0) < 0x80)) return name;
  const encoding = /^\s*(?:ddb\.)?encoding\s*=\s*"?([^"\r\n#]+)"?/im.exec(text)?.[1]?.trim().toLowerCase() ?? 'utf-8';
  if (encoding === 'utf-8' || encoding === 'utf8') return Buffer.from(name, 'utf8').toString('latin1');
  const latin = [...name].every((c) => c.charCodeAt(0) < 0x80 || (c.charCodeAt(0) >= 0xa0 && c.charCodeAt(0) <= 0xff));
  if (/^(iso-8859-1|latin1|windows-1252)$/.test(encoding) && latin) return name;
  throw unsupportedError(file, `cannot write the name "${name}" into a descriptor encoded as ${encoding}`);
}

// ---------------------------------------------------------------------------------------------
// Step 1–2: TOP's ranges into P

function copyTopIntoParent(chain: Chain, ctx: JobContext): number {
  const top = chain.top;
  const parent = chain.links[1]!;
  const store = openGrainStore(parent, fillFrom(chain.links.slice(2)));
  let finished = false;
  try {
    const totalBytes = checkSpace(store, top, parent);
    let doneBytes = 0;
    ctx.progress('commit', 0, totalBytes);
    const buf = Buffer.alloc(Math.min(CHUNK_BYTES, Math.max(totalBytes, 512)));
    forEachRun(top, (offset, length, state) => {
      for (let at = offset; at < offset + length; at += CHUNK_BYTES) {
        ctx.throwIfCancelled();
        const n = Math.min(CHUNK_BYTES, offset + length - at);
        if (state === 'zero') {
          store.writeZeros(at, n);
          continue;
        }
        const piece = buf.subarray(0, n);
        top.data.read(piece, at);
        store.write(piece, at);
        doneBytes += n;
        ctx.progress('commit', doneBytes, totalBytes);
      }
    });
    store.flush();
    finished = true;
    return doneBytes;
  } finally {
    if (!finished) flushQuietly(store);
    store.close();
  }
}

/** On cancel or error, point at what was written: harmless, TOP still masks those ranges. */
function flushQuietly(store: GrainStore): void {
  try {
    store.flush();
  } catch {
    // The original error matters more; P's pointers are only ever written after their data.
  }
}

/** What P's parents read (zeros past their end), for filling partly written grains. */
function fillFrom(links: Link[]): FillSource | null {
  if (links.length === 0) return null;
  const below = new Chain(links, []);
  return (buf, offset) => {
    const inside = Math.max(0, Math.min(buf.length, below.capacityBytes - offset));
    if (inside > 0) below.read(buf.subarray(0, inside), offset);
    buf.fill(0, inside);
  };
}

function forEachRun(top: Link, visit: (offset: number, length: number, state: 'data' | 'zero') => void): void {
  for (let at = 0; at < top.capacityBytes; at += MAP_WINDOW_BYTES) {
    for (const run of top.data.blockStatus(at, Math.min(MAP_WINDOW_BYTES, top.capacityBytes - at))) {
      if (run.state !== 'unallocated') visit(run.offset, run.length, run.state);
    }
  }
}

/** Checks that P's file system can take the new grains; returns TOP's data bytes. */
function checkSpace(store: GrainStore, top: Link, parent: Link): number {
  let dataBytes = 0;
  let needed = 0;
  forEachRun(top, (offset, length, state) => {
    if (state === 'data') dataBytes += length;
    needed += store.spaceNeeded(offset, length, state === 'zero');
  });
  if (needed === 0) return dataBytes;
  const dir = path.dirname(parent.path);
  const free = freeBytes(dir);
  if (free !== null && needed + SPACE_MARGIN_BYTES > free) {
    throw new DiskchainError(
      'E_USAGE',
      `not enough free space to commit ${path.basename(top.path)}: ${path.basename(parent.path)} needs about ` +
        `${formatBytes(needed + SPACE_MARGIN_BYTES)} more, ${formatBytes(free)} is free in ${dir}`,
      parent.path,
    );
  }
  return dataBytes;
}

function freeBytes(dir: string): number | null {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Steps 3–5: CIDs, children, TOP's files

function applyMetadata(plan: CommitPlan): void {
  if (plan.parentRewrite) applyRewrite(plan.parentRewrite);
  if (plan.topRewrite) applyRewrite(plan.topRewrite);
  for (const child of plan.children) applyRewrite(child.rewrite);
  for (const file of plan.topFiles) removeFile(file);
  syncDir(path.dirname(plan.top));
  for (const child of plan.children) {
    if (!child.renameFrom) continue;
    try {
      fs.renameSync(child.renameFrom, child.finalPath);
    } catch (e) {
      throw ioError(child.renameFrom, e);
    }
    syncDir(path.dirname(child.finalPath));
  }
}

function applyRewrite(r: Rewrite): void {
  switch (r.kind) {
    case 'file':
      try {
        replaceFile(r.path, r.bytes);
      } catch (e) {
        throw ioError(r.path, e);
      }
      return;
    case 'embedded':
      writeEmbeddedDescriptor(r.path, r.where, r.bytes);
      return;
    case 'cowd-parent':
      writeCowdParentName(r.path, r.field);
      return;
  }
}

/** One write of the 1024-byte union field, then fsync. */
function writeCowdParentName(file: string, field: Buffer): void {
  let fd = -1;
  try {
    fd = fs.openSync(file, 'r+');
    let done = 0;
    while (done < field.length) done += fs.writeSync(fd, field, done, field.length - done, COWD_FIELD.parentFileName + done);
    fs.fsyncSync(fd);
  } catch (e) {
    throw ioError(file, e);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

function removeFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(file, e);
  }
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}
