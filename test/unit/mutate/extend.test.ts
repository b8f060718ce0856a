import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { geometryReport } from '../../../main/disk/geometry.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { extendJob } from '../../../main/mutate/extend.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const ctx = inlineContext();

/** The old content is a prefix of the new disk, and the rest reads as zeros (checked with qemu). */
function expectGrown(disk: string, before: Buffer, size: number): void {
  const after = fs.readFileSync(qemuRaw(disk));
  expect(after.length).toBe(size);
  expect(after.subarray(0, before.length).equals(before)).toBe(true);
  expect(after.subarray(before.length).every((b) => b === 0)).toBe(true);
}

describe('extend', () => {
  const dir = tmpDir();

  it('grows a vmfs flat disk and updates its geometry', async () => {
    const disk = writeVmfsDisk(dir, 'flat', 8 * MiB, patternBytes(8 * MiB, 2));
    const before = fs.readFileSync(qemuRaw(disk));
    await extendJob({ kind: 'extend', disk, sizeBytes: 1100 * MiB }, ctx);
    expectGrown(disk, before, 1100 * MiB);
    const chain = openChain(disk);
    const g = geometryReport(chain);
    chain.close();
    expect(g.geometry).toEqual({ cylinders: 140, heads: 255, sectors: 63 });
    expect(g.mismatch).toBe(false);
  });

  it('grows a monolithicSparse disk past its grain directory and keeps qemu happy', async () => {
    const disk = path.join(dir, 'sparse.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk, '100M');
    qemuWrite(disk, 99 * MiB, patternBytes(MiB, 3));
    const before = fs.readFileSync(qemuRaw(disk));
    await extendJob({ kind: 'extend', disk, sizeBytes: 20 * 1024 * MiB }, ctx);
    qemuImg('check', disk);
    expectGrownSparse(disk, before);
    qemuFill(disk, 19 * 1024 * MiB, MiB, 0x33);
    qemuImg('check', disk);
  });

  it('grows a twoGbMaxExtentSparse disk with new extent files', async () => {
    const disk = path.join(dir, 'split.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', disk, '64M');
    qemuFill(disk, MiB, MiB, 0x21);
    const before = fs.readFileSync(qemuRaw(disk));
    await extendJob({ kind: 'extend', disk, sizeBytes: 3 * 1024 * MiB }, ctx);
    qemuImg('check', disk);
    expectGrownSparse(disk, before);
    expect(fs.existsSync(path.join(dir, 'split-s003.vmdk'))).toBe(true);
  });

  it('grows an ESX 2 raw .dsk', async () => {
    const dsk = path.join(dir, 'old.dsk');
    fs.writeFileSync(dsk, patternBytes(MiB, 5));
    await extendJob({ kind: 'extend', disk: dsk, sizeBytes: 4 * MiB }, ctx);
    expect(fs.statSync(dsk).size).toBe(4 * MiB);
  });

  it('never shrinks, and refuses odd sizes, snapshots and parents of snapshots', async () => {
    const disk = writeVmfsDisk(dir, 'base', 8 * MiB);
    await expect(extendJob({ kind: 'extend', disk, sizeBytes: 4 * MiB }, ctx)).rejects.toMatchObject({ message: expect.stringContaining('never shrinks') });
    await expect(extendJob({ kind: 'extend', disk, sizeBytes: 8 * MiB + 100 }, ctx)).rejects.toMatchObject({ code: 'E_USAGE' });
    const child = path.join(dir, 'base-000001.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
    await expect(extendJob({ kind: 'extend', disk: child, sizeBytes: 16 * MiB }, ctx)).rejects.toMatchObject({ message: expect.stringContaining('snapshot') });
    await expect(extendJob({ kind: 'extend', disk, sizeBytes: 16 * MiB }, ctx)).rejects.toMatchObject({ message: expect.stringContaining('base-000001.vmdk') });
  });
});

/** For big sparse results: compare the old prefix and a sample of the new tail without a full raw copy. */
function expectGrownSparse(disk: string, before: Buffer): void {
  const chain = openChain(disk);
  try {
    const head = Buffer.alloc(before.length);
    chain.read(head, 0);
    expect(head.equals(before)).toBe(true);
    const tail = Buffer.alloc(MiB);
    chain.read(tail, chain.capacityBytes - MiB);
    expect(tail.every((b) => b === 0)).toBe(true);
  } finally {
    chain.close();
  }
}
