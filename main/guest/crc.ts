import * as zlib from 'node:zlib';

/** The CRC-32 of GPT headers and entry arrays (the zlib/IEEE one). */
export function crc32(bytes: Uint8Array): number {
  return zlib.crc32(bytes) >>> 0;
}

/**
 * LVM2's calc_crc: the same polynomial, but seeded with `initial` and without the final inversion
 * (lib/misc/crc.c), so it is zlib's CRC with both ends inverted.
 */
export function lvmCrc(bytes: Uint8Array, initial = LVM_INITIAL_CRC): number {
  return ~zlib.crc32(bytes, ~initial >>> 0) >>> 0;
}

export const LVM_INITIAL_CRC = 0xf597a6cf;
