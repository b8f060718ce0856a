/**
 * NTFS directory indexes ($I30): the $INDEX_ROOT node and the INDX records of $INDEX_ALLOCATION,
 * walked in key order. Every node is visited at most once (a visited set of VCNs), the depth and the
 * entry count are capped, and every entry must fit its node.
 */
import { applyFixups, NAMESPACE_DOS, parseFileName, type FileName } from './structures.js';

export interface IndexKey {
  reference: number;
  /** The sequence number the entry expects its record to have (0: not checked). */
  sequence: number;
  key: FileName;
}

const MAX_DEPTH = 64;
const MAX_ENTRIES = 4_000_000;

/**
 * Lists the file-name keys of an index (DOS 8.3 names skipped: the Win32 name is listed).
 * `readAllocation(buf, offset)` reads the $INDEX_ALLOCATION stream of `allocationSize` bytes.
 */
export function listIndex(
  rootValue: Buffer,
  readAllocation: (buf: Buffer, offset: number) => number,
  allocationSize: number,
  clusterSize: number,
  what: string,
): IndexKey[] {
  if (rootValue.length < 0x20) throw new Error(`${what}: $INDEX_ROOT is too short`);
  const recordSize = rootValue.readUInt32LE(8);
  if (recordSize < 512 || recordSize > 65536 || (recordSize & (recordSize - 1)) !== 0) {
    throw new Error(`${what}: index record size ${recordSize} is not valid`);
  }
  // VCNs count clusters, or 512-byte blocks when index records are smaller than a cluster.
  const vcnSize = recordSize >= clusterSize ? clusterSize : 512;
  const out: IndexKey[] = [];
  const visited = new Set<number>();

  const walkNode = (node: Buffer, header: number, depth: number): void => {
    if (header + 16 > node.length) throw new Error(`${what}: node header runs past its node`);
    const start = header + node.readUInt32LE(header);
    const end = header + node.readUInt32LE(header + 4);
    if (end > node.length || start > end) throw new Error(`${what}: entries run past their node`);
    for (let pos = start; ; ) {
      if (pos + 16 > end) throw new Error(`${what}: an entry runs past its node (no last entry)`);
      const length = node.readUInt16LE(pos + 8);
      const keyLength = node.readUInt16LE(pos + 10);
      const flags = node.readUInt16LE(pos + 12);
      if (length < 16 || pos + length > end || 16 + keyLength > length) throw new Error(`${what}: entry at ${pos} runs past its node`);
      if (flags & 1) {
        if (length < 24) throw new Error(`${what}: entry at ${pos} has no room for its child VCN`);
        const vcn = Number(node.readBigUInt64LE(pos + length - 8));
        walkChild(vcn, depth + 1);
      }
      if (flags & 2) return;
      if (keyLength > 0) {
        const key = parseFileName(node.subarray(pos + 16, pos + 16 + keyLength));
        if (key.namespace !== NAMESPACE_DOS) {
          if (out.length >= MAX_ENTRIES) throw new Error(`${what}: more than ${MAX_ENTRIES} entries`);
          const ref = node.readBigUInt64LE(pos);
          out.push({ reference: Number(ref & 0xffffffffffffn), sequence: Number(ref >> 48n), key });
        }
      }
      pos += length;
    }
  };

  const walkChild = (vcn: number, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`${what}: the index is deeper than ${MAX_DEPTH} levels`);
    if (visited.has(vcn)) throw new Error(`${what} loops: index record at VCN ${vcn} is reached twice`);
    visited.add(vcn);
    const offset = vcn * vcnSize;
    if (!Number.isSafeInteger(offset) || offset + recordSize > allocationSize) {
      throw new Error(`${what}: index record at VCN ${vcn} lies past $INDEX_ALLOCATION (${allocationSize} bytes)`);
    }
    const node = Buffer.alloc(recordSize);
    readAllocation(node, offset);
    try {
      applyFixups(node, 'INDX');
    } catch (e) {
      throw new Error(`${what}: index record at VCN ${vcn} ${(e as Error).message}`);
    }
    if (Number(node.readBigUInt64LE(0x10)) !== vcn) throw new Error(`${what}: index record at VCN ${vcn} says it is VCN ${node.readBigUInt64LE(0x10)}`);
    walkNode(node, 0x18, depth);
  };

  walkNode(rootValue, 0x10, 0);
  return out;
}
