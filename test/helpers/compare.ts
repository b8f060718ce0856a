import * as fs from 'node:fs';
import { expect } from 'vitest';
import type { Chain } from '../../main/disk/chain.js';

/** Compares every byte the chain reads with a raw file (qemu's view), in 1 MiB pieces. */
export function expectSameAsRaw(chain: Chain, rawPath: string): void {
  const rawSize = fs.statSync(rawPath).size;
  expect(chain.capacityBytes).toBe(rawSize);
  const fd = fs.openSync(rawPath, 'r');
  try {
    const piece = 1024 * 1024;
    const ours = Buffer.alloc(piece);
    const theirs = Buffer.alloc(piece);
    for (let at = 0; at < rawSize; at += piece) {
      const n = Math.min(piece, rawSize - at);
      chain.read(ours.subarray(0, n), at);
      fs.readSync(fd, theirs, 0, n, at);
      if (!ours.subarray(0, n).equals(theirs.subarray(0, n))) {
        let i = 0;
        while (ours[i] === theirs[i]) i++;
        expect.fail(`first difference at byte ${at + i}: ours ${ours[i]}, qemu ${theirs[i]}`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
