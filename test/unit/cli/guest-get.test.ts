/**
 * get of ext4 files through a VMDK chain: where the file system and the chain say where a file's bytes
 * lie in the host files, get reads them from there directly. The bytes must be the guest file's whichever
 * link holds them: holes, a snapshot child that rewrote part of a file, files longer than one read.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { chainDevice } from '../../../main/guest/block-device.js';
import { childWithChanges } from '../../fixtures/ext-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { blankDisk, MiB, run, sfdisk, toVmdk } from '../../helpers/guest-images.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-guest-get-');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const PART_START = 2048;

describe('get of ext4 files read straight from the VMDK files', () => {
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  // 9 MiB and a bit: more than one 4 MiB chunk, ending inside a block.
  const big = patternBytes(9 * MiB + 4097, 7);
  fs.writeFileSync(path.join(src, 'big.bin'), big);
  // Data, a 5 MiB hole, data: mke2fs -d keeps the hole.
  const holes = Buffer.alloc(7 * MiB + 10);
  patternBytes(300 * 1024, 8).copy(holes, 0);
  patternBytes(MiB + 10, 9).copy(holes, 6 * MiB);
  const fd = fs.openSync(path.join(src, 'holes.bin'), 'w');
  fs.writeSync(fd, holes, 0, 300 * 1024, 0);
  fs.writeSync(fd, holes, 6 * MiB, MiB + 10, 6 * MiB);
  fs.closeSync(fd);

  const raw = blankDisk(path.join(dir, 'disk.img'), 48 * MiB);
  sfdisk(raw, 'dos', [`start=${PART_START}, type=83`]);
  const partSectors = 48 * 2048 - PART_START;
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-E', `offset=${PART_START * 512}`, '-d', src, raw, `${partSectors / 2}k`]);
  const disk = toVmdk(raw);

  // The snapshot: 3 blocks in the middle of big.bin rewritten in place, so the child holds just those grains.
  const after = path.join(dir, 'after.img');
  fs.copyFileSync(raw, after);
  const blocks = run('debugfs', ['-R', 'blocks /big.bin', `${raw}?offset=${PART_START * 512}`]).trim().split(/\s+/).map(Number);
  const changed = Buffer.from(big);
  const patch = patternBytes(3 * 4096, 10);
  const firstBlock = 1000; // of the file: bytes 4,096,000 on, across the first chunk's end
  patch.copy(changed, firstBlock * 4096);
  const out = fs.openSync(after, 'r+');
  for (let k = 0; k < 3; k++) fs.writeSync(out, patch, k * 4096, 4096, PART_START * 512 + blocks[firstBlock + k]! * 4096);
  fs.closeSync(out);
  const child = path.join(dir, 'child.vmdk');
  childWithChanges(disk, raw, after, 0, child);

  const get = (target: string): Buffer => {
    const r = diskchain(['get', target, '-']);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  it('the chain says where its bytes lie in the VMDK files, and they are the bytes the chain reads', () => {
    const chain = openChain(child);
    try {
      const device = chainDevice(chain);
      const runs = device.hostRuns!(0, device.size);
      expect(runs.reduce((sum, r) => sum + r.length, 0)).toBe(device.size);
      expect(new Set(runs.filter((r) => r.file !== undefined).map((r) => path.basename(r.file!)))).toEqual(new Set(['child.vmdk', 'disk.vmdk']));
      for (const r of runs.filter((x) => x.file !== undefined).slice(0, 50)) {
        const length = Math.min(r.length, 64 * 1024);
        const direct = Buffer.alloc(length);
        const hostFd = fs.openSync(r.file!, 'r');
        fs.readSync(hostFd, direct, 0, length, r.position!);
        fs.closeSync(hostFd);
        const read = Buffer.alloc(length);
        device.read(read, r.offset);
        expect(direct.equals(read)).toBe(true);
      }
    } finally {
      chain.close();
    }
  });

  it('get - gives the file bytes, holes as zeros, in the base and in the snapshot child', () => {
    expect(sha(get(`${disk}:1/big.bin`))).toBe(sha(big));
    expect(sha(get(`${disk}:1/holes.bin`))).toBe(sha(holes));
    expect(sha(get(`${child}:1/big.bin`))).toBe(sha(changed));
    expect(sha(get(`${child}:1/holes.bin`))).toBe(sha(holes));
    expect(sha(get(`${child}:1/big.bin`).subarray(0, 5 * MiB))).not.toBe(sha(big.subarray(0, 5 * MiB)));
  });

  it('get into a folder writes the same bytes', () => {
    const dest = path.join(dir, 'out');
    fs.mkdirSync(dest);
    const r = diskchain(['get', `${child}:1/`, dest]);
    expect(r.status, r.stderr).toBe(0);
    expect(sha(fs.readFileSync(path.join(dest, 'big.bin')))).toBe(sha(changed));
    expect(sha(fs.readFileSync(path.join(dest, 'holes.bin')))).toBe(sha(holes));
  });
});
