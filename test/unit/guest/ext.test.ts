import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { bufferDevice, chainDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { extDriver } from '../../../main/guest/ext/index.js';
import { NameList } from '../../../main/guest/name-list.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { patternBytes } from '../../fixtures/pattern.js';
import {
  LONG_LINK_TARGET,
  MIB,
  SPARSE_DATA_AT,
  SPARSE_SIZE,
  makeExtImage,
  run,
  sleuthkitBody,
  writeExtContent,
} from '../../fixtures/ext-builder.js';

let work: string;

/** A raw image file as a device (the engine's openChain reads raw files too). */
function rawDevice(image: string): BlockDevice {
  const bytes = readFileSync(image);
  return bufferDevice(bytes, image);
}

interface Walked {
  entry: GuestEntry;
  path: string;
}

function walk(fs: GuestFileSystem): Walked[] {
  const out: Walked[] = [];
  const visit = (dir: GuestEntry, prefix: string): void => {
    for (const entry of fs.list(dir)) {
      const path = `${prefix}${entry.name}`;
      out.push({ entry, path });
      if (entry.type === 'dir') visit(entry, `${path}/`);
    }
  };
  visit(fs.root(), '');
  return out;
}

function md5Of(fs: GuestFileSystem, file: GuestEntry): string {
  const hash = createHash('md5');
  const buf = Buffer.alloc(Math.min(MIB, Math.max(1, file.size)));
  for (let at = 0; ; ) {
    const got = fs.read(file, buf, at);
    if (got === 0) break;
    hash.update(buf.subarray(0, got));
    at += got;
  }
  return hash.digest('hex');
}

function find(fs: GuestFileSystem, path: string): GuestEntry {
  let entry = fs.root();
  for (const name of path.split('/')) {
    const next = fs.list(entry).find((e) => e.name === name);
    if (!next) throw new Error(`${path}: no ${name}`);
    entry = next;
  }
  return entry;
}

function readAll(fs: GuestFileSystem, path: string): Buffer {
  const entry = find(fs, path);
  const buf = Buffer.alloc(entry.size);
  expect(fs.read(entry, buf, 0)).toBe(entry.size);
  return buf;
}

/**
 * Listing, inode numbers, sizes and mtimes against sleuthkit's `fls -r -m` (names and metadata; its -h
 * hashing takes ~40 s on the 70 MiB sparse file of a 1 KiB-block volume, so the bytes come from debugfs).
 */
function expectMatchesSleuthkit(image: string, fs: GuestFileSystem): void {
  const oracle = sleuthkitBody(image).filter((r) => r.path !== '/');
  const ours = walk(fs);
  expect(ours.map((w) => `/${w.path}`).sort()).toEqual(oracle.map((r) => r.path).sort());
  const byPath = new Map(ours.map((w) => [`/${w.path}`, w.entry]));
  const mismatches: string[] = [];
  for (const row of oracle) {
    const entry = byPath.get(row.path) as GuestEntry;
    const got = `${entry.id} ${entry.size} ${Math.floor((entry.mtimeMs as number) / 1000)} ${row.linkTarget === undefined ? '' : entry.linkTarget}`;
    const want = `${row.inode} ${row.size} ${row.mtime} ${row.linkTarget ?? ''}`;
    if (got !== want) mismatches.push(`${row.path}: ${got} != ${want}`);
  }
  expect(mismatches).toEqual([]);
}

/**
 * Every entry's type, size, link target and file bytes against debugfs `rdump`. Left out: the sparse file
 * (rdump would write all 70 MiB of it; expectContent checks it against the bytes it was made of) and the
 * 10,000 empty files of big/ (fls checks their names and sizes).
 */
function expectMatchesDebugfs(image: string, fs: GuestFileSystem): void {
  const skipped = new Set(['sparse.bin', 'big']);
  const out = `${image}.rdump`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  const top = debugfs(image, 'ls -p /')
    .split('\n')
    .map((l) => l.split('/')[5])
    .filter((n) => n && !skipped.has(n) && n !== '.' && n !== '..');
  run('debugfs', ['-f', '-', image], `rdump ${top.map((n) => `"/${n}"`).join(' ')} ${out}\n`);
  const oracle: string[] = [];
  const visit = (dir: string, prefix: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const path = `${prefix}${d.name}`;
      const full = join(dir, d.name);
      if (d.isSymbolicLink()) oracle.push(`${path} symlink ${readlinkSync(full)}`);
      else if (d.isDirectory()) {
        oracle.push(`${path} dir`);
        visit(full, `${path}/`);
      } else oracle.push(`${path} file ${statSync(full).size} ${createHash('md5').update(readFileSync(full)).digest('hex')}`);
    }
  };
  visit(out, '');
  // rdump skips fifos and devices: those are checked against fls and in expectContent.
  const ours = walk(fs).filter(({ path, entry }) => !skipped.has(path.split('/')[0]) && entry.type !== 'other').map(({ entry, path }) =>
    entry.type === 'symlink' ? `${path} symlink ${entry.linkTarget}` : entry.type === 'dir' ? `${path} dir` : `${path} ${entry.type} ${entry.size} ${md5Of(fs, entry)}`,
  );
  expect(ours.sort()).toEqual(oracle.sort());
  rmSync(out, { recursive: true, force: true });
}

