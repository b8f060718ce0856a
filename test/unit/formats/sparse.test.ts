import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { DiskFile } from '../../../main/io/disk-file.js';
import type { Run, RunState } from '../../../main/formats/extent.js';
import { isSparseMagic, openSparseExtent, type OpenSparseOptions, type SparseExtent } from '../../../main/formats/sparse/reader.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';
import {
  buildHostedSparse,
  buildStreamOptimized,
  descriptorFor,
  directoryLayout,
  FLAGS_HOSTED,
  grainMarker,
  HEADER_OFFSETS,
  sparseHeader,
  type GrainContent,
} from '../../fixtures/sparse-builder.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GRAIN = 64 * KiB;

const dir = tmpDir('diskchain-sparse-');
let counter = 0;

function fresh(name: string): string {
  return path.join(dir, `${counter++}-${name}`);
}

function open(file: string, options?: OpenSparseOptions): SparseExtent {
  return openSparseExtent(DiskFile.open(file), options);
}

function withExtent<T>(file: string, use: (extent: SparseExtent) => T, options?: OpenSparseOptions): T {
  const extent = open(file, options);
  try {
    return use(extent);
  } finally {
    extent.close();
  }
}

function qemuIo(image: string, command: string): void {
  execFileSync('qemu-io', ['-f', 'vmdk', '-c', command, image], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Every byte of the extent, read in 1 MiB pieces, against qemu-img's raw conversion. */
function expectSameAsQemu(extent: SparseExtent, image: string, rawOffset = 0): void {
  const raw = fs.openSync(qemuRaw(image), 'r');
  try {
    const ours = Buffer.alloc(MiB);
    const theirs = Buffer.alloc(MiB);
    for (let pos = 0; pos < extent.sizeBytes; pos += MiB) {
      const length = Math.min(MiB, extent.sizeBytes - pos);
      extent.read(ours.subarray(0, length), pos);
      theirs.fill(0);
      fs.readSync(raw, theirs, 0, length, rawOffset + pos);
      if (!ours.subarray(0, length).equals(theirs.subarray(0, length))) {
        throw new Error(`bytes differ from qemu-img in the MiB at ${pos}`);
      }
    }
  } finally {
    fs.closeSync(raw);
  }
}

/** Reads of odd sizes at odd offsets, each compared with the same slice of `expected`. */
function expectOddReads(extent: SparseExtent, expected: Buffer): void {
  const cases: Array<[number, number]> = [
    [0, 1],
    [12000, 100_001],
    [GRAIN - 7, 3 * GRAIN + 13],
    [32 * MiB - 4097, 8193],
    [extent.sizeBytes - 5001, 5001],
    [extent.sizeBytes - 1, 1],
  ];
  for (const [offset, length] of cases) {
    if (offset < 0 || offset + length > extent.sizeBytes) continue;
    const buf = Buffer.alloc(length, 0xee);
    extent.read(buf, offset);
    expect(buf.equals(expected.subarray(offset, offset + length)), `read of ${length} at ${offset}`).toBe(true);
  }
}

function normalize(runs: Run[]): Run[] {
  const merged: Run[] = [];
  for (const run of runs) {
    const last = merged[merged.length - 1];
    if (last && last.state === run.state && last.offset + last.length === run.offset) last.length += run.length;
    else merged.push({ ...run });
  }
  return merged;
}

interface QemuMapEntry {
  start: number;
  length: number;
  present: boolean;
  data: boolean;
}

/** qemu-img map as runs: data, zero (present without data: a zeroed grain), unallocated (not present). */
function qemuMapRuns(image: string): Run[] {
  const entries = JSON.parse(qemuImg('map', '--output=json', image)) as QemuMapEntry[];
  const state = (e: QemuMapEntry): RunState => (e.data ? 'data' : e.present ? 'zero' : 'unallocated');
  return normalize(entries.map((e) => ({ offset: e.start, length: e.length, state: state(e) })));
}

function expectError(fn: () => unknown, code: string, message: RegExp, file: string): DiskchainError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DiskchainError);
  const err = caught as DiskchainError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(message);
  expect(err.file).toBe(file);
  return err;
}

/** Opening, or failing that reading everything, must fail with E_FORMAT. */
function expectFormatErrorSomewhere(file: string, message: RegExp): void {
  expectError(
    () =>
      withExtent(file, (extent) => {
        const buf = Buffer.alloc(MiB);
        for (let pos = 0; pos < extent.sizeBytes; pos += MiB) extent.read(buf.subarray(0, Math.min(MiB, extent.sizeBytes - pos)), pos);
      }),
    'E_FORMAT',
    message,
    file,
  );
}

function patch(file: string, offset: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return b;
}

function copyOf(file: string, name: string): string {
  const out = fresh(name);
  fs.copyFileSync(file, out);
  return out;
}

/** The whole virtual content a builder file should read as. */
function contentOf(capacitySectors: number, grainSizeSectors: number, grains: Map<number, GrainContent | Buffer>): Buffer {
  const content = Buffer.alloc(capacitySectors * 512);
  for (const [grain, data] of grains) {
    if (data !== 'zero') data.copy(content, grain * grainSizeSectors * 512);
  }
  return content;
}

// ---------------------------------------------------------------------------------------------
// Fixtures made by qemu-img

