import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { bufferDevice, chainDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { fatDriver } from '../../../main/guest/fat/index.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';
import { comparable, md5, ourRows, readWhole, tskRows, UTC_ENV, walk } from './fat-oracle.js';

const dir = tmpDir('diskchain-fat-');
const LONG_NAME = 'A long name with spaces, ünïcode and ✓ marks.txt';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { env: UTC_ENV, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
}

/** The tree every image gets: long and lower-case names, an empty file, a file 6 folders deep. */
function contentTree(): string {
  const root = path.join(dir, 'content');
  const deep = path.join(root, 'a', 'b', 'c', 'd', 'e', 'f');
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(path.join(root, 'hello.txt'), 'hello\n');
  fs.writeFileSync(path.join(root, 'lower.txt'), patternBytes(1000, 1));
  fs.writeFileSync(path.join(root, 'UPPER.TXT'), patternBytes(5000, 2));
  fs.writeFileSync(path.join(root, 'MixedCase.Txt'), patternBytes(10, 3));
  fs.writeFileSync(path.join(root, LONG_NAME), patternBytes(70_000, 4));
  fs.writeFileSync(path.join(root, 'empty'), '');
  fs.writeFileSync(path.join(root, 'big.bin'), patternBytes(700_001, 5));
  fs.writeFileSync(path.join(deep, 'deep.bin'), patternBytes(4097, 6));
  run('find', [root, '-exec', 'touch', '-d', '2020-01-02 03:04:05', '{}', '+']);
  return root;
}

/** mkfs.fat + mcopy (mtools, no root), then a fragmented file: write pieces, delete every other, write a big one. */
function makeFat(bits: 12 | 16 | 32, kib: number, sectorsPerCluster: number, content: string, extra: string[] = []): string {
  const image = path.join(dir, `fat${bits}.img`);
  run('mkfs.fat', ['-F', String(bits), '-n', `LABEL${bits}`, '--invariant', '-s', String(sectorsPerCluster), '-C', image, String(kib)]);
  run('mcopy', ['-s', '-m', '-i', image, ...fs.readdirSync(content).map((n) => path.join(content, n)), ...extra, '::/']);
  run('mmd', ['-i', image, '::/frag']);
  const piece = path.join(dir, 'piece');
  fs.writeFileSync(piece, patternBytes(2048, 7));
  for (let i = 0; i < 8; i++) run('mcopy', ['-i', image, piece, `::/frag/p${i}`]);
  for (let i = 0; i < 8; i += 2) run('mdel', ['-i', image, `::/frag/p${i}`]);
  if (bits === 32) forgetNextFree(image);
  const whole = path.join(dir, 'whole.bin');
  fs.writeFileSync(whole, patternBytes(300_000, 8));
  run('mcopy', ['-i', image, whole, '::/frag/whole.bin']);
  return image;
}

/** FAT32 keeps a "next free cluster" hint (FSInfo) that would put new data after the holes: clear it. */
function forgetNextFree(image: string): void {
  const bytes = fs.readFileSync(image);
  bytes.writeUInt32LE(0xffffffff, bytes.readUInt16LE(48) * 512 + 492);
  fs.writeFileSync(image, bytes);
}

function open(image: string, bytes = fs.readFileSync(image)): GuestFileSystem {
  return fatDriver.open(bufferDevice(bytes, image));
}

function find(fs: GuestFileSystem, wanted: string): GuestEntry {
  const hit = walk(fs).find((w) => w.path === wanted);
  if (!hit) throw new Error(`${wanted} not listed`);
  return hit.entry;
}

/** Where a cluster's bytes lie, from the BPB (independently of the reader under test). */
function layout(image: Buffer): { fatOffset: number; clusterOffset: (c: number) => number; bits: number } {
  const bps = image.readUInt16LE(11);
  const reserved = image.readUInt16LE(14);
  const fatSectors = image.readUInt16LE(22) || image.readUInt32LE(36);
  const rootSectors = Math.ceil((image.readUInt16LE(17) * 32) / bps);
  const heap = (reserved + image[16]! * fatSectors + rootSectors) * bps;
  const clusterSize = bps * image[13]!;
  return { fatOffset: reserved * bps, clusterOffset: (c) => heap + (c - 2) * clusterSize, bits: image.readUInt16LE(22) === 0 ? 32 : 16 };
}

/** The first cluster of an entry, from its id ("<first cluster>@<folder>:<index>"). */
function firstCluster(entry: GuestEntry): number {
  return Number(entry.id.split('@')[0]);
}

let content = '';
const images: Record<string, string> = {};

beforeAll(() => {
  content = contentTree();
  const many = path.join(dir, 'many');
  fs.mkdirSync(many);
  for (let i = 0; i < 10_000; i++) fs.writeFileSync(path.join(many, `f${10_000 + i}.txt`), i % 1000 === 0 ? `${i}\n` : '');
  images.fat12 = makeFat(12, 4096, 4, content);
  images.fat16 = makeFat(16, 32768, 2, content);
  images.fat32 = makeFat(32, 65536, 1, content, [many]);
}, 120_000);

describe.each(['fat12', 'fat16', 'fat32'] as const)('%s volume made by mkfs.fat and mtools', (type) => {
  it('is recognised as such, with the label and serial sleuthkit reads', () => {
    const image = images[type]!;
    const device = bufferDevice(fs.readFileSync(image), image);
    expect(fatDriver.probe(device)).toBe(type);
    const volume = fatDriver.open(device);
    expect(volume.type).toBe(type);
    const fsstat = run('fsstat', [image]);
    expect(fsstat).toMatch(new RegExp(`File System Type: ${type.toUpperCase()}`));
    expect(fsstat).toContain(`Volume Label (Root Directory): ${volume.label}`);
    expect(volume.label).toBe(`LABEL${type.slice(3)}`);
    expect(volume.uuid).toBe('1234-ABCD'); // --invariant
    expect(fsstat).toContain('Volume ID: 0x1234abcd');
    expect(volume.notes).toEqual([]);
  });

  it('lists every name, size, time and MD5 as sleuthkit does', () => {
    const ours = comparable(ourRows(open(images[type]!)));
    expect(ours.length).toBeGreaterThan(15);
    expect(ours).toEqual(comparable(tskRows(images[type]!)));
  });

  it('lists the names mtools lists, and each file has the bytes mcopy copies out', () => {
    const volume = open(images[type]!);
    const walked = walk(volume).filter((w) => !w.path.startsWith('/many/'));
    const mdir = run('mdir', ['-/', '-b', '-i', images[type]!, '::/']).split('\n').filter((l) => l && (l === '::/many/' || !l.startsWith('::/many/')));
    expect(walked.map((w) => `::${w.path}${w.entry.type === 'dir' ? '/' : ''}`).sort()).toEqual(mdir.sort());
    for (const { entry, path: p } of walked.filter((w) => w.entry.type === 'file')) {
      const theirs = execFileSync('mcopy', ['-n', '-i', images[type]!, `::${p}`, '-'], { env: UTC_ENV, maxBuffer: 8 << 20 });
      expect(md5(readWhole(volume, entry)), p).toBe(md5(theirs));
    }
  });

  it('shows 8.3 names in the case the NT bits give and long names in full', () => {
    const names = open(images[type]!)
      .list(open(images[type]!).root())
      .map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['hello.txt', 'lower.txt', 'UPPER.TXT', 'MixedCase.Txt', LONG_NAME, 'empty', 'big.bin', 'a', 'frag']));
  });

  it('reads the fragmented file in pieces and a contiguous file in one device read', () => {
    const bytes = fs.readFileSync(images[type]!);
    let reads: number[] = [];
    const inner = bufferDevice(bytes, images[type]!);
    const counting: BlockDevice = { ...inner, read: (buf, offset) => (reads.push(buf.length), inner.read(buf, offset)) };
    const volume = fatDriver.open(counting);
    const whole = find(volume, '/frag/whole.bin');
    const big = find(volume, '/big.bin');
    // The gaps left by the deleted pieces split whole.bin: sleuthkit's cluster list is not one run.
    const istat = run('istat', [images[type]!, run('ifind', ['-n', '/frag/whole.bin', images[type]!]).trim()]);
    const sectors = istat.slice(istat.indexOf('Sectors:')).match(/\d+/g)!.map(Number);
    expect(sectors.some((s, i) => i > 0 && s !== sectors[i - 1]! + 1)).toBe(true);
    expect(md5(readWhole(volume, whole, 300_000))).toBe(md5(patternBytes(300_000, 8)));
    reads = [];
    const buf = Buffer.alloc(big.size);
    expect(volume.read(big, buf, 0)).toBe(700_001);
    expect(md5(buf)).toBe(md5(patternBytes(700_001, 5)));
    expect(reads.filter((n) => n === 700_001)).toHaveLength(1);
    expect(reads.length).toBeLessThanOrEqual(3); // the data, and FAT pages the chain walk needed
  });
});

