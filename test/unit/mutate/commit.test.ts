import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { openLink } from '../../../main/disk/link.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { commitJob, editDescriptor } from '../../../main/mutate/commit.js';
import { snapshotJob } from '../../../main/mutate/snapshot.js';
import { buildCowd, writeVmfsFlatDescriptor, writeVmfsSparseDescriptor, type CowdWrite } from '../../fixtures/cowd-builder.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { builtEngine } from '../../helpers/dist.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

/**
 * File-system faults for this file only: `killAt` makes the N-th fsync/rename/unlink throw, and
 * every later write-like call too, as if the process had died there; `freeBytes` fakes statfs.
 */
const faults = vi.hoisted(() => ({ killAt: 0, events: 0, dead: false, freeBytes: null as number | null }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  type Fn = (...args: unknown[]) => unknown;
  const killed = (): Error => Object.assign(new Error('simulated kill'), { code: 'EKILLED' });
  const counted = (fn: unknown): Fn => (...args) => {
    if (faults.dead) throw killed();
    if (faults.killAt > 0 && ++faults.events === faults.killAt) {
      faults.dead = true;
      throw killed();
    }
    return (fn as Fn)(...args);
  };
  const deadOnly = (fn: unknown): Fn => (...args) => {
    if (faults.dead) throw killed();
    return (fn as Fn)(...args);
  };
  const mocked = {
    ...real,
    fsyncSync: counted(real.fsyncSync) as typeof real.fsyncSync,
    renameSync: counted(real.renameSync) as typeof real.renameSync,
    unlinkSync: counted(real.unlinkSync) as typeof real.unlinkSync,
    writeSync: deadOnly(real.writeSync) as typeof real.writeSync,
    writeFileSync: deadOnly(real.writeFileSync) as typeof real.writeFileSync,
    ftruncateSync: deadOnly(real.ftruncateSync) as typeof real.ftruncateSync,
    rmSync: deadOnly(real.rmSync) as typeof real.rmSync,
    openSync: ((file: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
      if (faults.dead && flags !== undefined && flags !== 'r') throw killed();
      return real.openSync(file, flags ?? 'r', mode);
    }) as typeof real.openSync,
    statfsSync: ((file: fs.PathLike) => {
      const st = real.statfsSync(file);
      return faults.freeBytes === null ? st : { ...st, bavail: Math.floor(faults.freeBytes / st.bsize) };
    }) as typeof real.statfsSync,
  };
  return { ...mocked, default: mocked };
});

const MiB = 1024 * 1024;
const KiB = 1024;

function disarm(): void {
  faults.killAt = 0;
  faults.events = 0;
  faults.dead = false;
  faults.freeBytes = null;
}

async function commit(top: string, force = false, onProgress?: (done: number, total: number) => void) {
  return commitJob({ kind: 'commit', top, force }, inlineContext((_, d, t) => onProgress?.(d, t)));
}

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

function readAll(disk: string, ignoreCid = false): Buffer {
  const chain = openChain(disk, { ignoreCid });
  try {
    const buf = Buffer.alloc(chain.capacityBytes);
    for (let at = 0; at < buf.length; at += 4 * MiB) chain.read(buf.subarray(at, Math.min(buf.length, at + 4 * MiB)), at);
    return buf;
  } finally {
    chain.close();
  }
}

function sameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  expect.fail(`${what}: first difference at byte ${i} of ${expected.length} (got ${actual[i]}, want ${expected[i]})`);
}

function qemuBytes(image: string): Buffer {
  const raw = qemuRaw(image);
  try {
    return fs.readFileSync(raw);
  } finally {
    fs.rmSync(raw);
  }
}

/** Every file of a folder with its SHA-256, to prove a refusal wrote nothing. */
function folderState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    out[name] = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex');
  }
  return out;
}

function cidOf(file: string): { cid?: number; parentCid?: number; hint?: string } {
  const link = openLink(file);
  link.data.close();
  return { cid: link.descriptor?.cid, parentCid: link.descriptor?.parentCid, hint: link.descriptor?.parentFileNameHint };
}

