/**
 * The streamOptimized writer against qemu-img (check, compare), libvmdk's vmdkinfo and a
 * marker-by-marker parse of the output (format doc §3.2, §3.5, §3.7). Sources are built with
 * qemu-img/qemu-io and flattened through a chain, as `diskchain convert --to streamOptimized`
 * does. The deflate workers load dist/main/convert/deflate-worker.js here (vitest runs the .ts
 * sources, and worker threads need JavaScript), so `npm test` builds first.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GRAIN_BYTES, outputDdb, outputDescriptor, outputNames, planOutput } from '../../../main/convert/layout.js';
import { writeStreamOptimized, type StreamWriteOptions } from '../../../main/convert/stream-writer.js';
import { openChain, type Chain } from '../../../main/disk/chain.js';
import { withChain } from '../../helpers/chain.js';
import { dataBytes } from '../../../main/disk/source.js';
import { randomCid } from '../../../main/formats/descriptor.js';
import { FdSink, FileSink } from '../../../main/io/sink.js';
import { StagedOutput } from '../../../main/io/staged-output.js';
import { inlineContext, type JobContext } from '../../../main/io/job-context.js';
import { DeflatePool } from '../../../main/convert/deflate-pool.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { builtEngine } from '../../helpers/dist.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECTOR = 512;
const GRAIN_SECTORS = GRAIN_BYTES / SECTOR;
const GD_AT_END = 0xffffffffffffffffn;

const dir = tmpDir('diskchain-stream-writer-');

function createSparse(name: string, size: string | number, ...args: string[]): string {
  const file = path.join(dir, name);
  qemuImg('create', '-q', '-f', 'vmdk', ...args, file, String(size));
  return file;
}

/** The descriptor the convert dispatcher would embed for `name`. */
function descriptorFor(chain: Chain, name: string): string {
  const plan = planOutput('streamOptimized', path.join(dir, name), chain.capacityBytes);
  const cid = randomCid();
  return outputDescriptor('streamOptimized', plan, outputDdb(chain, chain.capacityBytes, { kind: 'streamOptimized' }, cid), { cid });
}

interface ConvertOptions extends Partial<StreamWriteOptions> {
  ctx?: JobContext;
}

/** Converts `src` into `dir/name` through a staged output, as `convert` does. */
async function toStream(src: string, name: string, options: ConvertOptions = {}): Promise<string> {
  const chain = openChain(src);
  try {
    const plan = planOutput('streamOptimized', path.join(dir, name), chain.capacityBytes);
    const out = StagedOutput.create(plan.dir, outputNames(plan), { force: true });
    try {
      const sink = new FileSink(out.open(plan.primary));
      const writeOptions: StreamWriteOptions = {
        compressLevel: options.compressLevel ?? 6,
        descriptor: options.descriptor ?? descriptorFor(chain, name),
        ...(options.workers === undefined ? {} : { workers: options.workers }),
      };
      await writeStreamOptimized(chain, sink, writeOptions, options.ctx ?? inlineContext());
      out.commit(plan.primary);
    } catch (e) {
      out.abort();
      throw e;
    }
    return path.join(plan.dir, plan.primary);
  } finally {
    chain.close();
  }
}

/** qemu-img check finds nothing, qemu-img compare sees the source's content, vmdkinfo opens it. */
function expectQemuAndLibvmdkAccept(source: string, output: string): string {
  expect(qemuImg('check', '-f', 'vmdk', output)).toContain('No errors were found');
  expect(qemuImg('compare', '-f', 'vmdk', '-F', 'vmdk', source, output)).toContain('Images are identical');
  const info = execFileSync('vmdkinfo', [output], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(info).toContain('Stream optimized');
  return info;
}

// ---------------------------------------------------------------------------------------------
// An independent parse of the output, marker by marker (§3.2, §3.6 step 4)

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
  gdOffset: bigint;
  overHead: number;
  uncleanShutdown: number;
  newline: number[];
  compressAlgorithm: number;
}

function parseHeader(h: Buffer): Header {
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
    gdOffset: h.readBigUInt64LE(56),
    overHead: u64(64),
    uncleanShutdown: h[72]!,
    newline: [...h.subarray(73, 77)],
    compressAlgorithm: h.readUInt16LE(77),
  };
}

