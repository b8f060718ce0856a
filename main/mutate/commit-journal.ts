/**
 * Steps 3–5 of a commit (commit.ts) and the journal that makes them restartable: once P holds
 * TOP's data, `TOP.diskchain-commit` says what is left (CIDs, children, TOP's files, ESX 2
 * renames), and running the same commit again finishes it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { JobResult } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import { cowdParentNameField, COWD_FIELD } from '../formats/cowd/create.js';
import { writeEmbeddedDescriptor } from '../formats/sparse/embedded.js';
import { ioError } from '../io/disk-file.js';
import { replaceFile, syncDir } from '../io/staged-output.js';
import { unlinkBehind } from '../io/unlink-behind.js';
import { commitResult, planCommit, samePath, type CommitPlan, type Rewrite } from './commit-plan.js';

export function applyMetadata(plan: CommitPlan): void {
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

interface PendingRename {
  from: string;
  to: string;
  parentName: string;
}

export interface Journal {
  top: string;
  /** TOP's inode when the commit began: tells TOP from a child renamed over its name. */
  topIno: number;
  parent: string;
  newCid: number | null;
  topFiles: string[];
  renames: PendingRename[];
}

const journalPath = (top: string): string => `${top}.diskchain-commit`;

export function writeJournal(plan: CommitPlan): void {
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

export function readJournal(top: string): Journal | null {
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
export function resumeCommit(journal: Journal): JobResult {
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
  return commitResult(plan, `finished the interrupted commit of ${path.basename(plan.top)} into ${path.basename(plan.parent)}`);
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

/** TOP's large files are freed behind the commit (io/unlink-behind.ts): their names go at once. */
function removeFile(file: string): void {
  try {
    unlinkBehind(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(file, e);
  }
}
