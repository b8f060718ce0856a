/**
 * The COWD codec (ESX vmfsSparse deltas, ESX 2 REDO logs, hosted legacy COW disks) against files
 * built from the format digest (§4) and read back by qemu-img through vmfsSparse descriptors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { DiskFile } from '../../../main/io/disk-file.js';
import type { Run } from '../../../main/formats/extent.js';
import { isCowdMagic, openCowdExtent, type CowdExtent } from '../../../main/formats/cowd/reader.js';
import {
  buildCowd,
  expectedCowdContent,
  SECTOR,
  writeVmfsFlatDescriptor,
  writeVmfsSparseDescriptor,
  type CowdBuildOptions,
  type CowdWrite,
} from '../../fixtures/cowd-builder.js';
import { qemuImg, qemuRaw } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-cowd-');
let fileCounter = 0;

function open(file: string): CowdExtent {
  return openCowdExtent(DiskFile.open(file));
}

function build(options: CowdBuildOptions, name = 'x.REDO'): { file: string; layout: ReturnType<typeof buildCowd> } {
  const file = path.join(dir, `${fileCounter++}-${name}`);
  return { file, layout: buildCowd(file, options) };
}

function readAll(extent: CowdExtent): Buffer {
  const buf = Buffer.alloc(extent.sizeBytes);
  extent.read(buf, 0);
  return buf;
}

/** Expects opening (or the callback) to fail with E_FORMAT and a message matching `reason`. */
function expectFormatError(action: () => unknown, reason: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DiskchainError);
  const err = caught as DiskchainError;
  expect(err.code).toBe('E_FORMAT');
  expect(err.message).toMatch(reason);
}

function isZero(buf: Buffer): boolean {
  return buf.equals(Buffer.alloc(buf.length));
}

/** Runs must tile [start, start+length) in order with no gaps. */
function expectTiling(runs: Run[], start: number, length: number): void {
  let pos = start;
  for (const run of runs) {
    expect(run.offset).toBe(pos);
    expect(run.length).toBeGreaterThan(0);
    pos += run.length;
  }
  expect(pos).toBe(start + length);
}

interface QemuMapEntry {
  start: number;
  length: number;
  data: boolean;
  present?: boolean;
}

/** Allocated byte ranges qemu reports for an image, merged where they touch. */
function qemuDataRanges(image: string): Array<[number, number]> {
  const entries = JSON.parse(qemuImg('map', '--output=json', image)) as QemuMapEntry[];
  const ranges: Array<[number, number]> = [];
  for (const e of entries) {
    if (!e.data) continue;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === e.start) last[1] = e.start + e.length;
    else ranges.push([e.start, e.start + e.length]);
  }
  return ranges;
}

function dataRanges(runs: Run[]): Array<[number, number]> {
  return runs.filter((r) => r.state === 'data').map((r) => [r.offset, r.offset + r.length]);
}

/** Writes that exercise a grain size: unaligned, overlapping, across a GT boundary, at the end. */
function writesFor(capacitySectors: number, grainSectors: number, seed: number): CowdWrite[] {
  const gtRange = 4096 * grainSectors;
  const lastGrain = Math.floor((capacitySectors - 1) / grainSectors);
  const data = (sectors: number, s: number): Buffer => patternBytes(sectors * SECTOR, seed * 100 + s);
  return [
    // Written first, so the highest LBAs get the lowest file sectors (allocation order ≠ LBA order).
    { lba: lastGrain * grainSectors, data: data(capacitySectors - lastGrain * grainSectors, 1) },
    { lba: 0, data: data(grainSectors, 2) },
    // A run of grains across the first grain-table boundary.
    { lba: gtRange - 3 * grainSectors, data: data(6 * grainSectors, 3) },
    // One sector inside a grain, not at its start (the rest of the grain is zeros).
    { lba: 5 * grainSectors + (grainSectors > 1 ? 1 : 0), data: data(1, 4) },
    // Overwrites part of the first write's neighbourhood: later bytes win.
    { lba: gtRange - 2 * grainSectors, data: data(grainSectors, 5) },
    // A lone grain in the second table and one in the third.
    { lba: gtRange + 37 * grainSectors, data: data(grainSectors, 6) },
    { lba: 2 * gtRange + grainSectors, data: data(grainSectors, 7) },
  ];
}