function subdir(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

interface HostedChain {
  dir: string;
  base: string;
  top: string;
  child: string;
}

/** base.vmdk ← top.vmdk (zeroed grains on) ← child.vmdk, all monolithicSparse, written by qemu-io. */
function hostedChain(dir: string): HostedChain {
  const base = path.join(dir, 'base.vmdk');
  const top = path.join(dir, 'top.vmdk');
  const child = path.join(dir, 'child.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', base, '16M');
  qemuWrite(base, 0, patternBytes(3 * MiB, 11));
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'zeroed_grain=on', '-b', 'base.vmdk', '-F', 'vmdk', top);
  qemuWrite(top, 1 * MiB + 700, patternBytes(200_000, 12)); // partial grains at both ends
  qemuFill(top, 10 * MiB, 64 * KiB, 0xab);
  // Whole-grain zero writes become GTE 1 (zeroed grains) over the base's data.
  execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -z ${2 * MiB} ${128 * KiB}`, top], { stdio: 'ignore' });
  qemuWrite(top, 14 * MiB, patternBytes(2 * MiB, 13));
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'top.vmdk', '-F', 'vmdk', child);
  qemuWrite(child, 1 * MiB + 50_000, patternBytes(9000, 14));
  qemuFill(child, 12 * MiB, 4096, 0x11);
  return { dir, base, top, child };
}

function hostedPaths(dir: string): HostedChain {
  return { dir, base: path.join(dir, 'base.vmdk'), top: path.join(dir, 'top.vmdk'), child: path.join(dir, 'child.vmdk') };
}

interface Esx2Chain {
  dir: string;
  dsk: string;
  redo: string;
  redo2: string;
  /** Independent model of what each link's chain reads. */
  expectTop: Buffer;
  expectAll: Buffer;
}

const DSK_BYTES = 8 * MiB;

/** mail.dsk (raw) ← mail.dsk.REDO ← mail.dsk.REDO.REDO, COWD files from the fixture builder. */
function esx2Chain(dir: string): Esx2Chain {
  const dsk = path.join(dir, 'mail.dsk');
  const redo = `${dsk}.REDO`;
  const redo2 = `${redo}.REDO`;
  const baseBytes = patternBytes(DSK_BYTES, 21);
  fs.writeFileSync(dsk, baseBytes);
  const capacitySectors = DSK_BYTES / 512;
  const redoWrites: CowdWrite[] = [
    { lba: 10, data: patternBytes(7 * 512, 22) },
    { lba: 4096 - 3, data: patternBytes(6 * 512, 23) }, // crosses a grain-table boundary
    { lba: 9000, data: patternBytes(3 * MiB, 24) }, // several GTs, several 4 MiB chunks
  ];
  const redoZeros = [100, 101, 102];
  buildCowd(redo, { capacitySectors, parentFileName: 'mail.dsk', writes: redoWrites, zeroGrains: redoZeros });
  const redo2Writes: CowdWrite[] = [
    { lba: 12, data: patternBytes(2 * 512, 25) },
    { lba: 101, data: patternBytes(512, 26) }, // on top of a zero grain
    { lba: 15000, data: patternBytes(64 * KiB, 27) },
  ];
  buildCowd(redo2, { capacitySectors, parentFileName: 'mail.dsk.REDO', writes: redo2Writes });
  const expectTop = Buffer.from(baseBytes);
  for (const w of redoWrites) w.data.copy(expectTop, w.lba * 512);
  for (const lba of redoZeros) expectTop.fill(0, lba * 512, lba * 512 + 512);
  const expectAll = Buffer.from(expectTop);
  for (const w of redo2Writes) w.data.copy(expectAll, w.lba * 512);
  return { dir, dsk, redo, redo2, expectTop, expectAll };
}

// ---------------------------------------------------------------------------------------------

describe('commit of a hosted sparse child into its parent', () => {
  const root = tmpDir();

  it('folds top.vmdk into base.vmdk, removes it and re-points child.vmdk, all byte-equal to before', async () => {
    const f = hostedChain(subdir(root, 'a'));
    const topBefore = qemuBytes(f.top);
    const childBefore = qemuBytes(f.child);
    sameBytes(topBefore.subarray(2 * MiB, 2 * MiB + 128 * KiB), Buffer.alloc(128 * KiB), 'zeroed grains read as zeros');
    const baseCid = cidOf(f.base).cid;
    const topData = openLink(f.top);
    const dataBytes = topData.data.blockStatus(0, topData.capacityBytes).filter((r) => r.state === 'data').reduce((s, r) => s + r.length, 0);
    topData.data.close();

    const progress: Array<[number, number]> = [];
    const result = await commit(f.top, false, (d, t) => progress.push([d, t]));

    expect(result.outputs).toEqual([f.base, f.child]);
    expect(result.summary).toMatch(/folded top.vmdk into base.vmdk/);
    expect(fs.existsSync(f.top)).toBe(false);
    expect(fs.readdirSync(f.dir).sort()).toEqual(['base.vmdk', 'child.vmdk']);
    sameBytes(readAll(f.base), topBefore, 'base now reads what top read');
    sameBytes(qemuBytes(f.base), topBefore, 'qemu reads base as top read');
    sameBytes(readAll(f.child), childBefore, 'child reads as before');
    sameBytes(qemuBytes(f.child), childBefore, 'qemu reads child as before');
    expect(qemuImg('check', f.base)).toMatch(/No errors/);
    expect(qemuImg('check', f.child)).toMatch(/No errors/);

    const base = cidOf(f.base);
    expect(base.cid).not.toBe(baseCid);
    expect(cidOf(f.child)).toMatchObject({ parentCid: base.cid, hint: 'base.vmdk' });
    expect(fs.readFileSync(f.base).readUInt8(72)).toBe(0); // uncleanShutdown restored
    const last = progress[progress.length - 1]!;
    expect(last).toEqual([dataBytes, dataBytes]);
    expect(progress.every(([d], i) => i === 0 || d >= progress[i - 1]![0])).toBe(true);
  });

  it('commits the middle of base ← mid ← top (COWD delta): partial grains filled from base, zero grains written as zeros', async () => {
    const dir = subdir(root, 'b');
    const base = path.join(dir, 'base.vmdk');
    const mid = path.join(dir, 'mid.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '8M');
    qemuWrite(base, 0, patternBytes(8 * MiB, 31));
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', mid);
    qemuWrite(mid, 5 * MiB, patternBytes(64 * KiB, 32));
    const midCid = cidOf(mid).cid!;
    const top = path.join(dir, 'mid-000001.vmdk');
    buildCowd(path.join(dir, 'mid-000001-delta.vmdk'), {
      capacitySectors: 16384,
      writes: [
        { lba: 3, data: patternBytes(512, 33) }, // one sector inside an unallocated 64 KiB grain of mid
        { lba: 5 * 2048 + 1, data: patternBytes(1024, 34) }, // inside a grain mid holds
        { lba: 7 * 2048, data: patternBytes(200 * 1024, 35) },
      ],
      zeroGrains: [1000, 1001, 5 * 2048 + 5],
    });
    writeVmfsSparseDescriptor(top, {
      capacitySectors: 16384,
      deltaFileName: 'mid-000001-delta.vmdk',
      cid: 0x0badcafe,
      parentCid: midCid,
      parentFileNameHint: 'mid.vmdk',
    });
    const before = readAll(top);
    sameBytes(qemuBytes(top), before, 'qemu agrees before');
    sameBytes(before.subarray(1000 * 512, 1002 * 512), Buffer.alloc(1024), 'zero grains');

    await commit(top);
    expect(fs.existsSync(top)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'mid-000001-delta.vmdk'))).toBe(false);
    sameBytes(readAll(mid), before, 'mid reads what the delta read');
    sameBytes(qemuBytes(mid), before, 'qemu reads mid as the delta read');
    expect(qemuImg('check', mid)).toMatch(/No errors/);
    expect(cidOf(mid).cid).not.toBe(midCid);
  });

  it('allocates a grain table the parent lacks (GD and RGD entry 0): zeroed GT and RGT first, then the entries', async () => {
    const dir = subdir(root, 'gt');
    const base = path.join(dir, 'base.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '64M'); // two GTs of 32 MiB
    qemuWrite(base, MiB, patternBytes(64 * KiB, 71));
    const head = fs.readFileSync(base).subarray(0, 512);
    const rgd = Number(head.readBigUInt64LE(48));
    const gd = Number(head.readBigUInt64LE(56));
    const fd = fs.openSync(base, 'r+');
    fs.writeSync(fd, Buffer.alloc(4), 0, 4, gd * 512 + 4); // GT 1 not allocated, as VirtualBox may leave it
    fs.writeSync(fd, Buffer.alloc(4), 0, 4, rgd * 512 + 4);
    fs.closeSync(fd);
    expect(qemuImg('check', base)).toMatch(/No errors/);
    const top = path.join(dir, 'top.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
    qemuWrite(top, 40 * MiB + 1000, patternBytes(300 * KiB, 72)); // partial grains, in GT 1
    const before = qemuBytes(top);
    await commit(top);
    sameBytes(qemuBytes(base), before, 'base after the commit (qemu)');
    sameBytes(readAll(base), before, 'base after the commit');
    expect(qemuImg('check', base)).toMatch(/No errors/);
    const file = fs.readFileSync(base);
    const gt1 = file.readUInt32LE(gd * 512 + 4);
    const rgt1 = file.readUInt32LE(rgd * 512 + 4);
    expect(gt1).toBeGreaterThan(0);
    expect(rgt1).toBeGreaterThan(0);
    expect(rgt1).not.toBe(gt1);
    expect(file.subarray(gt1 * 512, gt1 * 512 + 2048).equals(file.subarray(rgt1 * 512, rgt1 * 512 + 2048))).toBe(true);
    const grainSector = file.readUInt32LE(gt1 * 512 + ((40 * MiB) / (64 * KiB) - 512) * 4);
    expect(grainSector % 128).toBe(0); // new grains are grain-aligned
  });

  it('turns zero grains of the child into zeroed-grain entries (GTE 1) of a parent that allows them', async () => {
    const dir = subdir(root, 'zg');
    const base = path.join(dir, 'base.vmdk');
    const mid = path.join(dir, 'mid.vmdk');
    const top = path.join(dir, 'top.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '8M');
    qemuWrite(base, 0, patternBytes(8 * MiB, 81));
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'zeroed_grain=on', '-b', 'base.vmdk', '-F', 'vmdk', mid);
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'zeroed_grain=on', '-b', 'mid.vmdk', '-F', 'vmdk', top);
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -z ${2 * MiB} ${256 * KiB}`, top], { stdio: 'ignore' });
    qemuWrite(top, 5 * MiB, patternBytes(4096, 82));
    const before = qemuBytes(top);
    await commit(top);
    sameBytes(qemuBytes(mid), before, 'mid after the commit (qemu)');
    expect(qemuImg('check', mid)).toMatch(/No errors/);
    const link = openLink(mid);
    try {
      expect(link.data.blockStatus(2 * MiB, 256 * KiB)).toEqual([{ offset: 2 * MiB, length: 256 * KiB, state: 'zero' }]);
    } finally {
      link.data.close();
    }
  });

  it('writes across the extents of a twoGbMaxExtentSparse parent', async () => {
    const dir = subdir(root, 'c');
    const base = path.join(dir, 'big.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', base, '4608M');
    qemuWrite(base, 2048 * MiB - 64 * KiB, patternBytes(128 * KiB, 41));
    const child = (await snapshotJob({ kind: 'snapshot', disk: base }, inlineContext())).outputs[0]!;
    qemuWrite(child, 2048 * MiB - 3000, patternBytes(6000, 42)); // straddles s001/s002
    qemuFill(child, 4500 * MiB, MiB, 0x77);
    qemuFill(child, 100 * MiB, 3 * MiB + 512, 0x33);
    const rawBefore = qemuRaw(child);
    await commit(child);
    expect(fs.existsSync(child)).toBe(false);
    expect(execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'vmdk', rawBefore, base], { encoding: 'utf8' })).toMatch(/identical/);
    expect(qemuImg('check', base)).toMatch(/No errors/);
    fs.rmSync(rawBefore);
  });

  it('folds a REDO log into a vmfs flat base, and the vmfsSparse child above it into the base', async () => {
    const dir = subdir(root, 'd');
    const base = writeVmfsDisk(dir, 'db', 8 * MiB, patternBytes(8 * MiB, 51), { cid: 0x1234abcd });
    const delta = path.join(dir, 'db-000001.vmdk');
    buildCowd(path.join(dir, 'db-000001-delta.vmdk'), {
      capacitySectors: 16384,
      writes: [{ lba: 77, data: patternBytes(300 * 512, 52) }],
      zeroGrains: [5000],
    });
    writeVmfsSparseDescriptor(delta, {
      capacitySectors: 16384,
      deltaFileName: 'db-000001-delta.vmdk',
      cid: 0x22222222,
      parentCid: 0x1234abcd,
      parentFileNameHint: 'db.vmdk',
    });
    const grandchild = (await snapshotJob({ kind: 'snapshot', disk: delta }, inlineContext())).outputs[0]!;
    expect(path.basename(grandchild)).toBe('db-000002.vmdk');
    const deltaBefore = readAll(delta);
    const grandchildBefore = qemuBytes(grandchild);
    await commit(delta);
    sameBytes(fs.readFileSync(path.join(dir, 'db-flat.vmdk')), deltaBefore, 'flat file holds the folded content');
    sameBytes(qemuBytes(grandchild), grandchildBefore, 'grandchild reads as before (qemu)');
    const newCid = cidOf(base).cid;
    expect(newCid).not.toBe(0x1234abcd);
    expect(cidOf(grandchild)).toMatchObject({ parentCid: newCid, hint: 'db.vmdk' });
    expect(fs.readdirSync(dir).sort()).toEqual(['db-000002-delta.vmdk', 'db-000002.vmdk', 'db-flat.vmdk', 'db.vmdk']);
  });
});

