import { zlib } from '../io/lazy-zlib.js';

/** The CRC-32 of GPT headers and entry arrays (the zlib/IEEE one). */
export function crc32(bytes: Uint8Array): number {
  return zlib().crc32(bytes) >>> 0;
}

/**
 * LVM2's calc_crc: the same polynomial, but seeded with `initial` and without the final inversion
 * (lib/misc/crc.c), so it is zlib's CRC with both ends inverted.
 */
export function lvmCrc(bytes: Uint8Array, initial = LVM_INITIAL_CRC): number {
  return ~zlib().crc32(bytes, ~initial >>> 0) >>> 0;
}

export const LVM_INITIAL_CRC = 0xf597a6cf;

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32C (Castagnoli) carried on from `crc` with no inversion at either end: the kernel's crc32c(),
 * which ext4 and jbd2 metadata checksums use (seeded with ~0, or with a per-volume seed).
 */
export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  let c = crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}
