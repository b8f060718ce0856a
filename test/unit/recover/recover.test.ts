import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobResult, RecoverSpec, RecoveryReport } from '../../../shared/jobs.js';
import { recoverJob } from '../../../main/convert/recover.js';
import { openChain } from '../../../main/disk/chain.js';
import { startJob } from '../../../main/jobs/engine.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { buildEsx2Chain } from '../../fixtures/cowd-builder.js';
import { buildSeSparseDisk } from '../../fixtures/sesparse-builder.js';
import { directoryLayout } from '../../fixtures/sparse-builder.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECTOR = 512;

const dir = tmpDir('diskchain-recover-');

/** A qemu-made monolithicSparse with data spread over its first and last grain tables. */
function hostedSparse(name: string): { file: string; raw: Buffer } {
  const file = path.join(dir, `${name}.vmdk`);
  qemuImg('create', '-q', '-f', 'vmdk', file, '64M');
  qemuWrite(file, 1 * MiB + 4 * KiB, patternBytes(300 * KiB, 1));
  qemuFill(file, 20 * MiB, 2 * MiB, 0x5a);
  qemuWrite(file, 40 * MiB, patternBytes(MiB, 2));
  qemuFill(file, 63 * MiB, 512 * KiB, 0xc3);
  return { file, raw: fs.readFileSync(qemuRaw(file)) };
}

function recover(src: string, name: string, extra: Partial<RecoverSpec> = {}): Promise<JobResult> {
  return recoverJob({ kind: 'recover', src, dst: path.join(dir, `${name}.vmdk`), ...extra }, inlineContext());
}

function readAll(file: string): Buffer {
  const chain = openChain(file);
  try {
    const buf = Buffer.alloc(chain.capacityBytes);
    chain.read(buf, 0);
    return buf;
  } finally {
    chain.close();
  }
}

/** The original bytes with every lost range zeroed: what a recovered disk must read as. */
function withLostZeroed(original: Buffer, report: RecoveryReport): Buffer {
  const expected = Buffer.from(original);
  for (const r of report.lost) expected.fill(0, r.start * SECTOR, (r.start + r.length) * SECTOR);
  return expected;
}

function expectRecovered(result: JobResult, original: Buffer): RecoveryReport {
  const report = result.recovery!;
  const got = readAll(result.outputs[0]!);
  expect(got.length).toBe(original.length);
  expect(got.equals(withLostZeroed(original, report))).toBe(true);
  // Nothing but the lost ranges differs, and the report adds up.
  expect(report.lostBytes).toBe(report.lost.reduce((s, r) => s + r.length * SECTOR, 0));
  expect(report.capacityBytes).toBe(original.length);
  return report;
}

