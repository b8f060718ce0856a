/**
 * LZX as WOF/CompactOS (and WIM) use it: a 32 KiB window, each chunk decoded on its own, E8 call
 * translation with the fixed file size 12,000,000. Verbatim, aligned-offset and uncompressed blocks;
 * codeword lengths are delta-coded through a pretree. Bit reads past the input give zeros, and output
 * is bounded by the chunk, so damage ends as an error, never a hang or an overrun.
 */
const MAIN_LITERALS = 256;
const OFFSET_SLOTS = 30; // a 32 KiB window
const MAIN_SYMBOLS = MAIN_LITERALS + 8 * OFFSET_SLOTS;
const LENGTH_SYMBOLS = 249;
const PRETREE_SYMBOLS = 20;
const ALIGNED_SYMBOLS = 8;
const MAX_CODE_BITS = 16;
const E8_FILE_SIZE = 12_000_000;

const SLOT_BASE: number[] = [];
const SLOT_EXTRA: number[] = [];
for (let slot = 0, base = 0; slot < OFFSET_SLOTS; slot++) {
  const extra = slot < 4 ? 0 : Math.min(17, (slot >> 1) - 1);
  SLOT_BASE.push(base);
  SLOT_EXTRA.push(extra);
  base += 1 << extra;
}

class Bits {
  private buf = 0;
  private left = 0;
  pos = 0;

  constructor(private readonly input: Buffer) {}

  private fill(n: number): void {
    while (this.left < n) {
      const word = this.pos + 2 <= this.input.length ? this.input.readUInt16LE(this.pos) : 0;
      this.pos += 2;
      this.buf = this.buf * 65536 + word;
      this.left += 16;
    }
  }

  peek(n: number): number {
    this.fill(n);
    return Math.floor(this.buf / 2 ** (this.left - n));
  }

  skip(n: number): void {
    this.fill(n);
    this.left -= n;
    this.buf %= 2 ** this.left;
  }

  read(n: number): number {
    if (n === 0) return 0;
    const value = this.peek(n);
    this.skip(n);
    return value;
  }

  /** Drops the bits left in the current 16-bit word (before an uncompressed block). */
  align(): void {
    if (this.left === 0) this.fill(16);
    this.left = 0;
    this.buf = 0;
  }

  get overrun(): boolean {
    return this.pos > this.input.length + 4;
  }
}

class Huffman {
  readonly lengths: Uint8Array;
  private readonly table = new Uint16Array(1 << MAX_CODE_BITS);
  private empty = true;

  constructor(readonly symbols: number) {
    this.lengths = new Uint8Array(symbols);
  }

  build(what: string): void {
    this.table.fill(0xffff);
    this.empty = true;
    let code = 0;
    for (let length = 1; length <= MAX_CODE_BITS; length++) {
      for (let symbol = 0; symbol < this.symbols; symbol++) {
        if (this.lengths[symbol] !== length) continue;
        const span = 1 << (MAX_CODE_BITS - length);
        if ((code + 1) * span > this.table.length) throw new Error(`LZX ${what} code is over-subscribed`);
        this.table.fill(symbol, code * span, (code + 1) * span);
        code++;
        this.empty = false;
      }
      code <<= 1;
    }
  }

  decode(bits: Bits, what: string): number {
    if (this.empty) throw new Error(`LZX ${what} code is empty but used`);
    const symbol = this.table[bits.peek(MAX_CODE_BITS)] as number;
    if (symbol === 0xffff) throw new Error(`LZX bitstream holds a ${what} code that is not in its table`);
    bits.skip(this.lengths[symbol] as number);
    return symbol;
  }
}

interface Codes {
  main: Huffman;
  lengthCode: Huffman;
  aligned: Huffman;
  pretree: Huffman;
}

/** Made at the first LZX chunk, not when the module loads: half a MiB of tables no other command needs. */
let codes: Codes | undefined;

function lzxCodes(): Codes {
  codes ??= { main: new Huffman(MAIN_SYMBOLS), lengthCode: new Huffman(LENGTH_SYMBOLS), aligned: new Huffman(ALIGNED_SYMBOLS), pretree: new Huffman(PRETREE_SYMBOLS) };
  return codes;
}

