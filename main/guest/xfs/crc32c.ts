/** CRC-32C (Castagnoli), the checksum of every XFS v5 metadata block. */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32C of bytes with the 4-byte field at crcOffset read as zeros, as XFS computes it. */
export function crc32cWithHole(bytes: Uint8Array, crcOffset: number): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    const b = i >= crcOffset && i < crcOffset + 4 ? 0 : bytes[i]!;
    crc = TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** True when the little-endian CRC stored at crcOffset matches the bytes (XFS stores its CRCs little-endian). */
export function crcMatches(bytes: Buffer, crcOffset: number): boolean {
  return bytes.readUInt32LE(crcOffset) === crc32cWithHole(bytes, crcOffset);
}
