/**
 * The one face every on-disk format shows (style.md §1): an extent is a byte range of a virtual
 * disk link, with a block-status query and a positional read. Chains, `cat`, `map`, `check`,
 * converters and the UI only ever talk to this interface.
 */

/** data: this extent holds the bytes; zero: reads as zeros here; unallocated: ask the parent. */
export type RunState = 'data' | 'zero' | 'unallocated';

export interface Run {
  offset: number;
  length: number;
  state: RunState;
  /**
   * Where a data run's bytes lie, for formats that store them as they are (flat, uncompressed
   * grains): the file and the byte position in it. Writers copy straight from there.
   */
  file?: string;
  position?: number;
}

/** Bytes of an extent (or a disk) that cannot be read any more. */
export interface LostRange {
  offset: number;
  length: number;
}

/** Appends a lost range, merging it into the previous one when they touch. */
export function pushLost(out: LostRange[], offset: number, length: number): void {
  if (length <= 0) return;
  const last = out[out.length - 1];
  if (last && last.offset + last.length === offset) last.length += length;
  else out.push({ offset, length });
}

/** Where a data run's bytes lie in a file (Run.file, Run.position). */
export interface Backing {
  file: string;
  position: number;
}

export type { Problem, Severity } from '../../shared/types.js';
import type { Problem } from '../../shared/types.js';

export interface ExtentReader {
  readonly file: string;
  /** Virtual bytes this extent covers. */
  readonly sizeBytes: number;
  /**
   * Runs covering [offset, offset+length), in order, adjacent runs of one state merged. With
   * `backing`, data runs also say where their bytes lie (Run.file, Run.position) where the format
   * stores them as they are, and break where that position jumps.
   */
  blockStatus(offset: number, length: number, backing?: boolean): Run[];
  /** Reads [offset, offset+buf.length) of this extent alone: unallocated and zero ranges read as zeros. */
  read(buf: Buffer, offset: number): void;
  /** Bytes of grains (or flat data) this extent holds. */
  allocatedBytes(): number;
  /** Structural problems; never throws for damage it can describe. */
  check(): Problem[];
  /**
   * Ranges of this extent whose data is gone (a table or grain past the end of the file, a cut
   * flat file), from the metadata alone, in order: the one verdict on damage every command
   * reaches at open (issue 14). Absent: the format cannot lose data that way.
   */
  lostRanges?(): LostRange[];
  close(): void;
}

/** Reads what lies under an extent at an extent offset (its link's parent chain), to fill partly written grains. */
export type FillSource = (buf: Buffer, extentOffset: number) => void;

/**
 * The write side of a driver: one extent opened for writing in place (commit's parent, extend).
 * Writes land only where the format allows; pointers become durable by endEpoch()/flush().
 */
export interface ExtentWriter {
  /**
   * New file space that writing (`zero`: zeroing) [offset, offset+length) would take, counted as
   * if no earlier range had been written. Throws, before anything is written, for ranges the
   * extent cannot hold (a ZERO extent asked to hold data).
   */
  spaceNeeded(offset: number, length: number, zero: boolean): number;
  write(buf: Buffer, offset: number): void;
  /** Makes [offset, offset+length) read as zeros in this extent (not from its parent). */
  writeZeros(offset: number, length: number): void;
  /** Makes the epoch's new blocks durable, then writes the pointers to them. */
  endEpoch(): void;
  /** Writes every pointer and fsyncs: after it the extent reads what was written. */
  flush(): void;
  close(): void;
}

/**
 * Appends a run, merging it into the previous one when they touch and share a state (and, for
 * runs with a backing, when the bytes also continue each other in the same file).
 */
export function pushRun(runs: Run[], offset: number, length: number, state: RunState, backing?: Backing): void {
  if (length <= 0) return;
  const last = runs[runs.length - 1];
  if (last && last.state === state && last.offset + last.length === offset && continuesBacking(last, backing)) {
    last.length += length;
  } else if (backing) {
    runs.push({ offset, length, state, file: backing.file, position: backing.position });
  } else {
    runs.push({ offset, length, state });
  }
}

function continuesBacking(last: Run, backing: Backing | undefined): boolean {
  if (backing === undefined) return last.position === undefined;
  return last.position !== undefined && last.file === backing.file && last.position + last.length === backing.position;
}

export const SECTOR = 512;