function touchedGrains(writes: CowdWrite[], grainSectors: number): Set<number> {
  const grains = new Set<number>();
  for (const w of writes) {
    for (let s = w.lba; s < w.lba + w.data.length / SECTOR; s++) grains.add(Math.floor(s / grainSectors));
  }
  return grains;
}

describe('COWD magic', () => {
  it('recognises COWD and nothing else', () => {
    expect(isCowdMagic(Buffer.from('COWD\x01\0\0\0', 'latin1'))).toBe(true);
    expect(isCowdMagic(Buffer.from('KDMV', 'latin1'))).toBe(false);
    expect(isCowdMagic(Buffer.from('COW', 'latin1'))).toBe(false);
    expect(isCowdMagic(Buffer.alloc(0))).toBe(false);
  });
});

describe.each([
  // Grain size 1 is what ESX writes; a GT then covers 2 MiB. Capacities end mid-grain where possible.
  { grainSectors: 1, capacitySectors: 2 * 4096 + 1000, layout: 'esx' as const },
  { grainSectors: 8, capacitySectors: 2 * 4096 * 8 + 1003, layout: 'tablesFirst' as const },
  { grainSectors: 16, capacitySectors: 2 * 4096 * 16 + 77, layout: 'esx' as const },
])('a vmfsSparse delta with $grainSectors-sector grains ($layout layout)', ({ grainSectors, capacitySectors, layout }) => {
  const writes = writesFor(capacitySectors, grainSectors, grainSectors);
  const capacityBytes = capacitySectors * SECTOR;
  const sub = path.join(dir, `delta-g${grainSectors}`);
  fs.mkdirSync(sub);
  const deltaFile = path.join(sub, 'disk-000001-delta.vmdk');
  const layoutInfo = buildCowd(deltaFile, { capacitySectors, grainSectors, writes, layout });
  // Chain view: a patterned raw base under the delta, so "unallocated" shows as base bytes.
  const base = patternBytes(capacityBytes, 0xba5e + grainSectors);
  fs.writeFileSync(path.join(sub, 'disk-flat.vmdk'), base);
  writeVmfsFlatDescriptor(path.join(sub, 'disk.vmdk'), { capacitySectors, flatFileName: 'disk-flat.vmdk', cid: 0x1234abcd });
  writeVmfsSparseDescriptor(path.join(sub, 'disk-000001.vmdk'), {
    capacitySectors,
    deltaFileName: 'disk-000001-delta.vmdk',
    cid: 0x5678ef01,
    parentCid: 0x1234abcd,
    parentFileNameHint: 'disk.vmdk',
  });
  // Extent view: the same delta with no parent, so qemu reads unallocated grains as zeros. (qemu-img
  // 7.2 refuses a bare COWD file even with -f vmdk, "Invalid argument", so a descriptor is needed.)
  writeVmfsSparseDescriptor(path.join(sub, 'alone.vmdk'), {
    capacitySectors,
    deltaFileName: 'disk-000001-delta.vmdk',
    cid: 0x5678ef02,
    parentCid: 0xffffffff,
    parentFileNameHint: '',
  });
  const qemuChain = fs.readFileSync(qemuRaw(path.join(sub, 'disk-000001.vmdk')));
  const qemuAlone = fs.readFileSync(qemuRaw(path.join(sub, 'alone.vmdk')));
  const model = expectedCowdContent({ capacitySectors, writes });
  const grainBytes = grainSectors * SECTOR;

  it('reads every byte as qemu-img does, and as the builder model says', () => {
    const extent = open(deltaFile);
    try {
      expect(extent.sizeBytes).toBe(capacityBytes);
      const ours = readAll(extent);
      expect(qemuAlone.length).toBe(capacityBytes);
      expect(ours.equals(qemuAlone)).toBe(true);
      expect(ours.equals(model)).toBe(true);
    } finally {
      extent.close();
    }
  });

  it('reports data exactly where the delta holds grains and the parent shows through elsewhere', () => {
    const extent = open(deltaFile);
    try {
      const runs = extent.blockStatus(0, capacityBytes);
      expectTiling(runs, 0, capacityBytes);
      expect(runs.every((r) => r.state !== 'zero')).toBe(true);
      // Same allocation map as qemu-img map.
      expect(dataRanges(runs)).toEqual(qemuDataRanges(path.join(sub, 'alone.vmdk')));
      // Per grain: data runs are the touched grains; unallocated bytes come from the parent.
      const touched = touchedGrains(writes, grainSectors);
      const ours = readAll(extent);
      for (const run of runs) {
        const slice = (b: Buffer): Buffer => b.subarray(run.offset, run.offset + run.length);
        expect(run.offset % grainBytes).toBe(0);
        if (run.state === 'data') {
          expect(slice(qemuChain).equals(slice(ours))).toBe(true);
        } else {
          expect(slice(qemuChain).equals(slice(base))).toBe(true);
          expect(isZero(slice(ours))).toBe(true);
        }
        for (let g = run.offset / grainBytes; g * grainBytes < run.offset + run.length; g++) {
          expect(touched.has(g)).toBe(run.state === 'data');
        }
      }
      expect(layoutInfo.grainSectorOf.size).toBe(touched.size);
    } finally {
      extent.close();
    }
  });

  it('answers block status for unaligned sub-ranges clipped to the extent', () => {
    const extent = open(deltaFile);
    try {
      const full = extent.blockStatus(0, capacityBytes);
      const stateAt = (pos: number): string => full.find((r) => pos >= r.offset && pos < r.offset + r.length)?.state ?? '?';
      const start = grainBytes + 100;
      const length = 4096 * grainBytes + 3 * grainBytes;
      const runs = extent.blockStatus(start, length);
      expectTiling(runs, start, length);
      for (const run of runs) {
        expect(stateAt(run.offset)).toBe(run.state);
        expect(stateAt(run.offset + run.length - 1)).toBe(run.state);
      }
      const tail = extent.blockStatus(capacityBytes - 10, 1000);
      expectTiling(tail, capacityBytes - 10, 10);
      expect(tail[0]?.state).toBe('data');
    } finally {
      extent.close();
    }
  });

  it('reads unaligned ranges that span grains and grain tables', () => {
    const extent = open(deltaFile);
    try {
      const gtRangeBytes = 4096 * grainBytes;
      const ranges: Array<[number, number]> = [
        [1, 1],
        [grainBytes - 7, 14],
        [511, grainBytes * 3 + 2],
        [gtRangeBytes - 3 * grainBytes - 5, 6 * grainBytes + 10],
        [gtRangeBytes - 1, 2],
        [capacityBytes - 1, 1],
        [capacityBytes - 3 * grainBytes - 13, 3 * grainBytes + 13],
        [0, 0],
      ];
      const rnd = patternBytes(64 * 8, 77);
      for (let i = 0; i < 64; i++) {
        const offset = rnd.readUInt32LE(i * 8) % capacityBytes;
        const length = Math.min(capacityBytes - offset, rnd.readUInt32LE(i * 8 + 4) % (5 * grainBytes + 1000));
        ranges.push([offset, length]);
      }
      for (const [offset, length] of ranges) {
        const buf = Buffer.alloc(length, 0xee);
        extent.read(buf, offset);
        expect(buf.equals(qemuAlone.subarray(offset, offset + length)), `read of ${length} at ${offset}`).toBe(true);
      }
    } finally {
      extent.close();
    }
  });

  it('counts allocated bytes as whole grains and finds nothing to report', () => {
    const extent = open(deltaFile);
    try {
      expect(extent.allocatedBytes()).toBe(touchedGrains(writes, grainSectors).size * grainBytes);
      expect(extent.check()).toEqual([]);
    } finally {
      extent.close();
    }
  });
});

