/**
 * The ext3/4 journal replayed in memory: images made by mkfs.ext4, with committed-but-not-checkpointed
 * jbd2 transactions written into their journal as a crash leaves them (test/fixtures/ext-builder.ts).
 * Oracles: debugfs logdump sees the same transactions, and e2fsck -fy on a copy (which replays the
 * journal into the image) gives the bytes icat reads, file by file.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferDevice, type BlockDevice } from '../../../main/guest/block-device.js';
import { extDriver } from '../../../main/guest/ext/index.js';
import type { GuestEntry, GuestFileSystem } from '../../../main/guest/types.js';
import { journalBlocks, run, writeJournal, type JournalOptions } from '../../fixtures/ext-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { toVmdk } from '../../helpers/guest-images.js';
import { tmpDir } from '../../helpers/tmp.js';

const BS = 4096;
let work: string;

beforeAll(() => {
  work = tmpDir('diskchain-ext-journal-');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function device(image: string): BlockDevice {
  return bufferDevice(readFileSync(image), image);
}

function entry(fs: GuestFileSystem, name: string): GuestEntry {
  const e = fs.list(fs.root()).find((x) => x.name === name);
  if (!e) throw new Error(`no /${name}`);
  return e;
}

function readAll(fs: GuestFileSystem, name: string): Buffer {
  const e = entry(fs, name);
  const buf = Buffer.alloc(e.size);
  expect(fs.read(e, buf, 0)).toBe(e.size);
  return buf;
}

function fsck(image: string): void {
  try {
    run('e2fsck', ['-fy', image]);
  } catch (err) {
    // 1: "errors corrected" (the replay itself counts as a change on some versions).
    if ((err as { status?: number }).status !== 1) throw err;
  }
}

function icat(image: string, inode: string): Buffer {
  return execFileSync('icat', [image, inode], { maxBuffer: 64 * 1024 * 1024 });
}

/** An image with a.bin, b.bin, c.bin (one block each) and the blocks their data sits in. */
function makeImage(name: string, mkfsArgs: string[]): { image: string; blocks: Record<string, number>; before: Record<string, Buffer> } {
  const src = join(work, `${name}-src`);
  mkdirSync(src);
  const before: Record<string, Buffer> = {};
  for (const f of ['a.bin', 'b.bin', 'c.bin']) {
    before[f] = randomBytes(BS);
    writeFileSync(join(src, f), before[f]);
  }
  const image = join(work, `${name}.img`);
  run('mkfs.ext4', ['-q', '-F', '-b', String(BS), ...mkfsArgs, '-d', src, image, '16M']);
  const blocks: Record<string, number> = {};
  for (const f of Object.keys(before)) blocks[f] = Number(run('debugfs', ['-R', `bmap /${f} 0`, image]).trim());
  return { image, blocks, before };
}

const VARIANTS: Array<{ name: string; mkfs: string[]; journal: Omit<JournalOptions, 'startFromEnd' | 'sequence'> }> = [
  { name: 'ext4, csum v3 tags, 64-bit', mkfs: [], journal: { csum: 3, is64: true } },
  { name: 'ext4, csum v2 tags, 64-bit', mkfs: [], journal: { csum: 2, is64: true } },
  { name: 'ext3, no checksums, 32-bit tags', mkfs: ['-t', 'ext3'], journal: { csum: 0, is64: false } },
];

