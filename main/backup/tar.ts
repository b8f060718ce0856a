/**
 * The archive as one POSIX ustar stream, written and read synchronously (the disk readers and
 * writers are synchronous, and a worker thread may block). Writing emits plain files only, each a
 * 512-byte header, the data, zero padding to 512, and two zero blocks at the end: what `tar -tf`
 * and `tar -xf` read. Reading also understands what other tars add when an archive folder is
 * re-packed: pax headers (path, size), GNU long names, `./` prefixes and folder entries.
 */
import * as fs from 'node:fs';
import { DiskchainError } from '../../shared/errors.js';

export const BLOCK = 512;
/** 11 octal digits: ustar's size field holds up to 8 GiB − 1. */
const MAX_USTAR_SIZE = 8 * 1024 ** 3 - 1;
/** Bytes of the name field. */
export const MAX_TAR_NAME = 100;

export function tarHeader(name: string, sizeBytes: number, mtime: Date): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > MAX_TAR_NAME) throw new DiskchainError('E_INTERNAL', `tar entry name longer than ${MAX_TAR_NAME} bytes: ${name}`);
  if (sizeBytes > MAX_USTAR_SIZE) throw new DiskchainError('E_INTERNAL', `tar entry ${name} is larger than ustar allows`);
  const h = Buffer.alloc(BLOCK);
  nameBytes.copy(h, 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, sizeBytes);
  octal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write('0', 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  const sum = h.reduce((s, b) => s + b, 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return h;
}

/** Zero bytes that bring an entry of `sizeBytes` to a whole block. */
export function tarPadding(sizeBytes: number): Buffer {
  return Buffer.alloc((BLOCK - (sizeBytes % BLOCK)) % BLOCK);
}

export const TAR_END = Buffer.alloc(2 * BLOCK);

function octal(h: Buffer, at: number, width: number, value: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, at, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Fills `buf` from the input; returns fewer bytes only at the end of the input. */
export type ReadInput = (buf: Buffer) => number;

export interface TarEntry {
  name: string;
  sizeBytes: number;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Reads a file descriptor (stdin) to fill `buf`; retries EAGAIN on a non-blocking pipe. */
export function fdInput(fd: number): ReadInput {
  return (buf) => {
    let done = 0;
    while (done < buf.length) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, done, buf.length - done, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(pause, 0, 0, 2);
          continue;
        }
        if (code === 'EOF') return done;
        throw new DiskchainError('E_IO', `cannot read the archive stream: ${(e as Error).message}`, fd === 0 ? 'stdin' : `fd ${fd}`);
      }
      if (n === 0) return done;
      done += n;
    }
    return done;
  };
}

/**
 * Entries of a tar stream in order. After `next()` returns an entry, read its data with
 * `readData` until it returns 0, or leave it: the next `next()` skips what is left.
 */
export class TarReader {
  private remaining = 0;
  private padding = 0;
  private readonly block = Buffer.alloc(BLOCK);
  /** Bytes of the stream consumed so far, for error messages. */
  position = 0;

  /**
   * `seek`, on a seekable input (a tar file rather than a pipe): moves the input on by that many
   * bytes, so skipping an entry costs no reads (archive-source.ts indexes a tar by its headers).
   */
  constructor(
    private readonly input: ReadInput,
    private readonly what: string,
    private readonly seek?: (bytes: number) => void,
  ) {}

