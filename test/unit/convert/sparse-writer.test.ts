/**
 * The hosted sparse writer against qemu-img (check, compare, its own header for the same size)
 * and libvmdk's vmdkinfo: sources are built with qemu-img/qemu-io, flattened through a chain,
 * written into a staged output and committed.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiskKind } from '../../../shared/jobs.js';
import { GRAIN_BYTES, outputDdb, outputDescriptor, outputNames, planOutput, type OutputPlan } from '../../../main/convert/layout.js';
import { writeHostedSparse } from '../../../main/convert/sparse-writer.js';
import { encodeSparseHeader, hostedSparseLayout } from '../../../main/formats/sparse/layout.js';
import { openChain, type Chain } from '../../../main/disk/chain.js';
import { dataBytes, dataRanges } from '../../../main/disk/source.js';
import { randomCid } from '../../../main/formats/descriptor.js';
import { StagedOutput } from '../../../main/io/staged-output.js';
import { inlineContext, type JobContext } from '../../../main/io/job-context.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECTOR = 512;

const dir = tmpDir('diskchain-sparse-writer-');

interface WriteOptions {
  skipZeroGrains?: boolean;
  segmentBytes?: number;
  ctx?: JobContext;
  /** Lets a test watch the chain (its reads) before the writer runs. */
  onChain?: (chain: Chain) => void;
}

/** Converts `src` the way the convert dispatcher does and returns the committed plan. */
async function writeSparse(src: string, kind: DiskKind, dstName: string, options: WriteOptions = {}): Promise<OutputPlan> {
  const chain = openChain(src);
  try {
    options.onChain?.(chain);
    const plan = planOutput(kind, path.join(dir, dstName), chain.capacityBytes, options.segmentBytes);
    const out = StagedOutput.create(plan.dir, outputNames(plan));
    try {
      const cid = randomCid();
      const descriptor = outputDescriptor(kind, plan, outputDdb(chain, chain.capacityBytes, { kind }, cid), { cid });
      const embeddedDescriptor = plan.separateDescriptor ? null : descriptor;
      await writeHostedSparse(chain, plan, out, { skipZeroGrains: options.skipZeroGrains ?? false, embeddedDescriptor }, options.ctx ?? inlineContext());
      if (plan.separateDescriptor) out.open(plan.primary).append(Buffer.from(descriptor, 'utf8'));
      out.commit(plan.primary);
    } catch (e) {
      out.abort();
      throw e;
    }
    return plan;
  } finally {
    chain.close();
  }
}

async function errorOf(fn: () => Promise<unknown>): Promise<{ code: string }> {
  try {
    await fn();
  } catch (e) {
    return e as { code: string };
  }
  throw new Error('expected an error');
}

const fileOf = (plan: OutputPlan, name = plan.primary): string => path.join(plan.dir, name);

