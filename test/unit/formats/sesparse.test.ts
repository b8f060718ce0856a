import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { checkDisk } from '../../../main/disk/check.js';
import { isSeSparseMagic, openSeSparseExtent, type SeSparseExtent } from '../../../main/formats/sesparse/reader.js';
import type { Run } from '../../../main/formats/extent.js';
import { DiskFile } from '../../../main/io/disk-file.js';
import { isDiskchainError } from '../../../shared/errors.js';
import {
  buildSeSparse,
  buildSeSparseDisk,
  CONST_FIELD,
  directoryEntry,
  grainEntry,
  VOLATILE_FIELD,
  type SeSparseSpec,
} from '../../fixtures/sesparse-builder.js';
import { qemuImg, qemuRaw } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const GRAIN = 4096;
const MiB = 1024 * 1024;
/** Virtual grains one grain table maps (16 MiB). */
const TABLE_GRAINS = 4096;

const dir = tmpDir('diskchain-sesparse-');
let counter = 0;
const opened: SeSparseExtent[] = [];

afterEach(() => {
  for (const extent of opened.splice(0)) extent.close();
  vi.restoreAllMocks();
});

function open(file: string): SeSparseExtent {
  const extent = openSeSparseExtent(DiskFile.open(file));
  opened.push(extent);
  return extent;
}

function disk(spec: SeSparseSpec): { descriptor: string; extentFile: string; extent: SeSparseExtent } {
  const { descriptor, layout } = buildSeSparseDisk(dir, `d${counter++}`, spec);
  return { descriptor, extentFile: layout.file, extent: open(layout.file) };
}