describe('COWD header', () => {
  it('reads an ESX 2 REDO log header: parent name, generations, name and description', () => {
    const { file } = build({
      capacitySectors: 20480,
      parentFileName: '/vmfs/vmhba0:0:0:5/web.dsk',
      parentGeneration: 7,
      generation: 8,
      name: 'web',
      description: 'undoable REDO',
      savedGeneration: 5,
      writes: [{ lba: 3, data: patternBytes(SECTOR, 1) }],
    });
    const extent = open(file);
    try {
      expect(extent.header).toMatchObject({
        version: 1,
        flags: 3,
        capacitySectors: 20480,
        grainSizeSectors: 1,
        gdOffsetSectors: 4,
        numGDEntries: 5,
        gtEntries: 4096,
        isRoot: false,
        parentFileName: '/vmfs/vmhba0:0:0:5/web.dsk',
        parentGeneration: 7,
        generation: 8,
        name: 'web',
        description: 'undoable REDO',
        savedGeneration: 5,
        uncleanShutdown: 0,
      });
      expect(extent.header.geometry).toBeUndefined();
      // header 4 + GD 1 sector + one GT (32 sectors) + one grain
      expect(extent.header.freeSector).toBe(4 + 1 + 32 + 1);
    } finally {
      extent.close();
    }
  });

  it('reads short parent names (a.dsk, a.dsk.REDO) as children, not as geometry', () => {
    for (const parentFileName of ['a.dsk', 'a.dsk.REDO', 'abc']) {
      const { file } = build({ capacitySectors: 4096, parentFileName });
      const extent = open(file);
      expect(extent.header.isRoot).toBe(false);
      expect(extent.header.parentFileName).toBe(parentFileName);
      extent.close();
    }
  });

  it('reads the geometry of a root COWD header', () => {
    for (const geometry of [
      { cylinders: 20, heads: 16, sectors: 63 },
      { cylinders: 1305, heads: 255, sectors: 63 },
      { cylinders: 16383, heads: 16, sectors: 63 },
    ]) {
      const capacitySectors = geometry.cylinders * geometry.heads * geometry.sectors;
      const { file } = build({ capacitySectors, root: { geometry }, generation: 1 }, 'root.dsk');
      const extent = open(file);
      try {
        expect(extent.header.isRoot).toBe(true);
        expect(extent.header.geometry).toEqual(geometry);
        expect(extent.header.parentFileName).toBeUndefined();
        expect(extent.header.generation).toBe(1);
        expect(extent.blockStatus(0, extent.sizeBytes)).toEqual([{ offset: 0, length: extent.sizeBytes, state: 'unallocated' }]);
      } finally {
        extent.close();
      }
    }
  });

  it('leaves parent and geometry unset for an ESX 3+ delta whose union is zero', () => {
    const { file } = build({ capacitySectors: 2048 }, 'x-delta.vmdk');
    const extent = open(file);
    try {
      expect(extent.header.parentFileName).toBeUndefined();
      expect(extent.header.geometry).toBeUndefined();
      expect(extent.check()).toEqual([]);
    } finally {
      extent.close();
    }
  });

  it('accepts a grain directory larger than the capacity needs', () => {
    const writes = [{ lba: 4095, data: patternBytes(2 * SECTOR, 3) }];
    const { file } = build({ capacitySectors: 8192, numGDEntries: 40, writes });
    const extent = open(file);
    try {
      expect(extent.header.numGDEntries).toBe(40);
      expect(readAll(extent).equals(expectedCowdContent({ capacitySectors: 8192, writes }))).toBe(true);
      expect(extent.check()).toEqual([]);
    } finally {
      extent.close();
    }
  });

  it('reads a hosted legacy (version 3) COW disk with 512-entry grain tables', () => {
    const grainSectors = 16;
    const gtRange = 512 * grainSectors;
    const capacitySectors = 3 * gtRange + 40;
    const usable: CowdWrite[] = [
      { lba: capacitySectors - 40, data: patternBytes(40 * SECTOR, 41) },
      { lba: gtRange - 2 * grainSectors + 3, data: patternBytes(4 * grainSectors * SECTOR, 42) },
      { lba: 2 * gtRange + 7 * grainSectors, data: patternBytes(grainSectors * SECTOR, 43) },
    ];
    const { file, layout } = build({ capacitySectors, grainSectors, version: 3, writes: usable }, 'legacy.vmdk');
    expect(layout.gtEntries).toBe(512);
    const extent = open(file);
    try {
      expect(extent.header.version).toBe(3);
      expect(extent.header.flags).toBe(0x1b);
      expect(extent.header.gtEntries).toBe(512);
      expect(readAll(extent).equals(expectedCowdContent({ capacitySectors, writes: usable }))).toBe(true);
      expect(extent.check()).toEqual([]);
    } finally {
      extent.close();
    }
  });

  it('reads a delta of the largest COWD capacity (2^32-1 sectors) without reading its holes', () => {
    const capacitySectors = 0xffffffff;
    const last = { lba: capacitySectors - 1, data: patternBytes(SECTOR, 5) };
    const { file } = build({ capacitySectors, writes: [last, { lba: 0, data: patternBytes(SECTOR, 6) }] });
    const extent = open(file);
    try {
      expect(extent.sizeBytes).toBe(capacitySectors * SECTOR);
      const buf = Buffer.alloc(3 * SECTOR);
      extent.read(buf, (capacitySectors - 3) * SECTOR);
      expect(buf.subarray(2 * SECTOR).equals(last.data)).toBe(true);
      expect(isZero(buf.subarray(0, 2 * SECTOR))).toBe(true);
      expect(extent.allocatedBytes()).toBe(2 * SECTOR);
      expect(extent.blockStatus(SECTOR, 1024 * 1024 * 1024)).toEqual([
        { offset: SECTOR, length: 1024 * 1024 * 1024, state: 'unallocated' },
      ]);
    } finally {
      extent.close();
    }
  });
});