/** qemu-img check finds nothing, qemu-img compare sees the source's content, vmdkinfo opens it. */
function expectQemuAndLibvmdkAccept(source: string, output: string): string {
  expect(qemuImg('check', '-f', 'vmdk', output)).toContain('No errors were found');
  expect(qemuImg('compare', '-f', 'vmdk', '-F', 'vmdk', source, output)).toContain('Images are identical');
  return execFileSync('vmdkinfo', [output], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Header {
  magic: string;
  version: number;
  flags: number;
  capacity: number;
  grainSize: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  gdOffset: number;
  overHead: number;
  uncleanShutdown: number;
  newline: number[];
  compressAlgorithm: number;
}

function readHeader(file: string): Header {
  const h = readBytes(file, 0, SECTOR);
  const u64 = (at: number): number => Number(h.readBigUInt64LE(at));
  return {
    magic: h.toString('latin1', 0, 4),
    version: h.readUInt32LE(4),
    flags: h.readUInt32LE(8),
    capacity: u64(12),
    grainSize: u64(20),
    descriptorOffset: u64(28),
    descriptorSize: u64(36),
    numGTEsPerGT: h.readUInt32LE(44),
    rgdOffset: u64(48),
    gdOffset: u64(56),
    overHead: u64(64),
    uncleanShutdown: h[72]!,
    newline: [...h.subarray(73, 77)],
    compressAlgorithm: h.readUInt16LE(77),
  };
}

function readBytes(file: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, length, offset);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

function readTable(file: string, sector: number): number[] {
  const t = readBytes(file, sector * SECTOR, 2048);
  return Array.from({ length: 512 }, (_, i) => t.readUInt32LE(i * 4));
}

function createSparse(name: string, size: string, ...args: string[]): string {
  const file = path.join(dir, name);
  qemuImg('create', '-q', '-f', 'vmdk', ...args, file, size);
  return file;
}

describe('hostedSparseLayout', () => {
  it('matches every layout of the format doc §2.5 table', () => {
    expect(hostedSparseLayout(2048, 1000)).toMatchObject({ descriptorOffset: 1, descriptorSize: 20, rgdOffset: 21, gdOffset: 26, overHead: 128 });
    expect(hostedSparseLayout(83886080, 1000)).toMatchObject({ rgdOffset: 21, gdOffset: 5151, overHead: 10368 });
    const gt0 = (l: ReturnType<typeof hostedSparseLayout>): number => l.gdOffset + l.gdSectors;
    expect(gt0(hostedSparseLayout(83886080, 1000))).toBe(5161);
    expect(hostedSparseLayout(8323072, null)).toMatchObject({ descriptorOffset: 0, descriptorSize: 0, rgdOffset: 1, gdOffset: 510, overHead: 1024 });
    expect(gt0(hostedSparseLayout(8323072, null))).toBe(511);
    expect(hostedSparseLayout(4192256, null)).toMatchObject({ rgdOffset: 1, gdOffset: 258, overHead: 640 });
  });

  it('grows the descriptor area past 20 sectors only when the text needs it', () => {
    expect(hostedSparseLayout(2048, 20 * SECTOR).descriptorSize).toBe(20);
    expect(hostedSparseLayout(2048, 20 * SECTOR + 1).descriptorSize).toBe(21);
    expect(hostedSparseLayout(2048, 20 * SECTOR + 1)).toMatchObject({ rgdOffset: 22, gdOffset: 27, overHead: 128 });
  });

  it('encodes the header qemu-img writes for a new 1 MiB monolithicSparse, byte for byte', () => {
    const file = createSparse('qemu-1m.vmdk', '1M');
    expect(encodeSparseHeader(hostedSparseLayout(2048, 1000)).equals(readBytes(file, 0, SECTOR))).toBe(true);
  });
});

describe('monolithicSparse output', () => {
  const src = createSparse('mono-src.vmdk', '40M');
  qemuWrite(src, 1 * MiB + 700, patternBytes(200_000, 1));
  qemuWrite(src, 10 * MiB - 100, patternBytes(4096, 2));
  qemuFill(src, 20 * MiB, 256 * KiB, 0);
  qemuFill(src, 40 * MiB - 512, 512, 0xab);

  it('passes qemu-img check, compares identical with the source and opens in vmdkinfo', async () => {
    const plan = await writeSparse(src, 'monolithicSparse', 'mono-out.vmdk');
    expect(plan.extents.map((e) => e.name)).toEqual(['mono-out.vmdk']);
    const info = expectQemuAndLibvmdkAccept(src, fileOf(plan));
    expect(info).toContain('Monolithic sparse');
    expect(info).toContain('(41943040 bytes)');
    const chain = openChain(fileOf(plan));
    try {
      expectSameAsRaw(chain, qemuRaw(src));
    } finally {
      chain.close();
    }
  });

  it('writes each grain the source holds once, allocated zeros included, in LBA order after overHead', async () => {
    const plan = await writeSparse(src, 'monolithicSparse', 'mono-all.vmdk');
    const file = fileOf(plan);
    const h = readHeader(file);
    // Grains touched: 16-19 (1 MiB + 700 .. +200_000), 159-160 (10 MiB - 100 straddles), 320-323 (zeros), 639 (last).
    const grains = [16, 17, 18, 19, 159, 160, 320, 321, 322, 323, 639];
    expect(fs.statSync(file).size).toBe(h.overHead * SECTOR + grains.length * GRAIN_BYTES);
    const table = readTable(file, h.gdOffset + 1);
    expect(table[16]).toBe(h.overHead);
    expect(table[17]).toBe(h.overHead + 128);
    expect(table[159]).toBe(h.overHead + 4 * 128);
    expect(table.filter((e) => e !== 0)).toHaveLength(grains.filter((g) => g < 512).length);
    const second = readTable(file, h.gdOffset + 1 + 4);
    expect(second[639 - 512]).toBe(h.overHead + 10 * 128);
  });

  it('leaves out grains that read as zeros with skipZeroGrains and still reads the same', async () => {
    const all = await writeSparse(src, 'monolithicSparse', 'mono-keep.vmdk');
    const skipped = await writeSparse(src, 'monolithicSparse', 'mono-skip.vmdk', { skipZeroGrains: true });
    expect(fs.statSync(fileOf(all)).size - fs.statSync(fileOf(skipped)).size).toBe(4 * GRAIN_BYTES);
    expectQemuAndLibvmdkAccept(src, fileOf(skipped));
    const map = JSON.parse(qemuImg('map', '--output=json', fileOf(skipped))) as { start: number; length: number; data: boolean }[];
    expect(map.some((r) => r.data && r.start < 20 * MiB + 256 * KiB && r.start + r.length > 20 * MiB)).toBe(false);
  });

  it('reads only grains that hold data and reports progress in data bytes up to dataBytes', async () => {
    const reads: { offset: number; length: number }[] = [];
    const events: { phase: string; done: number; total: number }[] = [];
    let spans: { start: number; end: number }[] = [];
    await writeSparse(src, 'monolithicSparse', 'mono-watch.vmdk', {
      ctx: inlineContext((phase, done, total) => events.push({ phase, done, total })),
      onChain: (chain) => {
        spans = [...dataRanges(chain)].map((r) => ({
          start: Math.floor(r.offset / GRAIN_BYTES) * GRAIN_BYTES,
          end: Math.ceil((r.offset + r.length) / GRAIN_BYTES) * GRAIN_BYTES,
        }));
        const read = chain.read.bind(chain);
        chain.read = (buf, offset) => {
          reads.push({ offset, length: buf.length });
          read(buf, offset);
        };
        // The source is itself sparse, so its data ranges are whole grains.
        expect(dataBytes(chain)).toBe(11 * GRAIN_BYTES);
      },
    });
    for (const r of reads) expect(spans.some((s) => r.offset >= s.start && r.offset + r.length <= s.end)).toBe(true);
    expect(reads.reduce((n, r) => n + r.length, 0)).toBe(11 * GRAIN_BYTES);
    const total = 11 * GRAIN_BYTES;
    expect(events.every((e) => e.phase === 'copy' && e.total === total)).toBe(true);
    expect(events.map((e) => e.done)).toEqual([...events.map((e) => e.done)].sort((a, b) => a - b));
    expect(events.at(-1)!.done).toBe(total);
  });

  it('embeds the descriptor at sector 1, NUL-padded, and keeps GT and redundant GT identical', async () => {
    const plan = await writeSparse(src, 'monolithicSparse', 'mono-meta.vmdk');
    const file = fileOf(plan);
    const h = readHeader(file);
    const text = readBytes(file, SECTOR, h.descriptorSize * SECTOR);
    const end = text.indexOf(0);
    expect(end).toBeGreaterThan(0);
    expect(text.subarray(end).every((b) => b === 0)).toBe(true);
    expect(text.toString('utf8', 0, end)).toContain('createType="monolithicSparse"');
    expect(text.toString('utf8', 0, end)).toContain('RW 81920 SPARSE "mono-meta.vmdk"');
    const gd = readBytes(file, h.gdOffset * SECTOR, 8);
    const rgd = readBytes(file, h.rgdOffset * SECTOR, 8);
    for (let i = 0; i < 2; i++) {
      expect(gd.readUInt32LE(i * 4)).toBe(h.gdOffset + 1 + 4 * i);
      expect(rgd.readUInt32LE(i * 4)).toBe(h.rgdOffset + 1 + 4 * i);
      expect(readTable(file, gd.readUInt32LE(i * 4))).toEqual(readTable(file, rgd.readUInt32LE(i * 4)));
    }
  });

  it('stops between chunks when cancelled and leaves nothing behind after abort', async () => {
    let cancel = false;
    const ctx = inlineContext(
      () => (cancel = true),
      () => cancel,
    );
    expect((await errorOf(() => writeSparse(src, 'monolithicSparse', 'mono-cancel.vmdk', { ctx }))).code).toBe('E_CANCELLED');
    expect(fs.readdirSync(dir).filter((n) => n.includes('mono-cancel') || n.endsWith('.partial'))).toEqual([]);
  });
});

describe('1 MiB monolithicSparse header (§2.5)', () => {
  const src = createSparse('tiny-src.vmdk', '1M');
  qemuWrite(src, 100, patternBytes(1000, 5));
  qemuFill(src, 9 * GRAIN_BYTES + 512, 512, 0x5a);

  it('carries exactly the fields VMware writes', async () => {
    const plan = await writeSparse(src, 'monolithicSparse', 'tiny-out.vmdk');
    const file = fileOf(plan);
    expect(readHeader(file)).toEqual({
      magic: 'KDMV',
      version: 1,
      flags: 3,
      capacity: 2048,
      grainSize: 128,
      descriptorOffset: 1,
      descriptorSize: 20,
      numGTEsPerGT: 512,
      rgdOffset: 21,
      gdOffset: 26,
      overHead: 128,
      uncleanShutdown: 0,
      newline: [0x0a, 0x20, 0x0d, 0x0a],
      compressAlgorithm: 0,
    });
    expect(readBytes(file, 0, SECTOR).equals(readBytes(createSparse('tiny-qemu.vmdk', '1M'), 0, SECTOR))).toBe(true);
    expect(readBytes(file, 21 * SECTOR, 4).readUInt32LE(0)).toBe(22);
    expect(readBytes(file, 26 * SECTOR, 4).readUInt32LE(0)).toBe(27);
    const gt = readTable(file, 27);
    expect(gt.slice(0, 16)).toEqual([128, 0, 0, 0, 0, 0, 0, 0, 0, 256, 0, 0, 0, 0, 0, 0]);
    expect(readTable(file, 22)).toEqual(gt);
    expect(fs.statSync(file).size).toBe(384 * SECTOR);
    expectQemuAndLibvmdkAccept(src, file);
  });

  it('writes a disk without data as metadata alone', async () => {
    const empty = createSparse('empty-src.vmdk', '1M');
    const plan = await writeSparse(empty, 'monolithicSparse', 'empty-out.vmdk', { skipZeroGrains: true });
    expect(fs.statSync(fileOf(plan)).size).toBe(128 * SECTOR);
    expectQemuAndLibvmdkAccept(empty, fileOf(plan));
  });
});

describe('flattening a chain', () => {
  const base = createSparse('chain-base.vmdk', '8M');
  qemuWrite(base, 0, patternBytes(3 * MiB, 11));
  const child = path.join(dir, 'chain-child.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'chain-base.vmdk', '-F', 'vmdk', child);
  qemuWrite(child, 1 * MiB + 333, patternBytes(70_000, 12));
  qemuFill(child, 2 * MiB, 128 * KiB, 0);
  qemuFill(child, 6 * MiB + 4096, 4096, 0x77);

  it('writes the child over its parent as one disk', async () => {
    const plan = await writeSparse(child, 'monolithicSparse', 'chain-out.vmdk');
    expectQemuAndLibvmdkAccept(child, fileOf(plan));
    expect(readHeader(fileOf(plan)).magic).toBe('KDMV');
    expect(fs.readFileSync(fileOf(plan), 'latin1')).not.toContain('parentFileNameHint');
  });

  it('drops the child zeros that hide parent data only as grains, and still reads them as zeros', async () => {
    const plan = await writeSparse(child, 'monolithicSparse', 'chain-skip.vmdk', { skipZeroGrains: true });
    expectQemuAndLibvmdkAccept(child, fileOf(plan));
    // 3 MiB of base (48 grains) + 1 grain at 6 MiB, minus the 2 zeroed grains at 2 MiB.
    expect(fs.statSync(fileOf(plan)).size).toBe(128 * SECTOR + (48 - 2 + 1) * GRAIN_BYTES);
  });
});

describe('twoGbMaxExtentSparse output', () => {
  const size = 2100 * MiB;
  const src = createSparse('big-src.vmdk', `${size}`);
  qemuWrite(src, 64 * MiB - 3000, patternBytes(6000, 21));
  qemuWrite(src, 1000 * MiB + 123, patternBytes(100_000, 22));
  qemuFill(src, 2047 * MiB, 64 * KiB, 0);
  qemuFill(src, size - 4096, 4096, 0xee);

  it('splits a disk over 2047 MiB into -s00N extents that qemu-img and vmdkinfo read as the source', async () => {
    const plan = await writeSparse(src, 'twoGbMaxExtentSparse', 'big-out.vmdk', { segmentBytes: 64 * MiB, skipZeroGrains: true });
    expect(plan.extents).toHaveLength(33);
    expect(plan.extents.map((e) => e.name).slice(0, 2)).toEqual(['big-out-s001.vmdk', 'big-out-s002.vmdk']);
    for (const e of plan.extents) expect(fs.existsSync(fileOf(plan, e.name))).toBe(true);
    const info = expectQemuAndLibvmdkAccept(src, fileOf(plan));
    expect(info).toMatch(/Number of extents:\s+33/);
    expect(fs.readFileSync(fileOf(plan), 'utf8')).toContain('RW 131072 SPARSE "big-out-s001.vmdk"');
  });

  it('gives every extent its own header without a descriptor, sized to its range', async () => {
    const plan = await writeSparse(src, 'twoGbMaxExtentSparse', 'big-hdr.vmdk', { segmentBytes: 64 * MiB });
    const headers = plan.extents.map((e) => readHeader(fileOf(plan, e.name)));
    for (const h of headers) {
      expect(h).toMatchObject({ magic: 'KDMV', version: 1, flags: 3, grainSize: 128, descriptorOffset: 0, descriptorSize: 0, rgdOffset: 1 });
    }
    expect(headers[0]!).toMatchObject({ capacity: 131072, gdOffset: 10, overHead: 128 });
    expect(headers.at(-1)!.capacity).toBe((2100 - 32 * 64) * 2048);
    // s001 and s002 share the write across their boundary; s003 is empty.
    const sizeOf = (i: number): number => fs.statSync(fileOf(plan, plan.extents[i]!.name)).size;
    expect(sizeOf(0)).toBe(128 * SECTOR + GRAIN_BYTES);
    expect(sizeOf(1)).toBe(128 * SECTOR + GRAIN_BYTES);
    expect(sizeOf(2)).toBe(128 * SECTOR);
    expectQemuAndLibvmdkAccept(src, fileOf(plan));
  });

  it('ends the last extent inside a grain when the capacity is not a grain multiple', async () => {
    // Segments are grain multiples (convert refuses others; qemu misreads split extents that are not).
    const odd = 5 * MiB + 3 * SECTOR;
    const small = createSparse('odd-src.vmdk', `${odd}`);
    qemuWrite(small, 0, patternBytes(odd, 31));
    const plan = await writeSparse(small, 'twoGbMaxExtentSparse', 'odd-out.vmdk', { segmentBytes: MiB });
    expect(plan.extents).toHaveLength(6);
    const last = fileOf(plan, plan.extents[5]!.name);
    expect(readHeader(last).capacity).toBe(3);
    expect(fs.statSync(last).size).toBe(128 * SECTOR + GRAIN_BYTES);
    expectQemuAndLibvmdkAccept(small, fileOf(plan));
    const mono = await writeSparse(small, 'monolithicSparse', 'odd-mono.vmdk');
    expect(readHeader(fileOf(mono)).capacity).toBe(odd / SECTOR);
    expectQemuAndLibvmdkAccept(small, fileOf(mono));
  });
});
