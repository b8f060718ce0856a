import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChain, type Chain } from '../../../main/disk/chain.js';
import { bufferDevice, chainDevice } from '../../../main/guest/block-device.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { crc32cWithHole } from '../../../main/guest/xfs/crc32c.js';
import { xfsDriver } from '../../../main/guest/xfs/index.js';
import { DIRTY_LOG_NOTE } from '../../../main/guest/xfs/log.js';
import {
  BIG_DIR_ENTRIES,
  buildXfsImage,
  contentTree,
  type CraftedExtent,
  expectedCraftedBytes,
  LONG_TARGET,
  makeBtreeFile,
  patternBytes,
  repairRemoteSymlink,
  rewriteExtents,
  type TreeFile,
  xfsDb,
  xfsDbBmap,
  xfsDbList,
} from './xfs-images.js';

const folder = mkdtempSync(join(tmpdir(), 'diskchain-xfs-'));
const tree = contentTree();
const chains: Chain[] = [];

afterAll(() => {
  for (const chain of chains) chain.close();
  rmSync(folder, { recursive: true, force: true });
});

function open(image: string): GuestFileSystem {
  const chain = openChain(image);
  chains.push(chain);
  const device = chainDevice(chain);
  expect(xfsDriver.probe(device)).toBe('xfs');
  return xfsDriver.open(device);
}

function lookup(fs: GuestFileSystem, path: string): GuestEntry {
  let entry = fs.root();
  for (const name of path.split('/').filter(Boolean)) {
    const next = fs.list(entry).find((e) => e.name === name);
    if (!next) throw new Error(`${path}: no ${name}`);
    entry = next;
  }
  return entry;
}

/** Reads a whole file in odd-sized pieces, so reads that straddle blocks and extents are exercised. */
function readAll(fs: GuestFileSystem, entry: GuestEntry, piece = 12_345): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; ; ) {
    const buf = Buffer.alloc(piece);
    const count = fs.read(entry, buf, offset);
    parts.push(buf.subarray(0, count));
    offset += count;
    if (count < piece) break;
  }
  return Buffer.concat(parts);
}

function walk(fs: GuestFileSystem, dir: GuestEntry, prefix: string, out: Map<string, GuestEntry>): void {
  for (const entry of fs.list(dir)) {
    out.set(`${prefix}${entry.name}`, entry);
    if (entry.type === 'dir') walk(fs, entry, `${prefix}${entry.name}/`, out);
  }
}

function inoOf(image: string, dir: string, name: string): number {
  const row = xfsDbList(image, dir).find((e) => e.name === name);
  if (!row) throw new Error(`xfs_db does not list ${dir} ${name}`);
  return row.ino;
}

