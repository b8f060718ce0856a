import { describe, expect, it } from 'vitest';
import { pageAlignedBuffer } from '../../../main/io/aligned-buffer.js';

describe('pageAlignedBuffer', () => {
  it('gives a zero-filled buffer of exactly the size asked, also between WebAssembly pages', () => {
    for (const size of [1, 4096, 100_000, 1024 * 1024]) {
      const buf = pageAlignedBuffer(size);
      expect(buf.length).toBe(size);
      expect(buf.every((b) => b === 0)).toBe(true);
    }
  });

  it('gives each caller memory of its own', () => {
    const a = pageAlignedBuffer(65536);
    const b = pageAlignedBuffer(65536);
    a.fill(0xab);
    expect(b.every((x) => x === 0)).toBe(true);
    expect(a.buffer).not.toBe(b.buffer);
  });
});
