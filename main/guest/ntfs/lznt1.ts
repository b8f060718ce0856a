/**
 * LZNT1, the compression of NTFS compressed files: a unit (16 clusters) holds 4 KiB chunks, each a
 * 2-byte header (size - 1 in bits 0-11, bit 15 = compressed) then literals and back references whose
 * offset/length split depends on the position in the chunk. Output is bounded by `out.length`.
 */
const CHUNK = 4096;

/** Decompresses `input` into `out`; returns the bytes written. Throws a message on damage. */
export function lznt1Decompress(input: Buffer, out: Buffer): number {
  let inPos = 0;
  let outPos = 0;
  while (inPos + 2 <= input.length && outPos < out.length) {
    const header = input.readUInt16LE(inPos);
    if (header === 0) break;
    const chunkSize = (header & 0x0fff) + 1;
    const chunkEnd = inPos + 2 + chunkSize;
    if (chunkEnd > input.length) throw new Error('LZNT1 chunk runs past the compressed data');
    inPos += 2;
    const chunkStart = outPos;
    const chunkLimit = Math.min(out.length, chunkStart + CHUNK);
    if ((header & 0x8000) === 0) {
      const n = Math.min(chunkSize, chunkLimit - outPos);
      input.copy(out, outPos, inPos, inPos + n);
      outPos += n;
    } else {
      outPos = decompressChunk(input, inPos, chunkEnd, out, chunkStart, chunkLimit);
    }
    // A short chunk stands for a whole 4 KiB: the rest is zeros (as Windows and ntfs-3g read it).
    out.fill(0, outPos, chunkLimit);
    outPos = chunkLimit;
    inPos = chunkEnd;
  }
  return outPos;
}

function decompressChunk(input: Buffer, start: number, chunkEnd: number, out: Buffer, chunkStart: number, chunkLimit: number): number {
  let inPos = start;
  let outPos = chunkStart;
  while (inPos < chunkEnd && outPos < chunkLimit) {
    const flags = input[inPos++] as number;
    for (let bit = 0; bit < 8 && inPos < chunkEnd && outPos < chunkLimit; bit++) {
      if ((flags & (1 << bit)) === 0) {
        out[outPos++] = input[inPos++] as number;
        continue;
      }
      if (inPos + 2 > chunkEnd) throw new Error('LZNT1 back reference runs past its chunk');
      const token = input.readUInt16LE(inPos);
      inPos += 2;
      let lengthMask = 0x0fff;
      let offsetShift = 12;
      for (let i = outPos - chunkStart - 1; i >= 0x10; i >>= 1) {
        lengthMask >>= 1;
        offsetShift--;
      }
      const offset = (token >> offsetShift) + 1;
      const length = (token & lengthMask) + 3;
      if (offset > outPos - chunkStart) throw new Error('LZNT1 back reference points before its chunk');
      const end = Math.min(outPos + length, chunkLimit);
      for (; outPos < end; outPos++) out[outPos] = out[outPos - offset] as number;
    }
  }
  return outPos;
}
