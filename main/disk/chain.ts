import * as path from 'node:path';
import { chainError, DiskchainError } from '../../shared/errors.js';
import type { Problem } from '../../shared/types.js';
import { formatCid, NO_PARENT_CID } from '../formats/descriptor.js';
import { hostFileSource, hostFiles, shownPath, type FileSource } from '../io/file-source.js';
import { damageError, linksDamage } from './damage.js';
import { openLink, rawCandidates, type Link } from './link.js';
import { imageSourceOf } from '../io/path-sources.js';

export interface OpenOptions {
  /** Read a child whose parentCID differs from its parent's CID (reported as a problem instead). */
  ignoreCid?: boolean;
  /** Where the files are read from; the host's file system by default. */
  source?: FileSource;
  /** Read extents on host devices that a descriptor names (untrusted input: off by default). */
  allowDevices?: boolean;
  /**
   * Open a disk that lost data (damage.ts) instead of refusing it: for the commands that report
   * damage (info, check, map) or work around it (recover).
   */
  acceptDamage?: boolean;
  /**
   * End the chain at a link whose parent file is missing instead of refusing it (the app shows
   * that link and offers reparent); `Chain.missingParent` then says which. Data commands never set it.
   */
  stopAtMissingParent?: boolean;
}

/** The link whose parent was not found, when the chain was opened with stopAtMissingParent. */
export interface MissingParent {
  /** The link (its path) that names the missing parent. */
  file: string;
  /** The parent as the link names it. */
  name: string;
  message: string;
}

/** A run of the flattened disk and the link that decides it. */
export interface LayerRun {
  offset: number;
  length: number;
  state: 'data' | 'zero';
  /** Index into links; null where no link holds the bytes (reads as zeros). */
  layer: number | null;
  /** With mapRuns' `backing`: where a data run's bytes lie as they are in a host file (Run.file, Run.position). */
  file?: string;
  position?: number;
}

/** VMware's deepest snapshot tree is 255 links; anything longer is a loop we did not see. */
const MAX_DEPTH = 256;

/**
 * A disk as the guest sees it: links[0] is the file named, each next one its parent, the last
 * the base. Reads fall through unallocated ranges to the parent; bytes past a link's capacity
 * read as zeros, and the chain's size is the top link's capacity.
 */
export class Chain {
  readonly capacityBytes: number;

  constructor(
    readonly links: Link[],
    readonly problems: Problem[],
    readonly missingParent: MissingParent | null = null,
  ) {
    this.capacityBytes = links[0]!.capacityBytes;
  }

  get top(): Link {
    return this.links[0]!;
  }

  read(buf: Buffer, offset: number): void {
    if (offset < 0 || offset + buf.length > this.capacityBytes) {
      throw new DiskchainError('E_USAGE', `read of ${buf.length} bytes at ${offset} is outside the disk`, this.top.path);
    }
    this.readFrom(0, buf, offset);
  }

  /**
   * Reads from link `layer` alone, where mapRuns said that link holds the bytes: no walk down the
   * chain (cat's hot path). Unallocated bytes of that link read as zeros, not as its parent's.
   */
  readLayer(layer: number, buf: Buffer, offset: number): void {
    const link = this.links[layer];
    if (!link || offset < 0 || offset + buf.length > link.capacityBytes) {
      throw new DiskchainError('E_USAGE', `read of ${buf.length} bytes at ${offset} is outside link ${layer}`, this.top.path);
    }
    link.data.read(buf, offset);
  }

  /**
   * The flattened disk's allocation picture over [offset, offset+length). With `backing`, data
   * runs of links read from the host's files also say where their bytes lie, where the format
   * stores them as they are, and break where that position jumps (cat reads them straight from there).
   */
  mapRuns(offset: number, length: number, backing = false): LayerRun[] {
    const runs: LayerRun[] = [];
    this.mapFrom(0, offset, Math.min(length, this.capacityBytes - offset), runs, backing);
    return runs;
  }

  close(): void {
    for (const l of this.links) l.data.close();
  }