describe('commit of ESX 2 REDO logs', () => {
  const root = tmpDir();

  it('folds mail.dsk.REDO into mail.dsk and renames mail.dsk.REDO.REDO to mail.dsk.REDO', async () => {
    const f = esx2Chain(subdir(root, 'a'));
    sameBytes(readAll(f.redo2), f.expectAll, 'fixture model');
    const result = await commit(f.redo);
    expect(result.outputs).toEqual([f.dsk, f.redo]);
    expect(fs.readdirSync(f.dir).sort()).toEqual(['mail.dsk', 'mail.dsk.REDO']);
    sameBytes(fs.readFileSync(f.dsk), f.expectTop, 'mail.dsk');
    const renamed = openLink(f.redo);
    renamed.data.close();
    expect(renamed.header['parentFileName']).toBe('mail.dsk');
    sameBytes(readAll(f.redo), f.expectAll, 'the former REDO.REDO');

    await commit(f.redo);
    expect(fs.readdirSync(f.dir)).toEqual(['mail.dsk']);
    sameBytes(fs.readFileSync(f.dsk), f.expectAll, 'mail.dsk after both commits');
  });

  it('folds a REDO of a REDO into its COWD parent, which qemu-img then reads the same', async () => {
    const f = esx2Chain(subdir(root, 'b'));
    const freeBefore = fs.readFileSync(f.redo).readUInt32LE(28);
    await commit(f.redo2);
    expect(fs.existsSync(f.redo2)).toBe(false);
    sameBytes(readAll(f.redo), f.expectAll, 'REDO now reads REDO.REDO');
    const link = openLink(f.redo);
    try {
      expect(link.data.check()).toEqual([]);
      expect(link.header['freeSector'] as number).toBeGreaterThan(freeBefore);
      expect((link.header['freeSector'] as number) * 512).toBeLessThanOrEqual(fs.statSync(f.redo).size);
    } finally {
      link.data.close();
    }
    // qemu as the oracle: text wrappers with absolute extent paths, in a folder of their own.
    const wrap = subdir(root, 'b-wrappers');
    writeVmfsFlatDescriptor(path.join(wrap, 'dsk.vmdk'), { capacitySectors: DSK_BYTES / 512, flatFileName: f.dsk, cid: 0x01010101 });
    writeVmfsSparseDescriptor(path.join(wrap, 'redo.vmdk'), {
      capacitySectors: DSK_BYTES / 512,
      deltaFileName: f.redo,
      cid: 0x02020202,
      parentCid: 0x01010101,
      parentFileNameHint: 'dsk.vmdk',
    });
    sameBytes(qemuBytes(path.join(wrap, 'redo.vmdk')), f.expectAll, 'qemu reads the committed COWD');
  });
});

