/**
 * A flat disk inside a VMFS image is read straight from the image file (cat's fast path, as for a
 * host flat file): the chain's map names the image and the byte there where each run lies, holes
 * and lazy-zeroed blocks read as zeros, and a file across two extents' images names both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Chain } from '../../../main/disk/chain.js';
import { withChain } from '../../helpers/chain.js';
import { flatChunks } from '../../../main/disk/stream.js';
import { chainDevice } from '../../../main/guest/block-device.js';
import { installVmfsPaths, joinVmfsPath } from '../../../main/vmfs/paths.js';
import { writeVmfsFlatDescriptor } from '../../fixtures/cowd-builder.js';
import { patternBytes } from '../../fixtures/pattern.js';
import { buildVmfs } from '../../fixtures/vmfs-builder.js';
import { buildDatastore } from '../../helpers/vmfs-datastore.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const dir = tmpDir('diskchain-vmfs-host-regions-');
beforeAll(() => installVmfsPaths());

/** The disk as cat writes it; each piece copied before the next reuses its buffer. */
function catBytes(chain: Chain): Buffer {
  const out: Buffer[] = [];
  for (const piece of flatChunks(chain, 2 * MiB, 512 * 1024)) out.push(Buffer.from(piece));
  return Buffer.concat(out);
}

describe('a flat disk inside a VMFS image', () => {
  // 8 MiB over 1 MiB blocks: block 2 a hole (thin), block 5 lazy-zeroed (TBZ), the data across the extents' boundary.
  const BLOCKS = 8;
  const data = patternBytes(BLOCKS * MiB, 57);
  const expected = Buffer.from(data);
  expected.fill(0, 2 * MiB, 3 * MiB);
  expected.fill(0, 5 * MiB, 6 * MiB);
  const stage = path.join(dir, 'stage');
  fs.mkdirSync(stage, { recursive: true });
  const descriptor = path.join(stage, 'disk.vmdk');
  writeVmfsFlatDescriptor(descriptor, { capacitySectors: data.length / 512, flatFileName: 'disk-flat.vmdk', cid: 0x5a5a5a5a });
  const built = buildVmfs(dir, 'span', {
    version: 5,
    spanAtPE: 1,
    pes: 2,
    firstDataBlock: 252,
    files: [
      { path: '/vm/disk.vmdk', content: fs.readFileSync(descriptor) },
      { path: '/vm/disk-flat.vmdk', content: data, layout: 'direct', holes: [2], tbz: [5] },
    ],
  });
  fs.writeFileSync(path.join(stage, 'disk-flat.vmdk'), expected);
  const inImage = joinVmfsPath(built.images, '/vm/disk.vmdk');

  /** Across the extent boundary: runs in both images, each holding the disk's bytes where it says. */
  function expectPlaced(placed: Array<{ offset: number; length: number; file?: string; position?: number }>): void {
    expect(new Set(placed.map((r) => r.file))).toEqual(new Set(built.images.map((i) => path.resolve(i))));
    for (const r of placed) {
      const fd = fs.openSync(r.file!, 'r');
      const got = Buffer.alloc(r.length);
      fs.readSync(fd, got, 0, r.length, r.position!);
      fs.closeSync(fd);
      expect(got.equals(expected.subarray(r.offset, r.offset + r.length))).toBe(true);
    }
  }

  it('as a guest device, says where its bytes lie in the image files (get and the ext reader read them from there)', () => {
    const runs = withChain(inImage, (chain) => chainDevice(chain).hostRuns!(0, chain.capacityBytes));
    expect(runs.reduce((sum, r) => sum + r.length, 0)).toBe(data.length);
    expect(runs.filter((r) => r.zero).map((r) => [r.offset, r.length])).toEqual([
      [2 * MiB, MiB],
      [5 * MiB, MiB],
    ]);
    expectPlaced(runs.filter((r) => !r.zero));
  });

  it('maps its data to where it lies in the image files, holes and TBZ blocks as zeros', () => {
    const runs = withChain(inImage, (chain) => chain.mapRuns(0, chain.capacityBytes, true));
    const zeros = runs.filter((r) => r.state === 'zero').map((r) => [r.offset, r.length]);
    expect(zeros).toEqual([
      [2 * MiB, MiB],
      [5 * MiB, MiB],
    ]);
    const placed = runs.filter((r) => r.state === 'data');
    expect(placed.every((r) => r.file !== undefined && r.position !== undefined)).toBe(true);
    expectPlaced(placed);
  });

  it('reads byte for byte as its copy on the host', () => {
    const host = withChain(descriptor, catBytes);
    expect(host.equals(expected)).toBe(true);
    expect(withChain(inImage, catBytes).equals(host)).toBe(true);
  });
});

describe('sparse links inside a VMFS image', () => {
  it('name no file inside the image as a host file: their grains are read through the link', () => {
    const ds = buildDatastore(path.join(dir, 'ds'));
    withChain(ds.inImage('/web01/web01-000002.vmdk'), (chain) => {
      const runs = chain.mapRuns(0, chain.capacityBytes, true);
      for (const r of runs) if (r.file !== undefined) expect(fs.statSync(r.file).isFile()).toBe(true);
      expect(catBytes(chain).equals(ds.chainBytes)).toBe(true);
    });
  });
});