/** 70 MiB + 7 sectors: three grain tables, a partial last grain, data at odd offsets, zero writes. */
const ODD_SIZE = 70 * MiB + 7 * 512;

function makeQemuMonolithic(options: string[] = []): string {
  const image = fresh('mono.vmdk');
  qemuImg('create', '-f', 'vmdk', '-o', ['subformat=monolithicSparse', ...options].join(','), image, String(ODD_SIZE));
  qemuWrite(image, 12345, patternBytes(200_000, 1));
  qemuWrite(image, 32 * MiB - 1000, patternBytes(3000, 2));
  qemuFill(image, 40 * MiB + 4096, MiB, 0xab);
  qemuIo(image, `write -z ${40 * MiB + 4 * GRAIN} ${2 * GRAIN}`);
  qemuWrite(image, ODD_SIZE - 5000, patternBytes(5000, 3));
  qemuFill(image, 64 * MiB + 3, 77, 0x5a);
  return image;
}

function rawBytes(image: string): Buffer {
  return fs.readFileSync(qemuRaw(image));
}

describe('monolithicSparse made by qemu-img', () => {
  const image = makeQemuMonolithic();
  const expected = rawBytes(image);

  it('recognizes the KDMV magic and reads the header', () => {
    expect(isSparseMagic(fs.readFileSync(image).subarray(0, 4))).toBe(true);
    expect(isSparseMagic(Buffer.from('COWD'))).toBe(false);
    withExtent(image, (extent) => {
      expect(extent.layout).toBe('hosted');
      expect(extent.isStream).toBe(false);
      expect(extent.sizeBytes).toBe(ODD_SIZE);
      expect(extent.header).toMatchObject({
        version: 1,
        flags: FLAGS_HOSTED,
        capacitySectors: ODD_SIZE / 512,
        grainSizeSectors: 128,
        descriptorOffsetSectors: 1,
        descriptorSizeSectors: 20,
        numGTEsPerGT: 512,
        rgdOffsetSectors: 21,
        uncleanShutdown: false,
        compressAlgorithm: 0,
        redundantGDInUse: false,
      });
      const record: Record<string, string | number | boolean> = { ...extent.header };
      expect(Object.values(record).every((v) => ['number', 'boolean'].includes(typeof v))).toBe(true);
    });
  });

  it('reads every byte as qemu-img does, in 1 MiB pieces and at odd offsets', () => {
    withExtent(image, (extent) => {
      expectSameAsQemu(extent, image);
      expectOddReads(extent, expected);
    });
  });

  it('reports allocation like qemu-img map', () => {
    withExtent(image, (extent) => {
      expect(normalize(extent.blockStatus(0, extent.sizeBytes))).toEqual(qemuMapRuns(image));
      const runs = extent.blockStatus(12345, 100);
      expect(runs).toEqual([{ offset: 12345, length: 100, state: 'data' }]);
      const dataRuns = extent.blockStatus(0, extent.sizeBytes).filter((r) => r.state === 'data');
      expect(extent.allocatedBytes()).toBe(dataRuns.reduce((n, r) => n + Math.ceil(r.length / GRAIN) * GRAIN, 0));
    });
  });

  it('exposes the embedded descriptor without its NUL padding', () => {
    withExtent(image, (extent) => {
      const text = extent.embeddedDescriptor ?? '';
      expect(text).toContain('# Disk DescriptorFile');
      expect(text).toContain('createType="monolithicSparse"');
      expect(text).toContain(`RW ${ODD_SIZE / 512} SPARSE "${path.basename(image)}"`);
      expect(text).not.toContain('\0');
    });
  });

  it('finds nothing wrong with an intact file', () => {
    expect(withExtent(image, (extent) => extent.check())).toEqual([]);
  });
});

describe('zeroed grains (version 2, zeroed_grain=on)', () => {
  const image = fresh('zeroed.vmdk');
  qemuImg('create', '-f', 'vmdk', '-o', 'zeroed_grain=on', image, String(8 * MiB));
  qemuFill(image, 0, 600_000, 0x11);
  qemuIo(image, `write -z ${GRAIN} ${3 * GRAIN}`);
  qemuIo(image, `write -z ${5 * MiB} ${GRAIN}`);

  it('reads zeroed grains as zeros and reports them as zero runs', () => {
    withExtent(image, (extent) => {
      expect(extent.header.version).toBe(2);
      expectSameAsQemu(extent, image);
      const runs = normalize(extent.blockStatus(0, extent.sizeBytes));
      expect(runs).toEqual(qemuMapRuns(image));
      expect(runs).toContainEqual({ offset: GRAIN, length: 3 * GRAIN, state: 'zero' });
      expect(runs).toContainEqual({ offset: 5 * MiB, length: GRAIN, state: 'zero' });
      expect(extent.check()).toEqual([]);
    });
  });
});

