import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event, Payload } from '../../../shared/ipc/contract.js';
import { DiskService } from '../../../main/services/disks.js';
import { bucketEdges, summarizeMap } from '../../../main/services/map-summary.js';
import { openChain } from '../../../main/disk/chain.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const TiB = 1024 ** 4;

function errorOf(fn: () => unknown): { code: string; message: string; file?: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string; file?: string };
  }
  throw new Error('expected an error');
}

async function rejectionOf(p: Promise<unknown>): Promise<{ code: string; message: string; file?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string; file?: string };
  }
  throw new Error('expected an error');
}

function recorder() {
  const events: Array<{ event: Event; payload: unknown }> = [];
  const emit = <E extends Event>(event: E, payload: Payload<E>): void => void events.push({ event, payload });
  return { events, emit };
}

describe('disk ids', async () => {
  const dir = tmpDir();
  writeVmfsDisk(dir, 'base', 64 * MiB, patternBytes(4 * MiB, 1), { cid: 0x11111111 });
  const child = path.join(dir, 'child.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
  qemuFill(child, 32 * MiB, 2 * MiB, 0x22);

  it('registers files as ids, once per real file, and tells every window', async () => {
    const { events, emit } = recorder();
    const disks = new DiskService(path.join(dir, 'state1'), emit);
    const [a] = await disks.open([child], 'dialog');
    const [b] = await disks.open([path.join(dir, '.', 'child.vmdk')], 'drop');
    expect(a!.diskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b!.diskId).toBe(a!.diskId);
    expect(a!.path).toBe(fs.realpathSync(child));
    expect(disks.list()).toHaveLength(1);
    expect(events.map((e) => e.event)).toEqual(['disks:opened', 'disks:opened']);
    expect((events[1]!.payload as { source: string }).source).toBe('drop');
  });

  it('refuses a missing file and a folder, and adds none of a batch with one bad file', async () => {
    const disks = new DiskService(path.join(dir, 'state2'), recorder().emit);
    expect((await rejectionOf(disks.open([path.join(dir, 'nope.vmdk')], 'dialog'))).code).toBe('E_NOTFOUND');
    expect((await rejectionOf(disks.open([dir], 'dialog'))).code).toBe('E_USAGE');
    expect((await rejectionOf(disks.open([child, path.join(dir, 'nope.vmdk')], 'dialog'))).code).toBe('E_NOTFOUND');
    expect(disks.list()).toEqual([]);
  });

  it('answers info, geometry, check, a layer and the map by id; unknown and closed ids are E_NOTFOUND', async () => {
    const disks = new DiskService(path.join(dir, 'state3'), recorder().emit);
    const [ref] = await disks.open([child], 'dialog');
    const info = await disks.info(ref!.diskId);
    expect(info.layers.map((l) => path.basename(l.path))).toEqual(['child.vmdk', 'base.vmdk']);
    expect((await disks.geometry(ref!.diskId)).geometry.heads).toBeGreaterThan(0);
    expect((await disks.check(ref!.diskId)).errors).toBe(0);
    expect((await disks.layer(ref!.diskId, 1)).createType).toBe('vmfs');
    expect((await rejectionOf(disks.layer(ref!.diskId, 2))).code).toBe('E_USAGE');
    const map = await disks.map(ref!.diskId, { buckets: 16 });
    expect(map.dominant[0]).toBe(1); // the base holds the first 4 MiB
    expect(map.dominant[8]).toBe(0); // the child holds 32..34 MiB
    disks.close(ref!.diskId);
    expect((await rejectionOf(disks.info(ref!.diskId))).code).toBe('E_NOTFOUND');
    expect((await rejectionOf(disks.info('0b6a4a8e-5a3c-4d7e-9f00-1a2b3c4d5e6f'))).code).toBe('E_NOTFOUND');
  });

  it('remembers recent files across services, newest first, and reopens them by id', async () => {
    const state = path.join(dir, 'state4');
    const first = new DiskService(state, recorder().emit);
    await first.open([path.join(dir, 'base.vmdk')], 'dialog');
    await first.open([child], 'dialog');
    const second = new DiskService(state, recorder().emit);
    const recent = await second.recent();
    expect(recent.map((r) => r.name)).toEqual(['child.vmdk', 'base.vmdk']);
    expect(recent.every((r) => r.exists)).toBe(true);
    const ref = await second.openRecent(recent[1]!.recentId);
    expect(ref.name).toBe('base.vmdk');
    expect((await rejectionOf(second.openRecent('0b6a4a8e-5a3c-4d7e-9f00-1a2b3c4d5e6f'))).code).toBe('E_NOTFOUND');
    await second.clearRecent();
    expect(await second.recent()).toEqual([]);
  });

  it('reads a damaged recent-files file as empty', async () => {
    const state = path.join(dir, 'state5');
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(state, 'recent.json'), '{not json');
    expect(await new DiskService(state, recorder().emit).recent()).toEqual([]);
  });
});