/** xfs_db prints "core.mtime.sec = Sun Dec  6 21:57:47 2026" (local time; UTC here) and the nanoseconds apart. */
function expectTimesMatch(fs: GuestFileSystem, image: string, name: string): void {
  const entry = lookup(fs, name);
  const text = execFileSync('xfs_db', ['-r', '-c', `inode ${entry.id}`, '-c', 'p core.mtime.sec core.mtime.nsec core.atime.sec core.atime.nsec', image], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  const time = (field: string): number => {
    const seconds = Date.parse(`${new RegExp(`core.${field}.sec = \\w+ (.+)`).exec(text)![1]!} UTC`);
    return seconds + Math.floor(Number(new RegExp(`core.${field}.nsec = (\\d+)`).exec(text)![1]) / 1e6);
  };
  expect(entry.mtimeMs).toBe(time('mtime'));
  expect(entry.atimeMs).toBe(time('atime'));
}

const DB_TYPES: Record<string, string> = { regular: 'file', directory: 'dir', symlink: 'symlink' };

function expectMatchesTree(fs: GuestFileSystem, image: string): void {
  const listed = new Map<string, GuestEntry>();
  walk(fs, fs.root(), '', listed);
  expect([...listed.keys()].sort()).toEqual(tree.map((t) => t.path).sort());
  for (const item of tree) {
    const entry = listed.get(item.path)!;
    expect(entry.type, item.path).toBe(item.kind);
    if (item.kind === 'file') {
      expect(entry.size, item.path).toBe(item.bytes!.length);
      expect(readAll(fs, entry).equals(item.bytes!), item.path).toBe(true);
    }
    if (item.kind === 'symlink') {
      expect(entry.linkTarget).toBe(item.target);
      expect(entry.size).toBe(item.target!.length);
      expect(readAll(fs, entry).toString()).toBe(item.target);
    }
  }
  // Every folder's names, inode numbers and types as xfs_db reads them.
  for (const dir of ['', ...tree.filter((t) => t.kind === 'dir').map((t) => t.path)]) {
    const ours = fs
      .list(dir ? listed.get(dir)! : fs.root())
      .map((e) => `${e.name} ${e.id} ${e.type}`)
      .sort();
    const theirs = xfsDbList(image, `/${dir}`)
      .map((e) => `${e.name} ${e.ino} ${DB_TYPES[e.type] ?? e.type}`)
      .sort();
    expect(ours, `/${dir}`).toEqual(theirs);
  }
}

describe('XFS v5 (CRC, the RHEL default) through a sparse VMDK', () => {
  let raw: string;
  let fs: GuestFileSystem;
  beforeAll(() => {
    raw = buildXfsImage(folder, 'v5', tree, []);
    repairRemoteSymlink(raw, inoOf(raw, '/', 'long-link'), LONG_TARGET);
    execFileSync('xfs_repair', ['-n', raw], { stdio: 'ignore' }); // the fixture itself is sound
    const vmdk = join(folder, 'v5.vmdk');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, vmdk]);
    fs = open(vmdk);
  }, 60_000);

  it('reads the label, UUID and a clean log', () => {
    expect(fs.type).toBe('xfs');
    expect(fs.label).toBe('v5');
    expect(fs.uuid).toBe('5f3e0c6a-1b2c-4d5e-8f90-a1b2c3d4e5f6');
    expect(fs.notes).toEqual([]);
  });

  it('lists every folder form and reads every file and link like the source tree and xfs_db', () => {
    expectMatchesTree(fs, raw);
  });

  it('has a folder of each v2 form (xfs_db says so)', () => {
    const dirForm = (path: string, name: string): string => {
      const ino = name === '.' ? Number(fs.root().id) : inoOf(raw, path, name);
      if (/core.format = 1/.test(xfsDb(raw, [`inode ${ino}`, 'p core.format']))) return 'short form';
      const blocks = xfsDbBmap(raw, ino).map((e) => e.fileBlock * 4096);
      if (blocks.some((b) => b >= 2 ** 36)) return 'node';
      return blocks.some((b) => b >= 2 ** 35) ? 'leaf' : 'block';
    };
    expect([dirForm('/', '.'), dirForm('/', 'forty'), dirForm('/', 'three-hundred'), dirForm('/', 'big')]).toEqual(['short form', 'block', 'leaf', 'node']);
  });

  it('gives the times xfs_db gives (bigtime on v5), to the millisecond', () => {
    expectTimesMatch(fs, raw, 'data.bin');
  });

  it(`lists a ${BIG_DIR_ENTRIES}-entry folder (node form) in one pass`, () => {
    const big = fs.list(lookup(fs, 'big'));
    expect(big).toHaveLength(BIG_DIR_ENTRIES);
    expect(new Set(big.map((e) => e.name)).size).toBe(BIG_DIR_ENTRIES);
  });

  it('gives owners, modes and nanosecond-derived times from the inode', () => {
    const hello = lookup(fs, 'hello.txt');
    expect(hello.mode! & 0o7777).toBe(0o644);
    expect(hello.uid).toBe(1000);
    expect(hello.gid).toBe(100);
    expect(Math.abs(hello.mtimeMs! - Date.now())).toBeLessThan(10 * 60_000);
    expect(hello.birthtimeMs).not.toBeNull();
  });

  it('reads past the end as zero bytes and refuses named streams', () => {
    const hello = lookup(fs, 'hello.txt');
    expect(fs.read(hello, Buffer.alloc(10), hello.size)).toBe(0);
    expect(() => fs.read(hello, Buffer.alloc(10), 0, 'secret')).toThrow(/no named data streams/);
  });
});

describe('XFS v5 remote symlink as mkfs.xfs 6.1 writes it (no XSLM header; xfs_repair clears it)', () => {
  it('lists the link without a target and names the damaged block when it is read', () => {
    const raw = buildXfsImage(folder, 'v5bad', [{ path: 'long-link', kind: 'symlink', target: LONG_TARGET }], []);
    const fs = open(raw);
    const [link] = fs.list(fs.root());
    expect(link).toMatchObject({ name: 'long-link', type: 'symlink', size: LONG_TARGET.length });
    expect(link!.linkTarget).toBeUndefined();
    expect(() => fs.read(link!, Buffer.alloc(2048), 0)).toThrow(/^XFS symlink inode \d+ remote block 0: no XSLM header$/);
  });
});

