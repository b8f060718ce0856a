/**
 * An archive's status from the facts recorded about it: what the last scan saw of its files
 * (present? the manifest's size?) and what the last verify found, with the files' size and mtime
 * at that verify. One function for scan and verify, so both say the same thing.
 */
import type { FileStat } from './records.js';
import type { ArchiveFileState, EntryHealth, VerifyReport } from './types.js';

/** Each file's size and mtime when a verify began; null for a file that was not there. */
export type VerifyFileStats = Record<string, [bytes: number, mtimeMs: number] | null>;

export interface ArchiveFacts {
  /** The manifest's files with their recorded sizes. */
  files: Array<{ name: string; bytes: number }>;
  /** Each file's stat now; null: not there. Absent (undefined): not looked at (a verify). */
  now?: Map<string, FileStat | null>;
  verify: VerifyReport | null;
  /** Stats at the last verify; null for a verify recorded by an older diskchain (then its time is compared). */
  verifyStats: VerifyFileStats | null;
}

export interface ArchiveStatus {
  health: EntryHealth;
  note: string | null;
  /** Files something is known against, by name. */
  fileStates: Record<string, ArchiveFileState>;
}

export function archiveStatus(facts: ArchiveFacts): ArchiveStatus {
  const states: Record<string, ArchiveFileState> = {};
  const missing: string[] = [];
  const resized: string[] = [];
  const since: string[] = [];
  const verify = facts.verify;
  const verifiedMs = verify === null ? NaN : Date.parse(verify.verifiedAt);
  for (const f of facts.files) {
    const stat = facts.now?.get(f.name);
    if (stat === undefined) continue;
    if (stat === null) missing.push(f.name);
    else if (stat.bytes !== f.bytes) resized.push(f.name);
    else if (verify !== null && changedSince(facts.verifyStats, f.name, stat, verifiedMs)) since.push(f.name);
  }
  // A stale verdict is not repeated: what changed after the verify says so instead.
  const verdict = new Map<string, ArchiveFileState>();
  for (const p of verify?.problems ?? []) {
    if (p.name === '' || since.includes(p.name)) continue;
    verdict.set(p.name, p.problem === 'missing' ? 'missing' : 'changed');
  }
  for (const [name, state] of verdict) states[name] = state;
  for (const name of since) states[name] = 'changed-since-verify';
  for (const name of resized) states[name] = 'changed';
  for (const name of missing) states[name] = 'missing';

  const named = (what: ArchiveFileState): string[] => Object.keys(states).filter((n) => states[n] === what);
  const folderGone = verify?.problems.some((p) => p.name === '' && p.problem === 'missing') ?? false;
  if (folderGone && facts.now === undefined) return { health: 'missing-file', note: 'the archive folder is missing', fileStates: states };
  const gone = named('missing');
  if (gone.length > 0) return { health: 'missing-file', note: `missing: ${list(gone)}`, fileStates: states };
  const bad = named('changed');
  if (bad.length > 0) {
    return { health: 'damaged', note: `does not match the manifest: ${list(bad)}`, fileStates: states };
  }
  if (verify === null) return { health: 'unverified', note: 'never verified: run catalog verify', fileStates: states };
  if (since.length > 0) {
    return { health: 'changed-since-verify', note: `changed after the verify of ${verify.verifiedAt}: ${list(since)}`, fileStates: states };
  }
  if (!verify.ok) {
    // Only the manifest (or an unsafe name) was wrong.
    const p = verify.problems[0];
    return { health: 'damaged', note: p ? `${p.name || 'folder'}: ${p.message}` : null, fileStates: states };
  }
  return { health: 'ok', note: null, fileStates: states };
}

/** Verify-time stats of an archive's files, taken before hashing (a change during the hash then shows too). */
export function statsOf(files: Array<{ name: string }>, stat: (name: string) => FileStat | null): VerifyFileStats {
  const out: VerifyFileStats = {};
  for (const f of files) {
    const s = stat(f.name);
    out[f.name] = s === null ? null : [s.bytes, s.mtimeMs];
  }
  return out;
}

function changedSince(stats: VerifyFileStats | null, name: string, now: FileStat, verifiedMs: number): boolean {
  if (stats === null) return now.mtimeMs > verifiedMs;
  const then = stats[name];
  if (then === undefined) return false;
  return then === null || then[0] !== now.bytes || then[1] !== now.mtimeMs;
}

function list(names: string[]): string {
  const shown = names.slice(0, 3).join(', ');
  return names.length > 3 ? `${shown} and ${names.length - 3} more` : shown;
}
