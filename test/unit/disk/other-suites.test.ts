/**
 * Quirks other projects' own VMDK tests exercise (qemu-iotests 059 and its sample images,
 * dissect.hypervisor's generated disks and extent-line cases), each disk built here at test time:
 * read byte-exact against `qemu-img convert -O raw`, or refused with one line where qemu refuses too.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain, type Chain } from '../../../main/disk/chain.js';
import { isDiskchainError } from '../../../shared/errors.js';
import { qemuFill, qemuImg, qemuRaw } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

function readRange(chain: Chain, offset: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  chain.read(out, offset);
  return out;
}

/**
 * The disk against qemu's flattening: every range either side says holds data (our map, `qemu-img
 * map`) is compared, 4 MiB at a time; elsewhere both read zeros. Bounded for big sparse disks.
 */
function expectSameAsQemu(disk: string): void {
  const raw = qemuRaw(disk);
  const fd = fs.openSync(raw, 'r');
  const chain = openChain(disk);
  try {
    expect(chain.capacityBytes).toBe(fs.fstatSync(fd).size);
    const theirMap = JSON.parse(qemuImg('map', '--output=json', disk)) as Array<{ start: number; length: number; data: boolean; zero: boolean }>;
    const ranges = [
      ...chain.mapRuns(0, chain.capacityBytes).filter((r) => r.state === 'data'),
      ...theirMap.filter((r) => r.data && !r.zero).map((r) => ({ offset: r.start, length: r.length })),
    ];
    expect(ranges.length).toBeGreaterThan(0);
    const theirs = Buffer.alloc(4 * MiB);
    for (const range of ranges) {
      for (let at = range.offset; at < range.offset + range.length; at += theirs.length) {
        const length = Math.min(theirs.length, range.offset + range.length - at);
        fs.readSync(fd, theirs, 0, length, at);
        const ours = readRange(chain, at, length);
        if (!ours.equals(theirs.subarray(0, length))) throw new Error(`${disk}: bytes differ from qemu's in [${at}, ${at + length})`);
      }
    }
  } finally {
    chain.close();
    fs.closeSync(fd);
    fs.rmSync(raw);
  }
}

function refusal(disk: string): string {
  try {
    openChain(disk).close();
  } catch (e) {
    if (!isDiskchainError(e)) throw e;
    expect(e.message).not.toMatch(/\n/);
    return e.message;
  }
  throw new Error(`${disk} opened`);
}

function qemuRefuses(disk: string): string {
  try {
    qemuImg('info', disk);
  } catch (e) {
    return String((e as { stderr?: string }).stderr);
  }
  throw new Error(`qemu opened ${disk}`);
}

function poke(file: string, offset: number, bytes: number[]): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.from(bytes), 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