describe('COWD zeroed grains (GTE 1)', () => {
  it('reads GTE 1 as zeros, reports it as zero (not unallocated) and does not count it', () => {
    const grainSectors = 8;
    const writes = [{ lba: 0, data: patternBytes(3 * grainSectors * SECTOR, 11) }];
    const { file } = build({ capacitySectors: 4096, grainSectors, writes, zeroGrains: [8 * grainSectors, 9 * grainSectors] });
    const extent = open(file);
    try {
      const grainBytes = grainSectors * SECTOR;
      expect(extent.blockStatus(0, 12 * grainBytes)).toEqual([
        { offset: 0, length: 3 * grainBytes, state: 'data' },
        { offset: 3 * grainBytes, length: 5 * grainBytes, state: 'unallocated' },
        { offset: 8 * grainBytes, length: 2 * grainBytes, state: 'zero' },
        { offset: 10 * grainBytes, length: 2 * grainBytes, state: 'unallocated' },
      ]);
      const buf = Buffer.alloc(4 * grainBytes, 0xff);
      extent.read(buf, 7 * grainBytes);
      expect(isZero(buf)).toBe(true);
      expect(extent.allocatedBytes()).toBe(3 * grainBytes);
      expect(extent.check()).toEqual([]);
    } finally {
      extent.close();
    }
  });
});