describe('a chain whose parent changed after the child was made', () => {
  const dir = tmpDir();
  writeVmfsDisk(dir, 'base', 16 * MiB, patternBytes(MiB, 2), { cid: 0x11111111 });
  const child = path.join(dir, 'child.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
  writeVmfsDisk(dir, 'base', 16 * MiB, patternBytes(MiB, 2), { cid: 0x22222222 });

  it('is refused with E_CID naming both CIDs, and read with ignoreCid with the mismatch as a problem', async () => {
    const disks = new DiskService(path.join(dir, 'state'), recorder().emit);
    const [ref] = await disks.open([child], 'dialog');
    const e = await rejectionOf(disks.info(ref!.diskId));
    expect(e.code).toBe('E_CID');
    expect(e.message).toContain('11111111');
    expect(e.message).toContain('22222222');
    const info = await disks.info(ref!.diskId, true);
    expect(info.problems).toHaveLength(1);
    expect(info.problems[0]!.message).toContain('was modified after');
  });
});

describe('bucket edges', () => {
  it('are exact where i·length passes 2^53 and cover the range without gaps', () => {
    const length = 2 * TiB + 12345;
    const n = 16384;
    const edges = bucketEdges(7, length, n);
    expect(edges.at(0)).toBe(7);
    expect(edges.at(n)).toBe(7 + length);
    for (const i of [1, 2, 4095, 8192, 16383]) {
      expect(edges.at(i)).toBe(7 + Number((BigInt(i) * BigInt(length)) / BigInt(n)));
      expect(edges.indexOf(edges.at(i))).toBe(i);
      expect(edges.indexOf(edges.at(i) - 1)).toBe(i - 1);
    }
  });
});

describe('the allocation map of a 2 TiB disk', () => {
  const dir = tmpDir();
  const big = path.join(dir, 'big.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', big, '2T');
  qemuFill(big, 0, MiB, 0x11);
  qemuFill(big, TiB, 4 * MiB, 0x22);
  qemuFill(big, 2 * TiB - MiB, MiB, 0x33);
  const child = path.join(dir, 'child.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'big.vmdk', '-F', 'vmdk', child);
  qemuFill(child, TiB + MiB, MiB, 0x44);

  it('summarizes the whole disk in buckets, quickly, with the dominant link per bucket', () => {
    const chain = openChain(child);
    try {
      const started = performance.now();
      const map = summarizeMap(chain, 0, undefined, 4096);
      const ms = performance.now() - started;
      expect(ms).toBeLessThan(5000);
      expect(map.capacityBytes).toBe(2 * TiB);
      expect(map.buckets).toBe(4096);
      expect(map.dominant).toHaveLength(4096);
      expect(map.dominant[0]).toBe(1);
      expect(map.dominant[2048]).toBe(1); // 3 of the 4 MiB at 1 TiB are the base's
      expect(map.dominant[4095]).toBe(1);
      expect(map.dominant[1]).toBeNull();
      expect(map.layerBytes).toEqual([MiB, 5 * MiB]);
      expect(map.zeroBytes).toBe(2 * TiB - 6 * MiB);
      expect(map.dataFraction[1]).toBe(0);
      expect(map.dataFraction[0]).toBeCloseTo(MiB / (2 * TiB / 4096), 10);
    } finally {
      chain.close();
    }
  });

  it('zooms: a narrow range at 1 TiB shows the child between the base', () => {
    const chain = openChain(child);
    try {
      const map = summarizeMap(chain, TiB, 4 * MiB, 4);
      expect(map.dominant).toEqual([1, 0, 1, 1]);
      expect(map.dataFraction).toEqual([1, 1, 1, 1]);
    } finally {
      chain.close();
    }
  });

  it('refuses a start past the end, and clips a length past it', () => {
    const chain = openChain(child);
    try {
      expect(errorOf(() => summarizeMap(chain, 3 * TiB, undefined, 4)).code).toBe('E_USAGE');
      const tail = summarizeMap(chain, 2 * TiB - MiB, 10 * MiB, 8);
      expect(tail.length).toBe(MiB);
      expect(tail.dominant.every((d) => d === 1)).toBe(true);
    } finally {
      chain.close();
    }
  });
});