describe('streamOptimized made by qemu-img (GD at the front)', () => {
  const source = makeQemuMonolithic();
  const image = fresh('stream.vmdk');
  qemuImg('convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', source, image);
  const expected = rawBytes(image);

  it('reads every byte as qemu-img does', () => {
    withExtent(image, (extent) => {
      expect(extent.isStream).toBe(true);
      expect(extent.layout).toBe('stream-front-gd');
      expect(extent.header.compressAlgorithm).toBe(1);
      expect(extent.embeddedDescriptor).toContain('createType="streamOptimized"');
      expectSameAsQemu(extent, image);
      expectOddReads(extent, expected);
    });
  });

  it('reports allocation like qemu-img map and finds nothing wrong', () => {
    withExtent(image, (extent) => {
      expect(normalize(extent.blockStatus(0, extent.sizeBytes))).toEqual(qemuMapRuns(image));
      expect(extent.allocatedBytes()).toBeGreaterThan(0);
      expect(extent.allocatedBytes() % GRAIN).toBe(0);
      expect(extent.check()).toEqual([]);
    });
  });

  it('names the LBA of a grain whose marker is wrong, in read() and check()', () => {
    const damaged = copyOf(image, 'bad-marker.vmdk');
    const sector = withExtent(damaged, (extent) => firstGrainSector(extent));
    patch(damaged, sector * 512, u64(999n * 128n));
    withExtent(damaged, (extent) => {
      const lba = firstDataLba(extent);
      expectError(() => extent.read(Buffer.alloc(512), lba * 512), 'E_FORMAT', new RegExp(`grain at LBA ${lba} .*names LBA 127872`), damaged);
      const problems = extent.check();
      expect(problems.some((p) => p.severity === 'error' && /names LBA 127872/.test(p.message))).toBe(true);
    });
  });

  it('refuses damaged compressed data with the LBA of the grain', () => {
    const damaged = copyOf(image, 'bad-zlib.vmdk');
    const sector = withExtent(damaged, (extent) => firstGrainSector(extent));
    patch(damaged, sector * 512 + 14, Buffer.alloc(64, 0xff));
    withExtent(damaged, (extent) => {
      const lba = firstDataLba(extent);
      expectError(() => extent.read(Buffer.alloc(512), lba * 512), 'E_FORMAT', new RegExp(`grain at LBA ${lba} .*compressed data is damaged`), damaged);
    });
  });

  it('fails reads of grains a truncated copy lost, naming them', () => {
    const cut = copyOf(image, 'stream-cut.vmdk');
    const lastGrain = Math.floor((ODD_SIZE - 1) / GRAIN);
    fs.truncateSync(cut, withExtent(cut, (extent) => grainSector(extent, lastGrain)) * 512 + 20);
    withExtent(cut, (extent) => {
      expect(() => extent.read(Buffer.alloc(100), 12345)).not.toThrow();
      const lba = lastGrain * 128;
      expectError(() => extent.read(Buffer.alloc(5000), ODD_SIZE - 5000), 'E_FORMAT', new RegExp(`truncated: grain at LBA ${lba} .*run past the end`), cut);
      const problems = extent.check();
      expect(problems.some((p) => p.severity === 'error' && /truncated/.test(p.message))).toBe(true);
    });
  });
});

function firstDataLba(extent: SparseExtent): number {
  const run = extent.blockStatus(0, extent.sizeBytes).find((r) => r.state === 'data');
  if (!run) throw new Error('no data');
  return Math.floor(run.offset / GRAIN) * 128;
}

/** The marker sector of the first allocated grain, from the file's own tables. */
function firstGrainSector(extent: SparseExtent): number {
  return grainSector(extent, firstDataLba(extent) / 128);
}

function grainSector(extent: SparseExtent, grain: number): number {
  const bytes = fs.readFileSync(extent.file);
  const gdIndex = Math.floor(grain / 512);
  const gt = bytes.readUInt32LE(extent.header.gdOffsetSectors * 512 + gdIndex * 4);
  return bytes.readUInt32LE(gt * 512 + (grain % 512) * 4);
}