describe('COWD grain tables past the capacity', () => {
  it('ignores entries of the last grain table that lie beyond the capacity', () => {
    const capacitySectors = 4096 - 100;
    const writes = [{ lba: capacitySectors - 1, data: patternBytes(SECTOR, 51) }];
    const { layout } = build({ capacitySectors, writes });
    const stray = layout.grainSectorOf.get(capacitySectors - 1) ?? 0;
    const { file } = build({ capacitySectors, writes, damage: { gtEntries: [{ lba: capacitySectors + 10, value: stray }] } });
    const extent = open(file);
    try {
      expect(extent.allocatedBytes()).toBe(SECTOR);
      expect(extent.check()).toEqual([]);
      expect(readAll(extent).equals(expectedCowdContent({ capacitySectors, writes }))).toBe(true);
    } finally {
      extent.close();
    }
  });
});

describe('COWD grain allocation order', () => {
  it('reads grains stored in reverse LBA order with tables first', () => {
    const capacitySectors = 3 * 4096;
    const writes: CowdWrite[] = [];
    for (let lba = capacitySectors - 1; lba >= 0; lba -= 97) writes.push({ lba, data: patternBytes(SECTOR, lba) });
    const { file } = build({ capacitySectors, writes, layout: 'tablesFirst' });
    const extent = open(file);
    try {
      expect(readAll(extent).equals(expectedCowdContent({ capacitySectors, writes }))).toBe(true);
      expect(extent.allocatedBytes()).toBe(writes.length * SECTOR);
      expect(extent.check()).toEqual([]);
    } finally {
      extent.close();
    }
  });
});

