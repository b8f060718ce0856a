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
 *    so P's own structure stays valid too. Cancelling here is safe: the old chain is untouched,
 *    and running the commit again simply writes the same bytes again.
 * 2. P is fsynced. A journal `TOP.diskchain-commit` (P, P's new CID, TOP's files) is written
 *    atomically: from here on, running the same commit again finishes the steps below instead.
 * 3. P gets a new CID (its content changed, format doc §1.8) and TOP's parentCID follows it at once,
 *    each by an atomic replace (temp file, fsync, rename; an embedded descriptor is rewritten with
 *    one write of its reserved area). Between these two renames — and only there — the old chain
 *    needs --ignore-cid to open; P, the new chain, reads the committed content.
 * 4. Children of TOP are re-pointed to P (parentFileNameHint, parentCID; a COWD child's header
 *    parent name), each atomically. A child → TOP → P and a child → P chain read the same.
 * 5. TOP's files are deleted, its descriptor first, then its extents. An ESX 2 child `x.REDO.REDO`
 *    of `x.REDO` first loses its header parent name (so it finds its parent by its file name, still
 *    `x.REDO`), is then renamed over `x.REDO` in one atomic step (now its parent by name is `x`),
 *    and then gets `x` in its header. Last, the journal is removed.
 *
 * Refused before anything is written: a base disk; a parent whose format cannot be written in place
 * (streamOptimized, seSparse, RDM, read-only extents); a parent with other children (their content
 * would change) unless `force`; a parent smaller than TOP; too little free space for P to grow.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskchainError, formatError, unsupportedError } from '../../shared/errors.js';
import type { CommitSpec, JobResult } from '../../shared/jobs.js';
import { Chain, openChain } from '../disk/chain.js';
import { findChildren } from '../disk/children.js';
import { openLink, type Link } from '../disk/link.js';
import { parseCowdHeader, type CowdHeader } from '../formats/cowd/reader.js';
import { cowdParentNameField, COWD_FIELD, COWD_HEADER_BYTES } from '../formats/cowd/create.js';
import { formatCid, randomCid } from '../formats/descriptor.js';
import { SECTOR } from '../formats/extent.js';
import { ioError } from '../io/disk-file.js';
import { replaceFile, syncDir } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { requireSpace } from '../io/space.js';
import { commitSpace } from './commit-space.js';
import { readEmbeddedDescriptor, writeEmbeddedDescriptor } from '../formats/sparse/embedded.js';
import { openGrainStore, unwritableReason, type FillSource, type GrainStore } from './grain-store.js';

/** Data moves in pieces of this size; memory stays bounded by it. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** TOP's allocation map is asked for in windows of this size, bounding the run lists. */
const MAP_WINDOW_BYTES = 64 * 1024 * 1024;

export async function commitJob(spec: CommitSpec, ctx: JobContext): Promise<JobResult> {
  const topPath = path.resolve(spec.top);
  const journal = readJournal(topPath);
  if (journal) return resumeCommit(journal);
  const chain = openChain(topPath);
  let plan: CommitPlan;
  let copied: number;
  try {
    plan = planCommit(chain, { force: spec.force === true });
    copied = await copyTopIntoParent(chain, ctx);
  } finally {
    chain.close();
  }
  writeJournal(plan);
  applyMetadata(plan);
  return result(plan, `folded ${path.basename(plan.top)} into ${path.basename(plan.parent)} (${formatBytes(copied)} of data)`);
}

function result(plan: CommitPlan, first: string): JobResult {
  const parentName = path.basename(plan.parent);
  const notes = [first];
  const moved = plan.children.length;
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
  /** Applied before TOP's files go. */
  rewrite: Rewrite;
  /** Where the child ends up (an ESX 2 `x.REDO.REDO` becomes `x.REDO`). */
  finalPath: string;
  /** ESX 2 renames: the child's current path, and its header parent name once renamed. */
  rename?: { from: string; parentName: string };
}

