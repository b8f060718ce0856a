import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { bufferDevice, chainDevice } from '../../../main/guest/block-device.js';
import { ntfsDriver } from '../../../main/guest/ntfs/index.js';
import { lznt1Decompress } from '../../../main/guest/ntfs/lznt1.js';
import { parseBootSector } from '../../../main/guest/ntfs/structures.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { DiskchainError } from '../../../shared/errors.js';

// Images come from mkntfs + ntfscp + ntfstruncate (ntfs-3g), which need neither root nor FUSE; the
// oracle is sleuthkit (fls bodyfile with MD5s, icat for named streams) run on the same image.
const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let dir: string;
let image: string;
let bytes: Buffer;

function md5Of(fs: GuestFileSystem, entry: GuestEntry, stream?: string): string {
  const hash = createHash('md5');
  const buf = Buffer.alloc(256 * 1024);
  for (let offset = 0; ; ) {
    const n = fs.read(entry, buf, offset, stream);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
    offset += n;
  }
  return hash.digest('hex');
}

function open(img: Buffer = bytes): GuestFileSystem {
  return ntfsDriver.open(bufferDevice(img, 'vol.img'));
}

function find(fs: GuestFileSystem, name: string, dirEntry = fs.root()): GuestEntry {
  const entry = fs.list(dirEntry).find((e) => e.name === name);
  if (!entry) throw new Error(`no ${name}`);
  return entry;
}

/** Byte offset of MFT record `n` (a fresh small volume keeps its MFT in one run). */
function recordOffset(img: Buffer, n: number): number {
  const clusterSize = img.readUInt16LE(0x0b) * (img[0x0d] as number);
  const mftLcn = Number(img.readBigUInt64LE(0x30));
  return mftLcn * clusterSize + n * 1024;
}

/** Offset of the first attribute of `type` in record `n`. */
function attributeOffset(img: Buffer, n: number, type: number): number {
  const record = recordOffset(img, n);
  for (let pos = record + img.readUInt16LE(record + 0x14); img.readUInt32LE(pos) !== 0xffffffff; pos += img.readUInt32LE(pos + 4)) {
    if (img.readUInt32LE(pos) === type) return pos;
  }
  throw new Error(`record ${n} has no attribute 0x${type.toString(16)}`);
}