type Marker =
  | { kind: 'grain'; sector: number; lba: number; size: number; data: Buffer }
  | { kind: 'gt'; sector: number; val: number; entries: number[] }
  | { kind: 'gd'; sector: number; val: number; entries: number[] }
  | { kind: 'footer'; sector: number; val: number; header: Buffer }
  | { kind: 'eos'; sector: number; raw: Buffer };

interface StreamFile {
  bytes: Buffer;
  head: Header;
  markers: Marker[];
}

function entries(buf: Buffer): number[] {
  return Array.from({ length: buf.length / 4 }, (_, i) => buf.readUInt32LE(i * 4));
}

function parseStream(file: string): StreamFile {
  const bytes = fs.readFileSync(file);
  expect(bytes.length % SECTOR).toBe(0);
  const head = parseHeader(bytes.subarray(0, SECTOR));
  const markers: Marker[] = [];
  let sector = head.overHead;
  while (sector * SECTOR < bytes.length) {
    const m = bytes.subarray(sector * SECTOR, (sector + 1) * SECTOR);
    const val = Number(m.readBigUInt64LE(0));
    const size = m.readUInt32LE(8);
    if (size > 0) {
      markers.push({ kind: 'grain', sector, lba: val, size, data: bytes.subarray(sector * SECTOR + 12, sector * SECTOR + 12 + size) });
      sector += Math.ceil((12 + size) / SECTOR);
      continue;
    }
    const type = m.readUInt32LE(12);
    expect(m.subarray(16).equals(Buffer.alloc(SECTOR - 16)), `marker sector ${sector} is zero past its fields`).toBe(true);
    const body = (sectors: number): Buffer => bytes.subarray((sector + 1) * SECTOR, (sector + 1 + sectors) * SECTOR);
    if (type === 0) {
      markers.push({ kind: 'eos', sector, raw: m });
      sector += 1;
    } else if (type === 1) {
      markers.push({ kind: 'gt', sector, val, entries: entries(body(4)) });
      sector += 5;
    } else if (type === 2) {
      markers.push({ kind: 'gd', sector, val, entries: entries(body(val)) });
      sector += 1 + val;
    } else if (type === 3) {
      markers.push({ kind: 'footer', sector, val, header: body(1) });
      sector += 2;
    } else {
      throw new Error(`unknown marker type ${type} at sector ${sector}`);
    }
  }
  return { bytes, head, markers };
}

const grainsOf = (s: StreamFile): Array<Extract<Marker, { kind: 'grain' }>> => s.markers.filter((m) => m.kind === 'grain');
const grainIndexes = (s: StreamFile): number[] => grainsOf(s).map((g) => g.lba / GRAIN_SECTORS);

