/** The ext metadata cache: windows of blocks, bounded, and a damaged neighbour never costs a readable block. */
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { bufferDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { BlockCache } from '../../../main/guest/ext/block-cache.js';
import { patternBytes } from '../../helpers/tmp.js';

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
});
