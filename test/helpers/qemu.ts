import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Runs qemu-img and returns its stdout; throws with stderr on failure. */
export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes `data` at byte `offset` of an image through qemu-io (the image's own format driver). */
export function qemuWrite(image: string, offset: number, data: Buffer, format = 'vmdk'): void {
  const dir = path.dirname(image);
  const blob = path.join(dir, `.qemu-io-${process.pid}-${Date.now()}.bin`);
  fs.writeFileSync(blob, data);
  try {
    // qemu-io's `write -s FILE` takes the bytes from a file, so the image's own driver places them.
    execFileSync('qemu-io', ['-f', format, '-c', `write -s ${blob} ${offset} ${data.length}`, image], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } finally {
    fs.rmSync(blob, { force: true });
  }
}

/** Fills a range with a repeated byte pattern via qemu-io (fast, no temp file). */
export function qemuFill(image: string, offset: number, length: number, byte: number, format = 'vmdk'): void {
  execFileSync('qemu-io', ['-f', format, '-c', `write -P ${byte} ${offset} ${length}`, image], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The flattened content of an image as qemu-img sees it, as a raw file beside it. */
export function qemuRaw(image: string, format?: string): string {
  const out = `${image}.qemu-raw`;
  const args = ['convert', '-O', 'raw'];
  if (format) args.push('-f', format);
  args.push(image, out);
  qemuImg(...args);
  return out;
}
