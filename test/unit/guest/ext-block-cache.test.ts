/** The ext metadata cache: windows of blocks, bounded, and a damaged neighbour never costs a readable block. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { bufferDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { BlockCache } from '../../../main/guest/ext/block-cache.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const BS = 4096;
const bytes = patternBytes(64 * BS, 3);

function counted(bad?: number): { device: BlockDevice; reads: () => number } {
  const inner = bufferDevice(bytes, 'vol.img');
  let reads = 0;
  return {
    device: {
      ...inner,
      read: (buf, offset) => {
        reads++;
        // A damaged grain: any read that covers block `bad` fails.
        if (bad !== undefined && offset < (bad + 1) * BS && offset + buf.length > bad * BS) throw new DiskchainError('E_FORMAT', 'grain 7 is damaged', 'vol.img');
        inner.read(buf, offset);
      },
    },
    reads: () => reads,
  };
}

describe('ext BlockCache', () => {
  it('reads a window once for its blocks, and keeps at most capacity bytes of windows', () => {
    const { device, reads } = counted();
    const cache = new BlockCache(device, BS, 4 * 4 * BS, 4 * BS);
    for (let b = 0; b < 8; b++) expect(cache.get(b).equals(bytes.subarray(b * BS, (b + 1) * BS))).toBe(true);
    expect(reads()).toBe(2);
    for (let b = 8; b < 64; b += 4) cache.get(b);
    // Four windows fit: block 0's window was dropped and is read again.
    cache.get(0);
    expect(reads()).toBe(2 + 14 + 1);
  });

  it('a window that cannot be read still gives the blocks that can, one by one', () => {
    const { device } = counted(2);
    const cache = new BlockCache(device, BS, 16 * BS, 4 * BS);
    expect(cache.get(1).equals(bytes.subarray(BS, 2 * BS))).toBe(true);
    expect(cache.get(3).equals(bytes.subarray(3 * BS, 4 * BS))).toBe(true);
    expect(() => cache.get(2)).toThrow(/grain 7 is damaged/);
  });

  it('where the device says where its bytes lie in host files, reads just the blocks asked for, from there', () => {
    // Blocks 0–9 lie in a host file 1000 bytes in (a run boundary inside block 2), blocks 10–11 read as
    // zeros, 12–63 only through the device.
    const host = path.join(tmpDir('diskchain-block-cache-'), 'grains.bin');
    const file = Buffer.alloc(1000 + 10 * BS + 50, 0xee);
    bytes.copy(file, 1000, 0, 2 * BS + 100);
    bytes.copy(file, 1000 + 2 * BS + 100 + 50, 2 * BS + 100, 10 * BS);
    fs.writeFileSync(host, file);
    const { device, reads } = counted();
    const withRuns: BlockDevice = {
      ...device,
      hostRuns: (offset, length) => {
        expect([offset, length]).toEqual([0, 64 * BS]);
        return [
          { offset: 0, length: 2 * BS + 100, file: host, position: 1000 },
          { offset: 2 * BS + 100, length: 8 * BS - 100, file: host, position: 1000 + 2 * BS + 150 },
          { offset: 10 * BS, length: 2 * BS, zero: true },
          { offset: 12 * BS, length: 52 * BS },
        ];
      },
    };
    const cache = new BlockCache(withRuns, BS, 16 * BS, 4 * BS);
    for (const b of [0, 2, 3, 9, 1]) expect(cache.get(b).equals(bytes.subarray(b * BS, (b + 1) * BS)), `block ${b}`).toBe(true);
    expect(reads()).toBe(0);
    expect(cache.get(11).equals(Buffer.alloc(BS))).toBe(true);
    expect(cache.get(13).equals(bytes.subarray(13 * BS, 14 * BS))).toBe(true);
    expect(cache.get(13).equals(bytes.subarray(13 * BS, 14 * BS))).toBe(true);
    // One block through the device, once: not its window.
    expect(reads()).toBe(1);
  });

  it('where the device cannot say where its bytes lie, each block is read through it', () => {
    const { device, reads } = counted();
    const cache = new BlockCache(
      {
        ...device,
        hostRuns: () => {
          throw new DiskchainError('E_FORMAT', 'grain table 0 is damaged', 'vol.img');
        },
      },
      BS,
      16 * BS,
      4 * BS,
    );
    expect(cache.get(5).equals(bytes.subarray(5 * BS, 6 * BS))).toBe(true);
    expect(reads()).toBe(1);
  });
});
