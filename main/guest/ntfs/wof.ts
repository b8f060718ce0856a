/**
 * WOF/CompactOS files (reparse tag 0x80000017): the unnamed $DATA is a sparse placeholder of the real
 * size, the bytes live in the named stream WofCompressedData as a chunk-offset table followed by
 * chunks compressed one by one (a chunk as long as its output is stored raw): XPRESS4K/8K/16K or LZX.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { StreamReader, Stream } from './stream.js';
import { lzxDecompress } from './lzx.js';
import { xpressHuffmanDecompress } from './xpress.js';

export const WOF_STREAM = 'WofCompressedData';

const ALGORITHMS: Record<number, { name: string; chunkSize: number }> = {
  0: { name: 'XPRESS4K', chunkSize: 4096 },
  1: { name: 'LZX', chunkSize: 32768 },
  2: { name: 'XPRESS8K', chunkSize: 8192 },
  3: { name: 'XPRESS16K', chunkSize: 16384 },
};

export interface WofInfo {
  algorithm: string;
  chunkSize: number;
}

/** The provider and algorithm in a WOF reparse value; throws a message when this version cannot read it. */
export function parseWofReparse(value: Buffer): WofInfo {
  if (value.length < 24) throw new Error(`has WOF reparse data of ${value.length} bytes, too short to name its algorithm`);
  const provider = value.readUInt32LE(12);
  if (provider !== 2) throw new Error(`is backed by a WIM file (WOF provider ${provider}), which is not on this volume`);
  const algorithm = ALGORITHMS[value.readUInt32LE(20)];
  if (!algorithm) throw new Error(`uses WOF algorithm ${value.readUInt32LE(20)}, which is not known`);
  return { algorithm: algorithm.name, chunkSize: algorithm.chunkSize };
}

export class WofReader {
  private key = '';
  private chunkIndex = -1;
  private readonly chunk = Buffer.alloc(32768);
  private readonly compressed = Buffer.alloc(32768);
  private readonly entry = Buffer.alloc(8);

  constructor(
    private readonly streams: StreamReader,
    private readonly file: string,
  ) {}

  /** Reads `buf.length` bytes (or up to `size`) of the uncompressed file at offset. */
  read(info: WofInfo, data: Stream, size: number, buf: Buffer, offset: number, what: string): number {
    if (offset >= size) return 0;
    const length = Math.min(buf.length, size - offset);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / info.chunkSize);
      const chunk = this.load(info, data, size, index, what);
      const inChunk = pos - index * info.chunkSize;
      const n = Math.min(length - done, chunk.length - inChunk);
      chunk.copy(buf, done, inChunk, inChunk + n);
      done += n;
    }
    return length;
  }

  private load(info: WofInfo, data: Stream, size: number, index: number, what: string): Buffer {
    const chunkSize = info.chunkSize;
    const chunks = Math.ceil(size / chunkSize);
    const outSize = Math.min(chunkSize, size - index * chunkSize);
    const key = `${data.what}:${size}`;
    if (this.key === key && this.chunkIndex === index) return this.chunk.subarray(0, outSize);
    const entrySize = size > 0xffffffff ? 8 : 4;
    const tableBytes = (chunks - 1) * entrySize;
    if (tableBytes > data.dataSize) throw this.damage(`${what}: its ${WOF_STREAM} is shorter than its chunk table`);
    const start = index === 0 ? 0 : this.tableEntry(data, (index - 1) * entrySize, entrySize);
    const end = index === chunks - 1 ? data.dataSize - tableBytes : this.tableEntry(data, index * entrySize, entrySize);
    if (start > end || end - start > outSize || tableBytes + end > data.dataSize) {
      throw this.damage(`${what}: WOF chunk ${index} (bytes ${start}-${end}) does not fit its stream`);
    }
    const out = this.chunk.subarray(0, outSize);
    this.key = '';
    if (end - start === outSize) {
      this.streams.read(data, out, tableBytes + start);
    } else {
      const input = this.compressed.subarray(0, end - start);
      this.streams.read(data, input, tableBytes + start);
      try {
        if (info.algorithm === 'LZX') lzxDecompress(input, out);
        else xpressHuffmanDecompress(input, out);
      } catch (e) {
        throw this.damage(`${what}: WOF chunk ${index}: ${(e as Error).message}`);
      }
    }
    this.key = key;
    this.chunkIndex = index;
    return out;
  }

  private tableEntry(data: Stream, at: number, entrySize: number): number {
    const entry = this.entry.subarray(0, entrySize);
    this.streams.read(data, entry, at);
    return entrySize === 8 ? Number(entry.readBigUInt64LE(0)) : entry.readUInt32LE(0);
  }

  private damage(message: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `NTFS ${message}`, this.file);
  }
}
