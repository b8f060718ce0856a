/**
 * NTFS runlists: the (length, LCN delta) pairs that map a non-resident attribute's clusters, and the
 * lookup from a byte range of the stream to device pieces. Sparse runs have no LCN.
 */
export interface Run {
  /** First VCN of the run. */
  vcn: number;
  /** Clusters in the run. */
  length: number;
  /** First LCN, or null for a sparse run (reads as zeros). */
  lcn: number | null;
}

/** A runlist with more runs than this is damage (a 4 KiB record holds at most ~2,000 runs per extent). */
export const MAX_RUNS = 1 << 20;

/**
 * Decodes the runlist at `start` of `bytes` (up to `end`), for an extent whose first VCN is `startVcn`.
 * Throws a message (the caller adds the record) when a run is malformed or lies past the volume.
 */
export function decodeRuns(bytes: Buffer, start: number, end: number, startVcn: number, totalClusters: number, out: Run[]): void {
  let pos = start;
  let vcn = startVcn;
  let lcn = 0;
  while (pos < end) {
    const header = bytes[pos] ?? 0;
    if (header === 0) return;
    const lengthSize = header & 0x0f;
    const offsetSize = header >> 4;
    if (lengthSize === 0 || lengthSize > 8 || offsetSize > 8 || pos + 1 + lengthSize + offsetSize > end) {
      throw new Error(`runlist entry at byte ${pos} is malformed`);
    }
    const length = readUnsigned(bytes, pos + 1, lengthSize);
    if (length <= 0 || !Number.isSafeInteger(length)) throw new Error(`runlist entry at byte ${pos} has a bad length`);
    let runLcn: number | null = null;
    if (offsetSize > 0) {
      lcn += readSigned(bytes, pos + 1 + lengthSize, offsetSize);
      if (lcn < 0 || lcn + length > totalClusters) {
        throw new Error(`run of ${length} clusters at cluster ${lcn} lies past the end of the volume (${totalClusters} clusters)`);
      }
      runLcn = lcn;
    }
    if (out.length >= MAX_RUNS) throw new Error(`runlist has more than ${MAX_RUNS} runs`);
    out.push({ vcn, length, lcn: runLcn });
    vcn += length;
    pos += 1 + lengthSize + offsetSize;
  }
  throw new Error('runlist runs past the attribute end');
}

function readUnsigned(bytes: Buffer, at: number, size: number): number {
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = value * 256 + (bytes[at + i] ?? 0);
  return value;
}

function readSigned(bytes: Buffer, at: number, size: number): number {
  const value = readUnsigned(bytes, at, size);
  const top = bytes[at + size - 1] ?? 0;
  return top & 0x80 ? value - 2 ** (8 * size) : value;
}

/** The index of the run holding `vcn` (runs sorted by VCN, contiguous), or -1. */
export function findRun(runs: readonly Run[], vcn: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const run = runs[mid] as Run;
    if (vcn < run.vcn) hi = mid - 1;
    else if (vcn >= run.vcn + run.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}