describe('commit refuses before writing anything', () => {
  const root = tmpDir();

  it('refuses a base disk', async () => {
    const dir = subdir(root, 'a');
    qemuImg('create', '-q', '-f', 'vmdk', path.join(dir, 'base.vmdk'), '1M');
    const err = await errorOf(commit(path.join(dir, 'base.vmdk')));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toMatch(/base disk/);
  });

  it('refuses a parent with other children, and with force commits and leaves them needing --ignore-cid', async () => {
    const dir = subdir(root, 'b');
    const base = path.join(dir, 'base.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '4M');
    qemuWrite(base, 0, patternBytes(MiB, 61));
    for (const name of ['a.vmdk', 'b.vmdk']) qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', path.join(dir, name));
    qemuWrite(path.join(dir, 'a.vmdk'), 4096, patternBytes(4096, 62));
    const state = folderState(dir);
    const err = await errorOf(commit(path.join(dir, 'a.vmdk')));
    expect(err.code).toBe('E_CHAIN');
    expect(err.message).toMatch(/other children \(b\.vmdk\)/);
    expect(folderState(dir)).toEqual(state);

    const aBefore = readAll(path.join(dir, 'a.vmdk'));
    const result = await commit(path.join(dir, 'a.vmdk'), true);
    expect(result.summary).toMatch(/b\.vmdk\) now need --ignore-cid/);
    sameBytes(readAll(base), aBefore, 'base');
    expect((await errorOf(Promise.resolve().then(() => readAll(path.join(dir, 'b.vmdk')))))).toMatchObject({ code: 'E_CID' });
  });

  it('refuses a streamOptimized parent', async () => {
    const dir = subdir(root, 'c');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', path.join(dir, 'ova.vmdk'), '2M');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'ova.vmdk', '-F', 'vmdk', path.join(dir, 'top.vmdk'));
    qemuWrite(path.join(dir, 'top.vmdk'), 0, patternBytes(4096, 63));
    const state = folderState(dir);
    const err = await errorOf(commit(path.join(dir, 'top.vmdk')));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toMatch(/streamOptimized/);
    expect(folderState(dir)).toEqual(state);
  });

  it('refuses a parent smaller than the child', async () => {
    const dir = subdir(root, 'd');
    qemuImg('create', '-q', '-f', 'vmdk', path.join(dir, 'base.vmdk'), '2M');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', path.join(dir, 'top.vmdk'), '4M');
    const err = await errorOf(commit(path.join(dir, 'top.vmdk')));
    expect(err.code).toBe('E_CHAIN');
    expect(err.message).toMatch(/larger than its parent/);
  });

  it('refuses when the parent folder lacks the space the new grains need, saying how much', async () => {
    const f = hostedChain(subdir(root, 'e'));
    const state = folderState(f.dir);
    faults.freeBytes = 2 * MiB;
    try {
      const err = await errorOf(commit(f.top));
      expect(err.code).toBe('E_USAGE');
      expect(err.message).toMatch(/not enough free space .* needs about [\d.]+ MiB more, 2\.0 MiB is free/);
    } finally {
      disarm();
    }
    expect(folderState(f.dir)).toEqual(state);
  });
});