/** Reads lengths[start, end) delta-coded against their previous values, through a pretree. */
function readLengths(bits: Bits, pretree: Huffman, lengths: Uint8Array, start: number, end: number): void {
  for (let i = 0; i < PRETREE_SYMBOLS; i++) pretree.lengths[i] = bits.read(4);
  pretree.build('pretree');
  for (let i = start; i < end; ) {
    const symbol = pretree.decode(bits, 'pretree');
    if (symbol < 17) {
      lengths[i] = ((lengths[i] as number) - symbol + 17) % 17;
      i++;
      continue;
    }
    let run: number;
    let value = 0;
    if (symbol === 17) run = 4 + bits.read(4);
    else if (symbol === 18) run = 20 + bits.read(5);
    else {
      run = 4 + bits.read(1);
      value = ((lengths[i] as number) - pretree.decode(bits, 'pretree') + 17) % 17;
    }
    if (i + run > end) throw new Error('LZX codeword-length run passes the end of its code');
    lengths.fill(value, i, i + run);
    i += run;
  }
}

/** Decompresses one chunk (at most 32 KiB) into `out`, which is its exact uncompressed size. */
export function lzxDecompress(input: Buffer, out: Buffer): void {
  if (out.length > 32768) throw new Error('LZX chunk larger than its 32 KiB window');
  const bits = new Bits(input);
  const { main, lengthCode, aligned, pretree } = lzxCodes();
  main.lengths.fill(0);
  lengthCode.lengths.fill(0);
  const recent = [1, 1, 1];
  let outPos = 0;
  while (outPos < out.length) {
    if (bits.overrun) throw new Error('LZX bitstream ends before the chunk is complete');
    const type = bits.read(3);
    const blockSize = bits.read(1) ? 32768 : bits.read(16);
    if (blockSize === 0 || blockSize > out.length - outPos) throw new Error(`LZX block of ${blockSize} bytes does not fit the chunk`);
    const blockEnd = outPos + blockSize;
    if (type === 3) {
      bits.align();
      let at = bits.pos;
      if (at + 12 + blockSize > input.length) throw new Error('LZX uncompressed block runs past the chunk');
      for (let i = 0; i < 3; i++) recent[i] = input.readUInt32LE(at + 4 * i);
      at += 12;
      input.copy(out, outPos, at, at + blockSize);
      outPos = blockEnd;
      bits.pos = at + blockSize + (blockSize & 1);
      continue;
    }
    if (type !== 1 && type !== 2) throw new Error(`LZX block type ${type} is not valid`);
    if (type === 2) {
      for (let i = 0; i < ALIGNED_SYMBOLS; i++) aligned.lengths[i] = bits.read(3);
      aligned.build('aligned offset');
    }
    readLengths(bits, pretree, main.lengths, 0, MAIN_LITERALS);
    readLengths(bits, pretree, main.lengths, MAIN_LITERALS, MAIN_SYMBOLS);
    main.build('main');
    readLengths(bits, pretree, lengthCode.lengths, 0, LENGTH_SYMBOLS);
    lengthCode.build('length');
    while (outPos < blockEnd) {
      if (bits.overrun) throw new Error('LZX bitstream ends before the chunk is complete');
      const symbol = main.decode(bits, 'main');
      if (symbol < MAIN_LITERALS) {
        out[outPos++] = symbol;
        continue;
      }
      const header = (symbol - MAIN_LITERALS) & 7;
      const slot = (symbol - MAIN_LITERALS) >> 3;
      const length = 2 + header + (header === 7 ? lengthCode.decode(bits, 'length') : 0);
      let offset: number;
      if (slot < 3) {
        offset = recent[slot] as number;
        recent[slot] = recent[0] as number;
        recent[0] = offset;
      } else {
        const extra = SLOT_EXTRA[slot] as number;
        let value = SLOT_BASE[slot] as number;
        if (type === 2 && extra >= 3) value += bits.read(extra - 3) * 8 + aligned.decode(bits, 'aligned offset');
        else value += bits.read(extra);
        offset = value - 2;
        recent[2] = recent[1] as number;
        recent[1] = recent[0] as number;
        recent[0] = offset;
      }
      if (offset <= 0 || offset > outPos) throw new Error('LZX match points before the chunk start');
      if (outPos + length > blockEnd) throw new Error('LZX match runs past its block');
      for (const end = outPos + length; outPos < end; outPos++) out[outPos] = out[outPos - offset] as number;
    }
  }
  undoE8(out);
}

/** Turns the absolute targets of E8 (x86 CALL) instructions back into relative ones. */
function undoE8(out: Buffer): void {
  for (let i = 0; i < out.length - 10; ) {
    if (out[i] !== 0xe8) {
      i++;
      continue;
    }
    const absolute = out.readInt32LE(i + 1);
    if (absolute >= 0) {
      if (absolute < E8_FILE_SIZE) out.writeInt32LE(absolute - i, i + 1);
    } else if (absolute >= -i) {
      out.writeInt32LE(absolute + E8_FILE_SIZE, i + 1);
    }
    i += 5;
  }
}
