import { crc32cUpdate } from '../crc.js';

const ZEROS = new Uint8Array(4);

/** The CRC-32C (Castagnoli) of bytes with the 4-byte field at crcOffset read as zeros, as XFS computes it. */
export function crc32cWithHole(bytes: Uint8Array, crcOffset: number): number {
  let crc = crc32cUpdate(0xffffffff, bytes.subarray(0, crcOffset));
  crc = crc32cUpdate(crc, ZEROS);
  crc = crc32cUpdate(crc, bytes.subarray(crcOffset + 4));
  return (crc ^ 0xffffffff) >>> 0;
}

/** True when the little-endian CRC stored at crcOffset matches the bytes (XFS stores its CRCs little-endian). */
export function crcMatches(bytes: Buffer, crcOffset: number): boolean {
  return bytes.readUInt32LE(crcOffset) === crc32cWithHole(bytes, crcOffset);
}