const inode = (path: string): number => Number(run('ifind', ['-n', path, image]).trim());

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'diskchain-ntfs-'));
  image = join(dir, 'vol.img');
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', '24M', image]);
  run('mkntfs', ['-q', '-F', '-f', '-L', 'Diskchain NTFS', image]);
  const src = (name: string, content: Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const copy = (from: string, to: string): string => run('ntfscp', ['-q', image, from, to]);
  copy(src('big', randomBytes(1536 * 1024 + 123)), 'big.bin');
  // 160 names fill several index records: a two-level $I30 B-tree.
  for (let i = 0; i < 160; i++) copy(src(`n${i}`, Buffer.from(`file ${i}\n`.repeat(i))), `entry ${String(i).padStart(3, '0')} ünïcødé 名前.txt`);
  // 40 named streams overflow the record: an $ATTRIBUTE_LIST with extension records.
  copy(src('main', Buffer.from('main stream\n')), 'ads.txt');
  for (let i = 1; i <= 40; i++) run('ntfscp', ['-q', '-N', `s${i}`, image, src(`s${i}`, Buffer.from(`stream ${i} `.repeat(i * 20))), 'ads.txt']);
  // Grown by ntfstruncate: 100,000 bytes, of which only the first 10,000 are initialized (the rest sparse).
  copy(src('grow', randomBytes(10000)), 'grow.txt');
  run('ntfstruncate', [image, String(inode('/grow.txt')), '100000']);
  bytes = readFileSync(image);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NTFS reader against sleuthkit', () => {
  it('reads the label, serial and geometry', () => {
    const fs = open();
    expect(fs.type).toBe('ntfs');
    expect(fs.label).toBe('Diskchain NTFS');
    expect(fs.uuid).toMatch(/^[0-9A-F]{16}$/);
    expect(fs.notes).toEqual([]);
    expect(ntfsDriver.probe(bufferDevice(bytes, 'vol.img'))).toBe('ntfs');
    expect(ntfsDriver.probe(bufferDevice(Buffer.alloc(4096), 'zeros.img'))).toBeNull();
  });

  it('lists every root file with the size, mtime and bytes fls/icat give', () => {
    // bodyfile: md5|path|addr|mode|uid|gid|size|atime|mtime|ctime|crtime
    const oracle = run('fls', ['-r', '-p', '-u', '-h', '-m', '/', image])
      .split('\n')
      .filter((l) => l && !l.includes('($FILE_NAME)'))
      .map((l) => l.split('|'))
      .filter((f) => !(f[1] as string).slice(1).startsWith('$') && !(f[1] as string).includes(':'))
      .map((f) => `${f[1]} ${f[2]?.split('-')[0]} ${f[6]} ${f[8]} ${f[0]}`)
      .sort();
    const fs = open();
    const mine = fs
      .list(fs.root())
      .filter((e) => !e.name.startsWith('$'))
      .map((e) => `/${e.name} ${e.id} ${e.size} ${Math.floor((e.mtimeMs ?? 0) / 1000)} ${md5Of(fs, e)}`)
      .sort();
    expect(oracle.length).toBe(163);
    expect(mine).toEqual(oracle);
  });

  it('lists the index in key order, each name once (no DOS 8.3 aliases)', () => {
    const fs = open();
    const names = fs.list(fs.root()).map((e) => e.name).filter((n) => n.startsWith('entry'));
    expect(names).toHaveLength(160);
    expect(names).toEqual([...names].sort());
    expect(names.some((n) => n.includes('~'))).toBe(false);
  });

  it('lists a subfolder ($Extend)', () => {
    const fs = open();
    const extend = find(fs, '$Extend');
    expect(extend.type).toBe('dir');
    const oracle = run('fls', ['-p', image, String(extend.id)]).split('\n').filter(Boolean).map((l) => (l.split('\t')[1] as string).split(':')[0]);
    expect(fs.list(extend).map((e) => e.name).sort()).toEqual([...new Set(oracle)].sort());
  });

  it('reads named streams of a file whose attributes spill into extension records', () => {
    const fs = open();
    const ads = find(fs, 'ads.txt');
    const addr = inode('/ads.txt');
    expect(run('istat', [image, String(addr)])).toContain('$ATTRIBUTE_LIST');
    expect(ads.streams).toHaveLength(40);
    expect(md5Of(fs, ads)).toBe(createHash('md5').update('main stream\n').digest('hex'));
    const fls = run('fls', [image]).split('\n');
    for (const i of [1, 17, 40]) {
      const stream = ads.streams?.find((s) => s.name === `s${i}`);
      expect(stream?.size).toBe(`stream ${i} `.length * i * 20);
      const attr = fls.find((l) => l.endsWith(`\tads.txt:s${i}`))?.split('\t')[0]?.split(' ')[1]?.replace(/:$/, '');
      const expected = execFileSync('icat', [image, attr as string]);
      expect(md5Of(fs, ads, `s${i}`)).toBe(createHash('md5').update(expected).digest('hex'));
    }
    expect(() => fs.read(ads, Buffer.alloc(8), 0, 'nope')).toThrow(/has no such data stream/);
  });

  it('reads bytes past the initialized size as zeros', () => {
    const fs = open();
    const grow = find(fs, 'grow.txt');
    expect(run('istat', [image, grow.id])).toMatch(/size: 100000\s+init_size: 10000/);
    expect(grow.size).toBe(100000);
    const tail = Buffer.alloc(5000, 0xff);
    expect(fs.read(grow, tail, 95000)).toBe(5000);
    expect(tail.equals(Buffer.alloc(5000))).toBe(true);
    expect(fs.read(grow, tail, 100000)).toBe(0);
  });

  it('reads through a VMDK made from the volume, as one chain', () => {
    const vmdk = join(dir, 'vol.vmdk');
    run('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', image, vmdk]);
    const chain = openChain(vmdk);
    try {
      const device = chainDevice(chain);
      expect(ntfsDriver.probe(device)).toBe('ntfs');
      const fs = ntfsDriver.open(device);
      const big = find(fs, 'big.bin');
      expect(md5Of(fs, big)).toBe(md5Of(open(), find(open(), 'big.bin')));
      expect(fs.list(fs.root())).toHaveLength(open().list(open().root()).length);
    } finally {
      chain.close();
    }
  });
});