  private readFrom(level: number, buf: Buffer, offset: number): void {
    const link = this.links[level];
    if (!link) {
      buf.fill(0);
      return;
    }
    const inside = Math.max(0, Math.min(buf.length, link.capacityBytes - offset));
    buf.fill(0, inside);
    if (inside === 0) return;
    for (const run of link.data.blockStatus(offset, inside)) {
      const part = buf.subarray(run.offset - offset, run.offset - offset + run.length);
      if (run.state === 'data') link.data.read(part, run.offset);
      else if (run.state === 'zero') part.fill(0);
      else this.readFrom(level + 1, part, run.offset);
    }
  }

  /** Per file a run names: whether it is a host file (an image's file names one the image's source knows). */
  private readonly hostFileVerdicts = new Map<string, boolean>();

  private isHostFile(link: Link, file: string | undefined): boolean {
    if (link.source === hostFiles) return true;
    if (file === undefined) return false;
    let verdict = this.hostFileVerdicts.get(file);
    if (verdict === undefined) {
      verdict = link.source.stat(file) === null;
      this.hostFileVerdicts.set(file, verdict);
    }
    return verdict;
  }

  private mapFrom(level: number, offset: number, length: number, out: LayerRun[], backing: boolean): void {
    const link = this.links[level];
    const inside = link ? Math.max(0, Math.min(length, link.capacityBytes - offset)) : 0;
    if (link && inside > 0) {
      for (const run of link.data.blockStatus(offset, inside, backing && (link.source === hostFiles || link.source.hostRegions === true))) {
        if (run.state === 'unallocated') this.mapFrom(level + 1, run.offset, run.length, out, backing);
        else if (run.position === undefined || !this.isHostFile(link, run.file)) pushLayerRun(out, { offset: run.offset, length: run.length, state: run.state, layer: level });
        else pushLayerRun(out, { offset: run.offset, length: run.length, state: run.state, layer: level, file: run.file, position: run.position });
      }
    }
    if (length > inside) pushLayerRun(out, { offset: offset + inside, length: length - inside, state: 'zero', layer: null });
  }
}

function pushLayerRun(out: LayerRun[], run: LayerRun): void {
  const last = out[out.length - 1];
  if (last && last.state === run.state && last.layer === run.layer && last.offset + last.length === run.offset && bytesContinue(last, run)) {
    last.length += run.length;
  } else {
    out.push(run);
  }
}

/** Runs without a place in a file continue each other; placed runs when the second's bytes follow the first's. */
function bytesContinue(last: LayerRun, run: LayerRun): boolean {
  if (last.position === undefined || run.position === undefined) return last.position === run.position;
  return last.file === run.file && last.position + last.length === run.position;
}