describe('XFS v4 (crc=0) read raw', () => {
  it('lists and reads the same tree', () => {
    const raw = buildXfsImage(folder, 'v4', tree, ['-m', 'crc=0']);
    const fs = open(raw);
    expect(fs.label).toBe('v4');
    expectMatchesTree(fs, raw);
    expectTimesMatch(fs, raw, 'data.bin');
  }, 60_000);
});


/** Four files: pieces.bin (16 known blocks), target.bin and btree.bin to reshape, scratch.bin for bmbt blocks. */
function craftedTree(): { pieces: Buffer; tree: TreeFile[] } {
  const pieces = patternBytes(16 * 4096, 23);
  return {
    pieces,
    tree: [
      { path: 'pieces.bin', kind: 'file', bytes: pieces },
      { path: 'target.bin', kind: 'file', bytes: patternBytes(4096, 29) },
      { path: 'scratch.bin', kind: 'file', bytes: patternBytes(16 * 4096, 31) },
      { path: 'btree.bin', kind: 'file', bytes: patternBytes(4096, 37) },
      { path: 'loop.bin', kind: 'file', bytes: patternBytes(4096, 41) },
      { path: 'forty', kind: 'dir' },
      ...Array.from({ length: 40 }, (_, i): TreeFile => ({ path: `forty/entry-${i}.txt`, kind: 'file', bytes: Buffer.from(`entry ${i}\n`) })),
    ],
  };
}

describe('XFS v5 block-map btree file (BMA3 leaf with CRC)', () => {
  it('follows the root to a CRC-checked leaf, like xfs_db maps it; a flipped bit in the leaf is a CRC error', () => {
    const { pieces, tree: files } = craftedTree();
    const raw = buildXfsImage(folder, 'bmbt5', files, []);
    const base = xfsDbBmap(raw, inoOf(raw, '/', 'pieces.bin'))[0]!.fsBlock;
    const leaf = xfsDbBmap(raw, inoOf(raw, '/', 'scratch.bin'))[0]!.fsBlock;
    const ino = inoOf(raw, '/', 'btree.bin');
    const extents: CraftedExtent[] = [
      { fileBlock: 0, fsBlock: base + 4, count: 4 },
      { fileBlock: 5, fsBlock: base, count: 2, unwritten: true },
      { fileBlock: 8, fsBlock: base + 10, count: 2 },
    ];
    makeBtreeFile(raw, ino, leaf, extents, 10 * 4096, { v5: true });
    expect(xfsDbBmap(raw, ino)).toEqual(extents.map((e) => ({ ...e, unwritten: e.unwritten ?? false })));
    expect(xfsDb(raw, [`fsblock ${leaf}`, 'type bmapbtd', 'p crc'])).toMatch(/\(correct\)/);
    const fs = open(raw);
    expect(readAll(fs, lookup(fs, 'btree.bin')).equals(expectedCraftedBytes(pieces, base, extents, 10 * 4096))).toBe(true);
    const damaged = readFileSync(raw);
    damaged[leaf * 4096 + 100] ^= 1;
    const bad = xfsDriver.open(bufferDevice(damaged, 'bmbt5.vmdk'));
    expect(() => bad.read(lookup(bad, 'btree.bin'), Buffer.alloc(4096), 0)).toThrow(new RegExp(`^XFS inode ${ino} block map btree block ${leaf}: CRC mismatch$`));
  });
});

describe.each([
  ['v4', ['-m', 'crc=0']],
  ['v5', []],
])('XFS %s fragmented file with holes and unwritten extents (reshaped with xfs_db)', (name, options) => {
  it('reads each extent from its own place, holes and unwritten extents as zeros, like xfs_db maps it', () => {
    const { pieces, tree: files } = craftedTree();
    const raw = buildXfsImage(folder, `frag-${name}`, files, options);
    const base = xfsDbBmap(raw, inoOf(raw, '/', 'pieces.bin'))[0]!.fsBlock;
    const ino = inoOf(raw, '/', 'target.bin');
    const extents: CraftedExtent[] = [
      { fileBlock: 0, fsBlock: base + 8, count: 4 },
      { fileBlock: 6, fsBlock: base, count: 2 },
      { fileBlock: 8, fsBlock: base + 2, count: 3, unwritten: true },
      { fileBlock: 11, fsBlock: base + 13, count: 3 },
    ];
    const size = 14 * 4096 - 1000;
    rewriteExtents(raw, ino, extents, size, name === 'v5');
    expect(xfsDbBmap(raw, ino)).toEqual(extents.map((e) => ({ ...e, unwritten: e.unwritten ?? false })));
    const fs = open(raw);
    const target = lookup(fs, 'target.bin');
    expect(target.size).toBe(size);
    const expected = expectedCraftedBytes(pieces, base, extents, size);
    expect(readAll(fs, target, 5000).equals(expected)).toBe(true);
    expect(readAll(fs, target, 1 << 20).equals(expected)).toBe(true);
  });
});