describe('NTFS large folders', () => {
  it('lists a 10,000-entry folder (a B-tree of many index records) with the names and record numbers fls gives', () => {
    const big = join(dir, 'many.img');
    execFileSync('truncate', ['-s', '96M', big]);
    run('mkntfs', ['-q', '-F', '-f', big]);
    writeFileSync(join(dir, 'one'), 'x');
    // One shell loop instead of 10,000 spawns from Node: ntfscp adds a file in about 2 ms.
    execFileSync('bash', ['-c', 'for i in $(seq -w 1 10000); do ntfscp -q -f "$1" "$2" "entry-$i.txt" || exit 1; done', 'loop', big, join(dir, 'one')]);
    const fs = ntfsDriver.open(bufferDevice(readFileSync(big), 'many.img'));
    const listed = fs.list(fs.root()).filter((e) => e.name.startsWith('entry-'));
    const oracle = run('fls', ['-u', big])
      .split('\n')
      .map((line) => /^r\/r (\d+)-128-\d+:\t(entry-\d+\.txt)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]} ${m[2]}`);
    expect(oracle).toHaveLength(10_000);
    expect(listed.map((e) => `${e.id} ${e.name}`).sort()).toEqual(oracle.sort());
    expect(listed.every((e) => e.type === 'file' && e.size === 1)).toBe(true);
  }, 180_000);
});

describe('NTFS geometries', () => {
  // 8 KiB and 64 KiB clusters put 4 KiB index records inside a cluster (VCNs count 512-byte blocks);
  // 4096-byte sectors give 4 KiB MFT records; 2 MiB clusters use the negative sectors-per-cluster byte,
  // which sleuthkit 4.11 cannot read, so ntfs-3g's ntfsls/ntfscat are the oracle there.
  it.each([
    ['512-byte clusters', ['-c', '512']],
    ['8 KiB clusters', ['-c', '8192']],
    ['64 KiB clusters', ['-c', '65536']],
    ['4096-byte sectors', ['-s', '4096', '-c', '4096']],
    ['2 MiB clusters', ['-c', '2097152']],
  ])('reads a volume with %s like the oracle', (_label, options) => {
    const img = join(dir, 'geometry.img');
    writeFileSync(img, '');
    execFileSync('truncate', ['-s', '40M', img]);
    run('mkntfs', ['-q', '-F', '-f', ...options, img]);
    const expected = new Map<string, string>();
    const add = (name: string, content: Buffer): void => {
      writeFileSync(join(dir, 'geometry-src'), content);
      run('ntfscp', ['-q', img, join(dir, 'geometry-src'), name]);
      expected.set(name, createHash('md5').update(content).digest('hex'));
    };
    add('big.bin', randomBytes(300000));
    for (let i = 0; i < 40; i++) add(`name number ${i} with some length.txt`, Buffer.from(`content ${i}\n`));
    const bigCluster = options[1] === '2097152';
    const oracleNames = bigCluster
      ? run('ntfsls', [img]).split('\n').filter((n) => n && !n.startsWith('$'))
      : run('fls', ['-u', img]).split('\n').filter(Boolean).map((l) => l.split('\t')[1] as string).filter((n) => !n.startsWith('$') && !n.includes(':'));
    const fs = ntfsDriver.open(bufferDevice(readFileSync(img), 'geometry.img'));
    const entries = fs.list(fs.root()).filter((e) => !e.name.startsWith('$'));
    expect(entries.map((e) => e.name).sort()).toEqual(oracleNames.sort());
    for (const entry of entries) expect(md5Of(fs, entry)).toBe(expected.get(entry.name));
    const big = entries.find((e) => e.name === 'big.bin') as GuestEntry;
    const oracleBig = bigCluster ? execFileSync('ntfscat', [img, 'big.bin']) : execFileSync('icat', [img, big.id]);
    expect(md5Of(fs, big)).toBe(createHash('md5').update(oracleBig).digest('hex'));
  });
});

describe('NTFS compressed files (LZNT1)', () => {
  it('reads text, incompressible and sparse compression units like icat and ntfscat', () => {
    const img = join(dir, 'compressed.img');
    writeFileSync(img, '');
    execFileSync('truncate', ['-s', '8M', img]);
    run('mkntfs', ['-q', '-F', '-f', img]);
    // ntfscp compresses what it writes into a folder marked compressed; mark the root so in its
    // $STANDARD_INFORMATION (setting it needs FUSE otherwise).
    const marked = readFileSync(img);
    const si = attributeOffset(marked, 5, 0x10);
    const flags = si + marked.readUInt16LE(si + 0x14) + 0x20;
    marked.writeUInt32LE(marked.readUInt32LE(flags) | 0x800, flags);
    writeFileSync(img, marked);
    const readme = readFileSync('README.md');
    const files: [string, Buffer][] = [
      ['text.txt', Buffer.concat(Array.from({ length: 12 }, () => readme))],
      ['random.bin', randomBytes(200000)],
      ['mixed.bin', Buffer.concat([Buffer.alloc(100000), readme, Buffer.alloc(200000), randomBytes(50000), Buffer.alloc(70001)])],
    ];
    for (const [name, content] of files) {
      writeFileSync(join(dir, 'compressed-src'), content);
      run('ntfscp', ['-q', img, join(dir, 'compressed-src'), name]);
    }
    const fs = ntfsDriver.open(bufferDevice(readFileSync(img), 'compressed.img'));
    for (const [name, content] of files) {
      const entry = find(fs, name);
      expect(run('istat', [img, entry.id])).toMatch(/\$DATA \(128-\d+\)\s+Name: N\/A\s+Non-Resident, Compressed/);
      expect(entry.attributes).toContain('compressed');
      const md5 = md5Of(fs, entry);
      expect(md5).toBe(createHash('md5').update(content).digest('hex'));
      expect(md5).toBe(createHash('md5').update(execFileSync('icat', [img, entry.id])).digest('hex'));
      expect(md5).toBe(createHash('md5').update(execFileSync('ntfscat', [img, name])).digest('hex'));
      const piece = Buffer.alloc(70000);
      expect(fs.read(entry, piece, 65000)).toBe(70000); // across a 64 KiB unit boundary
      expect(piece.equals(content.subarray(65000, 135000))).toBe(true);
    }
  });
});

describe('NTFS fragmented files', () => {
  it('reads a file in several runs the same as icat', () => {
    const frag = join(dir, 'frag.img');
    writeFileSync(frag, '');
    execFileSync('truncate', ['-s', '4M', frag]);
    run('mkntfs', ['-q', '-F', '-f', frag]);
    const chunk = join(dir, 'chunk');
    writeFileSync(chunk, randomBytes(65536));
    // Fill the volume, free every other file, then copy a file that must take the holes.
    let count = 0;
    for (; count < 64; count++) {
      try {
        run('ntfscp', ['-q', frag, chunk, `f${count}`]);
      } catch {
        break;
      }
    }
    for (let i = 0; i < count - 1; i += 2) run('ntfstruncate', [frag, run('ifind', ['-n', `/f${i}`, frag]).trim(), '0']);
    const data = randomBytes(200000);
    writeFileSync(join(dir, 'fragsrc'), data);
    run('ntfscp', ['-q', frag, join(dir, 'fragsrc'), 'frag.bin']);
    const addr = run('ifind', ['-n', '/frag.bin', frag]).trim();
    const clusters = run('istat', [frag, addr]).split('$DATA')[1]?.match(/\b\d+\b/g)?.map(Number) ?? [];
    expect(clusters.some((c, i) => i > 0 && c !== (clusters[i - 1] as number) + 1)).toBe(true);
    const fs = ntfsDriver.open(bufferDevice(readFileSync(frag), 'frag.img'));
    expect(md5Of(fs, find(fs, 'frag.bin'))).toBe(createHash('md5').update(data).digest('hex'));
  });
});

/** A $REPARSE_POINT value: symlinks carry a flags word before the names, junctions do not. */
function reparseValue(tag: number, substitute: string, print: string): Buffer {
  const sub = Buffer.from(substitute, 'utf16le');
  const prn = Buffer.from(print, 'utf16le');
  const head = Buffer.alloc(tag === 0xa000000c ? 12 : 8);
  head.writeUInt16LE(0, 0);
  head.writeUInt16LE(sub.length, 2);
  head.writeUInt16LE(sub.length, 4);
  head.writeUInt16LE(prn.length, 6);
  const data = tag === 0xa0000003 || tag === 0xa000000c ? Buffer.concat([head, sub, prn]) : Buffer.alloc(8);
  const top = Buffer.alloc(8);
  top.writeUInt32LE(tag >>> 0, 0);
  top.writeUInt16LE(data.length, 4);
  return Buffer.concat([top, data]);
}

/** Turns the resident unnamed $DATA of a root file into a $REPARSE_POINT (ntfs-3g cannot make one without FUSE). */
function withReparse(name: string, value: Buffer): Buffer {
  const img = Buffer.from(bytes);
  const n = inode(`/${name}`);
  const attr = attributeOffset(img, n, 0x80);
  expect(img[attr + 8]).toBe(0); // resident
  const valueOffset = img.readUInt16LE(attr + 0x14);
  expect(img.readUInt32LE(attr + 4) - valueOffset).toBeGreaterThanOrEqual(value.length);
  img.writeUInt32LE(0xc0, attr);
  img.writeUInt32LE(value.length, attr + 0x10);
  value.copy(img, attr + valueOffset);
  const si = attributeOffset(img, n, 0x10);
  const flags = si + img.readUInt16LE(si + 0x14) + 0x20;
  img.writeUInt32LE(img.readUInt32LE(flags) | 0x400, flags);
  return img;
}

describe('NTFS reparse points and encrypted files', () => {
  const name = `entry 050 ünïcødé 名前.txt`;

  it('shows a symlink with its target and never follows it', () => {
    const fs = open(withReparse(name, reparseValue(0xa000000c, '\\??\\C:\\Users\\x.txt', 'C:\\Users\\x.txt')));
    const link = find(fs, name);
    expect(link).toMatchObject({ type: 'symlink', linkTarget: 'C:\\Users\\x.txt', size: 14 });
    expect(link.attributes).toContain('reparse');
    expect(fs.read(link, Buffer.alloc(16), 0)).toBe(0);
  });

  it('shows a junction with its target', () => {
    const fs = open(withReparse(name, reparseValue(0xa0000003, '\\??\\D:\\data', '')));
    expect(find(fs, name)).toMatchObject({ type: 'symlink', linkTarget: 'D:\\data' });
  });

  it('refuses a WOF file of an unknown algorithm, or whose WOF data is cut short', () => {
    const unknown = Buffer.alloc(24);
    for (const [at, word] of [[0, 0x80000017], [4, 16], [8, 1], [12, 2], [16, 1], [20, 7]] as const) unknown.writeUInt32LE(word >>> 0, at);
    let fs = open(withReparse(name, unknown));
    const wof = find(fs, name);
    expect(wof.type).toBe('file');
    expect(wof.attributes).toContain('compressed');
    expect(() => fs.read(wof, Buffer.alloc(16), 0)).toThrow(/^NTFS record \d+ \(.*\) uses WOF algorithm 7, which is not known$/);
    fs = open(withReparse(name, reparseValue(0x80000017, '', '')));
    expect(() => fs.read(find(fs, name), Buffer.alloc(16), 0)).toThrow(/^NTFS record \d+ \(.*\) has WOF reparse data of 16 bytes, too short to name its algorithm$/);
  });

  it('lists an EFS-encrypted file and refuses to read it', () => {
    const img = Buffer.from(bytes);
    const attr = attributeOffset(img, inode('/big.bin'), 0x80);
    img.writeUInt16LE(img.readUInt16LE(attr + 0x0c) | 0x4000, attr + 0x0c);
    const fs = open(img);
    const file = find(fs, 'big.bin');
    expect(file.attributes).toContain('encrypted');
    expect(() => fs.read(file, Buffer.alloc(16), 0)).toThrow(/is EFS-encrypted; its content cannot be read without the user's key$/);
  });
});

/** Offset of the attribute of `type` named `name` in record `n`. */
function namedAttributeOffset(img: Buffer, n: number, type: number, name: string): number {
  const record = recordOffset(img, n);
  for (let pos = record + img.readUInt16LE(record + 0x14); img.readUInt32LE(pos) !== 0xffffffff; pos += img.readUInt32LE(pos + 4)) {
    const nameAt = pos + img.readUInt16LE(pos + 0x0a);
    if (img.readUInt32LE(pos) === type && img.toString('utf16le', nameAt, nameAt + (img[pos + 9] as number) * 2) === name) return pos;
  }
  throw new Error(`record ${n} has no attribute 0x${type.toString(16)} "${name}"`);
}

describe('NTFS WOF/CompactOS files', () => {
  // wimlib (wimtools) compresses the data: a WIM resource is laid out exactly like WofCompressedData
  // (a chunk-offset table, then chunks compressed one by one). ntfs-3g without FUSE cannot set a reparse
  // point, so a small named stream is turned into the WOF $REPARSE_POINT in the image's bytes.
  it.each([
    ['XPRESS4K', 0, 4096],
    ['XPRESS8K', 2, 8192],
    ['XPRESS16K', 3, 16384],
    ['LZX', 1, 32768],
  ])('reads a %s file like the bytes wimlib compressed', (name, algorithm, chunkSize) => {
    // x86 code (qemu-img) exercises LZX's E8 call translation.
    const content = Buffer.concat([readFileSync('README.md').subarray(0, 40000), randomBytes(9000), Buffer.from('tail '.repeat(3000)), readFileSync(execFileSync('which', ['qemu-img'], { encoding: 'utf8' }).trim()).subarray(0, 300000)]);
    const src = join(dir, `wof-src-${chunkSize}`);
    rmSync(src, { recursive: true, force: true });
    execFileSync('mkdir', [src]);
    writeFileSync(join(src, 'file'), content);
    const wim = join(dir, `wof-${chunkSize}.wim`);
    rmSync(wim, { force: true });
    run('wimcapture', [src, wim, `--compress=${name === 'LZX' ? 'LZX' : 'XPRESS'}`, `--chunk-size=${chunkSize}`]);
    const wimBytes = readFileSync(wim);
    let resource: Buffer | null = null;
    const table = Number(wimBytes.readBigUInt64LE(0x38));
    for (let p = table; p < table + wimBytes.readUIntLE(0x30, 6); p += 50) {
      if (Number(wimBytes.readBigUInt64LE(p + 16)) !== content.length) continue;
      const offset = Number(wimBytes.readBigUInt64LE(p + 8));
      expect((wimBytes[p + 7] as number) & 0x04).toBe(0x04); // compressed
      resource = wimBytes.subarray(offset, offset + wimBytes.readUIntLE(p, 6));
    }
    expect(resource).not.toBeNull();

    const img = join(dir, 'wof.img');
    writeFileSync(img, '');
    execFileSync('truncate', ['-s', '8M', img]);
    run('mkntfs', ['-q', '-F', '-f', img]);
    const put = (from: Buffer, to: string, stream?: string): void => {
      writeFileSync(join(dir, 'wof-piece'), from);
      run('ntfscp', ['-q', ...(stream ? ['-N', stream] : []), img, join(dir, 'wof-piece'), to]);
    };
    put(Buffer.from('x'), 'compact.txt');
    const n = Number(run('ifind', ['-n', '/compact.txt', img]).trim());
    run('ntfstruncate', [img, String(n), String(content.length)]); // the sparse placeholder of the real size
    put(resource as Buffer, 'compact.txt', 'WofCompressedData');
    put(Buffer.alloc(24), 'compact.txt', 'r');
    const bytesWof = readFileSync(img);
    const attr = namedAttributeOffset(bytesWof, n, 0x80, 'r');
    expect(bytesWof[attr + 8]).toBe(0); // resident
    const value = attr + bytesWof.readUInt16LE(attr + 0x14);
    bytesWof.writeUInt32LE(0xc0, attr);
    bytesWof[attr + 9] = 0; // unnamed
    for (const [at, word] of [[0, 0x80000017], [4, 16], [8, 1], [12, 2], [16, 1], [20, algorithm]] as const) bytesWof.writeUInt32LE(word >>> 0, value + at);

    const fs = ntfsDriver.open(bufferDevice(bytesWof, 'wof.img'));
    const file = find(fs, 'compact.txt');
    expect(file.size).toBe(content.length);
    expect(file.attributes).toContain('compressed');
    expect(md5Of(fs, file)).toBe(createHash('md5').update(content).digest('hex'));
    const piece = Buffer.alloc(10000);
    expect(fs.read(file, piece, 12345)).toBe(10000);
    expect(piece.equals(content.subarray(12345, 22345))).toBe(true);

    // A chunk offset past the stream is damage, named.
    const stream = namedAttributeOffset(bytesWof, n, 0x80, 'WofCompressedData');
    const runs = stream + bytesWof.readUInt16LE(stream + 0x20);
    const header = bytesWof[runs] as number;
    const clusterSize = bytesWof.readUInt16LE(0x0b) * (bytesWof[0x0d] as number);
    const lcn = bytesWof.readUIntLE(runs + 1 + (header & 0x0f), header >> 4);
    bytesWof.writeUInt32LE(0x7fffffff, lcn * clusterSize);
    const damaged = ntfsDriver.open(bufferDevice(bytesWof, 'wof.img'));
    expect(() => md5Of(damaged, find(damaged, 'compact.txt'))).toThrow(/^NTFS record \d+ \(compact.txt\): WOF chunk 0 \(bytes 0-2147483647\) does not fit its stream$/);
  });
});

describe('NTFS damage is a one-line error', () => {
  it('refuses a truncated volume', () => {
    expect(() => open(bytes.subarray(0, 8 * 1024 * 1024))).toThrow(/^NTFS the volume \(\d+ bytes\) is larger than its device \(8388608 bytes\): truncated$/);
  });

  it('refuses a file whose MFT record is torn, and lists the folder anyway', () => {
    const img = Buffer.from(bytes);
    const n = inode('/big.bin');
    img[recordOffset(img, n) + 1022] ^= 0xff;
    const fs = open(img);
    const big = find(fs, 'big.bin');
    expect(() => fs.read(big, Buffer.alloc(16), 0)).toThrow(new RegExp(`^NTFS record ${n} is torn: the update sequence of sector 1 does not match$`));
    expect(fs.list(fs.root()).length).toBe(open().list(open().root()).length);
  });

  it('refuses a runlist that runs past the end of the volume', () => {
    const img = Buffer.from(bytes);
    const n = inode('/big.bin');
    const attr = attributeOffset(img, n, 0x80);
    const runs = attr + img.readUInt16LE(attr + 0x20);
    const header = img[runs] as number;
    const lcnEnd = runs + 1 + (header & 0x0f) + (header >> 4);
    img[lcnEnd - 1] = 0x7f; // the first run's LCN becomes huge
    const fs = open(img);
    expect(() => fs.read(find(fs, 'big.bin'), Buffer.alloc(16), 0)).toThrow(new RegExp(`^NTFS record ${n}: attribute 0x80: run of \\d+ clusters at cluster \\d+ lies past the end of the volume`));
  });

  it('refuses a folder index that loops', () => {
    const img = Buffer.from(bytes);
    const clusterSize = img.readUInt16LE(0x0b) * (img[0x0d] as number);
    // The root's $INDEX_ROOT points at one INDX node whose entries point at the leaves; make one of them
    // point back at that node. (Index records are one cluster here, so VCN = cluster of the allocation.)
    const children = (node: number, header: number): number[] => {
      const out: number[] = [];
      for (let pos = header + img.readUInt32LE(header); ; pos += img.readUInt16LE(pos + 8)) {
        const flags = img.readUInt16LE(pos + 12);
        if (flags & 1) out.push(pos + img.readUInt16LE(pos + 8) - 8);
        if (flags & 2) return out;
        if (pos - node > 65536) throw new Error('no last entry');
      }
    };
    const root = attributeOffset(img, 5, 0x90);
    const rootValue = root + img.readUInt16LE(root + 0x14);
    const top = Number(img.readBigUInt64LE(children(rootValue, rootValue + 0x10)[0] as number));
    const allocation = attributeOffset(img, 5, 0xa0);
    let node = -1;
    for (let pos = allocation + img.readUInt16LE(allocation + 0x20), vcn = 0, lcn = 0; img[pos] !== 0 && node < 0; ) {
      const header = img[pos] as number;
      const length = img.readUIntLE(pos + 1, header & 0x0f);
      lcn += img.readIntLE(pos + 1 + (header & 0x0f), header >> 4);
      if (top < vcn + length) node = (lcn + top - vcn) * clusterSize;
      vcn += length;
      pos += 1 + (header & 0x0f) + (header >> 4);
    }
    expect(img.toString('latin1', node, node + 4)).toBe('INDX');
    const vcnAt = children(node, node + 0x18).find((at) => Math.floor(at / 512) === Math.floor((at + 9) / 512) && (at + 8) % 512 !== 0);
    expect(vcnAt).toBeDefined();
    img.writeBigUInt64LE(BigInt(top), vcnAt as number);
    const fs = open(img);
    expect(() => fs.list(fs.root())).toThrow(new RegExp(`^NTFS record 5 index loops: index record at VCN ${top} is reached twice$`));
  });

  it('flags a dirty volume in its notes', () => {
    const img = Buffer.from(bytes);
    const info = attributeOffset(img, 3, 0x70);
    const flags = info + img.readUInt16LE(info + 0x14) + 10;
    img.writeUInt16LE(img.readUInt16LE(flags) | 1, flags);
    expect(open(img).notes).toEqual([expect.stringMatching(/^volume is dirty: \$LogFile was not replayed/)]);
  });

  it('refuses absurd boot sectors', () => {
    const sector = Buffer.from(bytes.subarray(0, 512));
    sector[0x40] = 0xf6; // 1 KiB records and 4 KiB index records, given as powers of two
    sector[0x44] = 0xf4;
    sector[0x0d] = 0xf4; // 2^12 sectors of 512 bytes: 2 MiB clusters, the largest there is
    sector.writeBigUInt64LE(1n << 24n, 0x28);
    expect(parseBootSector(sector, 2 ** 40).clusterSize).toBe(2 * 1024 * 1024);
    sector[0x0d] = 0xf3;
    expect(() => parseBootSector(sector, 2 ** 40)).toThrow(/cluster size 4194304 is over 2 MiB/);
    sector[0x0d] = 3;
    expect(() => parseBootSector(sector, 2 ** 40)).toThrow(/sectors per cluster 0x3 is not a power of two/);
  });
});

describe('NTFS hostile bytes', () => {
  it('meets random damage to the boot sector and the MFT with DiskchainErrors only, and always ends', () => {
    let seed = 20261206;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const mft = recordOffset(bytes, 0);
    const buf = Buffer.alloc(64 * 1024);
    const errors = new Set<string>();
    const note = (e: unknown): void => {
      if (!(e instanceof DiskchainError)) throw e;
      expect(e.message).not.toContain('\n');
      errors.add(e.message.replace(/\d+/g, 'N'));
    };
    for (let i = 0; i < 60; i++) {
      const img = Buffer.from(bytes);
      for (let k = 0; k < 1 + random(i % 4 === 0 ? 4 : 40); k++) img[i % 4 === 0 ? random(512) : mft + random(100 * 1024)] = random(256);
      try {
        const fs = open(img);
        const walk = (folder: GuestEntry, depth: number): void => {
          let entries: GuestEntry[] = [];
          try {
            entries = fs.list(folder);
          } catch (e) {
            note(e);
          }
          for (const entry of entries) {
            if (entry.type === 'dir' && depth < 4) walk(entry, depth + 1);
            else {
              try {
                fs.read(entry, buf, 0);
              } catch (e) {
                note(e);
              }
            }
          }
        };
        walk(fs.root(), 0);
      } catch (e) {
        note(e);
      }
    }
    expect(errors.size).toBeGreaterThan(3);
  });
});

describe('LZNT1', () => {
  it('expands literals and a back reference, and fills a short chunk with zeros', () => {
    // flags 0x08: three literals, a token (offset 3, length 9), a literal.
    const chunk = Buffer.from([0x08, 0x61, 0x62, 0x63, 0x06, 0x20, 0x58]);
    const input = Buffer.concat([Buffer.from([(chunk.length - 1) & 0xff, 0xb0]), chunk, Buffer.from([0, 0])]);
    const out = Buffer.alloc(8192, 0xee);
    expect(lznt1Decompress(input, out)).toBe(4096);
    expect(out.toString('latin1', 0, 13)).toBe('abcabcabcabcX');
    expect(out.subarray(13, 4096).equals(Buffer.alloc(4096 - 13))).toBe(true);
  });

  it('refuses a back reference before the chunk start', () => {
    const chunk = Buffer.from([0x01, 0x06, 0x20]);
    const input = Buffer.concat([Buffer.from([(chunk.length - 1) & 0xff, 0xb0]), chunk]);
    expect(() => lznt1Decompress(input, Buffer.alloc(4096))).toThrow(/points before its chunk/);
  });
});