describe('recover', () => {
  it('copies a healthy disk whole and reports nothing lost', async () => {
    const { file, raw } = hostedSparse('healthy');
    const result = await recover(file, 'healthy-out');
    const report = expectRecovered(result, raw);
    expect(report.lost).toEqual([]);
    expect(report.savedBytes).toBeGreaterThanOrEqual(300 * KiB + 2 * MiB + MiB + 512 * KiB);
    qemuImg('compare', '-q', file, result.outputs[0]!);
  });

  it('saves what a hosted sparse cut inside its grain area still holds and names the lost grains', async () => {
    const { file, raw } = hostedSparse('cut');
    const size = fs.statSync(file).size;
    // qemu appends grains in write order: cutting 1 MiB off loses the last writes (the fill at 63 MiB).
    const cutAt = size - MiB - 64 * KiB;
    const damaged = path.join(dir, 'cut-damaged.vmdk');
    fs.copyFileSync(file, damaged);
    fs.truncateSync(damaged, cutAt);
    const before = fs.readFileSync(damaged);
    const report = expectRecovered(await recover(damaged, 'cut-out'), raw);
    expect(report.lost.length).toBeGreaterThan(0);
    expect(report.lost[report.lost.length - 1]!.start * SECTOR + report.lost[report.lost.length - 1]!.length * SECTOR).toBeLessThanOrEqual(64 * MiB);
    // Only grains past the cut are lost: at most what was cut off, in whole 64 KiB grains.
    expect(report.lostBytes).toBeLessThanOrEqual(size - cutAt + 64 * KiB);
    for (const r of report.lost) expect((r.start * SECTOR) % (64 * KiB)).toBe(0);
    expect(report.savedBytes).toBeGreaterThan(2.5 * MiB);
    expect(fs.readFileSync(damaged).equals(before)).toBe(true);
  });

  for (const damage of ['zeroed', 'garbage'] as const) {
    it(`reads through the redundant grain table where the primary one is ${damage}`, async () => {
      const { file, raw } = hostedSparse(`gt-${damage}`);
      const bytes = fs.readFileSync(file);
      const { firstGT } = directoryLayout(bytes);
      const table = bytes.subarray(firstGT * SECTOR, firstGT * SECTOR + 512 * 4);
      if (damage === 'zeroed') table.fill(0);
      else for (let i = 0; i < table.length; i += 4) table.writeUInt32LE(0xdeadbeef - i, i);
      const damaged = path.join(dir, `gt-${damage}-damaged.vmdk`);
      fs.writeFileSync(damaged, bytes);
      const report = expectRecovered(await recover(damaged, `gt-${damage}-out`), raw);
      expect(report.lost).toEqual([]);
      expect(readAll(path.join(dir, `gt-${damage}-out.vmdk`)).equals(raw)).toBe(true);
    });
  }

  it('saves the grains of a streamOptimized disk with a front directory (qemu) cut short, naming the grains past the cut', async () => {
    const { file, raw } = hostedSparse('qstream-src');
    const stream = path.join(dir, 'qtorn.vmdk');
    qemuImg('convert', '-q', '-O', 'vmdk', '-o', 'subformat=streamOptimized', file, stream);
    fs.truncateSync(stream, Math.floor(fs.statSync(stream).size * 0.6));
    const report = expectRecovered(await recover(stream, 'qtorn-out', { to: 'vmfsThin' }), raw);
    // Grains are stored in LBA order: the cut loses the end of the 40 MiB write and the 63 MiB fill.
    expect(report.lost[0]!.start).toBeGreaterThanOrEqual((40 * MiB) / SECTOR);
    expect(report.lost[report.lost.length - 1]).toEqual({ start: (63 * MiB) / SECTOR, length: (512 * KiB) / SECTOR });
    expect(report.savedBytes).toBeGreaterThan(2 * MiB);
  });

  it('finds the grains of a torn stream without footer by its markers and counts everything after them as lost', async () => {
    const { file, raw } = hostedSparse('vstream-src');
    const made = await recover(file, 'vstream', { to: 'streamOptimized' });
    const stream = made.outputs[0]!;
    fs.truncateSync(stream, Math.floor(fs.statSync(stream).size * 0.6));
    expect(() => openChain(stream)).toThrow(/truncated/);
    const report = expectRecovered(await recover(stream, 'vtorn-out'), raw);
    expect(report.lost.length).toBe(1);
    expect(report.lost[0]!.start + report.lost[0]!.length).toBe((64 * MiB) / SECTOR);
    expect(report.lost[0]!.start).toBeGreaterThanOrEqual((20 * MiB) / SECTOR);
    expect(report.notes.join('\n')).toMatch(/markers[\s\S]*cut short/);
  });

  it('saves what a truncated COWD REDO log still holds, its parent read as usual', async () => {
    const cowdDir = path.join(dir, 'esx2');
    fs.mkdirSync(cowdDir);
    buildEsx2Chain(cowdDir, 16 * MiB);
    const redo = path.join(cowdDir, 'a.dsk.REDO');
    const intact = readAll(redo);
    fs.truncateSync(redo, fs.statSync(redo).size - 4096 - 512);
    const result = await recoverJob({ kind: 'recover', src: redo, dst: path.join(cowdDir, 'out.vmdk') }, inlineContext());
    const report = expectRecovered(result, intact);
    expect(report.lost.length).toBeGreaterThan(0);
  });

  it('saves what a seSparse cut short still holds', async () => {
    const grain = 4096;
    const data: Array<[number, Buffer]> = [0, 7, 300, 301, 900, 2000].map((g, i) => [g, patternBytes(grain, 40 + i)]);
    const { descriptor, layout } = buildSeSparseDisk(dir, 'se', { capacitySectors: (16 * MiB) / SECTOR, data });
    const original = fs.readFileSync(qemuRaw(descriptor));
    fs.truncateSync(layout.file, layout.grainsOffset * SECTOR + 3 * grain + 100);
    const report = expectRecovered(await recover(descriptor, 'se-out'), original);
    expect(report.lost.map((r) => r.start / 8)).toEqual([301, 900, 2000]);
  });

  it('runs as a worker job and leaves no partial output when it fails', async () => {
    const { file } = hostedSparse('job');
    const dst = path.join(dir, 'job-out.vmdk');
    const result = await startJob({ kind: 'recover', src: file, dst, to: 'twoGbMaxExtentSparse', segmentBytes: 32 * MiB }).done;
    expect(result.recovery?.lost).toEqual([]);
    qemuImg('compare', '-q', file, dst);
    await expect(startJob({ kind: 'recover', src: file, dst }).done).rejects.toMatchObject({ code: 'E_EXISTS' });
    expect(fs.readdirSync(dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });
});