describe('FAT specifics', () => {
  it('reads a FAT16 volume with 4096-byte sectors (4Kn) as sleuthkit does', () => {
    const image = path.join(dir, 'fat16-4k.img');
    run('mkfs.fat', ['-F', '16', '-S', '4096', '-s', '1', '--invariant', '-C', image, '32768']);
    run('mcopy', ['-s', '-m', '-i', image, ...fs.readdirSync(content).map((n) => path.join(content, n)), '::/']);
    const volume = open(image);
    expect(volume.type).toBe('fat16');
    expect(volume.label).toBeNull(); // mkfs.fat's "NO NAME"
    expect(comparable(ourRows(volume))).toEqual(comparable(tskRows(image)));
  });

  it('lists a folder of 10,000 entries, each with its name and bytes', () => {
    const volume = open(images.fat32!);
    const many = volume.list(volume.root()).find((e) => e.name === 'many')!;
    const entries = volume.list(many);
    expect(entries.map((e) => e.name).sort()).toEqual(Array.from({ length: 10_000 }, (_, i) => `f${10_000 + i}.txt`));
    const sample = entries.find((e) => e.name === 'f13000.txt')!;
    expect(readWhole(volume, sample).toString()).toBe('3000\n');
  });

  it('gives times in UTC: mtime to 2 s, creation to 10 ms, access as a date', () => {
    const volume = open(images.fat32!);
    const hello = volume.list(volume.root()).find((e) => e.name === 'hello.txt')!;
    expect(hello.mtimeMs).toBe(Date.UTC(2020, 0, 2, 3, 4, 4)); // 05 s stored as 04 (2-second units)
    expect(hello.atimeMs! % 86_400_000).toBe(0);
    expect(hello.birthtimeMs).toBeGreaterThan(Date.UTC(2020, 0, 1));
    expect(hello.attributes).toContain('archive');
  });

  it('reads the same through a sparse VMDK and a streamOptimized VMDK (openChain → chainDevice)', () => {
    const raw = comparable(ourRows(open(images.fat32!)));
    for (const subformat of ['monolithicSparse', 'streamOptimized']) {
      const vmdk = path.join(dir, `fat32-${subformat}.vmdk`);
      qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, images.fat32!, vmdk);
      const chain = openChain(vmdk);
      try {
        const device = chainDevice(chain);
        expect(fatDriver.probe(device)).toBe('fat32');
        expect(comparable(ourRows(fatDriver.open(device)))).toEqual(raw);
      } finally {
        chain.close();
      }
    }
  });
});