describe('ext journal replay (jbd2) against debugfs logdump and e2fsck', () => {
  for (const variant of VARIANTS) {
    it(`${variant.name}: committed transactions are replayed, revoked and uncommitted ones are not, across the log's wrap`, () => {
      const { image, blocks, before } = makeImage(variant.name.replace(/\W+/g, '-'), variant.mkfs);
      // A1 begins with the jbd2 magic, so the log keeps it escaped and the replay must restore it.
      const a1 = randomBytes(BS);
      a1.writeUInt32BE(0xc03b3998, 0);
      const b1 = randomBytes(BS);
      const c1 = randomBytes(BS);
      const a2 = randomBytes(BS);
      // Three blocks before the end of the log: the first transaction's commit wraps to s_first.
      writeJournal(image, { ...variant.journal, startFromEnd: 3, sequence: 41 }, [
        { writes: [{ block: blocks['a.bin']!, data: a1 }, { block: blocks['b.bin']!, data: b1 }] },
        { revokes: [blocks['b.bin']!], writes: [{ block: blocks['c.bin']!, data: c1 }] },
        { writes: [{ block: blocks['a.bin']!, data: a2 }], commit: false },
      ]);

      // e2fsprogs reads the same log: both committed transactions, with the blocks they log.
      const dump = run('debugfs', ['-R', 'logdump -a', image]);
      expect(dump).toMatch(/Found expected sequence 41, type 1 \(descriptor block\)/);
      expect(dump).toMatch(/Found expected sequence 41, type 2 \(commit block\)/);
      expect(dump).toMatch(/Found expected sequence 42, type 5 \(revoke table\)/);
      expect(dump).toMatch(/Found expected sequence 42, type 2 \(commit block\)/);
      expect(dump).toContain(`FS block ${blocks['a.bin']} logged at journal block`);
      expect(dump).toContain(`FS block ${blocks['c.bin']} logged at journal block`);

      const fs = extDriver.open(device(image));
      expect(fs.notes[0]).toMatch(/^journal replayed: 2 transactions \(2 blocks, in memory/);
      expect(readAll(fs, 'a.bin').equals(a1)).toBe(true);
      expect(readAll(fs, 'b.bin').equals(before['b.bin']!)).toBe(true);
      expect(readAll(fs, 'c.bin').equals(c1)).toBe(true);

      // e2fsck's replay into a copy is the oracle, byte for byte.
      const fixed = `${image}.fsck`;
      copyFileSync(image, fixed);
      fsck(fixed);
      for (const f of ['a.bin', 'b.bin', 'c.bin']) expect(readAll(fs, f).equals(icat(fixed, entry(fs, f).id)), f).toBe(true);

      // --no-replay reads the volume as it is on disk, as sleuthkit does.
      const onDisk = extDriver.open(device(image), { replay: false });
      expect(onDisk.notes[0]).toMatch(/^journal not replayed \(--no-replay\)/);
      for (const f of ['a.bin', 'b.bin', 'c.bin']) expect(readAll(onDisk, f).equals(before[f]!), f).toBe(true);
      expect(readAll(onDisk, 'a.bin').equals(icat(image, entry(onDisk, 'a.bin').id))).toBe(true);
    });
  }

  it('a transaction that rewrites a folder block and an inode table block: the replayed tree is the one e2fsck gives', () => {
    const { image, blocks } = makeImage('metadata', []);
    // The journalled state: what e2fsck makes of a copy in which debugfs renamed a file and changed its size.
    const changed = `${image}.changed`;
    copyFileSync(image, changed);
    run('debugfs', ['-w', '-f', '-', changed], 'ln /a.bin /renamed.bin\nunlink /a.bin\nsif /c.bin size 100\n');
    const root = Number(run('debugfs', ['-R', 'bmap / 0', image]).trim());
    const inodeBlock = Number(/located at block (\d+)/.exec(run('debugfs', ['-R', 'imap /c.bin', image]))![1]);
    const blockOf = (file: string, block: number): Buffer => readFileSync(file).subarray(block * BS, (block + 1) * BS);
    writeJournal(image, { csum: 3, is64: true, startFromEnd: 100, sequence: 5 }, [{ writes: [{ block: root, data: blockOf(changed, root) }, { block: inodeBlock, data: blockOf(changed, inodeBlock) }] }]);

    const fs = extDriver.open(device(image));
    const names = fs.list(fs.root()).map((e) => e.name).sort();
    expect(names).toEqual(['b.bin', 'c.bin', 'lost+found', 'renamed.bin']);
    expect(entry(fs, 'c.bin').size).toBe(100);
    const fixed = `${image}.fsck`;
    copyFileSync(image, fixed);
    fsck(fixed);
    const fls = run('fls', ['-u', fixed]).split('\n').filter((l) => l && !l.includes('$OrphanFiles')).map((l) => l.split('\t')[1]).sort();
    expect(fls).toEqual(names);
    for (const f of ['b.bin', 'c.bin', 'renamed.bin']) expect(readAll(fs, f).equals(icat(fixed, entry(fs, f).id)), f).toBe(true);
    expect(blocks['a.bin']).toBeGreaterThan(0);
  });

  it('a transaction whose commit block has a wrong checksum ends the replay there, and says so', () => {
    const { image, blocks, before } = makeImage('badcommit', []);
    const a1 = randomBytes(BS);
    const b1 = randomBytes(BS);
    writeJournal(image, { csum: 3, is64: true, startFromEnd: 50, sequence: 9 }, [
      { writes: [{ block: blocks['a.bin']!, data: a1 }] },
      { writes: [{ block: blocks['b.bin']!, data: b1 }] },
    ]);
    // Spoil the second commit block (the log's 6th block from the start: desc, data, commit, desc, data, commit).
    const log = journalBlocks(image);
    const maxLen = Number(/Total journal blocks:\s+(\d+)/.exec(run('dumpe2fs', ['-h', image]))![1]);
    const bytes = readFileSync(image);
    bytes[log[maxLen - 50 + 5]! * BS + 100] ^= 0xff;
    writeFileSync(image, bytes);
    const fs = extDriver.open(bufferDevice(bytes, image));
    expect(fs.notes[0]).toMatch(/^journal replayed: 1 transaction \(1 block/);
    expect(fs.notes[1]).toMatch(/journal replay stopped early: the commit block of transaction 10 has a wrong checksum/);
    expect(readAll(fs, 'a.bin').equals(a1)).toBe(true);
    expect(readAll(fs, 'b.bin').equals(before['b.bin']!)).toBe(true);
  });

  it('a damaged journal superblock leaves the volume as it is on disk, with a note saying why', () => {
    const { image, blocks, before } = makeImage('badjsb', []);
    writeJournal(image, { csum: 3, is64: true, startFromEnd: 10, sequence: 1 }, [{ writes: [{ block: blocks['a.bin']!, data: randomBytes(BS) }] }]);
    const jsb = journalBlocks(image)[0]!;
    const bytes = readFileSync(image);
    bytes.writeUInt32BE(bytes.readUInt32BE(jsb * BS + 0x10) + 1_000_000, jsb * BS + 0x10); // s_maxlen past the journal file
    const fs = extDriver.open(bufferDevice(bytes, image));
    expect(fs.notes[0]).toMatch(/^journal not replayed \(ext journal superblock: the log claims \d+ blocks but the journal file has \d+\): read as it is on disk/);
    expect(readAll(fs, 'a.bin').equals(before['a.bin']!)).toBe(true);
  });

  it('ls and get through a VMDK say the journal was replayed and read the replayed bytes; --no-replay reads the disk as it is', () => {
    const { image, blocks, before } = makeImage('cli', []);
    const a1 = randomBytes(BS);
    writeJournal(image, { csum: 3, is64: true, startFromEnd: 20, sequence: 3 }, [{ writes: [{ block: blocks['a.bin']!, data: a1 }] }]);
    const disk = toVmdk(image);
    const got = diskchain(['get', `${disk}/a.bin`, '-']);
    expect(got.status, got.stderr).toBe(0);
    expect(got.stdout.equals(a1)).toBe(true);
    expect(got.stderr).toMatch(/^diskchain: .*cli\.vmdk: note: journal replayed: 1 transaction \(1 block, in memory/);
    const raw = diskchain(['get', '--no-replay', `${disk}/a.bin`, '-']);
    expect(raw.stdout.equals(before['a.bin']!)).toBe(true);
    expect(raw.stderr).toMatch(/note: journal not replayed \(--no-replay\)/);
    const ls = diskchain(['ls', '-l', `${disk}/`]);
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.text).toMatch(/ a\.bin$/m);
    expect(ls.stderr).toMatch(/note: journal replayed: 1 transaction/);
  });

  for (const variant of [VARIANTS[0]!, VARIANTS[2]!]) {
    it(`${variant.name}: random damage to the log ends in a replay, a note or a DiskchainError, never a crash or a hang`, () => {
      const { image, blocks } = makeImage(`fuzz-${variant.journal.csum}`, variant.mkfs);
      writeJournal(image, { ...variant.journal, startFromEnd: 6, sequence: 100 }, [
        { writes: [{ block: blocks['a.bin']!, data: randomBytes(BS) }, { block: blocks['b.bin']!, data: randomBytes(BS) }] },
        { revokes: [blocks['b.bin']!], writes: [{ block: blocks['c.bin']!, data: randomBytes(BS) }] },
      ]);
      const log = journalBlocks(image);
      const maxLen = Number(/Total journal blocks:\s+(\d+)/.exec(run('dumpe2fs', ['-h', image]))![1]);
      const pristine = readFileSync(image);
      // The journal superblock and the 8 log blocks the transactions use (with the wrap to s_first).
      const used = [0, ...Array.from({ length: 6 }, (_, i) => maxLen - 6 + i), 1, 2].map((j) => log[j]!);
      const diskchainOnly = (use: () => void): void => {
        try {
          use();
        } catch (err) {
          expect((err as Error).name, (err as Error).stack).toBe('DiskchainError');
        }
      };
      for (let round = 0; round < 150; round++) {
        const bytes = Buffer.from(pristine);
        for (let k = 0; k < 1 + (round % 4); k++) {
          const block = used[Math.floor(Math.random() * used.length)]!;
          // Header words, tag fields and counts are where damage matters most: mostly the first 64 bytes.
          const at = block * BS + (Math.random() < 0.7 ? Math.floor(Math.random() * 64) : Math.floor(Math.random() * BS));
          bytes[at] = Math.floor(Math.random() * 256);
        }
        diskchainOnly(() => {
          const fs = extDriver.open(bufferDevice(bytes, image));
          expect(fs.notes[0]).toMatch(/^(journal replayed|journal not replayed|the journal needs recovery)/);
          // Without checksums a damaged tag replays a block where it does not belong: whatever the
          // volume then holds is read or refused with a DiskchainError.
          for (const e of fs.list(fs.root())) if (e.type === 'file') diskchainOnly(() => void fs.read(e, Buffer.alloc(Math.min(e.size, 1 << 20)), 0));
        });
      }
    });
  }
});