// A btree fork with so few extents is one the kernel would not write (xfs_db then refuses to ls it), but
// the walk through root, node pointers and leaf records is the same as for a file with thousands.
describe('XFS v4 block-map btree (bmbt) files (made with xfs_db)', () => {
  let raw: string;
  let pieces: Buffer;
  let base: number;
  let scratch: number;
  let fortyListing: string[];
  const extents = (b: number): CraftedExtent[] => [
    { fileBlock: 0, fsBlock: b + 4, count: 4 },
    { fileBlock: 4, fsBlock: b, count: 2 },
    { fileBlock: 8, fsBlock: b + 10, count: 2 },
  ];
  beforeAll(() => {
    const crafted = craftedTree();
    pieces = crafted.pieces;
    raw = buildXfsImage(folder, 'bmbt', crafted.tree, ['-m', 'crc=0']);
    base = xfsDbBmap(raw, inoOf(raw, '/', 'pieces.bin'))[0]!.fsBlock;
    scratch = xfsDbBmap(raw, inoOf(raw, '/', 'scratch.bin'))[0]!.fsBlock;
    makeBtreeFile(raw, inoOf(raw, '/', 'btree.bin'), scratch, extents(base), 10 * 4096);
    makeBtreeFile(raw, inoOf(raw, '/', 'loop.bin'), scratch + 1, [], 4096, { loop: true });
    const forty = inoOf(raw, '/', 'forty');
    fortyListing = xfsDbList(raw, '/forty').map((e) => `${e.name} ${e.ino}`);
    makeBtreeFile(raw, forty, scratch + 2, [{ fileBlock: 0, fsBlock: xfsDbBmap(raw, forty)[0]!.fsBlock, count: 1 }], 4096);
  }, 60_000);

  it('follows the btree root in the inode to its leaf, like xfs_db', () => {
    const ino = inoOf(raw, '/', 'btree.bin');
    expect(xfsDbBmap(raw, ino)).toEqual(extents(base).map((e) => ({ ...e, unwritten: false })));
    const fs = open(raw);
    const file = lookup(fs, 'btree.bin');
    expect(readAll(fs, file).equals(expectedCraftedBytes(pieces, base, extents(base), 10 * 4096))).toBe(true);
  });

  it('lists a folder whose block map is a btree, like xfs_db listed it before the reshaping', () => {
    const fs = open(raw);
    const names = fs.list(lookup(fs, 'forty')).map((e) => `${e.name} ${e.id}`);
    expect(names).toHaveLength(40);
    expect(names.sort()).toEqual(fortyListing.sort());
    expect(xfsDb(raw, [`inode ${inoOf(raw, '/', 'forty')}`, 'p core.format'])).toMatch(/core.format = 3 \(btree\)/);
  });

  it('refuses a btree whose node points at itself, for that file only', () => {
    const fs = open(raw);
    const names = fs.list(fs.root()).map((e) => e.name);
    expect(names).toContain('loop.bin');
    const loop = lookup(fs, 'loop.bin');
    expect(() => fs.read(loop, Buffer.alloc(4096), 0)).toThrow(new RegExp(`^XFS inode ${loop.id} block map btree block ${scratch + 1}: is reached twice \\(the btree loops\\)$`));
    expect(readAll(fs, lookup(fs, 'pieces.bin')).equals(pieces)).toBe(true);
  });
});

