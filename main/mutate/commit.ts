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
import * as path from 'node:path';
import { formatBytes } from '../../shared/bytes.js';
import type { CommitSpec, JobResult } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import type { JobContext } from '../io/job-context.js';
import { copyTopIntoParent } from './commit-copy.js';
import { applyMetadata, readJournal, resumeCommit, writeJournal } from './commit-journal.js';
import { commitResult, planCommit, type CommitPlan } from './commit-plan.js';
import { guardedCommit } from './guards.js';

export { editDescriptor, type DescriptorEdit } from '../formats/descriptor-edit.js';

/** Writer locks, the in-use check and the .vmx follow-up around the fold (guards.ts). */
export function commitJob(spec: CommitSpec, ctx: JobContext): Promise<JobResult> {
  return guardedCommit(spec, () => foldTop(spec, ctx));
}

async function foldTop(spec: CommitSpec, ctx: JobContext): Promise<JobResult> {
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
  return commitResult(plan, `folded ${path.basename(plan.top)} into ${path.basename(plan.parent)} (${formatBytes(copied, 1)} of data)`);
}
