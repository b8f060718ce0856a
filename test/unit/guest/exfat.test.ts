import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { bufferDevice, chainDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { exfatTime } from '../../../main/guest/fat/exfat.js';
import { fatDriver } from '../../../main/guest/fat/index.js';
import { decodeUtf16 } from '../../../main/guest/fat/names.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';
import { ExfatWriter, FIXED_TIME_MS, fixBootChecksum, type ExfatFolder } from './exfat-builder.js';
import { comparable, md5, ourRows, readWhole, tskRows, UTC_ENV, walk } from './fat-oracle.js';

const dir = tmpDir('diskchain-exfat-');
const image = path.join(dir, 'exfat.img');
const LONG_NAME = `A long name with spaces, ünïcode and ✓ marks ${'x'.repeat(150)}.txt`;
/** Sleuthkit 4.11 ignores exFAT's UTC offset: it shows the writer's local time (UTC+2 here) as UTC. */
const TSK_OFFSET_S = 7200;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { env: UTC_ENV, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
}

function open(bytes = fs.readFileSync(image)): GuestFileSystem {
  return fatDriver.open(bufferDevice(bytes, image));
}

function find(volume: GuestFileSystem, wanted: string): GuestEntry {
  const hit = walk(volume).find((w) => w.path === wanted);
  if (!hit) throw new Error(`${wanted} not listed`);
  return hit.entry;
}

let writer: ExfatWriter;
let fragClusters: number[] = [];
let folderA: ExfatFolder;
let folderB: ExfatFolder;

/**
 * mkfs.exfat (exfatprogs) makes the volume; exfatprogs has no copy tool and exfat-fuse needs root, so
 * the test's own writer (exfat-builder.ts) adds the entries, and fsck.exfat checks them.
 */
beforeAll(() => {
  run('truncate', ['-s', '64M', image]);
  run('mkfs.exfat', ['-L', 'EXLABEL', '-c', '4K', image]);
  writer = new ExfatWriter(image);
  const root = writer.root;
  writer.addFile(root, 'hello.txt', Buffer.from('hello\n'));
  writer.addFile(root, 'empty', Buffer.alloc(0));
  writer.addFile(root, LONG_NAME, patternBytes(70_000, 4));
  writer.addFile(root, 'contig.bin', patternBytes(700_001, 5));
  writer.addFile(root, 'chained.bin', patternBytes(100_000, 6), { fatChain: true });
  writer.addFile(root, 'valid.bin', patternBytes(50_000, 7), { validLength: 20_000 });
  writer.addFile(root, 'secret.txt', Buffer.from('ssh\n'), { attributes: 0x23 });
  writer.addFile(root, 'deleted.txt', Buffer.from('gone\n'));
  writer.deleteLast(root, 3);
  folderA = writer.mkdir(root, 'a');
  folderB = writer.mkdir(folderA, 'b');
  let deep = writer.mkdir(folderB, 'c ünï');
  for (const name of ['d', 'e', 'f']) deep = writer.mkdir(deep, name);
  writer.addFile(deep, 'deep.bin', patternBytes(4097, 8));
  fragClusters = writer.addFile(folderA, 'frag.bin', patternBytes(300_000, 9), { fragmented: true });
  const many = writer.mkdir(root, 'many');
  for (let i = 0; i < 10_000; i++) writer.addFile(many, `f${10_000 + i}.txt`, i % 1000 === 0 ? Buffer.from(`${i}\n`) : Buffer.alloc(0));
  writer.save();
});

describe('exFAT volume made by mkfs.exfat, filled by the fixture writer', () => {
  it('is a clean volume to fsck.exfat (the fixture is valid)', () => {
    expect(run('fsck.exfat', ['-n', image])).toMatch(/clean\. directories 8, files 10009/);
  });

  it('is recognised, with the label and serial sleuthkit reads', () => {
    const device = bufferDevice(fs.readFileSync(image), image);
    expect(fatDriver.probe(device)).toBe('exfat');
    const volume = fatDriver.open(device);
    expect(volume.type).toBe('exfat');
    expect(volume.label).toBe('EXLABEL');
    const fsstat = run('fsstat', [image]);
    expect(fsstat).toContain('Volume Label (from root directory): EXLABEL');
    // sleuthkit prints each serial byte without zero padding (7FDF-D80E comes out as 7FDF-D8E).
    const bytes = (volume.uuid ?? '').replace('-', '').match(/../g) ?? [];
    const unpadded = bytes.map((b) => parseInt(b, 16).toString(16).toUpperCase());
    expect(bytes).toHaveLength(4);
    expect(fsstat.toUpperCase()).toContain(`VOLUME SERIAL NUMBER: ${unpadded.slice(0, 2).join('')}-${unpadded.slice(2).join('')}\n`);
    expect(volume.notes).toEqual([]);
  });

  it('lists every name, size and MD5 as sleuthkit does; times differ only by the UTC offset sleuthkit ignores', () => {
    const ours = comparable(ourRows(open())).map((r) => ({ ...r, atime: r.atime + TSK_OFFSET_S, mtime: r.mtime + TSK_OFFSET_S, crtime: r.crtime + TSK_OFFSET_S }));
    const theirs = comparable(tskRows(image));
    expect(ours.length).toBe(10_000 + 16);
    // valid.bin: sleuthkit returns the stale bytes past ValidDataLength; they read as zeros here.
    const valid = (rows: typeof ours) => rows.filter((r) => r.path !== '/valid.bin');
    expect(valid(ours)).toEqual(valid(theirs));
    expect(ours.find((r) => r.path === '/valid.bin')!.size).toBe(50_000);
  });

  it('reads bytes past ValidDataLength as zeros', () => {
    const volume = open();
    const bytes = readWhole(volume, find(volume, '/valid.bin'), 7_000);
    const expected = Buffer.concat([patternBytes(50_000, 7).subarray(0, 20_000), Buffer.alloc(30_000)]);
    expect(md5(bytes)).toBe(md5(expected));
  });

  it('gives times in UTC with 10 ms and the UTC offset applied, and attributes', () => {
    const volume = open();
    const secret = volume.list(volume.root()).find((e) => e.name === 'secret.txt')!;
    expect(secret.mtimeMs).toBe(FIXED_TIME_MS);
    expect(secret.birthtimeMs).toBe(FIXED_TIME_MS);
    expect(secret.atimeMs).toBe(FIXED_TIME_MS - 370);
    expect(secret.attributes).toEqual(['readonly', 'hidden', 'archive']);
    // UTC−05:00 (offset −20 quarters, 0xEC) and no offset (bit 7 clear: local time taken as UTC).
    const stamp = ((2000 - 1980) << 25) | (1 << 21) | (1 << 16);
    expect(exfatTime(stamp, 0, 0xec)).toBe(Date.UTC(2000, 0, 1, 5));
    expect(exfatTime(stamp, 199, 0)).toBe(Date.UTC(2000, 0, 1) + 1990);
  });

  it('skips deleted entry sets and lists long names and names in subfolders', () => {
    const volume = open();
    const names = volume.list(volume.root()).map((e) => e.name);
    expect(names).not.toContain('deleted.txt');
    expect(names).toEqual(['hello.txt', 'empty', LONG_NAME, 'contig.bin', 'chained.bin', 'valid.bin', 'secret.txt', 'a', 'many']);
    expect(md5(readWhole(volume, find(volume, '/a/b/c ünï/d/e/f/deep.bin')))).toBe(md5(patternBytes(4097, 8)));
  });

  it('lists a folder of 10,000 entries', () => {
    const volume = open();
    const many = volume.list(volume.root()).find((e) => e.name === 'many')!;
    const entries = volume.list(many);
    expect(entries.map((e) => e.name)).toEqual(Array.from({ length: 10_000 }, (_, i) => `f${10_000 + i}.txt`));
    expect(readWhole(volume, entries[3000]!).toString()).toBe('3000\n');
  });

  it('reads a NoFatChain file in one device read and a fragmented one through the FAT', () => {
    const bytes = fs.readFileSync(image);
    let reads: number[] = [];
    const inner = bufferDevice(bytes, image);
    const counting: BlockDevice = { ...inner, read: (buf, offset) => (reads.push(buf.length), inner.read(buf, offset)) };
    const volume = fatDriver.open(counting);
    const contig = find(volume, '/contig.bin');
    const frag = find(volume, '/a/frag.bin');
    expect(md5(readWhole(volume, frag))).toBe(md5(patternBytes(300_000, 9)));
    reads = [];
    const buf = Buffer.alloc(contig.size);
    expect(volume.read(contig, buf, 0)).toBe(700_001);
    expect(reads).toEqual([700_001]);
    expect(md5(buf)).toBe(md5(patternBytes(700_001, 5)));
  });

  it('reads the same through a streamOptimized VMDK (openChain → chainDevice)', () => {
    const raw = comparable(ourRows(open()));
    const vmdk = path.join(dir, 'exfat-stream.vmdk');
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', image, vmdk);
    const chain = openChain(vmdk);
    try {
      expect(comparable(ourRows(fatDriver.open(chainDevice(chain))))).toEqual(raw);
    } finally {
      chain.close();
    }
  });

  it('turns unpaired UTF-16 surrogates into U+FFFD', () => {
    expect(decodeUtf16([0x61, 0xd800, 0x62, 0xdc00, 0xd83d, 0xde00])).toBe('a\ufffdb\ufffd😀');
    expect(decodeUtf16([0x61, 0xd800])).toBe('a\ufffd');
  });
});

describe('damaged exFAT volumes are refused with a one-line error naming the structure', () => {
  it('notes a dirty volume', () => {
    const bytes = fs.readFileSync(image);
    bytes[106]! |= 0x02; // VolumeFlags is outside the boot checksum
    expect(open(bytes).notes).toEqual(['volume is dirty (not cleanly unmounted): recent changes may be missing or half-written']);
  });

  it('uses the backup boot region when the main one fails its checksum, and refuses when both do', () => {
    const bytes = fs.readFileSync(image);
    bytes[300]! ^= 0xff;
    const volume = open(bytes);
    expect(volume.notes).toEqual(['the main boot region fails its checksum: the backup boot region was used']);
    expect(volume.list(volume.root()).length).toBe(9);
    bytes[12 * 512 + 300]! ^= 0xff;
    expect(() => open(bytes)).toThrow(/^exFAT boot region: the boot checksum does not match \(and the backup boot region is damaged too\)$/);
  });

  it('a truncated volume', () => {
    const bytes = fs.readFileSync(image);
    expect(() => open(bytes.subarray(0, bytes.length / 2))).toThrow(/^exFAT boot sector: the volume is 67108864 bytes but .*exfat\.img holds only 33554432 \(truncated\?\)$/);
  });

  it.each([
    ['cluster size', (b: Buffer) => (b[109] = 20), /^exFAT boot sector: clusters of 2\^29 bytes \(at most 32 MiB\)$/],
    ['FAT offset', (b: Buffer) => b.writeUInt32LE(3, 80), /^exFAT boot sector: the FAT \(sectors 3\+\d+×1\) overlaps the boot region or the cluster heap/],
    ['cluster count', (b: Buffer) => b.writeUInt32LE(0xfffffff0, 92), /^exFAT boot sector: the cluster heap \(4294967280 clusters from sector \d+\) runs past the volume's 131072 sectors$/],
    ['root cluster', (b: Buffer) => b.writeUInt32LE(1, 96), /^exFAT boot sector: the root folder's cluster 1 lies outside the volume/],
  ])('absurd %s', (_what, spoil, message) => {
    const bytes = fs.readFileSync(image);
    spoil(bytes);
    fixBootChecksum(bytes);
    expect(() => open(bytes)).toThrow(message);
  });

  it('an entry set that fails its checksum is skipped with a note', () => {
    writer.spoilLastChecksum(writer.root, 3); // "many" is the last set in the root folder
    const bytes = Buffer.from(writer.image);
    writer.spoilLastChecksum(writer.root, 3);
    const volume = open(bytes);
    expect(volume.list(volume.root()).map((e) => e.name)).not.toContain('many');
    expect(volume.notes).toEqual(['exFAT folder /: the entry set at entry 43 fails its checksum; skipped']);
  });

  it('a looping FAT chain: that file cannot be read, the listing goes on', () => {
    const bytes = Buffer.from(writer.image);
    const fatOffset = bytes.readUInt32LE(80) * 512;
    bytes.writeUInt32LE(fragClusters[0]!, fatOffset + fragClusters[40]! * 4);
    const volume = open(bytes);
    const frag = find(volume, '/a/frag.bin');
    expect(() => readWhole(volume, frag)).toThrow(new RegExp(`^exFAT cluster chain of /a/frag.bin loops at cluster ${fragClusters[0]}$`));
  });

  it('a folder that points back at its parent', () => {
    const saved = Buffer.from(writer.image);
    writer.repointFolder(folderB, folderA.clusters[0]!);
    const bytes = Buffer.from(writer.image);
    saved.copy(writer.image);
    expect(() => walk(open(bytes))).toThrow(new RegExp(`^exFAT folder /a/b loops back to /a \\(cluster ${folderA.clusters[0]}\\)$`));
  });
});
