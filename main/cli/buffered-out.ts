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

/**
 * Bytes [from, to) of `src` and a newline, when they are all ASCII (most names: their bytes are their
 * text); false, with nothing written, for any other bytes (print them as text: bad UTF-8 shows U+FFFD).
 */
export function emitAsciiLine(src: Uint8Array, from: number, to: number): boolean {
  flushAtEnd();
  if (used + to - from + 1 > OUT_BYTES) {
    flushOut();
    if (to - from + 1 > OUT_BYTES) return false;
  }
  // Names are short: a loop beats a native copy's call.
  const bytes = out;
  let at = used;
  for (let k = from; k < to; k++) {
    const b = src[k]!;
    if (b >= 0x80) return false;
    bytes[at++] = b;
  }
  bytes[at++] = NEWLINE;
  used = at;
  return true;
}

const NEWLINE = 0x0a;

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