describe('twoGbMaxExtentSparse extents opened one by one', () => {
  const image = fresh('split.vmdk');
  qemuImg('create', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', image, String(3 * 1024 * MiB));
  qemuWrite(image, 2048 * MiB - 70_000, patternBytes(150_000, 9));
  qemuFill(image, 100 * MiB + 1, 3 * GRAIN, 0x42);
  const extents = [image.replace(/\.vmdk$/, '-s001.vmdk'), image.replace(/\.vmdk$/, '-s002.vmdk')];

  it('reads each extent as its slice of the whole disk, with no embedded descriptor', () => {
    const raw = fs.openSync(qemuRaw(image), 'r');
    try {
      let base = 0;
      for (const file of extents) {
        withExtent(file, (extent) => {
          // QEMU reserves descriptor space in every extent but leaves it empty (all NUL).
          expect(extent.embeddedDescriptor).toBeNull();
          for (const run of extent.blockStatus(0, extent.sizeBytes).filter((r) => r.state === 'data')) {
            const ours = Buffer.alloc(run.length);
            const theirs = Buffer.alloc(run.length);
            extent.read(ours, run.offset);
            fs.readSync(raw, theirs, 0, run.length, base + run.offset);
            expect(ours.equals(theirs)).toBe(true);
          }
          expect(extent.check()).toEqual([]);
          base += extent.sizeBytes;
        });
      }
      expect(base).toBe(3 * 1024 * MiB);
    } finally {
      fs.closeSync(raw);
    }
  });

  it('sees the write that crosses the extent boundary on both sides', () => {
    withExtent(extents[0]!, (extent) => {
      const tail = Buffer.alloc(70_000);
      extent.read(tail, extent.sizeBytes - 70_000);
      expect(tail.equals(patternBytes(150_000, 9).subarray(0, 70_000))).toBe(true);
    });
    withExtent(extents[1]!, (extent) => {
      const head = Buffer.alloc(80_000);
      extent.read(head, 0);
      expect(head.equals(patternBytes(150_000, 9).subarray(70_000))).toBe(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-made files

/** Patterned grains at spread-out indexes, with a zeroed one when asked. */
function sampleGrains(capacitySectors: number, grainSizeSectors: number, withZero: boolean): Map<number, GrainContent> {
  const grainBytes = grainSizeSectors * 512;
  const numGrains = Math.ceil(capacitySectors / grainSizeSectors);
  const grains = new Map<number, GrainContent>();
  for (const g of new Set([0, 1, 3, Math.floor(numGrains / 2), numGrains - 1].filter((g) => g < numGrains && g !== 2))) {
    const valid = Math.min(grainBytes, capacitySectors * 512 - g * grainBytes);
    grains.set(g, Buffer.concat([patternBytes(valid, g + 7), Buffer.alloc(grainBytes - valid)]));
  }
  if (withZero && numGrains > 2) grains.set(2, 'zero');
  return grains;
}

describe('hosted sparse grain geometries (hand-made, checked against qemu-img too)', () => {
  const cases = [
    { grainSizeSectors: 1, capacitySectors: 3000, numGTEsPerGT: 512 },
    { grainSizeSectors: 8, capacitySectors: 1001, numGTEsPerGT: 512 },
    { grainSizeSectors: 128, capacitySectors: 70_001, numGTEsPerGT: 128 },
    { grainSizeSectors: 2048, capacitySectors: 5000, numGTEsPerGT: 512 },
  ];
  for (const c of cases) {
    it(`reads grain size ${c.grainSizeSectors}, ${c.numGTEsPerGT} entries per table, capacity ${c.capacitySectors} sectors`, () => {
      const grains = sampleGrains(c.capacitySectors, c.grainSizeSectors, true);
      const file = fresh(`g${c.grainSizeSectors}.vmdk`);
      const descriptor = descriptorFor(path.basename(file), c.capacitySectors);
      fs.writeFileSync(file, buildHostedSparse({ ...c, grains, descriptor, version: 2, flags: 0x7, reverseGrains: true }));
      const expected = contentOf(c.capacitySectors, c.grainSizeSectors, grains);
      withExtent(file, (extent) => {
        const all = Buffer.alloc(extent.sizeBytes);
        extent.read(all, 0);
        expect(all.equals(expected)).toBe(true);
        expectOddReads(extent, expected);
        expectSameAsQemu(extent, file);
        const dataGrains = [...grains.values()].filter((g) => g !== 'zero').length;
        expect(extent.allocatedBytes()).toBe(dataGrains * c.grainSizeSectors * 512);
        expect(extent.blockStatus(2 * c.grainSizeSectors * 512, 1)).toEqual([
          { offset: 2 * c.grainSizeSectors * 512, length: 1, state: 'zero' },
        ]);
        expect(extent.check()).toEqual([]);
      });
    });
  }

  it('reads GTE 1 as zeros even without flags bit 2, and check() says so', () => {
    const grains = sampleGrains(4096, 128, true);
    const file = fresh('gte1.vmdk');
    fs.writeFileSync(file, buildHostedSparse({ capacitySectors: 4096, grains }));
    withExtent(file, (extent) => {
      const buf = Buffer.alloc(GRAIN, 0xff);
      extent.read(buf, 2 * GRAIN);
      expect(buf.equals(Buffer.alloc(GRAIN))).toBe(true);
      expect(extent.check()).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/flags bit 2 is clear/) })]);
    });
  });
});

describe('streamOptimized with markers and a footer (VMware, VirtualBox, Xen Orchestra layouts)', () => {
  // Three grain tables' worth plus a partial grain; the middle table has no grains, so its GD entry is 0.
  const capacitySectors = 3 * 512 * 128 + 100;
  const grains = new Map<number, Buffer>();
  for (const g of [0, 1, 5, 511, 1024, 1300]) grains.set(g, patternBytes(GRAIN, g + 1));
  grains.set(1536, patternBytes(100 * 512, 77));
  const expected = contentOf(capacitySectors, 128, grains);
  const descriptor = '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="streamOptimized"\n\nRW 196708 SPARSE "x.vmdk"\n';

  const vmware = fresh('vmware-stream.vmdk');
  fs.writeFileSync(vmware, buildStreamOptimized({ capacitySectors, grains, descriptor }));
  const xo = fresh('xo-stream.vmdk');
  fs.writeFileSync(xo, buildStreamOptimized({ capacitySectors, grains, descriptor, tables: 'one-block' }));

  function expectContent(extent: SparseExtent): void {
    const all = Buffer.alloc(extent.sizeBytes);
    extent.read(all, 0);
    expect(all.equals(expected)).toBe(true);
    expectOddReads(extent, expected);
    expect(extent.allocatedBytes()).toBe(grains.size * GRAIN);
  }

  function expectRuns(extent: SparseExtent): void {
    const dataRuns = normalize(extent.blockStatus(0, extent.sizeBytes)).filter((r) => r.state === 'data');
    expect(dataRuns).toEqual([
      { offset: 0, length: 2 * GRAIN, state: 'data' },
      { offset: 5 * GRAIN, length: GRAIN, state: 'data' },
      { offset: 511 * GRAIN, length: GRAIN, state: 'data' },
      { offset: 1024 * GRAIN, length: GRAIN, state: 'data' },
      { offset: 1300 * GRAIN, length: GRAIN, state: 'data' },
      { offset: 1536 * GRAIN, length: 100 * 512, state: 'data' },
    ]);
  }

  it('reads the footer layout, and qemu-img agrees with the builder', () => {
    withExtent(vmware, (extent) => {
      expect(extent.layout).toBe('stream-footer');
      expect(extent.header.gdOffsetSectors).toBeGreaterThan(0);
      expect(extent.embeddedDescriptor).toBe(descriptor);
      expectContent(extent);
      expectRuns(extent);
      expectSameAsQemu(extent, vmware);
      expect(extent.check()).toEqual([]);
    });
  });

  it("reads Xen Orchestra's single table block through the footer", () => {
    withExtent(xo, (extent) => {
      expect(extent.layout).toBe('stream-footer');
      expectContent(extent);
      expectSameAsQemu(extent, xo);
      expect(extent.check()).toEqual([]);
    });
  });

  it('reads raw deflate grains too', () => {
    const raw = fresh('raw-deflate.vmdk');
    fs.writeFileSync(raw, buildStreamOptimized({ capacitySectors, grains, descriptor, rawDeflate: true }));
    withExtent(raw, (extent) => {
      expectContent(extent);
      expect(extent.check().every((p) => p.severity === 'warning' && /zlib header/.test(p.message))).toBe(true);
    });
  });

  it('scans the markers when the footer is damaged', () => {
    for (const source of [vmware, xo]) {
      const damaged = copyOf(source, 'no-footer.vmdk');
      patch(damaged, fs.statSync(damaged).size - 1024, Buffer.from('XXXX'));
      withExtent(damaged, (extent) => {
        expect(extent.layout).toBe('stream-scanned');
        expectContent(extent);
        expectRuns(extent);
        const problems = extent.check();
        expect(problems).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/no usable footer.*scanning/) })]);
      });
    }
  });

  it('scans to the end-of-stream marker when the file was padded after it', () => {
    const padded = copyOf(vmware, 'padded.vmdk');
    fs.appendFileSync(padded, Buffer.alloc(4096));
    withExtent(padded, (extent) => {
      expect(extent.layout).toBe('stream-scanned');
      expectContent(extent);
    });
  });

  it('scans when the footer names a grain directory past the end of the file', () => {
    const damaged = copyOf(vmware, 'footer-gd.vmdk');
    patch(damaged, fs.statSync(damaged).size - 1024 + HEADER_OFFSETS.gdOffset, u64(0xfffffffn));
    withExtent(damaged, (extent) => {
      expect(extent.layout).toBe('stream-scanned');
      expectContent(extent);
    });
  });

  it('refuses a stream cut short, and salvages it only when asked', () => {
    const cut = copyOf(vmware, 'cut.vmdk');
    // Grains 0 and 1 (incompressible, about 65 KiB each after the 64 KiB lead-in) survive; grain 5 is cut.
    const keep = 210_000;
    fs.truncateSync(cut, keep);
    expectError(() => open(cut), 'E_FORMAT', /truncated stream: no usable footer .*complete grains precede it/, cut);
    withExtent(
      cut,
      (extent) => {
        expect(extent.layout).toBe('stream-scanned');
        const first = Buffer.alloc(GRAIN);
        extent.read(first, 0);
        expect(first.equals(expected.subarray(0, GRAIN))).toBe(true);
        expect(extent.blockStatus(1024 * GRAIN, GRAIN)).toEqual([{ offset: 1024 * GRAIN, length: GRAIN, state: 'unallocated' }]);
        expect(extent.check().some((p) => p.severity === 'error' && /truncated stream/.test(p.message))).toBe(true);
      },
      { salvageTruncatedStream: true },
    );
  });

  it('refuses a stream with nothing after its header and descriptor', () => {
    const cut = copyOf(vmware, 'only-header.vmdk');
    fs.truncateSync(cut, 1024);
    expectError(() => open(cut), 'E_FORMAT', /truncated stream: .*end of the file/, cut);
  });

  it('keeps a scanned stream of absurd geometry cheap to walk', () => {
    // 128 TiB of one-sector grains, one entry per table: 2^38 directory entries that exist only as a number.
    const capacitySectors = 2 ** 38;
    const file = fresh('absurd-scan.vmdk');
    const header = sparseHeader({
      version: 3,
      flags: 0x30001,
      capacitySectors,
      grainSizeSectors: 1,
      numGTEsPerGT: 1,
      gdOffsetSectors: 0xffffffffffffffffn,
      overheadSectors: 1,
      compressAlgorithm: 1,
    });
    const data = patternBytes(512, 5);
    // A zero sector of padding first: a grain at sector 1 would collide with GTE 1 (zeroed grain).
    fs.writeFileSync(file, Buffer.concat([header, Buffer.alloc(512), grainMarker(2 ** 37, data), Buffer.alloc(512)]));
    const started = performance.now();
    withExtent(file, (extent) => {
      expect(extent.layout).toBe('stream-scanned');
      expect(extent.blockStatus(0, extent.sizeBytes)).toEqual([
        { offset: 0, length: 2 ** 46, state: 'unallocated' },
        { offset: 2 ** 46, length: 512, state: 'data' },
        { offset: 2 ** 46 + 512, length: 2 ** 46 - 512, state: 'unallocated' },
      ]);
      expect(extent.allocatedBytes()).toBe(512);
      const buf = Buffer.alloc(512);
      extent.read(buf, 2 ** 46);
      expect(buf.equals(data)).toBe(true);
      expect(extent.check().filter((p) => p.severity === 'error')).toEqual([]);
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('stops the scan at a grain marker cut off by the end of the file', () => {
    const cut = copyOf(vmware, 'cut-grain.vmdk');
    const start = 128 * 512;
    const firstMarker = grainMarker(0, grains.get(0)!);
    fs.truncateSync(cut, start + firstMarker.length - 600);
    expectError(() => open(cut), 'E_FORMAT', /grain at LBA 0 \(sector 128\) cut off/, cut);
  });
});

// ---------------------------------------------------------------------------------------------
// Damage

describe('malformed files fail with E_FORMAT naming the reason', () => {
  const good = makeSmallQemuSparse();

  function makeSmallQemuSparse(): string {
    const image = fresh('small.vmdk');
    qemuImg('create', '-f', 'vmdk', image, String(40 * MiB));
    qemuFill(image, 0, 3 * GRAIN, 0x33);
    qemuFill(image, 33 * MiB, GRAIN, 0x44);
    return image;
  }

  function damaged(name: string, change: (file: string) => void): string {
    const file = copyOf(good, name);
    change(file);
    return file;
  }

  it('empty file', () => {
    const file = fresh('empty.vmdk');
    fs.writeFileSync(file, '');
    expectError(() => open(file), 'E_FORMAT', /empty file/, file);
  });

  it('shorter than a header', () => {
    const file = fresh('short.vmdk');
    fs.writeFileSync(file, fs.readFileSync(good).subarray(0, 100));
    expectError(() => open(file), 'E_FORMAT', /truncated: the sparse header needs 512 bytes/, file);
  });

  it('header only', () => {
    const file = fresh('header-only.vmdk');
    fs.writeFileSync(file, fs.readFileSync(good).subarray(0, 512));
    expectError(() => open(file), 'E_FORMAT', /truncated: embedded descriptor at sector 1/, file);
  });

  it('header only, without a descriptor', () => {
    const file = fresh('bare-header.vmdk');
    fs.writeFileSync(file, sparseHeader({ capacitySectors: 2048, gdOffsetSectors: 2, rgdOffsetSectors: 0, flags: 1 }));
    expectError(() => open(file), 'E_FORMAT', /truncated: grain directory of 1 entries at sector 2/, file);
  });

  it('bad magic, and open-vmdk’s unfinished magic', () => {
    const bad = damaged('magic.vmdk', (f) => patch(f, 0, Buffer.from('KDMX')));
    expectError(() => open(bad), 'E_FORMAT', /not a hosted sparse extent: magic is 4b444d58/, bad);
    const unfinished = damaged('kdmv.vmdk', (f) => patch(f, 0, Buffer.from('kdmv')));
    expectError(() => open(unfinished), 'E_FORMAT', /incomplete conversion/, unfinished);
  });

  it('absurd capacity', () => {
    const file = damaged('capacity.vmdk', (f) => patch(f, HEADER_OFFSETS.capacity, u64(1n << 60n)));
    expectError(() => open(file), 'E_FORMAT', /capacity of 1152921504606846976 sectors \(header byte 12\) is not plausible/, file);
    const big = damaged('capacity2.vmdk', (f) => patch(f, HEADER_OFFSETS.capacity, u64(1n << 40n)));
    expectError(() => open(big), 'E_FORMAT', /capacity of 1099511627776 sectors .*more than 140737488355328 bytes/, big);
  });

  it('a capacity whose grain directory does not fit in the file', () => {
    const file = damaged('gd-size.vmdk', (f) => patch(f, HEADER_OFFSETS.capacity, u64(1n << 36n)));
    expectError(() => open(file), 'E_FORMAT', /truncated: grain directory of 1048576 entries at sector \d+ needs bytes up to/, file);
  });

  it('grain size that is not a power of two, or too big', () => {
    const odd = damaged('grain100.vmdk', (f) => patch(f, HEADER_OFFSETS.grainSize, u64(100n)));
    expectError(() => open(odd), 'E_FORMAT', /grain size of 100 sectors \(header byte 20\) is not a power of two/, odd);
    const zero = damaged('grain0.vmdk', (f) => patch(f, HEADER_OFFSETS.grainSize, u64(0n)));
    expectError(() => open(zero), 'E_FORMAT', /grain size of 0 sectors/, zero);
    const huge = damaged('grainbig.vmdk', (f) => patch(f, HEADER_OFFSETS.grainSize, u64(1n << 22n)));
    expectError(() => open(huge), 'E_FORMAT', /grain size of 4194304 sectors/, huge);
  });

  it('zero entries per grain table', () => {
    const file = damaged('gtes.vmdk', (f) => patch(f, HEADER_OFFSETS.numGTEsPerGT, u32(0)));
    expectError(() => open(file), 'E_FORMAT', /0 entries per grain table \(header byte 44\)/, file);
  });

  it('newline bytes mangled by a text-mode transfer', () => {
    const file = damaged('crlf.vmdk', (f) => patch(f, HEADER_OFFSETS.newlines, Buffer.from([0x0d, 0x0a, 0x20, 0x0d])));
    expectError(() => open(file), 'E_FORMAT', /text-mode \(CRLF\) transfer/, file);
  });

  it('unknown versions and incompatible flags are unsupported, not damage', () => {
    const v4 = damaged('v4.vmdk', (f) => patch(f, HEADER_OFFSETS.version, u32(4)));
    expectError(() => open(v4), 'E_UNSUPPORTED', /version 4/, v4);
    const v0 = damaged('v0.vmdk', (f) => patch(f, HEADER_OFFSETS.version, u32(0)));
    expectError(() => open(v0), 'E_FORMAT', /version 0/, v0);
    const flags = damaged('flags.vmdk', (f) => patch(f, HEADER_OFFSETS.flags, u32(0x40003)));
    expectError(() => open(flags), 'E_UNSUPPORTED', /unknown incompatible flags 0x40000/, flags);
  });

  it('GD_AT_END in a file that is not a stream and has no footer (issue 14: a footer is read for any sparse)', () => {
    const file = damaged('gd-at-end.vmdk', (f) => patch(f, HEADER_OFFSETS.gdOffset, u64(0xffffffffffffffffn)));
    expectError(() => open(file), 'E_FORMAT', /"at end" \(GD_AT_END, header byte 56\) but the footer cannot be used: no footer marker/, file);
  });

  it('grain directory past the end with no redundant copy to fall back on', () => {
    const file = damaged('gd-eof.vmdk', (f) => {
      patch(f, HEADER_OFFSETS.gdOffset, u64(1n << 30n));
      patch(f, HEADER_OFFSETS.flags, u32(0x1));
    });
    expectError(() => open(file), 'E_FORMAT', /truncated: grain directory of 2 entries at sector 1073741824/, file);
  });

  it('falls back to the redundant grain directory when the primary lies past the end', () => {
    const file = damaged('gd-eof-rgd.vmdk', (f) => patch(f, HEADER_OFFSETS.gdOffset, u64(1n << 30n)));
    withExtent(file, (extent) => {
      expect(extent.header.redundantGDInUse).toBe(true);
      expectSameAsQemu(extent, good);
      const problems = extent.check();
      expect(problems).toContainEqual(expect.objectContaining({ severity: 'error', message: expect.stringMatching(/redundant grain directory/) }));
    });
  });

  it('a grain table entry past the end of the file: read fails naming the sector, check() lists it', () => {
    const file = damaged('gte-eof.vmdk', (f) => {
      const layout = directoryLayout(fs.readFileSync(f));
      patch(f, layout.firstGT * 512 + 4, u32(0xffffff));
      patch(f, layout.firstRGT * 512 + 4, u32(0xffffff));
    });
    withExtent(file, (extent) => {
      expectError(() => extent.read(Buffer.alloc(10), GRAIN + 5), 'E_FORMAT', /grain 1 \(LBA 128\) at sector 16777215 lies past the end of the file/, file);
      expectError(() => extent.blockStatus(0, extent.sizeBytes), 'E_FORMAT', /sector 16777215/, file);
      const first = Buffer.alloc(GRAIN);
      extent.read(first, 0);
      expect(first.equals(Buffer.alloc(GRAIN, 0x33))).toBe(true);
      // The count cannot be right when a grain is missing, so it fails like the read does.
      expectError(() => extent.allocatedBytes(), 'E_FORMAT', /grain 1 \(LBA 128\) at sector 16777215 lies past the end/, file);
      const problems = extent.check();
      expect(problems).toEqual([
        expect.objectContaining({ severity: 'error', location: 'grain table 0 entry 1', message: expect.stringMatching(/sector 16777215 lies past the end/) }),
      ]);
    });
  });

  it('a grain directory entry past the end of the file', () => {
    const file = damaged('gde-eof.vmdk', (f) => {
      const layout = directoryLayout(fs.readFileSync(f));
      patch(f, layout.gdOffset * 512, u32(0x7fffffff));
      patch(f, layout.rgdOffset * 512, u32(0x7ffffff0));
    });
    withExtent(file, (extent) => {
      expectError(() => extent.read(Buffer.alloc(10), 0), 'E_FORMAT', /grain table 0 at sector 2147483647 lies past the end of the file/, file);
      expectError(() => extent.allocatedBytes(), 'E_FORMAT', /grain table 0 at sector 2147483647 lies past the end/, file);
      const problems = extent.check();
      expect(problems.filter((p) => p.severity === 'error').map((p) => p.location)).toEqual(['grain directory entry 0', 'redundant grain directory entry 0']);
    });
  });

  it('a file truncated inside its grains reads what is left and refuses the rest', () => {
    const file = damaged('cut-grains.vmdk', (f) => fs.truncateSync(f, fs.statSync(f).size - GRAIN / 2));
    withExtent(file, (extent) => {
      const first = Buffer.alloc(GRAIN);
      extent.read(first, 0);
      expect(first.equals(Buffer.alloc(GRAIN, 0x33))).toBe(true);
      expectError(() => extent.read(Buffer.alloc(GRAIN), 33 * MiB), 'E_FORMAT', /truncated: grain 528 \(LBA 67584\) at sector \d+ lies past the end/, file);
      expectError(() => extent.allocatedBytes(), 'E_FORMAT', /truncated: grain 528/, file);
      expect(extent.check().some((p) => /grain 528/.test(p.message))).toBe(true);
    });
  });

  it('a file truncated inside its metadata', () => {
    const cut = damaged('cut-meta.vmdk', (f) => fs.truncateSync(f, 11 * 1024));
    expectFormatErrorSomewhere(cut, /truncated: .*(grain table|grain directory)/);
    const cut2 = damaged('cut-meta2.vmdk', (f) => fs.truncateSync(f, 5000));
    expectFormatErrorSomewhere(cut2, /truncated: embedded descriptor/);
  });
});

describe('check() finds structural damage without throwing', () => {
  function makeImage(): string {
    const image = fresh('check.vmdk');
    qemuImg('create', '-f', 'vmdk', image, String(40 * MiB));
    qemuFill(image, 0, 3 * GRAIN, 0x33);
    return image;
  }

  it('unclean shutdown flag', () => {
    const file = makeImage();
    patch(file, HEADER_OFFSETS.uncleanShutdown, Buffer.from([1]));
    withExtent(file, (extent) => {
      expect(extent.header.uncleanShutdown).toBe(true);
      expect(extent.check()).toEqual([expect.objectContaining({ severity: 'warning', location: 'header byte 72' })]);
    });
  });

  it('grain directory and its redundant copy disagree', () => {
    const file = makeImage();
    const layout = directoryLayout(fs.readFileSync(file));
    patch(file, layout.rgdOffset * 512 + 4, u32(0));
    patch(file, layout.rgdOffset * 512, u32(layout.firstGT));
    withExtent(file, (extent) => {
      const messages = extent.check().map((p) => p.message);
      expect(messages).toContainEqual(expect.stringMatching(/both point at sector/));
      expect(messages).toContainEqual(expect.stringMatching(/grain directory entry 1 is \d+ but the redundant copy says 0/));
    });
  });

  it('a grain table differs from its redundant copy', () => {
    const file = makeImage();
    const layout = directoryLayout(fs.readFileSync(file));
    patch(file, layout.firstRGT * 512 + 8, u32(0));
    withExtent(file, (extent) => {
      expect(extent.check()).toEqual([expect.objectContaining({ severity: 'error', message: 'grain table 0 and its redundant copy differ (first at entry 2)' })]);
    });
  });

  it('two grains stored at the same place', () => {
    const file = makeImage();
    const bytes = fs.readFileSync(file);
    const layout = directoryLayout(bytes);
    const gte0 = bytes.readUInt32LE(layout.firstGT * 512);
    patch(file, layout.firstGT * 512 + 4, u32(gte0 + 8));
    patch(file, layout.firstRGT * 512 + 4, u32(gte0 + 8));
    withExtent(file, (extent) => {
      expect(extent.check()).toEqual([expect.objectContaining({ location: 'grain table 0 entry 1', message: expect.stringMatching(/overlaps/) })]);
    });
  });

  it('a grain pointing into the grain tables', () => {
    const file = makeImage();
    const layout = directoryLayout(fs.readFileSync(file));
    patch(file, layout.firstGT * 512 + 8, u32(layout.firstGT));
    patch(file, layout.firstRGT * 512 + 8, u32(layout.firstGT));
    withExtent(file, (extent) => {
      expect(extent.check().map((p) => p.location)).toContain('grain table 0 entry 2');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Scale

describe('a 2 TiB sparse disk', () => {
  const image = fresh('big.vmdk');
  const TiB = 1024 * 1024 * MiB;
  qemuImg('create', '-f', 'vmdk', image, String(2 * TiB));

  it('opens and measures its allocation in well under 0.3 s, as info does', () => {
    const started = performance.now();
    withExtent(image, (extent) => {
      expect(extent.sizeBytes).toBe(2 * TiB);
      expect(extent.allocatedBytes()).toBe(0);
    });
    expect(performance.now() - started).toBeLessThan(300);
  });

  it('maps its whole range as one unallocated run', () => {
    // 65536 preallocated tables (128 MiB) are read in 256 KiB runs; a cold cache makes this the slow part.
    const started = performance.now();
    withExtent(image, (extent) => {
      expect(extent.blockStatus(0, extent.sizeBytes)).toEqual([{ offset: 0, length: 2 * TiB, state: 'unallocated' }]);
    });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('finds a single grain written in the middle', () => {
    const copy = copyOf(image, 'big-one-grain.vmdk');
    qemuFill(copy, TiB + 100, 1000, 0x77);
    withExtent(copy, (extent) => {
      expect(extent.allocatedBytes()).toBe(GRAIN);
      expect(extent.blockStatus(0, extent.sizeBytes)).toEqual([
        { offset: 0, length: TiB, state: 'unallocated' },
        { offset: TiB, length: GRAIN, state: 'data' },
        { offset: TiB + GRAIN, length: TiB - GRAIN, state: 'unallocated' },
      ]);
      const buf = Buffer.alloc(2000);
      extent.read(buf, TiB);
      expect(buf.equals(Buffer.concat([Buffer.alloc(100), Buffer.alloc(1000, 0x77), Buffer.alloc(900)]))).toBe(true);
    });
  });
});
