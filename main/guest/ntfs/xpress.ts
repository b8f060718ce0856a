/**
 * XPRESS-Huffman (MS-XCA §2.1), the compression of WOF/CompactOS files (XPRESS4K/8K/16K): each chunk
 * starts with 512 4-bit code lengths, then a bitstream of 16-bit little-endian words read MSB first,
 * with extra length bytes read in line. One chunk is at most 64 KiB, so one Huffman table serves it.
 */
const TABLE_BITS = 15;
const SYMBOLS = 512;

/** Reused decode table: symbol for each 15-bit prefix, 0xffff where no code starts. */
const table = new Uint16Array(1 << TABLE_BITS);
const lengths = new Uint8Array(SYMBOLS);

/** Decompresses one chunk into `out` (its exact uncompressed size). Throws a message on damage. */
export function xpressHuffmanDecompress(input: Buffer, out: Buffer): void {
  if (out.length > 65536) throw new Error('XPRESS chunk larger than 64 KiB');
  if (input.length < 256 + 4) throw new Error('XPRESS chunk is shorter than its Huffman table');
  buildTable(input);
  let pos = 256;
  const word = (): number => {
    if (pos + 2 > input.length) {
      pos += 2;
      return 0; // past the end: zeros, caught below when output is still missing
    }
    const w = input.readUInt16LE(pos);
    pos += 2;
    return w;
  };
  let bits = ((word() << 16) | word()) >>> 0;
  let extra = 16;
  const consume = (n: number): void => {
    if (n === 0) return;
    bits = (bits << n) >>> 0;
    extra -= n;
    if (extra < 0) {
      bits = (bits | (word() << -extra)) >>> 0;
      extra += 16;
    }
  };
  let outPos = 0;
  while (outPos < out.length) {
    if (pos > input.length + 4) throw new Error('XPRESS bitstream ends before the chunk is complete');
    const symbol = table[bits >>> (32 - TABLE_BITS)] as number;
    if (symbol === 0xffff) throw new Error('XPRESS bitstream holds a code its table does not have');
    consume(lengths[symbol] as number);
    if (symbol < 256) {
      out[outPos++] = symbol;
      continue;
    }
    const offsetBits = (symbol - 256) >> 4;
    let length = (symbol - 256) & 0x0f;
    if (length === 15) {
      if (pos >= input.length) throw new Error('XPRESS match length runs past the chunk');
      length = input[pos++] as number;
      if (length === 255) {
        if (pos + 2 > input.length) throw new Error('XPRESS match length runs past the chunk');
        length = input.readUInt16LE(pos);
        pos += 2;
        if (length < 15) throw new Error('XPRESS match length is not valid');
        length -= 15;
      }
      length += 15;
    }
    length += 3;
    const offset = (offsetBits === 0 ? 0 : bits >>> (32 - offsetBits)) + (1 << offsetBits);
    consume(offsetBits);
    if (offset > outPos) throw new Error('XPRESS match points before the chunk start');
    const end = Math.min(outPos + length, out.length);
    for (; outPos < end; outPos++) out[outPos] = out[outPos - offset] as number;
  }
}

/** Canonical Huffman codes from the 4-bit lengths: shorter codes first, then by symbol. */
function buildTable(input: Buffer): void {
  for (let i = 0; i < 256; i++) {
    const byte = input[i] as number;
    lengths[2 * i] = byte & 0x0f;
    lengths[2 * i + 1] = byte >> 4;
  }
  table.fill(0xffff);
  let code = 0;
  for (let length = 1; length <= TABLE_BITS; length++) {
    for (let symbol = 0; symbol < SYMBOLS; symbol++) {
      if (lengths[symbol] !== length) continue;
      const span = 1 << (TABLE_BITS - length);
      const start = code * span;
      if (start + span > table.length) throw new Error('XPRESS Huffman table is over-subscribed');
      table.fill(symbol, start, start + span);
      code++;
    }
    code <<= 1;
  }
}
