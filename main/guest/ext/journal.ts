/**
 * The ext3/4 journal (jbd2), replayed read-only: which file-system blocks the committed transactions
 * still in the log rewrite, and where in the log their newest copies are. Nothing is copied or written:
 * the replay is a map from a volume block to the journal block that replaces it (at most one entry per
 * log block, so bounded by the journal's size), and `overlayDevice` reads through it.
 *
 * Format (big-endian; the kernel's include/linux/jbd2.h and fs/jbd2/recovery.c): a journal superblock,
 * then a circular log from s_first to s_maxlen of transactions, each descriptor blocks (tags naming the
 * volume block of each data block that follows) and revoke blocks, closed by a commit block. Replay
 * starts at s_start with sequence s_sequence and stops at the first block that is not the next one of
 * the expected sequence, at a commit or descriptor whose checksum is wrong, or after one lap of the log.
 * Revoked blocks are not replayed from transactions up to the revoking one; a later transaction's copy
 * wins. Data blocks whose tag checksum is wrong are skipped, as the kernel and e2fsck skip them.
 */
import { DiskchainError } from '../../../shared/errors.js';
import { readingThrough, type BlockDevice } from '../block-device.js';
import { crc32cUpdate } from '../crc.js';
import { BlockCache } from './block-cache.js';

const JBD2_MAGIC = 0xc03b3998;
const DESCRIPTOR = 1;
const COMMIT = 2;
const SUPERBLOCK_V1 = 3;
const SUPERBLOCK_V2 = 4;
const REVOKE = 5;

const INCOMPAT_REVOKE = 0x1;
const INCOMPAT_64BIT = 0x2;
const INCOMPAT_ASYNC_COMMIT = 0x4;
const INCOMPAT_CSUM_V2 = 0x8;
const INCOMPAT_CSUM_V3 = 0x10;
const INCOMPAT_FAST_COMMIT = 0x20;
const KNOWN_INCOMPAT = INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_ASYNC_COMMIT | INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3 | INCOMPAT_FAST_COMMIT;

const LOG_WINDOW_BYTES = 1024 * 1024;
const LOG_CACHE_BYTES = 4 * 1024 * 1024;

const FLAG_ESCAPE = 0x1;
const FLAG_SAME_UUID = 0x2;
const FLAG_LAST_TAG = 0x8;

/** The journal as a file of blocks: its inode's map on the volume. */
export interface JournalLog {
  /** Blocks in the journal file. */
  readonly blocks: number;
  /** The volume block that holds journal block `j` (0 ≤ j < blocks); throws E_FORMAT on a damaged map. */
  physical(j: number): number;
}

export interface JournalReplay {
  /** Volume block → the volume block that holds its newest committed copy in the log. */
  readonly copies: Map<number, number>;
  /** Volume blocks whose copy was escaped (its first word was the jbd2 magic, stored as zeros). */
  readonly escaped: Set<number>;
  /** Committed transactions replayed. */
  readonly transactions: number;
  /** Why the scan ended before a clean end of the log (a bad checksum, a block past the volume), or null. */
  readonly stopped: string | null;
  /** Data blocks skipped because their tag checksum was wrong. */
  readonly badBlocks: number;
  /** The log also holds fast-commit blocks, which are not replayed. */
  readonly fastCommit: boolean;
}

interface Header {
  magic: number;
  type: number;
  sequence: number;
}

function header(b: Buffer): Header {
  return { magic: b.readUInt32BE(0), type: b.readUInt32BE(4), sequence: b.readUInt32BE(8) };
}

/**
 * Replays the log read-only: `device` is the volume, `blockSize` its block size (which the journal
 * must share), `volumeBlocks` its size in blocks. A journal superblock that makes no sense is an
 * E_FORMAT naming it (the caller reads the volume as it is on disk and says why).
 */
