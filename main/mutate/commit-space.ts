/**
 * What a commit adds to its parent P, counted by P's own store: the grains and tables P must
 * allocate for the ranges TOP holds, plus headroom; nothing when P is written in place (a fully
 * allocated flat file). The commit refuses with this estimate, and the desktop preflight shows it.
 */
import * as path from 'node:path';
import type { CommitSpec } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import type { Link } from '../disk/link.js';
import { SPACE_MARGIN_BYTES, type SpaceEstimate } from '../io/space.js';
import { fillFrom, openGrainStore, type GrainStore } from './grain-store.js';

/** TOP's allocation is walked in windows of this size, bounding the run lists. */
const WINDOW_BYTES = 64 * 1024 * 1024;

/** A range TOP decides: data to copy, or zeros P must show. */
export interface HeldRun {
  offset: number;
  length: number;
  state: 'data' | 'zero';
}

/** P's growth for TOP's runs (as `runs(offset, length)` lists them), and TOP's data bytes (the progress total). */
export function commitSpace(
  store: Pick<GrainStore, 'spaceNeeded'>,
  runs: (offset: number, length: number) => Iterable<HeldRun>,
  top: Link,
  parent: Link,
): { estimate: SpaceEstimate; dataBytes: number } {
  let dataBytes = 0;
  let needed = 0;
  for (let at = 0; at < top.capacityBytes; at += WINDOW_BYTES) {
    for (const run of runs(at, Math.min(WINDOW_BYTES, top.capacityBytes - at))) {
      if (run.state === 'data') dataBytes += run.length;
      needed += store.spaceNeeded(run.offset, run.length, run.state === 'zero');
    }
  }
  const estimate: SpaceEstimate = {
    folder: path.dirname(parent.path),
    requiredBytes: needed === 0 ? 0 : needed + SPACE_MARGIN_BYTES,
    basis: needed === 0 ? `${path.basename(parent.path)} is written in place (nothing to allocate)` : `the grains and tables ${path.basename(parent.path)} must add for the data of ${path.basename(top.path)}`,
    purpose: `commit ${path.basename(top.path)} into ${path.basename(parent.path)}`,
    file: parent.path,
  };
  return { estimate, dataBytes };
}

/** The estimate of a commit not yet started (preflight): opens TOP's chain and P's store, writes nothing. */
export function estimateCommit(spec: CommitSpec): SpaceEstimate {
  const chain = openChain(path.resolve(spec.top), { ignoreCid: true });
  try {
    const top = chain.top;
    const parent = chain.links[1];
    if (!parent) {
      return { folder: path.dirname(top.path), requiredBytes: 0, basis: 'a base disk has no parent to commit into', purpose: `commit ${path.basename(top.path)}` };
    }
    const store = openGrainStore(parent, fillFrom(chain.links.slice(2)));
    try {
      const runs = (offset: number, length: number): HeldRun[] =>
        top.data.blockStatus(offset, length).flatMap((r) => (r.state === 'unallocated' ? [] : [{ offset: r.offset, length: r.length, state: r.state }]));
      return commitSpace(store, runs, top, parent).estimate;
    } finally {
      store.close();
    }
  } finally {
    chain.close();
  }
}