describe('XFS damage is a one-line error naming the structure', () => {
  let raw: string;
  let image: Buffer;
  const small = tree.filter((t) => !t.path.startsWith('big') && !t.path.startsWith('three-hundred'));
  beforeAll(() => {
    raw = buildXfsImage(folder, 'bad', small, ['-m', 'crc=0']);
    image = readFileSync(raw);
  }, 60_000);

  function openBytes(bytes: Buffer): GuestFileSystem {
    return xfsDriver.open(bufferDevice(bytes, 'bad.vmdk'));
  }
  function patched(at: number, write: (b: Buffer) => void): Buffer {
    const copy = Buffer.from(image);
    write(copy.subarray(at));
    return copy;
  }

  it('refuses a truncated volume', () => {
    expect(() => openBytes(image.subarray(0, 20 << 20))).toThrow(/^XFS superblock: the volume needs \d+ bytes but the device has 20971520 \(truncated\?\)$/);
  });

  it('refuses absurd superblock values before using them', () => {
    expect(xfsDriver.probe(bufferDevice(patched(0, (b) => b.write('XFSC', 0)), 'x'))).toBeNull();
    expect(() => openBytes(patched(0, (b) => b.write('XFSC', 0)))).toThrow(/^XFS superblock: no XFSB magic$/);
    expect(() => openBytes(patched(4, (b) => b.writeUInt32BE(3000, 0)))).toThrow(/^XFS superblock: block size 3000 \(log 12\) is not a power of two/);
    expect(() => openBytes(patched(88, (b) => b.writeUInt32BE(0x7fffffff, 0)))).toThrow(/^XFS superblock: data block count \d+ does not match 2147483647 allocation groups of \d+ blocks$/);
    expect(() => openBytes(patched(104, (b) => b.writeUInt16BE(384, 0)))).toThrow(/^XFS superblock: inode size 384 is not a power of two/);
    expect(() => openBytes(patched(56, (b) => b.writeBigUInt64BE(1n << 50n, 0)))).toThrow(/^XFS inode 1125899906842624: the number points outside the volume$/);
  });

  it('refuses a folder block with a bad magic, and lists the rest of the volume', () => {
    const forty = Number(xfsDbList(raw, '/').find((e) => e.name === 'forty')!.ino);
    const [first] = xfsDbBmap(raw, forty);
    const fs = openBytes(patched(first!.fsBlock * 4096, (b) => b.write('XXXX', 0)));
    const root = fs.list(fs.root());
    expect(root.map((e) => e.name)).toContain('hello.txt');
    expect(() => fs.list(root.find((e) => e.name === 'forty')!)).toThrow(new RegExp(`^XFS directory inode ${forty} data block 0: bad magic 0x58585858$`));
  });

  it('says the log was not replayed when the last log record is not an unmount record (xfs_logprint: DIRTY)', () => {
    expect(openBytes(image).notes).toEqual([]);
    const logBlock = Number(/daddr: (\d+)/.exec(execFileSync('xfs_logprint', ['-t', raw], { encoding: 'utf8' }))![1]);
    const dirty = join(folder, 'dirty.img');
    // Clear the unmount flag of the first log operation after mkfs's unmount record header.
    writeFileSync(dirty, patched(logBlock * 512 + 512 + 9, (b) => (b[0] = b[0]! & ~0x20)));
    expect(execFileSync('xfs_logprint', ['-t', dirty], { encoding: 'utf8' })).toMatch(/state: <DIRTY>/);
    expect(openBytes(readFileSync(dirty)).notes).toEqual([DIRTY_LOG_NOTE]);
  });
});

describe('XFS v5 features', () => {
  let image: Buffer;
  beforeAll(() => {
    image = readFileSync(buildXfsImage(folder, 'feat', [{ path: 'a', kind: 'file', bytes: Buffer.from('a') }], []));
  }, 60_000);

  function withIncompat(bits: number): Buffer {
    const copy = Buffer.from(image);
    copy.writeUInt32BE(copy.readUInt32BE(216) | bits, 216);
    copy.writeUInt32LE(crc32cWithHole(copy.subarray(0, 512), 224), 224);
    return copy;
  }

  it('checks the superblock CRC', () => {
    const copy = Buffer.from(image);
    copy[300] = copy[300]! ^ 1;
    expect(() => xfsDriver.open(bufferDevice(copy, 'f.vmdk'))).toThrow(/^XFS superblock: CRC mismatch$/);
  });

  it('refuses incompatible features it does not know, naming them', () => {
    expect(() => xfsDriver.open(bufferDevice(withIncompat(0x10), 'f.vmdk'))).toThrow(/^XFS superblock: incompatible features this reader does not know: needsrepair$/);
    expect(() => xfsDriver.open(bufferDevice(withIncompat(0x100 | 0x40000000), 'f.vmdk'))).toThrow(/: metadir, 0x40000000$/);
  });
});