describe('malformed COWD files', () => {
  const good: CowdBuildOptions = {
    capacitySectors: 3 * 4096,
    writes: [
      { lba: 10, data: patternBytes(4 * SECTOR, 21) },
      { lba: 4096 + 5, data: patternBytes(SECTOR, 22) },
    ],
  };

  it('refuses an empty file', () => {
    const file = path.join(dir, 'empty.REDO');
    fs.writeFileSync(file, Buffer.alloc(0));
    expectFormatError(() => open(file), /empty file/);
  });

  it('refuses a file cut inside the header', () => {
    const { file } = build({ ...good, damage: { truncateToBytes: 1000 } });
    expectFormatError(() => open(file), /truncated: the COWD header needs 2048 bytes but the file has 1000/);
  });

  it('refuses a header-only file: the grain directory is missing', () => {
    const { file } = build({ ...good, damage: { truncateToBytes: 2048 } });
    expectFormatError(() => open(file), /truncated: grain directory of 3 entries at sector 4/);
  });

  it('refuses a file with another magic', () => {
    const { file } = build({ ...good, damage: { header: { magic: Buffer.from('KDMV', 'latin1') } } });
    expectFormatError(() => open(file), /not a COWD extent: magic is 4b444d56/);
  });

  it('refuses a capacity the grain directory cannot cover', () => {
    const { file } = build({ ...good, damage: { header: { numSectors: 0xffffffff } } });
    expectFormatError(() => open(file), /grain directory of 3 entries \(header byte 24\) covers only 12288 of the 4294967295 sectors/);
  });

  it('refuses an absurd capacity whose grain directory lies past the end of the file', () => {
    const { file } = build({ ...good, damage: { header: { numSectors: 0xffffffff, numGDEntries: 0x100000 } } });
    expectFormatError(() => open(file), /truncated: grain directory of 1048576 entries at sector 4 needs bytes up to 4196352/);
  });

  it('refuses a grain directory entry count past the end of the file', () => {
    const { file } = build({ ...good, damage: { header: { numGDEntries: 0xffffffff } } });
    expectFormatError(() => open(file), /truncated: grain directory of 4294967295 entries/);
  });

  it('refuses a zero capacity', () => {
    const { file } = build({ ...good, damage: { header: { numSectors: 0 } } });
    expectFormatError(() => open(file), /capacity of 0 sectors/);
  });

  it.each([0, 3, 12, 4096, 0x80000000])('refuses a grain size of %i sectors', (grainSize) => {
    const { file } = build({ ...good, damage: { header: { grainSize } } });
    expectFormatError(() => open(file), new RegExp(`grain size of ${grainSize} sectors \\(header byte 16\\) is not a power of two`));
  });

  it('refuses a grain directory that overlaps the header', () => {
    const { file } = build({ ...good, damage: { header: { gdOffset: 2 } } });
    expectFormatError(() => open(file), /grain directory at sector 2 overlaps the 4-sector header/);
  });

  it('opens a file whose grain directory points past the end, fails reads there and reports it in check()', () => {
    const { file } = build({ ...good, damage: { gdEntries: [{ index: 1, value: 100000 }] } });
    const extent = open(file);
    try {
      // The first grain table's range still reads.
      const buf = Buffer.alloc(4 * SECTOR);
      extent.read(buf, 10 * SECTOR);
      expect(buf.equals(patternBytes(4 * SECTOR, 21))).toBe(true);
      expectFormatError(
        () => extent.read(Buffer.alloc(SECTOR), 4096 * SECTOR),
        /grain table 1 at sector 100000 lies past the end of the file/,
      );
      expectFormatError(() => extent.blockStatus(0, extent.sizeBytes), /grain table 1 at sector 100000 lies past the end/);
      const problems = extent.check();
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ severity: 'error', file, location: 'grain directory entry 1' });
      expect(problems[0]?.message).toMatch(/grain table 1 at sector 100000 lies past the end of the file/);
      expect(extent.allocatedBytes()).toBe(4 * SECTOR);
    } finally {
      extent.close();
    }
  });

  it('reports a grain directory entry that points into the header', () => {
    const { file } = build({ ...good, damage: { gdEntries: [{ index: 2, value: 1 }] } });
    const extent = open(file);
    try {
      expectFormatError(() => extent.read(Buffer.alloc(SECTOR), 8192 * SECTOR), /directory entry 2 points into the header/);
      const problems = extent.check();
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ severity: 'error', location: 'grain directory entry 2' });
      expect(problems[0]?.message).toMatch(/points into the header or grain directory \(sector 1\)/);
    } finally {
      extent.close();
    }
  });

  it('reports grain table entries past the end of the file and into the header without throwing', () => {
    const { file } = build({
      ...good,
      damage: {
        gtEntries: [
          { lba: 100, value: 50000 },
          { lba: 101, value: 2 },
        ],
      },
    });
    const extent = open(file);
    try {
      expectFormatError(
        () => extent.read(Buffer.alloc(SECTOR), 100 * SECTOR),
        /grain 100 \(grain table 0 entry 100\) at sector 50000 lies past the end of the file/,
      );
      expectFormatError(
        () => extent.read(Buffer.alloc(SECTOR), 101 * SECTOR),
        /grain 101 \(grain table 0 entry 101\) points into the header or grain directory \(sector 2\)/,
      );
      // Intact grains still read.
      const buf = Buffer.alloc(SECTOR);
      extent.read(buf, (4096 + 5) * SECTOR);
      expect(buf.equals(patternBytes(SECTOR, 22))).toBe(true);
      const problems = extent.check();
      expect(problems.map((p) => [p.severity, p.location])).toEqual([
        ['error', 'grain table 0 entry 100'],
        ['error', 'grain table 0 entry 101'],
      ]);
      expect(problems[0]?.message).toMatch(/lies past the end of the file/);
      expect(problems[1]?.message).toMatch(/points into the header/);
    } finally {
      extent.close();
    }
  });

  it('reports two grains sharing file space', () => {
    const built = build(good);
    const shared = built.layout.grainSectorOf.get(10) ?? 0;
    const { file } = build({ ...good, damage: { gtEntries: [{ lba: 200, value: shared }] } });
    const extent = open(file);
    try {
      const problems = extent.check();
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ severity: 'error', location: 'grain table 0 entry 200' });
      expect(problems[0]?.message).toMatch(/overlaps a grain table or another grain/);
    } finally {
      extent.close();
    }
  });

  it('reports a file cut inside its grain data, and still reads what is left', () => {
    const grainSectors = 8;
    const writes = [
      { lba: 0, data: patternBytes(grainSectors * SECTOR, 31) },
      { lba: 64, data: patternBytes(grainSectors * SECTOR, 32) },
    ];
    const { layout } = build({ capacitySectors: 4096, grainSectors, writes });
    const cut = (layout.freeSector - 3) * SECTOR;
    const { file } = build({ capacitySectors: 4096, grainSectors, writes, damage: { truncateToBytes: cut } });
    const extent = open(file);
    try {
      const buf = Buffer.alloc(grainSectors * SECTOR);
      extent.read(buf, 0);
      expect(buf.equals(writes[0]?.data ?? Buffer.alloc(0))).toBe(true);
      // The first five sectors of the cut grain are still in the file.
      const head = Buffer.alloc(5 * SECTOR);
      extent.read(head, 64 * SECTOR);
      expect(head.equals((writes[1]?.data ?? Buffer.alloc(0)).subarray(0, 5 * SECTOR))).toBe(true);
      expectFormatError(() => extent.read(Buffer.alloc(SECTOR), 69 * SECTOR), /grain 8 .* lies past the end of the file/);
      expectFormatError(() => extent.blockStatus(69 * SECTOR, SECTOR), /grain 8 .* lies past the end of the file/);
      const problems = extent.check();
      expect(problems.map((p) => [p.severity, p.location])).toEqual([
        ['warning', 'header byte 28'],
        ['error', 'grain table 0 entry 8'],
      ]);
      expect(problems[0]?.message).toMatch(/freeSector \d+ lies past the end of the file/);
      expect(problems[1]?.message).toMatch(/grain 8 at sector \d+ lies past the end of the file/);
    } finally {
      extent.close();
    }
  });

  it('warns about an unclean shutdown and a freeSector inside the metadata', () => {
    const { file } = build({ ...good, uncleanShutdown: 1, damage: { header: { freeSector: 3 } } });
    const extent = open(file);
    try {
      const problems = extent.check();
      expect(problems.map((p) => [p.severity, p.location])).toEqual([
        ['warning', 'header byte 1648'],
        ['warning', 'header byte 28'],
      ]);
      expect(problems[0]?.message).toMatch(/not shut down cleanly/);
      expect(problems[1]?.message).toMatch(/freeSector 3 lies inside the header or grain directory/);
    } finally {
      extent.close();
    }
  });

  it('refuses reads outside the extent with E_USAGE', () => {
    const { file } = build(good);
    const extent = open(file);
    try {
      let caught: unknown;
      try {
        extent.read(Buffer.alloc(2 * SECTOR), extent.sizeBytes - SECTOR);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DiskchainError);
      expect((caught as DiskchainError).code).toBe('E_USAGE');
    } finally {
      extent.close();
    }
  });
});