  next(): TarEntry | null {
    this.skip(this.remaining + this.padding);
    let longName: string | null = null;
    let paxPath: string | null = null;
    let paxSize: number | null = null;
    for (;;) {
      if (!this.readBlock()) throw this.damaged('the stream ended without the end-of-archive blocks: it was cut off');
      if (this.block.every((b) => b === 0)) return null;
      const header = this.parseHeader();
      const data = (): Buffer => this.readAll(header.sizeBytes);
      if (header.type === 'x') {
        const pax = parsePax(data());
        paxPath = pax.get('path') ?? paxPath;
        const size = pax.get('size');
        if (size !== undefined) paxSize = Number(size);
        continue;
      }
      if (header.type === 'L') {
        longName = data().toString('utf8').replace(/\0+$/, '');
        continue;
      }
      const sizeBytes = paxSize ?? header.sizeBytes;
      const name = normalizeName(paxPath ?? longName ?? header.name);
      if (header.type !== '0' && header.type !== '\0' && header.type !== '7') {
        // Folders, links, global pax headers: nothing a Diskchain archive needs.
        this.skip(sizeBytes + ((BLOCK - (sizeBytes % BLOCK)) % BLOCK));
        longName = paxPath = null;
        paxSize = null;
        continue;
      }
      this.remaining = sizeBytes;
      this.padding = (BLOCK - (sizeBytes % BLOCK)) % BLOCK;
      return { name, sizeBytes };
    }
  }

  /** Reads the current entry's data into `buf`; 0 at its end. */
  readData(buf: Buffer): number {
    const want = Math.min(buf.length, this.remaining);
    if (want === 0) return 0;
    const n = this.input(buf.subarray(0, want));
    this.position += n;
    if (n < want) throw this.damaged('the stream ended in the middle of an entry: it was cut off');
    this.remaining -= n;
    return n;
  }

  private readBlock(): boolean {
    const n = this.input(this.block);
    this.position += n;
    if (n === 0) return false;
    if (n < BLOCK) throw this.damaged('the stream ended in the middle of a header: it was cut off');
    return true;
  }

  private readAll(size: number): Buffer {
    if (size > 1024 * 1024) throw this.damaged(`a ${size}-byte tar extension header is not plausible`);
    const buf = Buffer.alloc(size + ((BLOCK - (size % BLOCK)) % BLOCK));
    const n = this.input(buf);
    this.position += n;
    if (n < buf.length) throw this.damaged('the stream ended in the middle of an entry: it was cut off');
    return buf.subarray(0, size);
  }

  private skip(bytes: number): void {
    if (this.seek) {
      this.seek(bytes);
      this.position += bytes;
      this.remaining = 0;
      this.padding = 0;
      return;
    }
    const scratch = Buffer.alloc(Math.min(bytes, 1024 * 1024));
    let left = bytes;
    while (left > 0) {
      const n = this.input(scratch.subarray(0, Math.min(left, scratch.length)));
      this.position += n;
      if (n === 0) throw this.damaged('the stream ended in the middle of an entry: it was cut off');
      left -= n;
    }
    this.remaining = 0;
    this.padding = 0;
  }

  private parseHeader(): { name: string; sizeBytes: number; type: string } {
    const h = this.block;
    const stored = parseOctal(h.subarray(148, 156));
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    const sum = copy.reduce((s, b) => s + b, 0);
    if (stored !== sum) throw this.damaged('not a tar stream (a header checksum does not match)');
    const name = cString(h.subarray(0, 100));
    const isUstar = h.subarray(257, 262).toString('latin1') === 'ustar';
    const prefix = isUstar ? cString(h.subarray(345, 500)) : '';
    return {
      name: prefix ? `${prefix}/${name}` : name,
      sizeBytes: parseSize(h.subarray(124, 136)),
      type: String.fromCharCode(h[156]!),
    };
  }

  private damaged(message: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `${message} (at byte ${this.position})`, this.what);
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function parseOctal(b: Buffer): number {
  const text = b.toString('latin1').replace(/[\0 ]+/g, ' ').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** Octal, or GNU base-256 (high bit of the first byte set) for sizes past 8 GiB. */
function parseSize(b: Buffer): number {
  if ((b[0]! & 0x80) === 0) return parseOctal(b);
  let value = b[0]! & 0x7f;
  for (let i = 1; i < b.length; i++) value = value * 256 + b[i]!;
  return value;
}

/** pax records: "LEN key=value\n". */
function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

function normalizeName(name: string): string {
  return name.replace(/^(\.\/)+/, '');
}