function expectContent(fs: GuestFileSystem, sparseSize = SPARSE_SIZE): void {
  expect(readAll(fs, 'hello.txt').toString()).toBe('hello, ext\n');
  expect(readAll(fs, 'random.bin')).toEqual(patternBytes(300_001, 7));
  expect(readAll(fs, 'frag/fragmented.bin')).toEqual(patternBytes(300_000, 99));
  expect(readAll(fs, 'ünï cödé ✓/fïlé €.txt').toString()).toBe('unicode\n');
  expect(readAll(fs, 'medium-inline.txt').toString()).toBe('x'.repeat(100));
  expect(find(fs, 'fast-link')).toMatchObject({ type: 'symlink', linkTarget: 'hello.txt', size: 9 });
  expect(find(fs, 'long-link')).toMatchObject({ type: 'symlink', linkTarget: LONG_LINK_TARGET });
  expect(find(fs, 'sub/hard-link').id).toBe(find(fs, 'hello.txt').id);
  const pipe = find(fs, 'pipe');
  expect([pipe.type, (pipe.mode as number) & 0xf000, pipe.size]).toEqual(['other', 0x1000, 0]);

  const sparse = find(fs, 'sparse.bin');
  expect(sparse.size).toBe(sparseSize);
  const piece = Buffer.alloc(5000);
  for (const [i, at] of SPARSE_DATA_AT.entries()) {
    fs.read(sparse, piece, at);
    expect(piece).toEqual(patternBytes(5000, 50 + i));
  }
  const hole = Buffer.alloc(3 * MIB, 0xff);
  fs.read(sparse, hole, 10 * MIB);
  expect(hole.every((b) => b === 0)).toBe(true);
  // A read across the end returns only what is there.
  expect(fs.read(sparse, Buffer.alloc(100), sparseSize - 10)).toBe(10);
}

function debugfs(image: string, request: string): string {
  return run('debugfs', ['-R', request, image]);
}

