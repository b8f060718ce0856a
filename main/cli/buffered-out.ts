/**
 * Output of the listing commands (ls, find, vmfs ls): it collects here and goes to stdout in 64 KiB
 * writes — one write per line was a fifth of the time of `ls -R` over 100,000 files. Flushed before
 * any stderr line (to keep the order on a terminal) and when a command ends, even by an error.
 */
import { isUtf8 } from 'node:buffer';

/** Bytes collected before a write; a buffer the stream still holds is not written into again. */
const OUT_BYTES = 65536;
let out = Buffer.allocUnsafe(OUT_BYTES);
let used = 0;

let flushAtExit = false;

/** A command that forgets to flush still prints everything (stdout writes are synchronous at exit). */
function flushAtEnd(): void {
  if (!flushAtExit) {
    process.on('exit', flushOut);
    flushAtExit = true;
  }
}

export function emit(text: string): void {
  flushAtEnd();
  // A UTF-16 unit is at most 3 bytes of UTF-8.
  if (used + text.length * 3 > OUT_BYTES) {
    flushOut();
    if (text.length * 3 > OUT_BYTES) {
      process.stdout.write(text);
      return;
    }
  }
  // Short ASCII text (a folder's heading, most lines) copied here: Buffer.write checks its arguments in
  // JavaScript first, a microsecond and a half per call before V8 optimises it.
  if (text.length <= SHORT) {
    const bytes = out;
    let at = used;
    let k = 0;
    for (; k < text.length; k++) {
      const c = text.charCodeAt(k);
      if (c >= 0x80) break;
      bytes[at++] = c;
    }
    if (k === text.length) {
      used = at;
      return;
    }
  }
  used += out.write(text, used);
}

const SHORT = 256;

/**
 * Lines of names straight from their bytes: name order[k] for k from `from` on is lengths[i] bytes at
 * starts[i] of `src`. Names are copied as they are and the copy checked once for valid UTF-8 (one native
 * call, not a test per byte); where it is not, the names are copied again one by one while they are
 * ASCII. Stops at a name to print as text instead (bad UTF-8 shows U+FFFD there) and returns its k, or
 * order.length. One call per folder, not per name: the loop runs 100,000 times in `ls -R`, mostly unoptimised.
 */
export function emitNameLines(src: Uint8Array, starts: Uint32Array, lengths: Uint16Array, order: Uint32Array, from: number): number {
  flushAtEnd();
  for (let k = from; ; ) {
    const mark = used;
    let next = copyLines(src, starts, lengths, order, k, false);
    if (!isUtf8(out.subarray(mark, used))) {
      used = mark;
      next = copyLines(src, starts, lengths, order, k, true);
    }
    if (next === order.length) return next;
    // Stopped for room: write out and go on (a name longer than the buffer, or not ASCII, is printed as text).
    const length = lengths[order[next]!]! + 1;
    if (used + length <= OUT_BYTES || length > OUT_BYTES) return next;
    flushOut();
    k = next;
  }
}

/**
 * emitNameLines' copy while there is room, of ASCII names only when `asciiOnly`; no call in its loops (a
 * call with no feedback yet made V8 throw its optimised code away).
 */
function copyLines(src: Uint8Array, starts: Uint32Array, lengths: Uint16Array, order: Uint32Array, from: number, asciiOnly: boolean): number {
  const bytes = out;
  let at = used;
  let k = from;
  for (; k < order.length; k++) {
    const i = order[k]!;
    const start = starts[i]!;
    const end = start + lengths[i]!;
    if (at + end - start + 1 > OUT_BYTES) break;
    if (asciiOnly) {
      let p = start;
      while (p < end && src[p]! < 0x80) p++;
      if (p < end) break;
    }
    for (let p = start; p < end; p++) bytes[at++] = src[p]!;
    bytes[at++] = NEWLINE;
  }
  used = at;
  return k;
}

const NEWLINE = 0x0a;

export function flushOut(): void {
  if (used === 0) return;
  process.stdout.write(out.subarray(0, used));
  // Written at once (a file or a pipe on Linux): the buffer is free again. Queued (a pipe elsewhere):
  // the stream keeps it, and the next bytes go to a new one.
  if (process.stdout.writableLength > 0) out = Buffer.allocUnsafe(OUT_BYTES);
  used = 0;
}

export function print(text: string): void {
  emit(`${text}\n`);
}

/** A problem in one folder or file: said on stderr, the command goes on and exits 1. */
export function problemReporter(file: string): { report: (p: { message: string }) => void; failed: () => boolean } {
  let any = false;
  return {
    report: (p) => {
      any = true;
      flushOut();
      process.stderr.write(`diskchain: ${file}: ${p.message}\n`);
    },
    failed: () => any,
  };
}