interface CommitPlan {
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

interface PlanOptions {
  force: boolean;
  /** Finishing an interrupted commit: P's new CID was chosen then; the checks passed then. */
  resume?: Journal;
}

function planCommit(chain: Chain, options: PlanOptions): CommitPlan {
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

async function copyTopIntoParent(chain: Chain, ctx: JobContext): Promise<number> {
  const top = chain.top;
  const parent = chain.links[1]!;
  const store = openGrainStore(parent, fillFrom(chain.links.slice(2)));
  const source = openTopSource(top);
  let finished = false;
  let pending: PendingRead | null = null;
  try {
    const totalBytes = checkSpace(store, source, top, parent);
    let doneBytes = 0;
    ctx.progress('commit', 0, totalBytes);
    // Two buffers: the next piece is read (on the thread pool) while the current one is written.
    const size = Math.min(CHUNK_BYTES, Math.max(totalBytes, 512));
    const buffers = [Buffer.alloc(size), Buffer.alloc(size)];
    let turn = 0;
    const land = async (p: PendingRead): Promise<void> => {
      await p.done;
      store.write(p.buf, p.offset);
      doneBytes += p.buf.length;
      ctx.progress('commit', doneBytes, totalBytes);
    };
    for (const piece of pieces(source, top.capacityBytes)) {
      ctx.throwIfCancelled();
      if (piece.state === 'zero') {
        store.writeZeros(piece.offset, piece.length);
        continue;
      }
      const buf = buffers[turn++ % 2]!.subarray(0, piece.length);
      const next: PendingRead = { offset: piece.offset, buf, done: source.read(buf, piece) };
      const current = pending;
      pending = next;
      if (current) await land(current);
    }
    const last = pending;
    pending = null;
    if (last) await land(last);
    store.flush();
    finished = true;
    return doneBytes;
  } finally {
    // A read still in flight must end before its file is closed.
    if (pending) await pending.done.catch(() => undefined);
    if (!finished) flushQuietly(store);
    store.close();
    source.close();
  }
}

interface PendingRead {
  offset: number;
  buf: Buffer;
  done: Promise<void>;
}

/** TOP's runs cut into pieces of at most CHUNK_BYTES, in disk order. */
function* pieces(source: TopSource, capacityBytes: number): Generator<SourceRun> {
  for (let at = 0; at < capacityBytes; at += MAP_WINDOW_BYTES) {
    for (const run of source.runs(at, Math.min(MAP_WINDOW_BYTES, capacityBytes - at))) {
      for (let done = 0; done < run.length; done += CHUNK_BYTES) {
        const length = Math.min(CHUNK_BYTES, run.length - done);
        yield { offset: run.offset + done, length, state: run.state, position: run.position === null ? null : run.position + done };
      }
    }
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

/** Checks that P's file system can take the new grains (one estimate with the preflight, commit-space.ts); returns TOP's data bytes. */
function checkSpace(store: GrainStore, source: TopSource, top: Link, parent: Link): number {
  const { estimate, dataBytes } = commitSpace(store, (at, length) => source.runs(at, length), top, parent);
  requireSpace(estimate);
  return dataBytes;
}

// ---------------------------------------------------------------------------------------------
// Reading TOP

/** A range TOP decides; `position` is where a data run lies in TOP's one extent file, when known. */
interface SourceRun {
  offset: number;
  length: number;
  state: 'data' | 'zero';
  position: number | null;
}

interface TopSource {
  /** Runs TOP holds (data or zero) in [offset, offset+length), in order; unallocated ranges left out. */
  runs(offset: number, length: number): SourceRun[];
  read(buf: Buffer, run: SourceRun): Promise<void>;
  close(): void;
}

/**
 * REDO logs and vmfsSparse deltas (COWD, 512-byte grains) are read straight from their grain
 * tables: a per-grain walk through the generic reader costs more than the copy itself. Every
 * other kind goes through the link's own reader.
 */
function openTopSource(top: Link): TopSource {
  return withRunCache(openCowdSource(top) ?? linkSource(top));
}

/** Runs kept between the space check and the copy, so the map is built once (when it is small). */
const CACHED_RUNS = 64 * 1024;

function withRunCache(source: TopSource): TopSource {
  const cache = new Map<number, SourceRun[]>();
  let cached = 0;
  return {
    runs: (offset, length) => {
      const hit = cache.get(offset);
      if (hit) {
        cache.delete(offset);
        return hit;
      }
      const runs = source.runs(offset, length);
      if (cached + runs.length <= CACHED_RUNS) {
        cached += runs.length;
        cache.set(offset, runs.map((r) => ({ ...r })));
      }
      return runs;
    },
    read: (buf, run) => source.read(buf, run),
    close: () => source.close(),
  };
}

function linkSource(top: Link): TopSource {
  return {
    runs: (offset, length) =>
      top.data.blockStatus(offset, length).flatMap((r) =>
        r.state === 'unallocated' ? [] : [{ offset: r.offset, length: r.length, state: r.state, position: null }],
      ),
    read: (buf, run) => {
      top.data.read(buf, run.offset);
      return Promise.resolve();
    },
    close: () => undefined,
  };
}

function openCowdSource(top: Link): TopSource | null {
  const extent = top.extents.length === 1 ? top.extents[0]! : null;
  if (!extent || extent.type !== 'VMFSSPARSE' || extent.path === null || extent.sectors * SECTOR !== top.capacityBytes) return null;
  const file = extent.path;
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(COWD_HEADER_BYTES);
    const fileBytes = fs.fstatSync(fd).size;
    if (fs.readSync(fd, head, 0, head.length, 0) < head.length || head.toString('latin1', 0, 4) !== 'COWD') {
      fs.closeSync(fd);
      return null;
    }
    const header = parseCowdHeader(head, file);
    if (header.capacitySectors * SECTOR < top.capacityBytes) {
      fs.closeSync(fd);
      return null;
    }
    return new CowdSource(file, fd, fileBytes, header, top.capacityBytes);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

class CowdSource implements TopSource {
  private readonly grainBytes: number;
  private readonly rangeBytes: number;
  private readonly directory: Uint32Array;
  private readonly gdEndSector: number;

  constructor(
    private readonly file: string,
    private readonly fd: number,
    private readonly fileBytes: number,
    private readonly header: CowdHeader,
    private readonly capacityBytes: number,
  ) {
    this.grainBytes = header.grainSizeSectors * SECTOR;
    this.rangeBytes = header.gtEntries * this.grainBytes;
    const entries = Math.ceil(header.capacitySectors / (header.gtEntries * header.grainSizeSectors));
    this.gdEndSector = header.gdOffsetSectors + Math.ceil((header.numGDEntries * 4) / SECTOR);
    const raw = Buffer.alloc(entries * 4);
    if (fs.readSync(fd, raw, 0, raw.length, header.gdOffsetSectors * SECTOR) < raw.length) {
      throw formatError(file, `truncated: the grain directory at sector ${header.gdOffsetSectors} lies past the end of the file`);
    }
    this.directory = new Uint32Array(entries);
    for (let i = 0; i < entries; i++) this.directory[i] = raw.readUInt32LE(i * 4);
  }

  runs(offset: number, length: number): SourceRun[] {
    const out: SourceRun[] = [];
    const end = Math.min(offset + length, this.capacityBytes);
    for (let pos = offset; pos < end; ) {
      const gdIndex = Math.floor(pos / this.rangeBytes);
      const rangeEnd = Math.min(end, (gdIndex + 1) * this.rangeBytes);
      const gtSector = this.directory[gdIndex] ?? 0;
      if (gtSector !== 0) this.tableRuns(out, gdIndex, this.table(gdIndex, gtSector), pos, rangeEnd);
      pos = rangeEnd;
    }
    return out;
  }

  private table(gdIndex: number, gtSector: number): Uint32Array {
    const bytes = this.header.gtEntries * 4;
    if (gtSector < this.gdEndSector || gtSector * SECTOR + bytes > this.fileBytes) {
      throw formatError(this.file, `grain table ${gdIndex} at sector ${gtSector} lies outside the grain area`);
    }
    const table = new Uint32Array(this.header.gtEntries);
    const raw = Buffer.from(table.buffer, table.byteOffset, bytes);
    fs.readSync(this.fd, raw, 0, bytes, gtSector * SECTOR);
    if (!LITTLE_ENDIAN) for (let i = 0; i < table.length; i++) table[i] = raw.readUInt32LE(i * 4);
    return table;
  }

  /** One pass over a table; a run object only where data, zero or file position breaks off. */
  private tableRuns(out: SourceRun[], gdIndex: number, table: Uint32Array, start: number, end: number): void {
    const grainSectors = this.header.grainSizeSectors;
    const base = gdIndex * this.header.gtEntries;
    const last = Math.ceil(end / this.grainBytes);
    let runFirst = -1; // first grain of the open run, -1 when none
    let runGte = 0; // its first GTE (1 = zero run)
    let nextGte = 0; // the GTE that would continue it
    const emit = (endGrain: number): void => {
      if (runFirst < 0) return;
      const from = Math.max(start, runFirst * this.grainBytes);
      const to = Math.min(end, endGrain * this.grainBytes);
      if (runGte === 1) {
        push(out, { offset: from, length: to - from, state: 'zero', position: null });
      } else {
        const position = runGte * SECTOR + (from - runFirst * this.grainBytes);
        if (position + (to - from) > this.fileBytes) {
          throw formatError(this.file, `grain ${runFirst} (grain table ${gdIndex}) points past the end of the file`);
        }
        push(out, { offset: from, length: to - from, state: 'data', position });
      }
      runFirst = -1;
    };
    for (let grain = Math.floor(start / this.grainBytes); grain < last; grain++) {
      const gte = table[grain - base] ?? 0;
      if (runFirst >= 0 && gte === nextGte && gte !== 0) {
        if (gte !== 1) nextGte += grainSectors;
        continue;
      }
      emit(grain);
      if (gte === 0) continue;
      if (gte !== 1 && gte < this.gdEndSector) {
        throw formatError(this.file, `grain ${grain} (grain table ${gdIndex}) points into the header or grain directory (sector ${gte})`);
      }
      runFirst = grain;
      runGte = gte;
      nextGte = gte === 1 ? 1 : gte + grainSectors;
    }
    emit(last);
  }

  read(buf: Buffer, run: SourceRun): Promise<void> {
    const position = run.position!;
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done >= buf.length) {
          resolve();
          return;
        }
        fs.read(this.fd, buf, done, buf.length - done, position + done, (err, n) => {
          if (err) reject(ioError(this.file, err));
          else if (n === 0) reject(formatError(this.file, `truncated: grain data at byte ${position + done} lies past the end of the file`));
          else step(done + n);
        });
      };
      step(0);
    });
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Appends a run, merging it into the last one when it continues it on the disk and in the file. */
function push(out: SourceRun[], run: SourceRun): void {
  const prev = out[out.length - 1];
  const continues =
    prev !== undefined &&
    prev.state === run.state &&
    prev.offset + prev.length === run.offset &&
    (run.position === null ? prev.position === null : prev.position !== null && prev.position + prev.length === run.position);
  if (continues) prev.length += run.length;
  else out.push(run);
}

// ---------------------------------------------------------------------------------------------
// Steps 3–5: CIDs, children, TOP's files

function applyMetadata(plan: CommitPlan): void {
  if (plan.parentRewrite) applyRewrite(plan.parentRewrite);
  if (plan.topRewrite) applyRewrite(plan.topRewrite);
  for (const child of plan.children) applyRewrite(child.rewrite);
  // A child renamed over TOP's file replaces it in one step; the other files are deleted.
  const replaced = new Set(plan.children.filter((c) => c.rename).map((c) => c.finalPath));
  removeTopFiles(plan.topFiles.filter((f) => !replaced.has(f)));
  finishRenames(plan.children.flatMap((c) => (c.rename ? [{ ...c.rename, to: c.finalPath }] : [])));
  const replacedFiles = [plan.parentRewrite, plan.topRewrite, ...plan.children.map((c) => c.rewrite)];
  removeStaleTemps([journalPath(plan.top), ...replacedFiles.flatMap((r) => (r?.kind === 'file' ? [r.path] : []))]);
  removeJournal(plan.top);
}

/** Temp files an earlier, killed run left beside the files it was replacing (replaceFile's names). */
function removeStaleTemps(targets: string[]): void {
  for (const dir of new Set(targets.map((t) => path.dirname(t)))) {
    const names = new Set(targets.filter((t) => path.dirname(t) === dir).map((t) => path.basename(t)));
    let entries: string[];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const m = /^(.*)\.diskchain-[0-9a-f]{8}\.tmp$/.exec(entry);
      if (m && names.has(m[1]!)) removeFile(path.join(dir, entry));
    }
  }
}

function removeTopFiles(files: string[]): void {
  for (const file of files) removeFile(file);
  if (files.length > 0) syncDir(path.dirname(files[0]!));
}

function finishRenames(renames: PendingRename[]): void {
  for (const r of renames) {
    if (fs.existsSync(r.from)) {
      try {
        fs.renameSync(r.from, r.to);
      } catch (e) {
        throw ioError(r.from, e);
      }
      syncDir(path.dirname(r.to));
    }
    writeCowdParentName(r.to, cowdParentNameField(r.parentName));
  }
}

// ---------------------------------------------------------------------------------------------
// The journal: what an interrupted commit still has to do once P holds TOP's data

interface PendingRename {
  from: string;
  to: string;
  parentName: string;
}

interface Journal {
  top: string;
  /** TOP's inode when the commit began: tells TOP from a child renamed over its name. */
  topIno: number;
  parent: string;
  newCid: number | null;
  topFiles: string[];
  renames: PendingRename[];
}

const journalPath = (top: string): string => `${top}.diskchain-commit`;

function writeJournal(plan: CommitPlan): void {
  const journal: Journal = {
    top: plan.top,
    topIno: fs.statSync(plan.top).ino,
    parent: plan.parent,
    newCid: plan.newCid,
    topFiles: plan.topFiles,
    renames: plan.children.flatMap((c) => (c.rename ? [{ ...c.rename, to: c.finalPath }] : [])),
  };
  replaceFile(journalPath(plan.top), `${JSON.stringify(journal, null, 2)}\n`);
}

function removeJournal(top: string): void {
  removeFile(journalPath(top));
  syncDir(path.dirname(top));
}

function readJournal(top: string): Journal | null {
  let text: string;
  try {
    text = fs.readFileSync(journalPath(top), 'utf8');
  } catch {
    return null;
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    j = null;
  }
  if (!isJournal(j) || path.resolve(j.top) !== top) {
    throw new DiskchainError('E_FORMAT', 'unreadable commit journal; check the chain and remove the file by hand', journalPath(top));
  }
  return j;
}

function isJournal(j: unknown): j is Journal {
  if (typeof j !== 'object' || j === null) return false;
  const o = j as Record<string, unknown>;
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const renames = (v: unknown): boolean =>
    Array.isArray(v) &&
    v.every((r) => {
      const x = r as Record<string, unknown>;
      return typeof r === 'object' && r !== null && typeof x.from === 'string' && typeof x.to === 'string' && typeof x.parentName === 'string';
    });
  return (
    typeof o.top === 'string' &&
    typeof o.topIno === 'number' &&
    typeof o.parent === 'string' &&
    (o.newCid === null || typeof o.newCid === 'number') &&
    strings(o.topFiles) &&
    renames(o.renames)
  );
}

/**
 * Finishes a commit that was killed after P got TOP's data. While TOP is still there the metadata
 * steps run again (each is idempotent); once TOP's file is gone (deleted, or a child renamed over
 * it) only the deletions, renames and header names that remain are done.
 */
function resumeCommit(journal: Journal): JobResult {
  const topStillThere = fileIno(journal.top) === journal.topIno;
  if (!topStillThere) {
    removeTopFiles(journal.topFiles.filter((f) => f !== journal.top && fs.existsSync(f)));
    finishRenames(journal.renames);
    removeStaleTemps([journalPath(journal.top), journal.parent, ...journal.topFiles]);
    removeJournal(journal.top);
    return {
      outputs: [journal.parent, ...journal.renames.map((r) => r.to)],
      summary: `finished the interrupted commit of ${path.basename(journal.top)} into ${path.basename(journal.parent)}`,
    };
  }
  // Between P's new CID and TOP's new parentCID the old chain does not match; that is expected here.
  const chain = openChain(journal.top, { ignoreCid: true });
  let plan: CommitPlan;
  try {
    const parent = chain.links[1];
    if (!parent || !samePath(parent.path, journal.parent)) {
      throw new DiskchainError('E_CHAIN', `the commit journal names ${journal.parent} as the parent, the chain does not`, journal.top);
    }
    plan = planCommit(chain, { force: true, resume: journal });
  } finally {
    chain.close();
  }
  applyMetadata(plan);
  return result(plan, `finished the interrupted commit of ${path.basename(plan.top)} into ${path.basename(plan.parent)}`);
}

function fileIno(file: string): number | null {
  try {
    return fs.statSync(file).ino;
  } catch {
    return null;
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