describe('commit stops safely', () => {
  const root = tmpDir();

  it('a cancel between chunks leaves the old chain reading the same; committing again finishes', async () => {
    const f = esx2Chain(subdir(root, 'a'));
    let calls = 0;
    const ctx = inlineContext(
      () => calls++,
      () => calls >= 2,
    );
    const err = await errorOf(commitJob({ kind: 'commit', top: f.redo2 }, ctx));
    expect(err.code).toBe('E_CANCELLED');
    expect(fs.existsSync(f.redo2)).toBe(true);
    sameBytes(readAll(f.redo2), f.expectAll, 'old chain after cancel');
    await commit(f.redo2);
    sameBytes(readAll(f.redo), f.expectAll, 'after the second commit');
  });

  /**
   * Kills the commit at its N-th fsync/rename/unlink (every later write fails too), for every N
   * until the commit gets through, and checks what the spec promises after each kill: the old or
   * the new chain reads the old content, the user's top disk reads what it read, and running the
   * commit again ends in the committed state.
   */
  async function killEverywhere(build: (dir: string) => { run: string; verify: (phase: string) => void; final: () => void }): Promise<number> {
    let kills = 0;
    const template = subdir(root, `${build.name}-template`);
    build(template);
    for (let k = 1; k < 200; k++) {
      const dir = path.join(root, `${build.name}-${k}`);
      fs.cpSync(template, dir, { recursive: true });
      const f = build(dir);
      faults.killAt = k;
      let finished = false;
      try {
        await commit(f.run);
        finished = true;
      } catch (e) {
        expect((e as { code?: string; message: string }).message).toMatch(/simulated kill/);
      } finally {
        disarm();
      }
      if (finished) {
        f.final();
        return kills;
      }
      kills++;
      f.verify(`after a kill at event ${k}`);
      await commit(f.run);
      f.final();
    }
    throw new Error('the commit never finished');
  }

  it('survives a kill at any point of a hosted commit with a child', async () => {
    let topBefore: Buffer | undefined;
    let childBefore: Buffer | undefined;
    const kills = await killEverywhere(function hosted(dir) {
      const f = fs.existsSync(path.join(dir, 'base.vmdk')) ? hostedPaths(dir) : hostedChain(dir);
      topBefore ??= readAll(f.top);
      childBefore ??= readAll(f.child);
      return {
        run: f.top,
        verify: (phase) => {
          // The user's disk always reads the same (across the CID window only with --ignore-cid).
          sameBytes(readAll(f.child, true), childBefore!, `child ${phase}`);
          let oldChain = false;
          if (fs.existsSync(f.top)) {
            try {
              sameBytes(readAll(f.top), topBefore!, `old chain ${phase}`);
              oldChain = true;
            } catch (e) {
              if ((e as { code?: string }).code !== 'E_CID') throw e;
            }
          }
          if (!oldChain) sameBytes(readAll(f.base), topBefore!, `new chain ${phase}`);
        },
        final: () => {
          expect(fs.readdirSync(dir).sort()).toEqual(['base.vmdk', 'child.vmdk']);
          sameBytes(readAll(f.base), topBefore!, 'base at the end');
          sameBytes(readAll(f.child), childBefore!, 'child at the end');
          expect(qemuImg('check', f.base)).toMatch(/No errors/);
        },
      };
    });
    expect(kills).toBeGreaterThan(10);
  });

  it('survives a kill at any point of an ESX 2 commit that renames the REDO of the REDO', async () => {
    const kills = await killEverywhere(function esx2(dir) {
      const f = esx2Chain(dir);
      return {
        run: f.redo,
        verify: (phase) => {
          const user = fs.existsSync(f.redo2) ? f.redo2 : f.redo;
          sameBytes(readAll(user), f.expectAll, `user's REDO.REDO ${phase}`);
          if (fs.existsSync(f.redo2) && fs.existsSync(f.redo)) sameBytes(readAll(f.redo), f.expectTop, `old chain ${phase}`);
          else sameBytes(fs.readFileSync(f.dsk), f.expectTop, `new chain ${phase}`);
        },
        final: () => {
          expect(fs.readdirSync(dir).sort()).toEqual(['mail.dsk', 'mail.dsk.REDO']);
          sameBytes(fs.readFileSync(f.dsk), f.expectTop, 'mail.dsk at the end');
          sameBytes(readAll(f.redo), f.expectAll, 'mail.dsk.REDO at the end');
          const link = openLink(f.redo);
          link.data.close();
          expect(link.header['parentFileName']).toBe('mail.dsk');
        },
      };
    });
    expect(kills).toBeGreaterThanOrEqual(8);
  });

  it('survives SIGKILL of a real process during the data phase (built dist/)', async () => {
    const distCommit = builtEngine('mutate/commit.js');
    const script = path.join(root, 'kill-commit.mjs');
    fs.writeFileSync(
      script,
      [
        `import { commitJob } from ${JSON.stringify(distCommit)};`,
        'let n = 0;',
        'const killAt = Number(process.argv[3]);',
        'const ctx = { progress() { if (++n === killAt) process.kill(process.pid, "SIGKILL"); }, throwIfCancelled() {} };',
        'await commitJob({ kind: "commit", top: process.argv[2] }, ctx);',
      ].join('\n'),
    );
    for (const killAt of [2, 3]) {
      const f = esx2Chain(subdir(root, `sigkill-${killAt}`));
      const r = spawnSync(process.execPath, [script, f.redo2, String(killAt)], { encoding: 'utf8' });
      expect(r.signal).toBe('SIGKILL');
      sameBytes(readAll(f.redo2), f.expectAll, `old chain after SIGKILL at progress ${killAt}`);
      await commit(f.redo2);
      sameBytes(readAll(f.redo), f.expectAll, 'after committing again');
      expect(fs.existsSync(f.redo2)).toBe(false);
    }
  });
});

