/**
 * Where a file's blocks are: ext4 extent trees and ext2/3 indirect block maps. Both answer one question,
 * "the run of blocks that starts at logical block L", so a read of contiguous blocks is one device read.
 * Every pointer is checked against the volume before it is followed; extent trees must lose one level
 * per step (so they cannot loop) and are at most MAX_EXTENT_DEPTH deep.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { BlockCache } from './block-cache.js';

/** A run of `count` blocks at `physical`, or of zeros (a hole or an unwritten extent) when physical is null. */
export interface Run {
  physical: number | null;
  count: number;
}

export interface MapContext {
  cache: BlockCache;
  blockSize: number;
  blocksCount: number;
  /** The disk file, for errors. */
  file: string;
  /** What is being mapped, for errors: "ext4 inode 12 (big.bin)". */
  where: string;
  /** Hears of every map block read (extent tree nodes, indirect blocks): what a mapping depends on. */
  visit?: (block: number) => void;
}

const EXTENT_MAGIC = 0xf30a;
/** The kernel's limit (ext4_ext_check_inode allows depth ≤ 5). */
const MAX_EXTENT_DEPTH = 5;
const UNWRITTEN_LENGTH = 32768;

function damaged(ctx: MapContext, what: string): never {
  throw new DiskchainError('E_FORMAT', `${ctx.where}: ${what}`, ctx.file);
}

function checkBlocks(ctx: MapContext, physical: number, count: number, what: string): void {
  if (physical + count > ctx.blocksCount || physical === 0) {
    damaged(ctx, `${what} points past the end of the volume (block ${physical}${count > 1 ? `+${count}` : ''} of ${ctx.blocksCount})`);
  }
}

interface NodeHeader {
  entries: number;
  depth: number;
}

function nodeHeader(ctx: MapContext, node: Buffer, where: string): NodeHeader {
  if (node.readUInt16LE(0) !== EXTENT_MAGIC) damaged(ctx, `extent ${where} has a bad magic`);
  const entries = node.readUInt16LE(2);
  const max = node.readUInt16LE(4);
  const depth = node.readUInt16LE(6);
  if (entries > max || 12 + max * 12 > node.length) damaged(ctx, `extent ${where} claims ${entries} of ${max} entries, more than fit`);
  return { entries, depth };
}

/** The run at `logical` in the extent tree whose root is the inode's i_block area. */
export function mapExtents(ctx: MapContext, root: Buffer, logical: number, maxCount: number): Run {
  let node = root;
  let header = nodeHeader(ctx, node, 'tree root');
  if (header.depth > MAX_EXTENT_DEPTH) damaged(ctx, `extent tree depth ${header.depth} exceeds ${MAX_EXTENT_DEPTH}`);
  // The first logical block that the current subtree does not cover (where the next sibling starts).
  let limit = Infinity;
  // Made when the tree has index nodes (most folders have none: their extents sit in the inode).
  let visited: Set<number> | null = null;
  while (header.depth > 0) {
    let chosen = -1;
    for (let i = 0; i < header.entries; i++) {
      const start = node.readUInt32LE(12 + i * 12);
      if (start > logical) {
        limit = Math.min(limit, start);
        break;
      }
      chosen = i;
    }
    if (chosen < 0) return { physical: null, count: Math.min(maxCount, limit - logical) };
    const at = 12 + chosen * 12;
    const child = node.readUInt32LE(at + 4) + node.readUInt16LE(at + 8) * 2 ** 32;
    checkBlocks(ctx, child, 1, `extent index at depth ${header.depth}`);
    visited ??= new Set<number>();
    if (visited.has(child)) damaged(ctx, `extent tree loops at block ${child}`);
    visited.add(child);
    const parentDepth = header.depth;
    ctx.visit?.(child);
    node = ctx.cache.get(child);
    header = nodeHeader(ctx, node, `node at block ${child}`);
    if (header.depth !== parentDepth - 1) damaged(ctx, `extent node at block ${child} has depth ${header.depth} under depth ${parentDepth} (the tree loops or is damaged)`);
  }
  for (let i = 0; i < header.entries; i++) {
    const at = 12 + i * 12;
    const start = node.readUInt32LE(at);
    if (start > logical) return { physical: null, count: Math.min(maxCount, start - logical, limit - logical) };
    const rawLength = node.readUInt16LE(at + 4);
    const unwritten = rawLength > UNWRITTEN_LENGTH;
    const length = unwritten ? rawLength - UNWRITTEN_LENGTH : rawLength;
    if (logical >= start + length) continue;
    const physical = node.readUInt32LE(at + 8) + node.readUInt16LE(at + 6) * 2 ** 32;
    checkBlocks(ctx, physical, length, `extent for blocks ${start}–${start + length - 1}`);
    const count = Math.min(maxCount, start + length - logical);
    return { physical: unwritten ? null : physical + (logical - start), count };
  }
  return { physical: null, count: Math.min(maxCount, limit - logical) };
}

/**
 * The run at `logical` in an ext2/3 block map: 12 direct pointers, then single, double and triple
 * indirect blocks. Contiguous pointers (or a stretch of zero pointers, a hole) merge into one run.
 */
export function mapIndirect(ctx: MapContext, iblock: Buffer, logical: number, maxCount: number): Run {
  const first = pointerAt(ctx, iblock, logical);
  let count = 1;
  while (count < maxCount) {
    const next = pointerAt(ctx, iblock, logical + count);
    if (first === 0 ? next !== 0 : next !== first + count) break;
    count++;
  }
  if (first === 0) return { physical: null, count };
  checkBlocks(ctx, first, count, `block map entry for block ${logical}`);
  return { physical: first, count };
}

function pointerAt(ctx: MapContext, iblock: Buffer, logical: number): number {
  const perBlock = ctx.blockSize / 4;
  if (logical < 12) return iblock.readUInt32LE(logical * 4);
  let rest = logical - 12;
  for (let level = 1; level <= 3; level++) {
    const span = perBlock ** level;
    if (rest < span) {
      let pointer = iblock.readUInt32LE((11 + level) * 4);
      for (let l = level; l >= 1 && pointer !== 0; l--) {
        checkBlocks(ctx, pointer, 1, `indirect block (level ${l})`);
        const index = Math.floor(rest / perBlock ** (l - 1)) % perBlock;
        ctx.visit?.(pointer);
        pointer = ctx.cache.get(pointer).readUInt32LE(index * 4);
      }
      return pointer;
    }
    rest -= span;
  }
  damaged(ctx, `block ${logical} lies beyond what a block map can address`);
}