export function openChain(filePath: string, options: OpenOptions = {}): Chain {
  const links: Link[] = [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  let missingParent: MissingParent | null = null;
  try {
    const source = options.source ?? imageSourceOf(filePath) ?? (options.allowDevices ? hostFileSource({ allowDevices: true }) : hostFiles);
    let link: Link | null = openLink(filePath, source);
    while (link) {
      links.push(link);
      seen.add(source.realpath(link.path));
      if (links.length > MAX_DEPTH) throw chainError(link.path, `chain is deeper than ${MAX_DEPTH} links`);
      let parentFile: { path: string; raw?: Buffer } | null;
      try {
        parentFile = resolveParentFile(link);
      } catch (e) {
        if (!options.stopAtMissingParent || !(e instanceof DiskchainError) || e.code !== 'E_CHAIN' || !link.parent) throw e;
        missingParent = { file: link.path, name: link.parent.name, message: e.message };
        problems.push({ severity: 'error', file: link.path, location: 'parent', message: e.message });
        break;
      }
      if (parentFile === null) break;
      const parentPath = parentFile.path;
      const real = source.realpath(parentPath);
      if (real === source.realpath(link.path)) throw chainError(link.path, 'the disk names itself as its parent');
      if (seen.has(real)) throw chainError(link.path, `the chain loops: parent ${parentPath} is already in it`);
      const parent = openLink(parentPath, source, parentFile.raw);
      const cidProblem = checkCid(link, parent);
      if (cidProblem) {
        if (!options.ignoreCid) {
          parent.data.close();
          throw new DiskchainError('E_CID', `${cidProblem.message}; use --ignore-cid to read anyway`, link.path);
        }
        problems.push(cidProblem);
      }
      link = parent;
    }
  } catch (e) {
    for (const l of links) l.data.close();
    throw e;
  }
  if (!options.acceptDamage) {
    const damage = linksDamage(links);
    if (damage) {
      for (const l of links) l.data.close();
      throw damageError(links[0]!.path, damage, links[0]!.capacityBytes);
    }
  }
  return new Chain(links, problems, missingParent);
}


/** A child's parentCID must equal its parent's CID (§1.8); links without CIDs are not compared. */
export function checkCid(child: Link, parent: Link): Problem | null {
  const expected = child.descriptor?.parentCid;
  const actual = parent.descriptor?.cid;
  if (expected === undefined || actual === undefined || expected === actual) return null;
  const childName = path.basename(child.path);
  const parentName = path.basename(parent.path);
  const message =
    expected === NO_PARENT_CID
      ? `${childName} says it has no parent (parentCID ffffffff) but names ${parentName} as one`
      : `parent ${parentName} was modified after ${childName} was made (${childName} expects parent CID ${child.descriptor?.parentCidText ?? formatCid(expected)}, ${parentName} has CID ${parent.descriptor?.cidText ?? formatCid(actual)})`;
  return { severity: 'error', file: child.path, location: 'descriptor parentCID', message };
}

/**
 * Finds the parent file named by a link (§1.8): the hint as an absolute path, relative to the
 * child's folder, its base name in the child's folder, then in ../<last folder of the hint>.
 * A bare REDO log whose header name is stale falls back to its own name minus `.REDO`.
 */
export function resolveParent(link: Link): string | null {
  return resolveParentFile(link)?.path ?? null;
}

/**
 * The parent's file; `raw` when it was found only by the bytes of a hint in a code page (it is
 * then opened by them, and `path` shows them with \xHH escapes).
 */
export function resolveParentFile(link: Link): { path: string; raw?: Buffer } | null {
  if (!link.parent) return null;
  const dir = path.dirname(link.path);
  const candidates = parentCandidates(dir, link.parent.name);
  if (link.parent.source === 'cowd-header' && /\.REDO$/i.test(link.path)) {
    candidates.push(link.path.replace(/\.REDO$/i, ''));
  }
  for (const c of candidates) {
    if (link.source.stat(c)?.kind === 'file') return { path: c };
  }
  const raws = rawParentCandidates(dir, link.parentRawName);
  const raw = raws.find((c) => link.source.stat(c)?.kind === 'file');
  if (raw) return { path: shownPath(raw), raw };
  const looked = [...new Set([...candidates, ...raws.map(shownPath)])].map((c) => path.relative(dir, c) || c).join(', ');
  throw new DiskchainError('E_CHAIN', `parent "${link.parent.name}" not found (looked for ${looked}); if it was moved or renamed, "diskchain reparent" points this disk at it`, link.path);
}

/** A raw hint as written, with `\\` as a separator, and its base name beside the child. */
function rawParentCandidates(dir: string, raw: Buffer | undefined): Buffer[] {
  if (!raw) return [];
  const lastSeparator = Math.max(raw.lastIndexOf(0x2f), raw.lastIndexOf(0x5c));
  const beside = Buffer.concat([Buffer.from(`${dir}/`), raw.subarray(lastSeparator + 1)]);
  const all = [...rawCandidates(dir, raw), beside];
  return all.filter((c, i) => all.findIndex((o) => o.equals(c)) === i);
}

function parentCandidates(dir: string, hint: string): string[] {
  const unix = hint.replace(/\\/g, '/');
  const base = path.posix.basename(unix);
  const out: string[] = [];
  const windowsAbsolute = /^[A-Za-z]:\//.test(unix);
  // As written first, as for extents: an unzip on Linux may keep `w\lit.vmdk` as one file name.
  if (unix !== hint && !windowsAbsolute && !hint.startsWith('\\')) out.push(path.resolve(dir, hint));
  if (path.isAbsolute(unix)) out.push(unix);
  else if (!windowsAbsolute) out.push(path.resolve(dir, unix));
  out.push(path.join(dir, base));
  const lastDir = path.posix.basename(path.posix.dirname(unix));
  if (lastDir && lastDir !== '.' && lastDir !== '/' && !/^[A-Za-z]:$/.test(lastDir)) {
    out.push(path.join(dir, '..', lastDir, base));
  }
  return [...new Set(out)];
}