export function replayJournal(device: BlockDevice, log: JournalLog, blockSize: number, volumeBlocks: number): JournalReplay {
  const fail = (what: string): never => {
    throw new DiskchainError('E_FORMAT', `ext journal superblock: ${what}`, device.file);
  };
  // The log is read through 1 MiB windows: a journal file is mostly one extent, and a block-by-block read
  // of a full log through a chain would take seconds.
  const cache = new BlockCache(device, blockSize, LOG_CACHE_BYTES, LOG_WINDOW_BYTES);
  const read = (j: number, buf: Buffer): void => void cache.get(log.physical(j)).copy(buf);
  const sb = Buffer.allocUnsafe(blockSize);
  read(0, sb);
  const h = header(sb);
  if (h.magic !== JBD2_MAGIC || (h.type !== SUPERBLOCK_V1 && h.type !== SUPERBLOCK_V2)) fail('no jbd2 superblock in the first journal block');
  if (sb.readUInt32BE(0x0c) !== blockSize) fail(`block size ${sb.readUInt32BE(0x0c)} is not the volume's ${blockSize}`);
  const maxLen = sb.readUInt32BE(0x10);
  const first = sb.readUInt32BE(0x14);
  let sequence = sb.readUInt32BE(0x18);
  const start = sb.readUInt32BE(0x1c);
  const incompat = h.type === SUPERBLOCK_V2 ? sb.readUInt32BE(0x28) : 0;
  if (maxLen > log.blocks) fail(`the log claims ${maxLen} blocks but the journal file has ${log.blocks}`);
  if (first < 1 || first >= maxLen) fail(`the log starts at block ${first}, outside 1–${maxLen - 1}`);
  if (incompat & ~KNOWN_INCOMPAT) fail(`unknown incompatible feature 0x${(incompat & ~KNOWN_INCOMPAT).toString(16)}`);
  const empty: JournalReplay = { copies: new Map(), escaped: new Set(), transactions: 0, stopped: null, badBlocks: 0, fastCommit: false };
  // s_start 0: the log is empty (everything was checkpointed).
  if (start === 0) return empty;
  if (start < first || start >= maxLen) fail(`the log's first transaction is at block ${start}, outside ${first}–${maxLen - 1}`);

  const csum = (incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3)) !== 0;
  const csum3 = (incompat & INCOMPAT_CSUM_V3) !== 0;
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  if (csum) {
    const stored = sb.readUInt32BE(0xfc);
    const copy = Buffer.from(sb.subarray(0, 1024));
    copy.writeUInt32BE(0, 0xfc);
    if (crc32cUpdate(0xffffffff, copy) !== stored) fail('its checksum is wrong');
  }
  const seed = csum ? crc32cUpdate(0xffffffff, sb.subarray(0x30, 0x40)) : 0;
  const tagBytes = csum3 ? 16 : (csum ? 10 : 8) + (is64 ? 4 : 0);

  /** Whether a descriptor or revoke block's tail checksum holds. */
  const tailOk = (b: Buffer): boolean => {
    const stored = b.readUInt32BE(blockSize - 4);
    const copy = Buffer.from(b);
    copy.writeUInt32BE(0, blockSize - 4);
    return crc32cUpdate(seed, copy) === stored;
  };
  const commitOk = (b: Buffer): boolean => {
    const stored = b.readUInt32BE(16);
    const copy = Buffer.from(b);
    copy.writeUInt32BE(0, 16);
    return crc32cUpdate(seed, copy) === stored;
  };

  const copies = new Map<number, number>();
  const escaped = new Set<number>();
  const revoked = new Map<number, number>();
  /** The transaction whose copy of a block is in `copies`. */
  const writtenIn = new Map<number, number>();
  let transactions = 0;
  let stopped: string | null = null;
  let badBlocks = 0;
  let pos = start;
  // One lap of the log at most: a log whose sequence numbers never break still ends.
  let budget = maxLen - first;
  const next = (): number => {
    const at = pos;
    pos = pos + 1 >= maxLen ? first : pos + 1;
    budget--;
    return at;
  };
  const block = Buffer.allocUnsafe(blockSize);
  const data = Buffer.allocUnsafe(blockSize);
  const seqWord = Buffer.allocUnsafe(4);

  scan: while (budget > 0) {
    // One transaction: its writes and revokes count only once its commit block is read.
    const writes: Array<[volumeBlock: number, logBlock: number, escape: boolean]> = [];
    const revokes: number[] = [];
    while (true) {
      if (budget <= 0) break scan;
      const at = next();
      read(at, block);
      const bh = header(block);
      if (bh.magic !== JBD2_MAGIC || bh.sequence !== sequence) break scan;
      if (bh.type === DESCRIPTOR) {
        if (csum && !tailOk(block)) {
          stopped = `descriptor block ${at} of transaction ${sequence} has a wrong checksum`;
          break scan;
        }
        const end = blockSize - (csum ? 4 : 0);
        for (let t = 12; t + tagBytes <= end; ) {
          const low = block.readUInt32BE(t);
          const flags = csum3 ? block.readUInt32BE(t + 4) : block.readUInt16BE(t + 6);
          const high = is64 ? block.readUInt32BE(t + 8) : 0;
          const tagSum = csum3 ? block.readUInt32BE(t + 12) : csum ? block.readUInt16BE(t + 4) : 0;
          const target = low + high * 2 ** 32;
          if (budget <= 0) break scan;
          const logBlock = next();
          if (target >= volumeBlocks || target === 0) {
            stopped = `transaction ${sequence} writes block ${target}, outside the volume (${volumeBlocks} blocks)`;
            break scan;
          }
          let good = true;
          if (csum) {
            read(logBlock, data);
            seqWord.writeUInt32BE(sequence, 0);
            const sum = crc32cUpdate(crc32cUpdate(seed, seqWord), data);
            good = csum3 ? sum === tagSum : (sum & 0xffff) === tagSum;
          }
          if (good) writes.push([target, logBlock, (flags & FLAG_ESCAPE) !== 0]);
          else badBlocks++;
          t += tagBytes + (flags & FLAG_SAME_UUID ? 0 : 16);
          if (flags & FLAG_LAST_TAG) break;
        }
      } else if (bh.type === REVOKE) {
        if (csum && !tailOk(block)) {
          stopped = `revoke block ${at} of transaction ${sequence} has a wrong checksum`;
          break scan;
        }
        const count = block.readUInt32BE(12);
        const size = is64 ? 8 : 4;
        if (count < 16 || count > blockSize - (csum ? 4 : 0)) {
          stopped = `revoke block ${at} of transaction ${sequence} claims ${count} bytes`;
          break scan;
        }
        for (let r = 16; r + size <= count; r += size) revokes.push(is64 ? block.readUInt32BE(r) * 2 ** 32 + block.readUInt32BE(r + 4) : block.readUInt32BE(r));
      } else if (bh.type === COMMIT) {
        if (csum && !commitOk(block)) {
          stopped = `the commit block of transaction ${sequence} has a wrong checksum`;
          break scan;
        }
        for (const r of revokes) revoked.set(r, sequence);
        for (const [target, logBlock, escape] of writes) {
          // A revoke in this or a later transaction cancels the copy; a later copy replaces it.
          const physical = log.physical(logBlock);
          copies.set(target, physical);
          if (escape) escaped.add(target);
          else escaped.delete(target);
          writtenIn.set(target, sequence);
        }
        transactions++;
        sequence = (sequence + 1) >>> 0;
        continue scan;
      } else {
        break scan;
      }
    }
  }
  // Revokes cancel a block's copies from transactions up to and including the revoking one.
  for (const [target, seq] of revoked) {
    const written = writtenIn.get(target);
    if (written !== undefined && !later(written, seq)) {
      copies.delete(target);
      escaped.delete(target);
    }
  }
  return { copies, escaped, transactions, stopped, badBlocks, fastCommit: (incompat & INCOMPAT_FAST_COMMIT) !== 0 };
}

/** Whether transaction ID a comes after b (IDs are 32-bit and wrap, as the kernel's tid_gt). */
function later(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/**
 * The volume as the replayed journal has it: reads of blocks the log holds newer copies of come from
 * the log. Bounded: the map has at most one entry per log block, and a read copies block by block.
 */
export function overlayDevice(device: BlockDevice, blockSize: number, replay: JournalReplay): BlockDevice {
  const sorted = Float64Array.from(replay.copies.keys()).sort();
  const copy = Buffer.allocUnsafe(blockSize);
  return readingThrough(device, (buf, offset) => {
    device.read(buf, offset);
    const firstBlock = Math.floor(offset / blockSize);
    const end = offset + buf.length;
    // The first replayed block at or after the read's first block.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < firstBlock) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sorted.length && sorted[i]! * blockSize < end; i++) {
      const target = sorted[i]!;
      device.read(copy, replay.copies.get(target)! * blockSize);
      if (replay.escaped.has(target)) copy.writeUInt32BE(JBD2_MAGIC, 0);
      const blockStart = target * blockSize;
      const from = Math.max(offset, blockStart);
      const to = Math.min(end, blockStart + blockSize);
      copy.copy(buf, from - offset, from - blockStart, to - blockStart);
    }
  });
}