const images: Record<string, string> = {};

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'diskchain-ext-'));
  const content = join(work, 'content');
  mkdirSync(content);
  writeExtContent(content);
  const bigContent = join(work, 'big-content');
  mkdirSync(bigContent);
  writeExtContent(bigContent, { bigDirEntries: 10_000 });
  const make = (name: string, sizeMiB: number, args: string[], from = content): void => {
    images[name] = join(work, `${name}.img`);
    makeExtImage(images[name], from, sizeMiB, args, work);
  };
  // Small volumes: the 70 MiB sparse file has only 20 KB of data.
  make('ext4', 48, ['-b', '4096', '-N', '16384'], bigContent);
  make('ext2', 32, ['-t', 'ext2', '-b', '1024', '-I', '128']);
  make('ext3', 32, ['-t', 'ext3']);
  make('indirect4', 32, ['-O', '^extent,^64bit', '-b', '1024']);
  make('inline', 32, ['-O', 'inline_data']);
  // 64bit + meta_bg with tiny groups, so descriptors live in several meta groups.
  make('metabg', 32, ['-b', '1024', '-g', '1024', '-N', '512', '-O', '64bit,meta_bg,^resize_inode']);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('ext reader against sleuthkit and debugfs', () => {
  it('ext4 (4 KiB blocks, extents, htree 10,000-entry folder, fragmented file) lists and reads like fls/icat', () => {
    const fs = extDriver.open(rawDevice(images.ext4));
    expect(fs.type).toBe('ext4');
    expect(fs.label).toBe('testvol');
    expect(fs.uuid).toBe('6b1e0c47-3c57-4f0e-9d1c-1a2b3c4d5e6f');
    expect(fs.notes).toEqual([]);
    // The fixture really has what it claims: an indexed folder and a file in an extent tree of depth 1.
    expect(debugfs(images.ext4, 'stat /big')).toMatch(/Flags: 0x\w*1000\b/);
    expect(debugfs(images.ext4, 'stat /frag/fragmented.bin')).toMatch(/\(ETB0\)/);
    const big = find(fs, 'big');
    const names = fs.list(big).map((e) => e.name);
    expect(names).toHaveLength(10_000);
    expect(new Set(names).size).toBe(10_000);
    expectMatchesSleuthkit(images.ext4, fs);
    expectMatchesDebugfs(images.ext4, fs);
    expectContent(fs);
  });

  it('ext2 with 1 KiB blocks and 128-byte inodes reads single, double and triple indirect maps', () => {
    const fs = extDriver.open(rawDevice(images.ext2));
    expect(fs.type).toBe('ext2');
    // A 128-byte inode has no extra fields: whole seconds, no birth time.
    expect(find(fs, 'hello.txt')).toMatchObject({ birthtimeMs: null, mtimeMs: expect.any(Number) as number });
    expect((find(fs, 'hello.txt').mtimeMs as number) % 1000).toBe(0);
    expect(extDriver.probe(rawDevice(images.ext2))).toBe('ext2');
    expect(debugfs(images.ext2, 'stat /sparse.bin')).toMatch(/\(TIND\)/);
    expectMatchesSleuthkit(images.ext2, fs);
    expectMatchesDebugfs(images.ext2, fs);
    expectContent(fs);
  });

  it('ext3 is told from ext2 by its journal, and ext4 without extents reads through block maps', () => {
    const ext3 = extDriver.open(rawDevice(images.ext3));
    expect(ext3.type).toBe('ext3');
    expectMatchesSleuthkit(images.ext3, ext3);
    expectMatchesDebugfs(images.ext3, ext3);
    expectContent(ext3);
    const indirect = extDriver.open(rawDevice(images.indirect4));
    expect(indirect.type).toBe('ext4');
    expect(debugfs(images.indirect4, 'stat /frag/fragmented.bin')).toMatch(/\(IND\)/);
    expectMatchesSleuthkit(images.indirect4, indirect);
    expectMatchesDebugfs(images.indirect4, indirect);
    expectContent(indirect);
  });

  it('inline_data files and folders read like icat (debugfs 1.47 pads inline files to 60 bytes)', () => {
    const fs = extDriver.open(rawDevice(images.inline));
    expect(debugfs(images.inline, 'stat /medium-inline.txt')).toMatch(/Size of inline data: 100/);
    expect(debugfs(images.inline, 'stat /sub')).toMatch(/Size of inline data/);
    // mke2fs 1.47 -d with inline_data ends a sparse file at its last data block; we read what it wrote.
    const sparseSize = Number((/Size: (\d+)/.exec(debugfs(images.inline, 'stat /sparse.bin')) as RegExpExecArray)[1]);
    expectContent(fs, sparseSize);
    expectMatchesSleuthkit(images.inline, fs);
    for (const { entry, path } of walk(fs)) {
      if (entry.type !== 'file' || (path.startsWith('many/') && !path.endsWith('-1.txt')) || path === 'sparse.bin') continue;
      const icat = execFileSync('icat', [images.inline, entry.id], { maxBuffer: 16 * MIB });
      expect(`${path} ${md5Of(fs, entry)}`).toBe(`${path} ${createHash('md5').update(icat).digest('hex')}`);
    }
  });

  it('a symlink whose target lives in the inode (inline_data: i_block and system.data) reads whole', () => {
    const image = join(work, 'inline-link.img');
    copyFileSync(images.inline, image);
    const target = `${'y/'.repeat(40)}t`;
    run('debugfs', ['-w', '-R', `symlink /inline-link ${target}`, image]);
    expect(debugfs(image, 'stat /inline-link')).toMatch(/Flags: 0x10000000/);
    const fs = extDriver.open(rawDevice(image));
    expect(find(fs, 'inline-link')).toMatchObject({ type: 'symlink', size: 81, linkTarget: target });
  });

  it('64bit descriptors and meta_bg placement find inodes in every group', () => {
    const fs = extDriver.open(rawDevice(images.metabg));
    expect(debugfs(images.metabg, 'stats')).toMatch(/meta_bg/);
    // Inodes past the first meta group (sleuthkit 4.11 cannot read these: "descriptor block locations too large").
    expect(Number(find(fs, 'sub').id)).toBeGreaterThan(16 * Number(/Inodes per group:\s+(\d+)/.exec(debugfs(images.metabg, 'stats'))?.[1]));
    expectMatchesDebugfs(images.metabg, fs);
    expectContent(fs);
  });

  it('64 KiB blocks and bigalloc clusters (which sleuthkit 4.11 cannot read) read like debugfs', () => {
    const content = join(work, 'content');
    for (const [name, args] of [
      ['b64k', ['-b', '65536']],
      ['bigalloc', ['-O', 'bigalloc', '-C', '16384']],
    ] as const) {
      const image = join(work, `${name}.img`);
      makeExtImage(image, content, 32, [...args], work);
      const fs = extDriver.open(rawDevice(image));
      expect(fs.type).toBe('ext4');
      expectMatchesDebugfs(image, fs);
      expectContent(fs);
    }
  });

  it('unwritten (fallocated) extents read as zeros even when their blocks hold old data', () => {
    const image = join(work, 'unwritten.img');
    copyFileSync(images.ext4, image);
    run('debugfs', ['-w', '-f', '-', image], `fallocate /random.bin 80 100\nsif /random.bin size ${101 * 4096}\n`);
    const [, first, last] = /\(80-100\[u\]\):(\d+)-(\d+)/.exec(debugfs(image, 'stat /random.bin')) as RegExpExecArray;
    const fd = openSync(image, 'r+');
    writeSync(fd, Buffer.alloc((Number(last) - Number(first) + 1) * 4096, 0xab), 0, undefined, Number(first) * 4096);
    closeSync(fd);
    const fs = extDriver.open(rawDevice(image));
    const data = readAll(fs, 'random.bin');
    expect(data.subarray(0, 300_001)).toEqual(patternBytes(300_001, 7));
    expect(data.subarray(300_001).every((b) => b === 0)).toBe(true);
    const icat = execFileSync('icat', [image, find(fs, 'random.bin').id], { maxBuffer: 16 * MIB });
    expect(data.equals(icat)).toBe(true);
  });

  it('a contiguous run of blocks is one device read', () => {
    const device = rawDevice(images.ext4);
    let reads = 0;
    const counting: BlockDevice = { ...device, read: (buf, offset) => (reads++, device.read(buf, offset)) };
    const fs = extDriver.open(counting);
    const entry = find(fs, 'random.bin');
    expect(debugfs(images.ext4, 'stat /random.bin')).toMatch(/EXTENTS:\n\(0-73\):\d+-\d+\n/);
    // The first read also fetches the inode's table block (a listing reads inodes apart from that cache).
    fs.read(entry, Buffer.alloc(1), 0);
    reads = 0;
    expect(fs.read(entry, Buffer.alloc(entry.size), 0)).toBe(300_001);
    expect(reads).toBe(1);
  });

  it('a listing reads its inodes in runs, not one device read per inode', () => {
    const device = rawDevice(images.ext4);
    let reads = 0;
    const counting: BlockDevice = { ...device, read: (buf, offset) => (reads++, device.read(buf, offset)) };
    const fs = extDriver.open(counting);
    const big = find(fs, 'big');
    reads = 0;
    const entries = fs.list(big);
    expect(entries).toHaveLength(10_000);
    // 10,000 inodes of 256 bytes lie in 625 table blocks; the folder itself is about 60 blocks.
    expect(reads).toBeLessThan(40);
    expect(new Set(entries.map((e) => e.id)).size).toBe(10_000);
    expect(entries.every((e) => e.type === 'file' && e.mtimeMs !== null && e.mode !== undefined)).toBe(true);
  });

  it('listNamesInto gives the names, types and ids of list() from the folder blocks alone, the names as their bytes', () => {
    const device = rawDevice(images.ext4);
    let reads = 0;
    const counting: BlockDevice = { ...device, read: (buf, offset) => (reads++, device.read(buf, offset)) };
    const fs = extDriver.open(counting);
    const names = new NameList();
    for (const path of ['big', 'frag']) {
      const folder = find(fs, path);
      reads = 0;
      expect(fs.listNamesInto!(folder, names)).toBe(true);
      // The folder's blocks only (a few metadata windows), never an inode table run per entry.
      expect(reads).toBeLessThan(5);
      const listed = Array.from({ length: names.count }, (_, i) => ({ name: names.name(i), type: names.type(i), id: names.entry(i).id }));
      expect(listed).toEqual(fs.list(folder).map(({ name, type, id }) => ({ name, type, id })));
      // The bytes are the names' UTF-8, and order() sorts them as `LC_ALL=C ls` does.
      const byBytes = listed.map((e) => e.name).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(Array.from(names.order(), (i) => names.name(i))).toEqual(byBytes);
    }
    expect(fs.listNamesInto!(fs.root(), names)).toBe(true);
    const big = Array.from({ length: names.count }, (_, i) => names.entry(i)).find((e) => e.name === 'big');
    expect(big?.type).toBe('dir');
    // A folder a NameList gave lists as the one list() gave.
    expect(fs.list(big as GuestEntry).length).toBe(10_000);
  });

  it('an encrypted (fscrypt) file is listed and refused on read', () => {
    const image = join(work, 'encrypted.img');
    copyFileSync(images.ext4, image);
    run('debugfs', ['-w', '-R', `sif /hello.txt flags 0x80800`, image]);
    const fs = extDriver.open(rawDevice(image));
    const entry = find(fs, 'hello.txt');
    expect(entry.attributes).toEqual(['encrypted']);
    expect(() => fs.read(entry, Buffer.alloc(11), 0)).toThrow(new RegExp(`^hello.txt \\(inode ${entry.id}\\) is encrypted \\(fscrypt\\) and cannot be read$`));
  });

  it('times carry nanoseconds and the extra epoch bits, and owners 32 bits, as debugfs stat shows them', () => {
    const image = join(work, 'times.img');
    copyFileSync(images.ext4, image);
    // mtime: epoch bit 1 (past 2106) and 0x12345678 >> 2 ns; atime: plain nanoseconds.
    run('debugfs', ['-w', '-f', '-', image], 'sif /hello.txt mtime_extra 0x12345679\nsif /hello.txt atime_extra 0x0ee6b280\nsif /hello.txt uid 100000\nsif /hello.txt gid 70000\n');
    const stat = debugfs(image, 'stat /hello.txt');
    const fromDebugfs = (field: string): number => {
      const [, seconds, extra] = new RegExp(`\\b${field}: 0x([0-9a-f]+):([0-9a-f]+)`).exec(stat) as RegExpExecArray;
      const word = Number.parseInt(extra, 16);
      return ((Number.parseInt(seconds, 16) | 0) + (word & 3) * 2 ** 32) * 1000 + (word >>> 2) / 1e6;
    };
    const fs = extDriver.open(rawDevice(image));
    const entry = find(fs, 'hello.txt');
    expect(entry.mtimeMs).toBe(fromDebugfs('mtime'));
    expect(entry.atimeMs).toBe(fromDebugfs('atime'));
    expect(entry.ctimeMs).toBe(fromDebugfs('ctime'));
    expect(entry.birthtimeMs).toBe(fromDebugfs('crtime'));
    expect(entry.mtimeMs as number).toBeGreaterThan(Date.UTC(2106, 0, 1));
    expect((entry.atimeMs as number) % 1000).toBe(62.5); // 0x0ee6b280 >> 2 = 62,500,000 ns
    // Owners above 65535 keep their high halves in osd2.
    const [, user, group] = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(stat) as RegExpExecArray;
    expect([entry.uid, entry.gid]).toEqual([Number(user), Number(group)]);
    expect(entry.uid).toBe(100000);
  });

  it('reads through a VMDK made by qemu-img, via openChain and chainDevice', () => {
    const vmdk = join(work, 'ext4.vmdk');
    run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', images.ext2, vmdk]);
    const chain = openChain(vmdk);
    try {
      const fs = extDriver.open(chainDevice(chain));
      expectContent(fs);
      const fragmented = find(fs, 'frag/fragmented.bin');
      expect(fs.read(fragmented, Buffer.alloc(fragmented.size), 0)).toBe(fragmented.size);
      const icat = execFileSync('icat', [images.ext2, fragmented.id], { maxBuffer: 16 * MIB });
      expect(md5Of(fs, fragmented)).toBe(createHash('md5').update(icat).digest('hex'));
    } finally {
      chain.close();
    }
  });

  it('a volume whose journal needs recovery, or that was not cleanly unmounted, opens with a note saying so', () => {
    const image = join(work, 'dirty.img');
    copyFileSync(images.ext3, image);
    run('debugfs', ['-w', '-R', 'feature needs_recovery', image]);
    const fs = extDriver.open(rawDevice(image));
    expect(fs.notes.join('\n')).toMatch(/the journal needs recovery \(needs_recovery\) but holds no committed transaction/);
    expect(readAll(fs, 'hello.txt').toString()).toBe('hello, ext\n');
    const unclean = join(work, 'unclean.img');
    copyFileSync(images.ext2, unclean);
    run('debugfs', ['-w', '-f', '-', unclean], 'ssv state 2\n');
    expect(extDriver.open(rawDevice(unclean)).notes).toEqual([
      'not cleanly unmounted (mounted when the snapshot was taken, or a crash): recent changes may be missing or inconsistent',
      'the file system recorded errors (run fsck in the guest)',
    ]);
  });
});

