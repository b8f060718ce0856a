/**
 * VMFS block addresses (vmfs.md §3.6). The type is in bits 0–2 of every address; the rest depends
 * on the type and, for VMFS-6, is 64 bits wide. JavaScript's bit operators are signed 32-bit, so
 * 32-bit fields are taken with `>>> 0` and 64-bit ones through BigInt.
 */

export const ADDR_FB = 1; // file block (VMFS-6: small file block)
export const ADDR_SB = 2; // sub-block
export const ADDR_PB = 3; // pointer block
export const ADDR_FD = 4; // file descriptor
export const ADDR_PB2 = 5; // pointer block in .pb2.sf
export const ADDR_LFB = 7; // VMFS-6 large file block

export interface Address {
  type: number;
  /** FB/LFB: the block number; SB/PB/FD: the cluster. */
  cluster: number;
  /** SB/PB/FD: the resource in its cluster. */
  resource: number;
  /** Bit i set: the i-th eighth of the block is to be zeroed (VMFS-6); VMFS-3/5 set all of them. */
  tbz: number;
}

export const addressType = (raw: bigint | number): number => Number(BigInt(raw) & 7n);

/** An FD address (32 bits in every version): cluster bits 6–21, resource bits 22–31. */
export function fdAddress(raw: number): Address {
  const v = raw >>> 0;
  return { type: v & 7, cluster: (v >>> 6) & 0xffff, resource: v >>> 22, tbz: 0 };
}

export const makeFdAddress = (cluster: number, resource: number): number => ((resource << 22) | (cluster << 6) | ADDR_FD) >>> 0;

/** A 32-bit VMFS-3/5 address. `denseSbpc`: the volume's config bit 0x4 adds two resource bits to sub-blocks. */
export function address32(raw: number, denseSbpc: boolean): Address {
  const v = raw >>> 0;
  const type = v & 7;
  switch (type) {
    case ADDR_FB:
      return { type, cluster: v >>> 6, resource: 0, tbz: (v >>> 5) & 1 ? 0xff : 0 };
    case ADDR_SB: {
      const high = denseSbpc ? ((v >>> 3) & 3) << 4 : 0;
      return { type, cluster: (v >>> 6) & 0x3fffff, resource: (v >>> 28) | high, tbz: 0 };
    }
    case ADDR_PB:
    case ADDR_PB2:
      return { type, cluster: (v >>> 6) & 0x3fffff, resource: v >>> 28, tbz: 0 };
    case ADDR_FD:
      return fdAddress(v);
    default:
      return { type, cluster: 0, resource: 0, tbz: 0 };
  }
}

const field = (v: bigint, from: number, to: number): number => Number((v >> BigInt(from)) & ((1n << BigInt(to - from + 1)) - 1n));

/** A 64-bit VMFS-6 address. */
export function address64(v: bigint): Address {
  const type = Number(v & 7n);
  switch (type) {
    case ADDR_FB:
      return { type, cluster: field(v, 15, 45), resource: field(v, 51, 63), tbz: field(v, 7, 14) };
    case ADDR_LFB:
      return { type, cluster: field(v, 15, 45), resource: 0, tbz: field(v, 7, 14) };
    case ADDR_SB:
    case ADDR_PB:
    case ADDR_PB2:
      return { type, cluster: field(v, 6, 41), resource: field(v, 56, 63), tbz: 0 };
    case ADDR_FD:
      return fdAddress(Number(v & 0xffffffffn));
    default:
      return { type, cluster: 0, resource: 0, tbz: 0 };
  }
}

/** The builders' side: the raw value of an address (the tests write volumes with these). */
export function encode32(a: Address): number {
  switch (a.type) {
    case ADDR_FB:
      return ((a.cluster << 6) | (a.tbz ? 0x20 : 0) | ADDR_FB) >>> 0;
    case ADDR_SB:
    case ADDR_PB:
    case ADDR_PB2:
      return (((a.resource & 0xf) << 28) | (a.cluster << 6) | (((a.resource >>> 4) & 3) << 3) | a.type) >>> 0;
    case ADDR_FD:
      return makeFdAddress(a.cluster, a.resource);
    default:
      throw new Error(`no 32-bit form for address type ${a.type}`);
  }
}

export function encode64(a: Address): bigint {
  const b = (n: number, at: number): bigint => BigInt(n) << BigInt(at);
  switch (a.type) {
    case ADDR_FB:
      return b(a.resource, 51) | b(a.cluster, 15) | b(a.tbz & 0xff, 7) | BigInt(ADDR_FB);
    case ADDR_LFB:
      return b(a.cluster, 15) | b(a.tbz & 0xff, 7) | BigInt(ADDR_LFB);
    case ADDR_SB:
    case ADDR_PB:
    case ADDR_PB2:
      return b(a.resource, 56) | b(a.cluster, 6) | BigInt(a.type);
    default:
      throw new Error(`no 64-bit form for address type ${a.type}`);
  }
}

export const TYPE_NAMES: Record<number, string> = { 1: 'FB', 2: 'SB', 3: 'PB', 4: 'FD', 5: 'PB2', 6: 'JB', 7: 'LFB' };