/** Builds a damaged extent file and returns the error opening it throws. */
function openError(spec: SeSparseSpec): { code: string; message: string } {
  const file = path.join(dir, `bad${counter++}-sesparse.vmdk`);
  buildSeSparse(file, spec);
  try {
    open(file);
  } catch (e) {
    if (isDiskchainError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('the damaged file opened without an error');
}

function caught(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isDiskchainError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('no error thrown');
}

/** Compares every byte our reader returns with qemu's raw output, in 1 MiB pieces. */
function expectSameAsRaw(extent: SeSparseExtent, rawPath: string, baseOffset = 0): void {
  const rawSize = fs.statSync(rawPath).size;
  const fd = fs.openSync(rawPath, 'r');
  try {
    const ours = Buffer.alloc(MiB);
    const theirs = Buffer.alloc(MiB);
    for (let at = 0; at < rawSize; at += MiB) {
      const n = Math.min(MiB, rawSize - at);
      extent.read(ours.subarray(0, n), baseOffset + at);
      fs.readSync(fd, theirs, 0, n, at);
      if (!ours.subarray(0, n).equals(theirs.subarray(0, n))) {
        let i = 0;
        while (ours[i] === theirs[i]) i++;
        expect.fail(`first difference at byte ${baseOffset + at + i}: ours ${ours[i]}, qemu ${theirs[i]}`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** qemu's view of [offset, offset+length): the raw driver's offset/size window over the vmdk driver. */
function qemuWindow(descriptor: string, offset: number, length: number): string {
  const out = `${descriptor}.${offset}.raw`;
  const opts = `driver=raw,offset=${offset},size=${length},file.driver=vmdk,file.file.filename=${descriptor}`;
  qemuImg('convert', '--image-opts', opts, '-O', 'raw', out);
  return out;
}

interface QemuMapEntry {
  start: number;
  length: number;
  present: boolean;
  zero: boolean;
  data: boolean;
}

/** qemu-img map as our runs: not present = unallocated (ask the parent), zero without data = zero. */
function qemuRuns(descriptor: string, offset: number, length: number): Run[] {
  const json = qemuImg('map', '--output=json', `--start-offset=${offset}`, `--max-length=${length}`, descriptor);
  const runs: Run[] = [];
  for (const e of JSON.parse(json) as QemuMapEntry[]) {
    const state = !e.present ? 'unallocated' : e.data ? 'data' : 'zero';
    const last = runs[runs.length - 1];
    if (last && last.state === state && last.offset + last.length === e.start) last.length += e.length;
    else runs.push({ offset: e.start, length: e.length, state });
  }
  return runs;
}

const grainOf = (seed: number): Buffer => patternBytes(GRAIN, seed);

describe('seSparse extents read as qemu-img reads them', () => {
  test('a 4 MiB disk with data, zero, unmapped and unallocated grains, stored out of order', () => {
    const spec: SeSparseSpec = {
      capacitySectors: (4 * MiB) / 512,
      // Grains 10-13 are stored back to back; 3 and 700 are stored after them, out of LBA order.
      data: [
        [10, grainOf(1)],
        [11, grainOf(2)],
        [12, grainOf(3)],
        [13, grainOf(4)],
        [700, grainOf(5)],
        [3, grainOf(6)],
        [1023, grainOf(7)],
      ],
      zero: [4, 14],
      unmapped: [5, 15],
    };
    const { descriptor, extent } = disk(spec);
    expect(extent.sizeBytes).toBe(4 * MiB);
    expectSameAsRaw(extent, qemuRaw(descriptor));
    expect(extent.blockStatus(0, extent.sizeBytes)).toEqual(qemuRuns(descriptor, 0, extent.sizeBytes));
    expect(extent.allocatedBytes()).toBe(7 * GRAIN);
    expect(extent.check()).toEqual([]);
  });

  test('unaligned reads that straddle grains and states return the same bytes as a whole read', () => {
    const { descriptor, extent } = disk({
      capacitySectors: 2048,
      data: [
        [1, grainOf(11)],
        [2, grainOf(12)],
        [5, grainOf(13)],
      ],
      zero: [3],
    });
    const raw = fs.readFileSync(qemuRaw(descriptor));
    for (const [offset, length] of [
      [4095, 2],
      [4000, 9000],
      [1, 5 * GRAIN],
      [3 * GRAIN - 7, GRAIN + 14],
      [6 * GRAIN - 1, 1],
      [0, 1024 * 1024],
    ] as const) {
      const buf = Buffer.alloc(length, 0xee);
      extent.read(buf, offset);
      expect(buf.equals(raw.subarray(offset, offset + length)), `read ${length} at ${offset}`).toBe(true);
    }
  });

  test('several grain tables handed out in reverse order, with a partial last grain', () => {
    // 80 MiB + 1.5 KiB: five full tables and a sixth covering one partial grain.
    const capacitySectors = (80 * MiB) / 512 + 3;
    const lastGrain = Math.floor(capacitySectors / 8);
    const { descriptor, extent } = disk({
      capacitySectors,
      data: [
        [0, grainOf(21)],
        [2 * TABLE_GRAINS + 17, grainOf(22)],
        [4 * TABLE_GRAINS + 4095, grainOf(23)],
        [lastGrain, grainOf(24)],
      ],
      zero: [2 * TABLE_GRAINS + 18],
      reverseTables: true,
    });
    expect(extent.sizeBytes).toBe(capacitySectors * 512);
    expectSameAsRaw(extent, qemuRaw(descriptor));
    expect(extent.blockStatus(0, extent.sizeBytes)).toEqual(qemuRuns(descriptor, 0, extent.sizeBytes));
    expect(extent.check()).toEqual([]);
  });

  test('a 2 TiB sparse disk: windows near the start, middle and end match qemu', () => {
    const capacitySectors = 2 ** 41 / 512;
    const grains = capacitySectors / 8;
    const middle = grains / 2 + 123;
    const { descriptor, extent } = disk({
      capacitySectors,
      data: [
        [grains - 1, grainOf(31)],
        [middle, grainOf(32)],
        [middle + 1, grainOf(33)],
        [7, grainOf(34)],
      ],
      zero: [middle + 2],
      unmapped: [grains - 2],
    });
    expect(extent.sizeBytes).toBe(2 ** 41);
    expect(extent.allocatedBytes()).toBe(4 * GRAIN);
    for (const offset of [0, (middle - 100) * GRAIN, extent.sizeBytes - MiB]) {
      expectSameAsRaw(extent, qemuWindow(descriptor, offset, MiB), offset);
      expect(extent.blockStatus(offset, MiB)).toEqual(qemuRuns(descriptor, offset, MiB));
    }
    expect(extent.blockStatus(middle * GRAIN, 4 * GRAIN)).toEqual([
      { offset: middle * GRAIN, length: 2 * GRAIN, state: 'data' },
      { offset: (middle + 2) * GRAIN, length: GRAIN, state: 'zero' },
      { offset: (middle + 3) * GRAIN, length: GRAIN, state: 'unallocated' },
    ]);
    // Whole unallocated tables are one run, without reading any table.
    expect(extent.blockStatus(GRAIN * 8, 2 ** 40)).toEqual([{ offset: GRAIN * 8, length: 2 ** 40, state: 'unallocated' }]);
    expect(extent.check()).toEqual([]);
  });

  test('adjacent grains stored back to back are read with one file read', () => {
    const { extent } = disk({
      capacitySectors: 2048,
      data: [
        [4, grainOf(41)],
        [5, grainOf(42)],
        [6, grainOf(43)],
        [7, grainOf(44)],
        [9, grainOf(45)],
      ],
    });
    const readAt = vi.spyOn(DiskFile.prototype, 'readAt');
    const buf = Buffer.alloc(6 * GRAIN);
    extent.read(buf, 4 * GRAIN);
    // Grains 4-7 in one read, 9 in another (the grain table is read separately, as 'grain table').
    const grainReads = readAt.mock.calls.filter(([, , what]) => what === 'grain data');
    expect(grainReads.map(([b]) => b.length)).toEqual([4 * GRAIN, GRAIN]);
    expect(buf.subarray(0, GRAIN).equals(grainOf(41))).toBe(true);
    expect(buf.subarray(5 * GRAIN).equals(grainOf(45))).toBe(true);
  });

  test('the header is reported as plain numbers and booleans', () => {
    const { extent } = disk({ capacitySectors: 4096, data: [[0, grainOf(51)]] });
    const { header } = extent;
    expect(header.capacitySectors).toBe(4096);
    expect(header.version).toBe(0x200000001);
    expect(header.grainSizeSectors).toBe(8);
    expect(header.gtEntries).toBe(4096);
    expect(header.volatileHeaderValid).toBe(true);
    expect(header.journalNeedsReplay).toBe(false);
    expect(header.freeGTNumber).toBe(1);
    for (const value of Object.values(header)) expect(['number', 'boolean']).toContain(typeof value);
  });

  test('isSeSparseMagic recognises the const header magic only', () => {
    expect(isSeSparseMagic(Buffer.from('bebafeca00000000', 'hex'))).toBe(true);
    expect(isSeSparseMagic(Buffer.from('bebafeca01000000', 'hex'))).toBe(false);
    expect(isSeSparseMagic(Buffer.from('KDMV\x01\0\0\0', 'latin1'))).toBe(false);
    expect(isSeSparseMagic(Buffer.from('bebafeca', 'hex'))).toBe(false);
  });

  test('reads outside the extent are usage errors', () => {
    const { extent } = disk({ capacitySectors: 16 });
    expect(caught(() => extent.read(Buffer.alloc(2), 8191)).code).toBe('E_USAGE');
    expect(extent.blockStatus(4096, 100_000)).toEqual([{ offset: 4096, length: 4096, state: 'unallocated' }]);
  });
});

describe('malformed seSparse extents', () => {
  const small: SeSparseSpec = { capacitySectors: 2048, data: [[0, grainOf(61)], [1, grainOf(62)]] };

  test('a file shorter than the header', () => {
    const err = openError({ ...small, damage: { truncateTo: 300 } });
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/truncated: the seSparse header needs 512 bytes but the file has 300/);
  });

  test('a file cut inside the grain directory', () => {
    const err = openError({ ...small, damage: { truncateTo: 72 * 512 + 100 } });
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/truncated: grain directory at sector 72/);
  });

  test('a wrong magic', () => {
    const err = openError({ ...small, damage: { constHeader: [[CONST_FIELD.magic, 0xcafecafen]] } });
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/not a seSparse extent: magic is fecafeca00000000/);
  });

  test('an unknown version', () => {
    const err = openError({ ...small, damage: { constHeader: [[CONST_FIELD.version, 0x300000001n]] } });
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/unknown seSparse version 0x0000000300000001 \(header byte 8\)/);
  });

  test('an absurd capacity', () => {
    const huge = openError({ ...small, damage: { constHeader: [[CONST_FIELD.capacity, 2n ** 40n]] } });
    expect(huge.code).toBe('E_FORMAT');
    expect(huge.message).toMatch(/capacity of 1099511627776 sectors \(header byte 16\) is not plausible: .* at most 64 TiB/);
    const garbage = openError({ ...small, damage: { constHeader: [[CONST_FIELD.capacity, 0xffffffffffffffffn]] } });
    expect(garbage.code).toBe('E_FORMAT');
    expect(garbage.message).toMatch(/capacity of 0xffffffffffffffff sectors \(header byte 16\) is not plausible/);
  });

  test('a capacity the grain directory cannot cover', () => {
    // One directory sector holds 64 entries = 1 GiB; the builder wrote 8 sectors for a 1 MiB disk.
    const err = openError({ ...small, damage: { constHeader: [[CONST_FIELD.capacity, 2n ** 32n]] } });
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/grain directory of 512 entries \(header byte 136\) covers only/);
  });

  test('grain sizes: garbage is damage, an unknown size is unsupported', () => {
    const zero = openError({ ...small, damage: { constHeader: [[CONST_FIELD.grainSize, 0n]] } });
    expect(zero.code).toBe('E_FORMAT');
    expect(zero.message).toMatch(/grain size of 0x0000000000000000 sectors \(header byte 24\) is not a power of two/);
    const sixteen = openError({ ...small, damage: { constHeader: [[CONST_FIELD.grainSize, 16n]] } });
    expect(sixteen.code).toBe('E_UNSUPPORTED');
    expect(sixteen.message).toMatch(/grain size of 16 sectors/);
    const table = openError({ ...small, damage: { constHeader: [[CONST_FIELD.grainTableSize, 3n]] } });
    expect(table.code).toBe('E_FORMAT');
    expect(table.message).toMatch(/grain table size/);
    const flags = openError({ ...small, damage: { constHeader: [[CONST_FIELD.flags, 1n]] } });
    expect(flags.code).toBe('E_UNSUPPORTED');
    expect(flags.message).toMatch(/unknown seSparse flags 0x0000000000000001/);
  });

  test('metadata regions that overlap', () => {
    const err = openError({ ...small, damage: { constHeader: [[CONST_FIELD.grainTablesOffset, 75n]] } });
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/grain directory \(sectors 72-79\) overlaps the grain table area/);
    const header = openError({ ...small, damage: { constHeader: [[CONST_FIELD.grainDirOffset, 0n]] } });
    expect(header.message).toMatch(/grain directory at sector 0 overlaps the const header/);
  });

  test('a grain table entry past the end of the file fails reads and shows in check()', () => {
    const file = path.join(dir, 'past-eof-sesparse.vmdk');
    buildSeSparse(file, { ...small, damage: { tableEntries: [[7, grainEntry(1_000_000)]] } });
    const extent = open(file);
    const err = caught(() => extent.read(Buffer.alloc(GRAIN), 7 * GRAIN));
    expect(err.code).toBe('E_FORMAT');
    expect(err.message).toMatch(/grain 7 \(grain table 0 entry 7\) at grain slot 1000000 lies past the end of the file/);
    expect(caught(() => extent.blockStatus(0, extent.sizeBytes)).code).toBe('E_FORMAT');
    // The healthy grains still read.
    const ok = Buffer.alloc(GRAIN);
    extent.read(ok, GRAIN);
    expect(ok.equals(grainOf(62))).toBe(true);
    expect(extent.check()).toEqual([
      expect.objectContaining({ severity: 'error', location: 'grain table 0 entry 7', message: expect.stringMatching(/past the end of the file/) }),
    ]);
  });

  test('a file cut inside its last grain', () => {
    const file = path.join(dir, 'cut-grain-sesparse.vmdk');
    const layout = buildSeSparse(file, small);
    fs.truncateSync(file, layout.fileBytes - 100);
    const extent = open(file);
    expect(caught(() => extent.read(Buffer.alloc(GRAIN), GRAIN)).message).toMatch(/grain 1 .* lies past the end of the file/);
    const first = Buffer.alloc(GRAIN);
    extent.read(first, 0);
    expect(first.equals(grainOf(61))).toBe(true);
    expect(extent.check().map((p) => p.location)).toEqual(['grain table 0 entry 1']);
    expect(extent.lostRanges?.()).toEqual([{ offset: GRAIN, length: GRAIN }]);
  });

  test('the damage verdict at open: a seSparse child cut short is refused by openChain and listed by check', () => {
    const { descriptor, extentFile } = disk(small);
    fs.truncateSync(extentFile, fs.statSync(extentFile).size - 100);
    expect(() => openChain(descriptor)).toThrow(/damaged: 4\.0 KiB of 1\.0 MiB lost in 1 range \(LBA 8–15\)/);
    const report = checkDisk(descriptor);
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => p.location)).toEqual(['LBA 8–15']);
  });

  test('bad directory entries and table entries are described by check() without throwing', () => {
    const file = path.join(dir, 'bad-entries-sesparse.vmdk');
    buildSeSparse(file, {
      capacitySectors: (64 * MiB) / 512,
      data: [
        [0, grainOf(71)],
        [1, grainOf(72)],
        [TABLE_GRAINS, grainOf(73)],
      ],
      damage: {
        tableEntries: [
          [2, 0x5000000000000000n], // unknown type
          [3, 0x0000000000000001n], // type 0 with bits set
          [TABLE_GRAINS + 1, grainEntry(0)], // shares grain 0's slot
          [2 * TABLE_GRAINS, grainEntry(0)],
        ],
        directory: [
          [2, 0x2000000000000001n], // not a table reference
          [3, directoryEntry(999)], // past the table area
        ],
      },
    });
    const extent = open(file);
    const problems = extent.check();
    const byLocation = Object.fromEntries(problems.map((p) => [p.location, p.message]));
    expect(byLocation).toEqual({
      'grain directory entry 2': expect.stringMatching(/0x2000000000000001: not a grain table reference/),
      'grain directory entry 3': expect.stringMatching(/names grain table slot 999, but the grain table area holds 4/),
      'grain table 0 entry 2': expect.stringMatching(/grain 2: entry 0x5000000000000000 has unknown type 5/),
      'grain table 0 entry 3': expect.stringMatching(/has type 0 but is not 0/),
      'grain table 1 entry 1': expect.stringMatching(/grain 4097 shares grain slot 0 with another grain/),
    });
    expect(problems.every((p) => p.severity === 'error')).toBe(true);
    expect(caught(() => extent.read(Buffer.alloc(GRAIN), 2 * GRAIN)).message).toMatch(/unknown type 5/);
    // What a read fails on is lost: the bad entries' grains and the ranges of the bad directory entries.
    expect(extent.lostRanges?.()).toEqual([
      { offset: 2 * GRAIN, length: 2 * GRAIN },
      { offset: 2 * TABLE_GRAINS * GRAIN, length: 2 * TABLE_GRAINS * GRAIN },
    ]);
    expect(caught(() => extent.read(Buffer.alloc(GRAIN), 2 * 16 * MiB)).message).toMatch(/not a grain table reference/);
    expect(caught(() => extent.blockStatus(3 * 16 * MiB, GRAIN)).code).toBe('E_FORMAT');
    expect(extent.allocatedBytes()).toBe(4 * GRAIN);
  });

  test('a bad volatile header opens (reads do not need it) but check() reports it; qemu refuses it', () => {
    const { descriptor, extent } = disk({ ...small, damage: { volatileHeader: [[VOLATILE_FIELD.magic, 0xcafebaben]] } });
    expect(extent.header.volatileHeaderValid).toBe(false);
    expect(extent.check()).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringMatching(/bad volatile header magic 0x00000000cafebabe/) }),
    ]);
    expect(() => qemuImg('info', descriptor)).toThrow(/Bad volatile header magic/);
  });

  test('a journal left to replay is reported; qemu refuses the file as dirty', () => {
    const { descriptor, extent } = disk({ ...small, damage: { volatileHeader: [[VOLATILE_FIELD.replayJournal, 1n]] } });
    expect(extent.header.journalNeedsReplay).toBe(true);
    expect(extent.check()).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringMatching(/journal was not replayed/) }),
    ]);
    expect(() => qemuImg('info', descriptor)).toThrow(/dirty/);
  });

  test('a volatile header past the end of the file, and a journal past it, are reported', () => {
    const file = path.join(dir, 'volatile-eof-sesparse.vmdk');
    buildSeSparse(file, {
      ...small,
      damage: { constHeader: [[CONST_FIELD.volatileHeaderOffset, 2_000_000n], [CONST_FIELD.journalOffset, 1_000_000n]] },
    });
    const extent = open(file);
    expect(extent.check()).toEqual([
      expect.objectContaining({
        severity: 'error',
        location: 'header byte 80',
        message: expect.stringMatching(/volatile header at sector 2000000 lies past the end of the file/),
      }),
      expect.objectContaining({
        severity: 'warning',
        message: expect.stringMatching(/^journal \(sectors 1000000-1000063\) extends past the end of the file/),
      }),
    ]);
  });

  test('bookkeeping regions that overlap what reads use are errors in check()', () => {
    const { extent } = disk({ ...small, damage: { constHeader: [[CONST_FIELD.backmapOffset, 76n], [CONST_FIELD.backmapSize, 2n]] } });
    expect(extent.check()).toEqual([
      expect.objectContaining({
        severity: 'error',
        message: 'grain directory (sectors 72-79) overlaps the backmap (sectors 76-77)',
      }),
    ]);
  });

  test('non-zero reserved fields are warnings: the data is still readable', () => {
    const { extent } = disk({ ...small, damage: { constHeader: [[CONST_FIELD.reserved1, 5n]] } });
    expect(extent.check()).toEqual([
      expect.objectContaining({ severity: 'warning', location: 'header byte 48', message: expect.stringMatching(/reserved field is 0x0000000000000005/) }),
    ]);
  });

  test('damage the builder writes is damage qemu also sees (the builder is honest)', () => {
    const { descriptor } = disk({ ...small, damage: { tableEntries: [[5, 0x5000000000000000n]] } });
    expect(() => execFileSync('qemu-img', ['convert', '-O', 'raw', descriptor, `${descriptor}.raw`], { stdio: 'pipe' })).toThrow();
  });
});