describe('damaged FAT volumes are refused with a one-line error naming the structure', () => {
  it('notes a dirty volume (FAT entry 1 without the clean-shutdown bit)', () => {
    const bytes = fs.readFileSync(images.fat16!);
    const { fatOffset } = layout(bytes);
    bytes.writeUInt16LE(bytes.readUInt16LE(fatOffset + 2) & 0x7fff, fatOffset + 2);
    expect(open(images.fat16!, bytes).notes).toEqual(['volume is dirty (not cleanly unmounted): recent changes may be missing or half-written']);
  });

  it('a truncated volume', () => {
    const bytes = fs.readFileSync(images.fat16!);
    expect(() => open(images.fat16!, bytes.subarray(0, bytes.length / 2))).toThrow(
      /^FAT16 boot sector: the volume is 33554432 bytes but .*fat16\.img holds only 16777216 \(truncated\?\)$/,
    );
  });

  it.each([
    ['bytes per sector', (b: Buffer) => b.writeUInt16LE(3000, 11), /^FAT16 boot sector: bytes per sector is 3000 \(must be a power of two from 512 to 4096\)$/],
    ['sectors per cluster', (b: Buffer) => (b[13] = 3), /^FAT16 boot sector: sectors per cluster is 3 \(must be a power of two\)$/],
    ['FAT count', (b: Buffer) => (b[16] = 0), /^FAT16 boot sector: 0 FATs \(1 or 2 expected\)$/],
    ['FAT size', (b: Buffer) => b.writeUInt16LE(0xffff, 22), /^FAT16 boot sector: the FATs and root folder .* do not fit in the volume's 65536 sectors$/],
    ['total sectors', (b: Buffer) => (b.writeUInt16LE(0, 19), b.writeUInt32LE(0xffffffff, 32)), /^FAT16 boot sector: the volume is \d+ bytes but .* holds only 33554432 \(truncated\?\)$/],
  ])('absurd %s', (_what, spoil, message) => {
    const bytes = fs.readFileSync(images.fat16!);
    spoil(bytes);
    expect(() => open(images.fat16!, bytes)).toThrow(message);
  });

  it('absurd FAT32 root cluster', () => {
    const bytes = fs.readFileSync(images.fat32!);
    bytes.writeUInt32LE(0x0fffffff, 44);
    expect(() => open(images.fat32!, bytes)).toThrow(/^FAT32 boot sector: the root folder's cluster 268435455 lies outside the volume \(clusters 2–\d+\)$/);
  });

  it('a looping FAT chain: that file cannot be read, the listing goes on', () => {
    const bytes = fs.readFileSync(images.fat32!);
    const big = find(open(images.fat32!, bytes), '/big.bin');
    const first = firstCluster(big);
    const { fatOffset } = layout(bytes);
    bytes.writeUInt32LE(first, fatOffset + (first + 100) * 4); // cluster first+100 → back to the first
    const volume = open(images.fat32!, bytes);
    expect(volume.list(volume.root()).length).toBeGreaterThan(5);
    expect(() => readWhole(volume, find(volume, '/big.bin'))).toThrow(new RegExp(`^FAT32 cluster chain of /big.bin loops at cluster ${first}$`));
  });

  it('a chain that ends early', () => {
    const bytes = fs.readFileSync(images.fat16!);
    const first = firstCluster(find(open(images.fat16!, bytes), '/big.bin'));
    bytes.writeUInt16LE(0xffff, layout(bytes).fatOffset + (first + 3) * 2);
    const volume = open(images.fat16!, bytes);
    expect(() => readWhole(volume, find(volume, '/big.bin'))).toThrow(/^FAT16 cluster chain of \/big.bin ends after 4 of its 684 clusters$/);
  });

  it('a folder that points back at itself, and one that points at the root', () => {
    const bytes = fs.readFileSync(images.fat16!);
    const volume = open(images.fat16!, bytes);
    const a = find(volume, '/a');
    const { clusterOffset } = layout(bytes);
    // a holds ".", "..", then "B": point b at a's own cluster, and a's "." … the root's.
    const bAt = clusterOffset(firstCluster(a)) + 64;
    expect(bytes.toString('latin1', bAt, bAt + 11)).toBe('B          ');
    bytes.writeUInt16LE(firstCluster(a), bAt + 26);
    let damaged = open(images.fat16!, bytes);
    expect(() => walk(damaged)).toThrow(/^FAT16 folder \/a\/b loops back to \/a \(cluster \d+\)$/);
    bytes.writeUInt16LE(0, bAt + 26);
    damaged = open(images.fat16!, bytes);
    expect(() => walk(damaged)).toThrow(/^FAT16 folder \/a\/b loops back to \/ \(cluster 0\)$/);
  });

  it('a folder whose chain loops', () => {
    const bytes = fs.readFileSync(images.fat32!);
    const many = find(open(images.fat32!, bytes), '/many');
    const first = firstCluster(many);
    const { fatOffset } = layout(bytes);
    let fifth = first;
    for (let i = 0; i < 4; i++) fifth = bytes.readUInt32LE(fatOffset + fifth * 4) & 0x0fffffff;
    bytes.writeUInt32LE(first, fatOffset + fifth * 4);
    const volume = open(images.fat32!, bytes);
    expect(() => volume.list(find(volume, '/many'))).toThrow(new RegExp(`^FAT32 cluster chain of folder /many loops at cluster ${first}$`));
  });

  it('something that is not FAT is not probed as FAT', () => {
    expect(fatDriver.probe(bufferDevice(Buffer.alloc(65536), 'zeros'))).toBeNull();
    const ntfsLike = Buffer.alloc(4096);
    ntfsLike.write('\xeb\x52\x90NTFS    ', 0, 'latin1');
    ntfsLike.writeUInt16LE(512, 11);
    expect(fatDriver.probe(bufferDevice(ntfsLike, 'ntfs'))).toBeNull();
  });
});
