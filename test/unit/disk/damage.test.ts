/**
 * One verdict on damage (issue 14): a disk that lost data is judged at open from its metadata,
 * the same for every command: data commands refuse it, info and check report the lost LBA ranges.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { checkDisk } from '../../../main/disk/check.js';
import { diskInfo } from '../../../main/disk/info.js';
import { convertJob } from '../../../main/convert/convert.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { buildEsx2Chain } from '../../fixtures/cowd-builder.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

/** A 64 MiB monolithicSparse with 4 MiB of data at 8 MiB and 1 MiB at 40 MiB, and where its grain area starts. */
function sparseDisk(dir: string, name: string): { disk: string; overhead: number } {
  const disk = path.join(dir, name);
  qemuImg('create', '-q', '-f', 'vmdk', disk, '64M');
  qemuFill(disk, 8 * MiB, 4 * MiB, 0x31);
  qemuFill(disk, 40 * MiB, MiB, 0x32);
  const overhead = Number(fs.readFileSync(disk).readBigUInt64LE(64)) * 512;
  return { disk, overhead };
}

function expectRefusedEverywhere(disk: string, lostBytes: number): void {
  expect(() => openChain(disk)).toThrow(/damaged: .* lost in \d+ ranges? \(LBA \d+/);
  const chain = openChain(disk, { acceptDamage: true });
  try {
    expect(diskInfo(chain).damage?.lostBytes).toBe(lostBytes);
  } finally {
    chain.close();
  }
  const report = checkDisk(disk);
  expect(report.errors).toBeGreaterThan(0);
  expect(report.problems.length).toBeLessThan(25);
  expect(report.problems.some((p) => /^LBA \d+–\d+$/.test(p.location ?? '') && /lost/.test(p.message))).toBe(true);
}

describe('one verdict on damage', () => {
  const dir = tmpDir();

  it('a sparse file cut right after its grain tables: every grain is lost, info and check say so, convert refuses at open', async () => {
    const { disk, overhead } = sparseDisk(dir, 'after-tables.vmdk');
    fs.truncateSync(disk, overhead);
    expectRefusedEverywhere(disk, 5 * MiB);
    await expect(convertJob({ kind: 'convert', src: disk, dst: path.join(dir, 'x.vmdk'), to: 'vmfs' }, inlineContext())).rejects.toThrow(/damaged/);
    expect(fs.existsSync(path.join(dir, 'x.vmdk'))).toBe(false);
  });

  it('a sparse file cut inside its grains: only the grains past the cut are lost', () => {
    const { disk, overhead } = sparseDisk(dir, 'in-grains.vmdk');
    fs.truncateSync(disk, overhead + 2 * MiB);
    expectRefusedEverywhere(disk, 3 * MiB);
  });

  it('an intact disk opens without a word of damage', () => {
    const { disk } = sparseDisk(dir, 'intact.vmdk');
    const chain = openChain(disk);
    try {
      expect(diskInfo(chain).damage).toBeNull();
    } finally {
      chain.close();
    }
  });

  it('a REDO log cut short and a flat extent cut short are judged the same way', () => {
    const esx = path.join(dir, 'esx2');
    fs.mkdirSync(esx);
    const { top } = buildEsx2Chain(esx, 8 * MiB);
    fs.truncateSync(top, fs.statSync(top).size - 4096);
    expect(() => openChain(top)).toThrow(/damaged/);
    const flat = writeVmfsDisk(dir, 'cut', 4 * MiB, patternBytes(4 * MiB, 1));
    fs.truncateSync(path.join(dir, 'cut-flat.vmdk'), 3 * MiB);
    expectRefusedEverywhere(flat, MiB);
  });

  it('judges a 2 TiB sparse by all of its 128 MiB of grain tables, quickly: a cut in its last grains is found at open', () => {
    const disk = path.join(dir, 'huge.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk, '2T');
    qemuFill(disk, 0, MiB, 0x11);
    qemuFill(disk, 1024 * 1024 * MiB, MiB, 0x22);
    qemuFill(disk, 2 * 1024 * 1024 * MiB - 4 * MiB, 4 * MiB, 0x33);
    fs.truncateSync(disk, fs.statSync(disk).size - 3 * MiB);
    const started = Date.now();
    expect(() => openChain(disk)).toThrow(/damaged: 3\.0 MiB of 2\.0 TiB lost in 1 range \(LBA 4294961152–4294967295\)/);
    expect(Date.now() - started).toBeLessThan(3000);
    expectRefusedEverywhere(disk, 3 * MiB);
  });

  it('a stream grain whose compressed bytes are damaged fails check as it fails cat', () => {
    const { disk: src } = sparseDisk(dir, 'stream-src.vmdk');
    const disk = path.join(dir, 'stream-bad-zlib.vmdk');
    qemuImg('convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', src, disk);
    const bytes = fs.readFileSync(disk);
    const firstMarker = Number(bytes.readBigUInt64LE(64)) * 512;
    // Inside the deflate data of the first grain, past its zlib header: only inflating finds it.
    bytes[firstMarker + 12 + 40] = bytes[firstMarker + 12 + 40]! ^ 0xff;
    fs.writeFileSync(disk, bytes);
    const report = checkDisk(disk);
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => p.message)).toEqual([
      expect.stringMatching(/grain at LBA 16384 \(marker at sector \d+\): compressed data is damaged/),
    ]);
    const chain = openChain(disk);
    try {
      expect(() => chain.read(Buffer.alloc(MiB), 8 * MiB)).toThrow(/compressed data is damaged/);
    } finally {
      chain.close();
    }
  });

  it('says what cat would only read as zeros: a file not a whole number of sectors, a capacity of 0', () => {
    const { disk } = sparseDisk(dir, 'odd-size.vmdk');
    fs.appendFileSync(disk, Buffer.alloc(100));
    const odd = checkDisk(disk);
    expect(odd.problems.some((p) => /not a whole number of 512-byte sectors/.test(p.message))).toBe(true);
    const empty = path.join(dir, 'empty.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', empty, '0');
    const chain = openChain(empty);
    try {
      expect(diskInfo(chain).layers[0]!.warnings.join()).toMatch(/capacity is 0/);
    } finally {
      chain.close();
    }
  });
});