describe("other projects' VMDK test cases", () => {
  const root = tmpDir('diskchain-suites-');
  let n = 0;
  const dir = (): string => {
    const d = path.join(root, `d${n++}`);
    fs.mkdirSync(d);
    return d;
  };

  it.each(['monolithicSparse', 'streamOptimized', 'twoGbMaxExtentSparse', 'monolithicFlat', 'twoGbMaxExtentFlat'])(
    '%s converted by qemu from a raw disk of 4 GiB + 1536 bytes, data on both sides of the 2 GiB extent boundary, reads as qemu reads it',
    (subformat) => {
      const d = dir();
      const src = path.join(d, 'src.raw');
      qemuImg('create', '-q', '-f', 'raw', src, String(4 * 1024 * MiB + 1536));
      qemuFill(src, 0, 100_000, 0x5a, 'raw');
      qemuFill(src, 2 * 1024 * MiB - 512, 2048, 0x6b, 'raw');
      qemuFill(src, 4 * 1024 * MiB, 1536, 0x7c, 'raw');
      const disk = path.join(d, 'd.vmdk');
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, src, disk);
      fs.rmSync(src);
      expectSameAsQemu(disk);
    },
  );

  it('zeroed grains (zeroed_grain=on, GTE 1) written by qemu-io write -z read as zeros over older data', () => {
    const disk = path.join(dir(), 'zg.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'zeroed_grain=on', disk, '64M');
    qemuFill(disk, 0, 4 * MiB, 0x11);
    execQemuIo(disk, 'write -z 1M 1M');
    execQemuIo(disk, 'write -z 10M 2M');
    expectSameAsQemu(disk);
  });

  it('a streamOptimized converted from an image with 4 KiB clusters (059) reads as qemu reads it', () => {
    const d = dir();
    const src = path.join(d, 'src.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096', src, '1G');
    qemuFill(src, 0, 512, 0x0a, 'qcow2');
    qemuFill(src, 10240, 512, 0x0b, 'qcow2');
    const disk = path.join(d, 'stream.vmdk');
    qemuImg('convert', '-f', 'qcow2', '-O', 'vmdk', '-o', 'subformat=streamOptimized', src, disk);
    expectSameAsQemu(disk);
  });

  it('header versions 2 and 3 read as version 1 does; version 4 is refused by both', () => {
    for (const version of [2, 3]) {
      const disk = path.join(dir(), `v${version}.vmdk`);
      qemuImg('create', '-q', '-f', 'vmdk', disk, '16M');
      qemuFill(disk, MiB, MiB, 0x30 + version);
      poke(disk, 4, [version]);
      expectSameAsQemu(disk);
    }
    const v4 = path.join(dir(), 'v4.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', v4, '16M');
    poke(v4, 4, [4]);
    expect(qemuRefuses(v4)).toMatch(/Unsupported VMDK version 4/);
    expect(refusal(v4)).toMatch(/version 4 \(header byte 4\) is newer than the versions 1–3/);
  });

  it('059: invalid granularity, a too big L2 table, a too big L1 table are refused with one line, as qemu refuses them', () => {
    const cases: Array<[string, Array<[number, number[]]>, RegExp, RegExp]> = [
      ['granularity', [[20, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]], /Invalid granularity/, /grain size of \d+ sectors \(header byte 20\) is not plausible/],
      ['l2', [[44, [0xff, 0xff, 0xff, 0xff]]], /L2 table size too big/, /4294967295 entries per grain table \(header byte 44\) is not plausible/],
      ['l1', [[16, [0xff, 0xff, 0xff, 0xff]], [44, [1, 0, 0, 0]]], /L1 size too big/, /capacity of \d+ sectors \(header byte 12\) is not plausible/],
    ];
    for (const [name, pokes, theirs, ours] of cases) {
      const disk = path.join(dir(), `${name}.vmdk`);
      qemuImg('create', '-q', '-f', 'vmdk', disk, '64M');
      for (const [at, bytes] of pokes) poke(disk, at, bytes);
      expect(qemuRefuses(disk)).toMatch(theirs);
      expect(refusal(disk)).toMatch(ours);
    }
  });

  it('059: a 100 GiB sparse truncated to 10 MiB is refused at open as damaged (qemu: "File truncated")', () => {
    const disk = path.join(dir(), 'trunc.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk, '100G');
    fs.truncateSync(disk, 10 * MiB);
    expect(qemuRefuses(disk)).toMatch(/File truncated/);
    expect(refusal(disk)).toMatch(/damaged: [\d.]+ GiB of 100\.0 GiB lost in 1 range \(LBA \d+–209715199\)/);
  });

  it('dissect.hypervisor: extent names with spaces, quotes, emoji, and partition-uuid/device-id after the offset', () => {
    const d = dir();
    const names = ['disk with spaces-flat.vmdk', 'this is an example "\' diskëäô:)\\\'`foo-flat.vmdk', '🦊 🦊 🦊-flat.vmdk'];
    const contents = names.map((name, i) => {
      const bytes = patternBytes(MiB, 40 + i);
      fs.writeFileSync(path.join(d, name), bytes);
      return bytes;
    });
    const lines = [`RW 2048 FLAT "${names[0]}" 0 partition-uuid device-id`, `RW 2048 FLAT "${names[1]}" 0`, `RW 2048 VMFS "${names[2]}"`];
    const disk = path.join(d, 'names.vmdk');
    fs.writeFileSync(disk, `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n${lines.join('\n')}\n`);
    const chain = openChain(disk);
    try {
      expect(chain.top.extents.map((e) => path.basename(e.path ?? ''))).toEqual(names);
      expect(readRange(chain, 0, 3 * MiB).equals(Buffer.concat(contents))).toBe(true);
    } finally {
      chain.close();
    }
  });

  it('a ZERO extent reads as zeros and counts in the capacity (qemu drops the extent; VMware reads it)', () => {
    const d = dir();
    const content = patternBytes(MiB, 50);
    fs.writeFileSync(path.join(d, 'a-flat.vmdk'), content);
    const disk = path.join(d, 'zero.vmdk');
    fs.writeFileSync(disk, '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "a-flat.vmdk" 0\nRDONLY 1000 ZERO\n');
    const chain = openChain(disk);
    try {
      expect(chain.capacityBytes).toBe(MiB + 1000 * 512);
      expect(readRange(chain, 0, chain.capacityBytes).equals(Buffer.concat([content, Buffer.alloc(1000 * 512)]))).toBe(true);
    } finally {
      chain.close();
    }
  });

  it('a chain qemu made across folders (parentFileNameHint "../base/b.vmdk", then "s1.vmdk"), with zero writes on top, reads as qemu reads it', () => {
    const d = dir();
    fs.mkdirSync(path.join(d, 'base'));
    fs.mkdirSync(path.join(d, 'snap'));
    const base = path.join(d, 'base', 'b.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '64M');
    qemuFill(base, 0, 8 * MiB, 1);
    const s1 = path.join(d, 'snap', 's1.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', '../base/b.vmdk', '-F', 'vmdk', s1);
    qemuFill(s1, 4 * MiB, 8 * MiB, 2);
    const s2 = path.join(d, 'snap', 's2.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 's1.vmdk', '-F', 'vmdk', s2);
    qemuFill(s2, 10 * MiB, MiB, 3);
    execQemuIo(s2, 'write -z 5M 1M');
    expectSameAsQemu(s2);
  });
});

/** qemuFill writes a pattern; zero writes need their own qemu-io command. */
function execQemuIo(image: string, command: string): void {
  execFileSync('qemu-io', ['-f', 'vmdk', '-c', command, image], { stdio: ['ignore', 'pipe', 'pipe'] });
}
