/**
 * Output of the listing commands (ls, find, vmfs ls): it collects here and goes to stdout in 64 KiB
 * writes — one write per line was a fifth of the time of `ls -R` over 100,000 files. Flushed before
 * any stderr line (to keep the order on a terminal) and when a command ends, even by an error.
 */
/** Bytes collected before a write; what a write hands to stdout is not written into again. */
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
  used += out.write(text, used);
}

/** Bytes [from, to) of `src`, as they are (names that are their own UTF-8), then `end` if given (a newline). */
export function emitBytes(src: Uint8Array, from: number, to: number, end = -1): void {
  flushAtEnd();
  const length = to - from + 1;
  if (used + length > OUT_BYTES) {
    flushOut();
    if (length > OUT_BYTES) {
      process.stdout.write(Buffer.from(src.subarray(from, to)));
      if (end >= 0) emit(String.fromCharCode(end));
      return;
    }
  }
  // Names are short: a loop beats a native copy's call.
  const bytes = out;
  let at = used;
  for (let k = from; k < to; k++) bytes[at++] = src[k]!;
  if (end >= 0) bytes[at++] = end;
  used = at;
}

export function flushOut(): void {
  if (used === 0) return;
  process.stdout.write(out.subarray(0, used));
  out = Buffer.allocUnsafe(OUT_BYTES);
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
