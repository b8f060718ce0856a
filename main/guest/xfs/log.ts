import type { XfsVolume } from './volume.js';

const LOG_HEADER_MAGIC = 0xfeedbabe;
const UNMOUNT_TRANS = 0x20;
const BB = 512;
/** A log record is at most 256 KiB plus its headers; look no further back than this for the last one. */
const MAX_RECORD_BBS = 2048;

export const DIRTY_LOG_NOTE = 'log not replayed: the volume was not cleanly unmounted, so recent changes may be missing';

/**
 * The note to show for the internal log: null when its last record is an unmount record (clean), a
 * "log not replayed" warning when it is not. Finds the head the way the kernel does: the cycle number
 * stamped in every 512-byte log block drops by one where the newest write stopped.
 */
export function logNote(volume: XfsVolume): string | null {
  const { sb } = volume;
  if (sb.logStart === 0) return 'external log not checked (it may hold changes not replayed)';
  const logOffset = volume.blockOffset(sb.logStart, sb.logBlocks);
  if (logOffset === null || sb.logBlocks === 0) return 'log state not determined: the log lies outside the volume';
  const blocks = (sb.logBlocks * sb.blockSize) / BB;
  const block = Buffer.alloc(BB);
  const readBlock = (n: number): Buffer => {
    volume.device.read(block, logOffset + n * BB);
    return block;
  };
  const cycleOf = (n: number): number => {
    const b = readBlock(n);
    return b.readUInt32BE(0) === LOG_HEADER_MAGIC ? b.readUInt32BE(4) : b.readUInt32BE(0);
  };
  const firstCycle = cycleOf(0);
  const lastCycle = cycleOf(blocks - 1);
  let head = blocks;
  if (firstCycle !== lastCycle) {
    let low = 0;
    let high = blocks - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cycleOf(mid) === firstCycle) low = mid + 1;
      else high = mid;
    }
    head = low;
  }
  for (let n = head - 1; n >= 0 && n >= head - MAX_RECORD_BBS; n--) {
    const b = readBlock(n);
    if (b.readUInt32BE(0) !== LOG_HEADER_MAGIC) continue;
    const logOps = b.readUInt32BE(40);
    const version = b.readUInt32BE(8);
    const recordSize = b.readUInt32BE(320);
    const headerBlocks = (version & 2) !== 0 && recordSize > 32768 ? Math.ceil(recordSize / 32768) : 1;
    if (n + headerBlocks >= blocks) return DIRTY_LOG_NOTE;
    const firstOp = readBlock(n + headerBlocks);
    return logOps === 1 && (firstOp.readUInt8(9) & UNMOUNT_TRANS) !== 0 ? null : DIRTY_LOG_NOTE;
  }
  return 'log state not determined: no log record found';
}