describe('damaged ext volumes are refused with one line naming the structure', () => {
  function patched(name: string, patch: (bytes: Buffer) => void): BlockDevice {
    const bytes = readFileSync(images[name]);
    patch(bytes);
    return bufferDevice(bytes, `${name}-damaged.img`);
  }

  it('a truncated image', () => {
    const image = join(work, 'truncated.img');
    copyFileSync(images.ext2, image);
    const size = statSync(image).size;
    truncateSync(image, size / 2);
    expect(() => extDriver.open(rawDevice(image))).toThrow(new RegExp(`^ext2 superblock: the volume needs ${size} bytes .* but the device has ${size / 2} \\(truncated\\?\\)$`));
  });

  it('absurd superblock values', () => {
    const blockSize = patched('ext4', (b) => b.writeUInt32LE(20, 1024 + 0x18));
    expect(() => extDriver.open(blockSize)).toThrow(/^ext4 superblock: block size 2\^30 is outside 1 KiB–64 KiB$/);
    const perGroup = patched('ext4', (b) => b.writeUInt32LE(0, 1024 + 0x20));
    expect(() => extDriver.open(perGroup)).toThrow(/^ext4 superblock: 0 blocks per group is impossible/);
    const inodeSize = patched('ext4', (b) => b.writeUInt16LE(100, 1024 + 0x58));
    expect(() => extDriver.open(inodeSize)).toThrow(/^ext4 superblock: inode size 100 is not a power of two/);
    const feature = patched('ext4', (b) => b.writeUInt32LE(b.readUInt32LE(1024 + 0x60) | 0x1, 1024 + 0x60));
    expect(() => extDriver.open(feature)).toThrow(/^ext4 superblock: the incompatible feature compression is not supported$/);
    const unknown = patched('ext4', (b) => b.writeUInt32LE(b.readUInt32LE(1024 + 0x60) | 0x800000, 1024 + 0x60));
    expect(() => extDriver.open(unknown)).toThrow(/^ext4 superblock: unknown incompatible feature 0x800000/);
    expect(extDriver.probe(bufferDevice(Buffer.alloc(4096), 'zeros'))).toBeNull();
  });

  it('an extent that points past the end of the volume fails that file, not the listing', () => {
    const image = join(work, 'extent-past-end.img');
    copyFileSync(images.ext4, image);
    // i_block words 3–5 are the first extent; word 5 is its start block.
    run('debugfs', ['-w', '-R', 'sif /random.bin block[5] 0x7ffffff0', image]);
    const fs = extDriver.open(rawDevice(image));
    const entry = find(fs, 'random.bin');
    expect(entry.size).toBe(300_001);
    expect(() => fs.read(entry, Buffer.alloc(10), 0)).toThrow(
      new RegExp(`^ext4 inode ${entry.id} \\(random.bin\\): extent for blocks 0–73 points past the end of the volume \\(block 2147483632\\+74 of ${statSync(image).size / 4096}\\)$`),
    );
    expect(readAll(fs, 'hello.txt').toString()).toBe('hello, ext\n');
  });

  it('an extent tree that loops', () => {
    const image = join(work, 'extent-loop.img');
    copyFileSync(images.ext4, image);
    const blocks = debugfs(image, 'stat /frag/fragmented.bin');
    const leaf = Number((/\(ETB0\):(\d+)/.exec(blocks) as RegExpExecArray)[1]);
    // The root says depth 2, and the one node under it is an index node that points at itself.
    run('debugfs', ['-w', '-R', `sif /frag/fragmented.bin block[1] ${(2 << 16) | 4}`, image]);
    const node = Buffer.alloc(24);
    node.writeUInt16LE(0xf30a, 0);
    node.writeUInt16LE(1, 2);
    node.writeUInt16LE(340, 4);
    node.writeUInt16LE(1, 6);
    node.writeUInt32LE(0, 12);
    node.writeUInt32LE(leaf, 16);
    const fd = openSync(image, 'r+');
    writeSync(fd, node, 0, node.length, leaf * 4096);
    closeSync(fd);
    const fs = extDriver.open(rawDevice(image));
    const entry = find(fs, 'frag/fragmented.bin');
    expect(() => fs.read(entry, Buffer.alloc(4096), 0)).toThrow(new RegExp(`^ext4 inode ${entry.id} \\(fragmented.bin\\): extent tree loops at block ${leaf}$`));
  });

  it('a folder block whose entry overruns it', () => {
    const image = join(work, 'bad-dirent.img');
    copyFileSync(images.ext4, image);
    const block = Number(debugfs(image, 'blocks /sub').trim().split(/\s+/)[0]);
    const fd = openSync(image, 'r+');
    const recLen = Buffer.alloc(2);
    recLen.writeUInt16LE(5000); // the "." entry now claims more than the 4096-byte block
    writeSync(fd, recLen, 0, 2, block * 4096 + 4);
    closeSync(fd);
    const fs = extDriver.open(rawDevice(image));
    const sub = find(fs, 'sub');
    expect(() => fs.list(sub)).toThrow(new RegExp(`^ext4 folder sub \\(inode ${sub.id}\\): block 0: entry at byte 0 has record length 5000`));
  });

  it('an entry that points to an inode that cannot exist is listed, and reading it is the error', () => {
    const image = join(work, 'bad-inode.img');
    copyFileSync(images.ext4, image);
    const block = Number(debugfs(image, 'blocks /sub').trim().split(/\s+/)[0]);
    const bytes = readFileSync(image);
    // The third entry of the folder's first block follows "." (12 bytes) and ".." (12 bytes).
    const at = block * 4096 + 24;
    const name = bytes.toString('utf8', at + 8, at + 8 + bytes[at + 6]);
    bytes.writeUInt32LE(0x7fffffff, at);
    const fs = extDriver.open(bufferDevice(bytes, image));
    const entries = fs.list(find(fs, 'sub'));
    expect(entries.map((e) => e.name).sort()).toEqual(['deep', 'hard-link']);
    const bad = entries.find((e) => e.name === name) as GuestEntry;
    expect(bad).toMatchObject({ size: 0, id: String(0x7fffffff), mtimeMs: null });
    expect(() => fs.read(bad, Buffer.alloc(10), 0)).toThrow(new RegExp(`^ext4 entry ${name} points to inode 2147483647, outside 1–\\d+$`));
  });
});