describe('descriptor edits', () => {
  it('change only the lines they must, keeping CRLF, comments and unknown keys', () => {
    const text = [
      '# Disk DescriptorFile',
      'version=1',
      'CID=1a2b3c4d',
      'parentCID=ffffffff',
      'createType="vmfsSparse"',
      'parentFileNameHint="/vmfs/volumes/ds1/vm/old.vmdk"',
      'someVendorKey="kept"',
      '',
      'RW 8 VMFSSPARSE "x-delta.vmdk"',
      '#DDB',
      'ddb.longContentID = "0123456789abcdef012345671a2b3c4d"',
      'ddb.adapterType = "lsilogic" # comment',
      '',
    ].join('\r\n');
    const out = editDescriptor(Buffer.from(text), { cid: 0xdeadbeef, parentCid: 0x0000abcd, parentFileNameHint: 'new.vmdk' }, 'x.vmdk').toString();
    const lines = out.split('\r\n');
    expect(lines).toContain('CID=deadbeef');
    expect(lines).toContain('parentCID=0000abcd');
    expect(lines).toContain('parentFileNameHint="new.vmdk"');
    expect(lines).toContain('someVendorKey="kept"');
    expect(lines).toContain('ddb.adapterType = "lsilogic" # comment');
    expect(lines.find((l) => l.startsWith('ddb.longContentID'))).toMatch(/^ddb\.longContentID = "[0-9a-f]{24}deadbeef"$/);
    expect(out.replace(/\r\n/g, '').length).toBe(out.length - 2 * (lines.length - 1));
  });

  it('add a missing parentFileNameHint after createType, and keep UTF-8 names', () => {
    const text = 'version=1\nCID=1\nparentCID=2\ncreateType="monolithicSparse"\nRW 8 SPARSE "a.vmdk"\n';
    const out = editDescriptor(Buffer.from(text), { parentFileNameHint: 'Größe.vmdk' }, 'a.vmdk').toString('utf8');
    expect(out.split('\n')[4]).toBe('parentFileNameHint="Größe.vmdk"');
  });
});