function only<K extends Marker['kind']>(s: StreamFile, kind: K): Extract<Marker, { kind: K }> {
  const found = s.markers.filter((m): m is Extract<Marker, { kind: K }> => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
}

// ---------------------------------------------------------------------------------------------

describe('streamOptimized output', () => {
  // 100 MiB = 1600 grains = 4 grain tables (groups of 512 grains, 32 MiB each).
  const src = createSparse('src.vmdk', '100M');
  qemuWrite(src, 1 * MiB + 700, patternBytes(200_000, 1)); // grains 16-19
  qemuWrite(src, 4 * MiB, patternBytes(8 * MiB, 7)); // grains 64-191: incompressible, 4 batches
  qemuFill(src, 20 * MiB, 256 * KiB, 0); // grains 320-323: allocated, but zeros
  qemuWrite(src, 32 * MiB - 100, patternBytes(4096, 2)); // grains 511 | 512: straddles groups 0 and 1
  qemuFill(src, 40 * MiB, 3 * MiB, 0x5a); // grains 640-687: compressible, more than a batch
  // group 2 (grains 1024-1535) holds nothing: its GT is left out.
  qemuFill(src, 100 * MiB - 512, 512, 0xab); // grain 1599: last sector of the disk

  const expectedGrains = [
    ...range(16, 20),
    ...range(64, 192),
    511,
    512,
    ...range(640, 688),
    1599,
  ];

  it('passes qemu-img check, compares identical with the source, and opens in vmdkinfo and our reader', async () => {
    const out = await toStream(src, 'basic.vmdk');
    const info = expectQemuAndLibvmdkAccept(src, out);
    expect(info).toContain('(104857600 bytes)');
    withChain(out, (chain) => expectSameAsRaw(chain, qemuRaw(src)));
  });

  it('starts with VMware’s stream header: version 3, flags 0x30001, deflate, GD_AT_END, descriptor at 1/20, grains from 128', async () => {
    const withDescriptor = withChain(src, (chain) => descriptorFor(chain, 'head.vmdk'));
    const s = parseStream(await toStream(src, 'head.vmdk', { descriptor: withDescriptor }));
    expect(s.head).toEqual({
      magic: 'KDMV',
      version: 3,
      flags: 0x00030001,
      capacity: 204800,
      grainSize: 128,
      descriptorOffset: 1,
      descriptorSize: 20,
      numGTEsPerGT: 512,
      rgdOffset: 0,
      gdOffset: GD_AT_END,
      overHead: 128,
      uncleanShutdown: 0,
      newline: [0x0a, 0x20, 0x0d, 0x0a],
      compressAlgorithm: 1,
    });
    const text = Buffer.from(withDescriptor, 'utf8');
    expect(s.bytes.subarray(SECTOR, SECTOR + text.length).equals(text)).toBe(true);
    expect(withDescriptor).toContain('createType="streamOptimized"');
    expect(withDescriptor).toContain('RW 204800 SPARSE "head.vmdk"');
    // Everything between the descriptor and overHead is zero.
    expect(s.bytes.subarray(SECTOR + text.length, 128 * SECTOR).equals(Buffer.alloc(128 * SECTOR - SECTOR - text.length))).toBe(true);
  });

  it('writes one marker per non-zero grain in ascending LBA, skipping holes and all-zero grains, each inflating to the source', async () => {
    const s = parseStream(await toStream(src, 'grains.vmdk'));
    expect(grainIndexes(s)).toEqual(expectedGrains);
    expect(grainIndexes(s)).not.toContain(320);
    const raw = fs.readFileSync(qemuRaw(src));
    for (const g of grainsOf(s)) {
      expect(g.lba % GRAIN_SECTORS).toBe(0);
      // Every producer writes zlib streams (§3.3): a 78 xx header and an Adler-32 that inflateSync checks.
      expect(g.data[0]).toBe(0x78);
      const plain = zlib.inflateSync(g.data);
      expect(plain.equals(raw.subarray(g.lba * SECTOR, g.lba * SECTOR + GRAIN_BYTES)), `grain at LBA ${g.lba}`).toBe(true);
    }
    // The compressible fill shrinks.
    const fill = grainsOf(s).find((g) => g.lba === 640 * GRAIN_SECTORS)!;
    expect(fill.size).toBeLessThan(1024);
    // Noise is stored (level-0 zlib), 16 bytes over the grain.
    const random = grainsOf(s).find((g) => g.lba === 100 * GRAIN_SECTORS)!;
    expect(random.size).toBe(GRAIN_BYTES + 16);
  });

  it('follows each group of 512 grains with its GT, leaves all-zero GTs out, then GD, footer and EOS last', async () => {
    const s = parseStream(await toStream(src, 'tables.vmdk'));
    const kinds = s.markers.map((m) => (m.kind === 'grain' ? `g${Math.floor(m.lba / GRAIN_SECTORS / 512)}` : m.kind));
    const collapsed = kinds.filter((k, i) => k !== kinds[i - 1]);
    expect(collapsed).toEqual(['g0', 'gt', 'g1', 'gt', 'g3', 'gt', 'gd', 'footer', 'eos']);

    const tables = s.markers.filter((m) => m.kind === 'gt');
    for (const t of tables) expect(t.val).toBe(4);
    const gd = only(s, 'gd');
    expect(gd.val).toBe(1);
    expect(gd.entries.slice(0, 4)).toEqual([tables[0]!.sector + 1, tables[1]!.sector + 1, 0, tables[2]!.sector + 1]);
    expect(gd.entries.slice(4).every((e) => e === 0)).toBe(true);

    // Every GTE points at its grain's marker sector; every other entry is 0.
    const markerOf = new Map(grainsOf(s).map((g) => [g.lba / GRAIN_SECTORS, g.sector]));
    [0, 1, 3].forEach((group, i) => {
      tables[i]!.entries.forEach((entry, j) => expect(entry, `GT ${group} entry ${j}`).toBe(markerOf.get(group * 512 + j) ?? 0));
    });

    // §3.5: footer marker at S-1536, footer at S-1024, EOS at S-512.
    const sectors = s.bytes.length / SECTOR;
    const footer = only(s, 'footer');
    expect(footer.sector).toBe(sectors - 3);
    expect(footer.val).toBe(1);
    const eos = only(s, 'eos');
    expect(eos.sector).toBe(sectors - 1);
    expect(eos.raw.equals(Buffer.alloc(SECTOR))).toBe(true);

    // The footer is the head header with the real gdOffset.
    const foot = parseHeader(footer.header);
    expect(foot).toEqual({ ...s.head, gdOffset: BigInt(gd.sector + 1) });
    const patched = Buffer.from(s.bytes.subarray(0, SECTOR));
    patched.writeBigUInt64LE(BigInt(gd.sector + 1), 56);
    expect(footer.header.equals(patched)).toBe(true);
  });

  it('writes byte-identical files with 1 and 3 deflate workers', async () => {
    const descriptor = withChain(src, (chain) => descriptorFor(chain, 'same.vmdk'));
    const one = fs.readFileSync(await toStream(src, 'one.vmdk', { descriptor, workers: 1 }));
    const three = fs.readFileSync(await toStream(src, 'three.vmdk', { descriptor, workers: 3 }));
    expect(one.equals(three)).toBe(true);
  });

  it('honours the compression level: level 1 and 9 differ, both read back identical', async () => {
    const fast = await toStream(src, 'level1.vmdk', { compressLevel: 1 });
    const best = await toStream(src, 'level9.vmdk', { compressLevel: 9 });
    const compressed = (file: string): number => grainsOf(parseStream(file)).reduce((sum, g) => sum + g.size, 0);
    expect(compressed(best)).toBeLessThan(compressed(fast));
    expectQemuAndLibvmdkAccept(src, fast);
    expectQemuAndLibvmdkAccept(src, best);
  });

  it('refuses compression levels outside 1..9', async () => {
    for (const level of [0, 10, 2.5]) {
      await expect(toStream(src, `bad-level-${level}.vmdk`, { compressLevel: level })).rejects.toMatchObject({ code: 'E_USAGE' });
    }
  });

  it('reports progress up to exactly the bytes the chain holds', async () => {
    const calls: Array<[string, number, number]> = [];
    await toStream(src, 'progress.vmdk', { ctx: inlineContext((phase, done, total) => calls.push([phase, done, total])) });
    const total = withChain(src, (chain) => dataBytes(chain));
    expect(calls.length).toBeGreaterThan(5);
    expect(calls.every(([phase, , t]) => phase === 'compress' && t === total)).toBe(true);
    expect(calls.map(([, done]) => done)).toEqual([...calls.map(([, done]) => done)].sort((a, b) => a - b));
    expect(calls[calls.length - 1]![1]).toBe(total);
  });

  it('streams to a pipe through FdSink with the same bytes as the staged file', async () => {
    const descriptor = withChain(src, (chain) => descriptorFor(chain, 'piped.vmdk'));
    const file = await toStream(src, 'piped-file.vmdk', { descriptor });
    const fifo = path.join(dir, 'stream.fifo');
    const received = path.join(dir, 'piped.vmdk');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, received], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => reader.on('exit', resolve));
    // Opening a FIFO for writing waits for its reader: cat, in its own process.
    const fd = fs.openSync(fifo, 'w');
    try {
      await withChainAsync(src, (chain) => writeStreamOptimized(chain, new FdSink(fd), { compressLevel: 6, descriptor }, inlineContext()));
    } finally {
      fs.closeSync(fd);
    }
    expect(await exited).toBe(0);
    expect(fs.readFileSync(received).equals(fs.readFileSync(file))).toBe(true);
    expectQemuAndLibvmdkAccept(src, received);
  });
});

