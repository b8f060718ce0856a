/** Block status with backing: every data run names the file and position its bytes are read from. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLink, type Link } from '../../../main/disk/link.js';
import { buildEsx2Chain } from '../../fixtures/cowd-builder.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

/** Reads every data run from its backing file and compares it with the link's own read. */
function expectBackedRuns(link: Link): number {
  const runs = link.data.blockStatus(0, link.capacityBytes, true).filter((r) => r.state === 'data');
  for (const run of runs) {
    expect(run.file, `run at ${run.offset}`).toBeDefined();
    const fromFile = Buffer.alloc(run.length);
    const fd = fs.openSync(run.file!, 'r');
    fs.readSync(fd, fromFile, 0, run.length, run.position!);
    fs.closeSync(fd);
    const viaReader = Buffer.alloc(run.length);
    link.data.read(viaReader, run.offset);
    expect(fromFile.equals(viaReader), `run at ${run.offset}`).toBe(true);
  }
  return runs.length;
}

describe('block status with backing', () => {
  const dir = tmpDir();

  it('locates the grains of a hosted sparse split disk in their extent files', () => {
    const disk = path.join(dir, 'split.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', disk, '8M');
    qemuFill(disk, 64 * 1024, 3 * MiB, 0x5a);
    qemuFill(disk, 6 * MiB, 4096, 0x5b);
    const link = openLink(disk);
    try {
      expect(expectBackedRuns(link)).toBeGreaterThan(0);
      const plain = link.data.blockStatus(0, link.capacityBytes);
      expect(plain.every((r) => r.file === undefined)).toBe(true);
    } finally {
      link.data.close();
    }
  });

  it('locates the 512-byte grains of an ESX 2 REDO log', () => {
    const sub = path.join(dir, 'esx2');
    fs.mkdirSync(sub);
    const { top } = buildEsx2Chain(sub, 8 * MiB);
    const link = openLink(top);
    try {
      expect(expectBackedRuns(link)).toBeGreaterThan(0);
    } finally {
      link.data.close();
    }
  });

  it('locates a vmfs flat extent at its offset', () => {
    const disk = writeVmfsDisk(dir, 'flat', 2 * MiB, patternBytes(2 * MiB, 7));
    const link = openLink(disk);
    try {
      expect(expectBackedRuns(link)).toBe(1);
    } finally {
      link.data.close();
    }
  });
});