async function withChainAsync<T>(file: string, fn: (chain: Chain) => Promise<T>): Promise<T> {
  const chain = openChain(file);
  try {
    return await fn(chain);
  } finally {
    chain.close();
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

describe('streamOptimized output of unusual sources', () => {
  it('flattens a snapshot chain: child grains over the parent’s, partial grains filled from the parent', async () => {
    const base = createSparse('chain-base.vmdk', '20M');
    qemuWrite(base, 0, patternBytes(3 * MiB, 11));
    qemuWrite(base, 10 * MiB, patternBytes(MiB, 12));
    const child = createSparse('chain-child.vmdk', '20M', '-b', 'chain-base.vmdk', '-F', 'vmdk');
    qemuWrite(child, 1 * MiB + 4096, patternBytes(8192, 13)); // inside a grain the parent holds
    qemuWrite(child, 15 * MiB, patternBytes(MiB, 14)); // where the parent has nothing
    const out = await toStream(child, 'chain.vmdk');
    expectQemuAndLibvmdkAccept(child, out);
    const s = parseStream(out);
    expect(grainIndexes(s)).toEqual([...range(0, 48), ...range(160, 176), ...range(240, 256)]);
  });

  it('writes the last grain of a disk that is not a grain multiple zero-padded, and qemu-img reads its exact size', async () => {
    const capacity = 1 * MiB + 3 * SECTOR;
    const src = createSparse('odd.vmdk', capacity);
    qemuWrite(src, capacity - 1000, patternBytes(1000, 21));
    const out = await toStream(src, 'odd-out.vmdk');
    const info = expectQemuAndLibvmdkAccept(src, out);
    expect(info).toContain(`(${capacity} bytes)`);
    const s = parseStream(out);
    expect(s.head.capacity).toBe(capacity / SECTOR);
    const [last] = grainsOf(s);
    expect(last!.lba).toBe(16 * GRAIN_SECTORS);
    const plain = zlib.inflateSync(last!.data);
    expect(plain.length).toBe(GRAIN_BYTES);
    expect(plain.subarray(3 * SECTOR).equals(Buffer.alloc(GRAIN_BYTES - 3 * SECTOR))).toBe(true);
  });

  it('writes an empty disk as header, descriptor, an all-zero GD, footer and EOS', async () => {
    const src = createSparse('empty.vmdk', '64M');
    const out = await toStream(src, 'empty-out.vmdk');
    expectQemuAndLibvmdkAccept(src, out);
    const s = parseStream(out);
    expect(s.markers.map((m) => m.kind)).toEqual(['gd', 'footer', 'eos']);
    expect(only(s, 'gd').entries.every((e) => e === 0)).toBe(true);
    expect(s.bytes.length).toBe((128 + 2 + 2 + 1) * SECTOR);
  });
});

describe('cancel and the deflate pool', () => {
  const src = createSparse('cancel.vmdk', '64M');
  qemuWrite(src, 0, patternBytes(16 * MiB, 31));

  it('stops at the next batch once cancelled, and leaves no output behind', async () => {
    let checks = 0;
    const ctx = inlineContext(undefined, () => ++checks > 3);
    await expect(toStream(src, 'cancelled.vmdk', { ctx, workers: 2 })).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(checks).toBe(4);
    expect(fs.existsSync(path.join(dir, 'cancelled.vmdk'))).toBe(false);
  });

  it('terminates its workers on cancel: a process that cancels a write exits by itself', () => {
    const dist = pathToFileURL(path.dirname(builtEngine('disk/chain.js')) + '/..').href + '/';
    const script = `
      import * as fs from 'node:fs';
      const { openChain } = await import('${dist}disk/chain.js');
      const { writeStreamOptimized } = await import('${dist}convert/stream-writer.js');
      const { FdSink } = await import('${dist}io/sink.js');
      const { inlineContext } = await import('${dist}io/job-context.js');
      const chain = openChain(process.argv[1]);
      const fd = fs.openSync(process.argv[2], 'w');
      let checks = 0;
      try {
        await writeStreamOptimized(chain, new FdSink(fd), { compressLevel: 6, descriptor: '', workers: 2 }, inlineContext(undefined, () => ++checks > 5));
        console.log('finished');
      } catch (e) {
        console.log(e.code);
      }
      chain.close();
      fs.closeSync(fd);
    `;
    // A worker left running would keep the process alive until the timeout kills it. The script
    // runs with --input-type=module, a flag the pool must not hand on to its workers.
    const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script, src, path.join(dir, 'cancel-child.vmdk')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe('E_CANCELLED');
  });

  it('rejects batches in flight when destroyed, and any batch after', async () => {
    const pool = DeflatePool.create({ level: 6, workers: 2 });
    expect(pool.size).toBe(2);
    const input = new ArrayBuffer(8 * GRAIN_BYTES);
    patternBytes(8 * GRAIN_BYTES, 41).copy(Buffer.from(input));
    const pieces = range(0, 8).map((i) => ({ offset: i * GRAIN_BYTES, length: GRAIN_BYTES, lba: i * GRAIN_SECTORS }));
    const done = await pool.compress(input, pieces);
    expect(done.markerSectors).toHaveLength(8);
    expect(done.input.byteLength).toBe(8 * GRAIN_BYTES);
    const inFlight = expect(pool.compress(done.input, pieces)).rejects.toMatchObject({ code: 'E_CANCELLED' });
    await pool.destroy();
    await inFlight;
    await expect(pool.compress(new ArrayBuffer(GRAIN_BYTES), pieces.slice(0, 1))).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });

  it('stores incompressible grains as level-0 zlib and deflates any grain with something to gain', async () => {
    const pool = DeflatePool.create({ level: 6, workers: 1 });
    try {
      const grains = [
        patternBytes(GRAIN_BYTES, 51), // noise: stored
        Buffer.concat([patternBytes(GRAIN_BYTES - 4096, 52), Buffer.from('the quick brown fox '.repeat(205)).subarray(0, 4096)]), // one block of text
        Buffer.concat([patternBytes(GRAIN_BYTES / 2, 53), Buffer.alloc(GRAIN_BYTES / 2)]), // half zeros
        Buffer.from(Array.from({ length: GRAIN_BYTES }, (_, i) => (i * 7) & 0xff)), // uniform byte counts, but a pattern
      ];
      const input = new ArrayBuffer(grains.length * GRAIN_BYTES);
      grains.forEach((g, i) => g.copy(Buffer.from(input), i * GRAIN_BYTES));
      const framed = await pool.compress(
        input,
        grains.map((_, i) => ({ offset: i * GRAIN_BYTES, length: GRAIN_BYTES, lba: i * GRAIN_SECTORS })),
      );
      const sizes: number[] = [];
      const headers: number[] = [];
      let at = 0;
      for (let i = 0; i < grains.length; i++) {
        const size = framed.bytes.readUInt32LE(at + 8);
        const data = framed.bytes.subarray(at + 12, at + 12 + size);
        expect(zlib.inflateSync(data).equals(grains[i]!)).toBe(true);
        sizes.push(size);
        headers.push(data.readUInt16BE(0));
        at += framed.markerSectors[i]! * SECTOR;
      }
      // 78 01: zlib header of level 0; two stored blocks (5 bytes each) and the Adler-32 around the grain.
      expect(headers[0]).toBe(0x7801);
      expect(sizes[0]).toBe(GRAIN_BYTES + 2 + 2 * 5 + 4);
      expect(headers.slice(1)).toEqual([0x789c, 0x789c, 0x789c]);
      expect(sizes[1]).toBeLessThan(GRAIN_BYTES - 3000);
      expect(sizes[2]).toBeLessThan(GRAIN_BYTES / 2 + 100);
      expect(sizes[3]).toBeLessThan(1024);
    } finally {
      await pool.destroy();
    }
  });

  it('frames each piece as {lba, size, zlib data} padded to whole sectors', async () => {
    const pool = DeflatePool.create({ level: 6, workers: 1 });
    try {
      const input = new ArrayBuffer(2 * GRAIN_BYTES);
      Buffer.from(input).fill(7, 0, GRAIN_BYTES);
      patternBytes(GRAIN_BYTES, 42).copy(Buffer.from(input), GRAIN_BYTES);
      const lbas = [2 ** 33 * GRAIN_SECTORS, 5 * GRAIN_SECTORS];
      const framed = await pool.compress(input, [
        { offset: 0, length: GRAIN_BYTES, lba: lbas[0]! },
        { offset: GRAIN_BYTES, length: GRAIN_BYTES, lba: lbas[1]! },
      ]);
      expect(framed.bytes.length).toBe((framed.markerSectors[0]! + framed.markerSectors[1]!) * SECTOR);
      let at = 0;
      for (let i = 0; i < 2; i++) {
        expect(Number(framed.bytes.readBigUInt64LE(at))).toBe(lbas[i]);
        const size = framed.bytes.readUInt32LE(at + 8);
        expect(framed.markerSectors[i]).toBe(Math.ceil((12 + size) / SECTOR));
        const plain = zlib.inflateSync(framed.bytes.subarray(at + 12, at + 12 + size));
        expect(plain.equals(Buffer.from(framed.input, i * GRAIN_BYTES, GRAIN_BYTES))).toBe(true);
        const pad = framed.bytes.subarray(at + 12 + size, at + framed.markerSectors[i]! * SECTOR);
        expect(pad.equals(Buffer.alloc(pad.length))).toBe(true);
        at += framed.markerSectors[i]! * SECTOR;
      }
    } finally {
      await pool.destroy();
    }
  });
});
