import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { openLink } from '../../../main/disk/link.js';
import { inlineContext } from '../../../main/io/job-context.js';
import { openGrainStore } from '../../../main/mutate/grain-store.js';
import { snapshotJob } from '../../../main/mutate/snapshot.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

async function snapshot(disk: string): Promise<string> {
  const result = await snapshotJob({ kind: 'snapshot', disk }, inlineContext());
  expect(result.outputs).toHaveLength(1);
  return result.outputs[0]!;
}

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

function readAll(disk: string): Buffer {
  const chain = openChain(disk);
  try {
    const buf = Buffer.alloc(chain.capacityBytes);
    chain.read(buf, 0);
    return buf;
  } finally {
    chain.close();
  }
}

function fileBytes(file: string): Buffer {
  return fs.readFileSync(file);
}

function noLeftovers(dir: string): void {
  expect(fs.readdirSync(dir).filter((n) => n.includes('.diskchain-'))).toEqual([]);
}

describe('snapshot of hosted disks', () => {
  const dir = tmpDir();
  const base = path.join(dir, 'web01.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', base, '16M');
  qemuWrite(base, 3 * MiB + 4096, patternBytes(300_000, 1));

  it('makes web01-000001.vmdk, a monolithicSparse child that qemu-img checks clean and reads through', async () => {
    const parentBefore = fileBytes(base);
    const child = await snapshot(base);
    expect(path.basename(child)).toBe('web01-000001.vmdk');
    expect(qemuImg('check', child)).toMatch(/No errors/);
    const info = JSON.parse(qemuImg('info', '--output=json', child)) as { 'virtual-size': number; 'backing-filename'?: string; format: string };
    expect(info['virtual-size']).toBe(16 * MiB);
    expect(info['backing-filename']).toBe('web01.vmdk');

    const link = openLink(child);
    link.data.close();
    expect(link.createType).toBe('monolithicSparse');
    expect(link.descriptor?.parentFileNameHint).toBe('web01.vmdk');
    const parent = openLink(base);
    parent.data.close();
    expect(link.descriptor?.parentCid).toBe(parent.descriptor?.cid);
    expect(link.descriptor?.cid).not.toBe(parent.descriptor?.cid);
    expect(link.capacityBytes).toBe(parent.capacityBytes);
    expect(link.descriptor?.ddb.get('ddb.longcontentid')).toMatch(/^[0-9a-f]{32}$/);
    expect(fileBytes(base).equals(parentBefore)).toBe(true);
    noLeftovers(dir);
  });

  it('shows new data on top and keeps the old data in the parent', async () => {
    const child = path.join(dir, 'web01-000001.vmdk');
    const before = readAll(base);
    qemuWrite(child, 3 * MiB + 100_000, patternBytes(70_000, 2));
    qemuFill(child, 9 * MiB, 128 * 1024, 0x5a);
    const chain = openChain(child);
    try {
      expectSameAsRaw(chain, qemuRaw(child));
    } finally {
      chain.close();
    }
    const top = readAll(child);
    expect(top.subarray(3 * MiB + 100_000, 3 * MiB + 170_000).equals(patternBytes(70_000, 2))).toBe(true);
    expect(top.subarray(3 * MiB + 4096, 3 * MiB + 100_000).equals(before.subarray(3 * MiB + 4096, 3 * MiB + 100_000))).toBe(true);
    expect(readAll(base).equals(before)).toBe(true);
  });

  it('numbers the next snapshot of the same parent -000002, and a snapshot of a snapshot after the free numbers', async () => {
    const second = await snapshot(base);
    expect(path.basename(second)).toBe('web01-000002.vmdk');
    const third = await snapshot(path.join(dir, 'web01-000001.vmdk'));
    expect(path.basename(third)).toBe('web01-000003.vmdk');
    const link = openLink(third);
    link.data.close();
    expect(link.descriptor?.parentFileNameHint).toBe('web01-000001.vmdk');
    expect(qemuImg('check', third)).toMatch(/No errors/);
    const chain = openChain(third);
    try {
      expect(chain.links).toHaveLength(3);
      expectSameAsRaw(chain, qemuRaw(third));
    } finally {
      chain.close();
    }
  });

  it('gives split and flat hosted disks a monolithicSparse child', async () => {
    for (const subformat of ['twoGbMaxExtentSparse', 'monolithicFlat', 'twoGbMaxExtentFlat']) {
      const parent = path.join(dir, `${subformat}.vmdk`);
      qemuImg('create', '-q', '-f', 'vmdk', '-o', `subformat=${subformat}`, parent, '8M');
      qemuWrite(parent, 1 * MiB, patternBytes(8192, 3));
      const child = await snapshot(parent);
      expect(path.basename(child)).toBe(`${subformat}-000001.vmdk`);
      const made = openLink(child);
      made.data.close();
      expect(made.createType).toBe('monolithicSparse');
      qemuWrite(child, 1 * MiB + 4096, patternBytes(512, 4));
      expect(qemuImg('check', child)).toMatch(/No errors/);
      const chain = openChain(child);
      try {
        expectSameAsRaw(chain, qemuRaw(child));
      } finally {
        chain.close();
      }
    }
  });

  it('refuses a streamOptimized parent', async () => {
    const stream = path.join(dir, 'export.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', stream, '4M');
    const err = await errorOf(snapshot(stream));
    expect(err.code).toBe('E_UNSUPPORTED');
    expect(err.message).toMatch(/streamOptimized/);
    noLeftovers(dir);
  });
});

describe('snapshot of ESX disks', () => {
  const dir = tmpDir();
  const base = writeVmfsDisk(dir, 'db01', 8 * MiB, patternBytes(2 * MiB, 5));

  it('makes a vmfsSparse descriptor and a COWD -delta.vmdk that qemu-img reads through', async () => {
    const child = await snapshot(base);
    expect(path.basename(child)).toBe('db01-000001.vmdk');
    const delta = path.join(dir, 'db01-000001-delta.vmdk');
    const text = fs.readFileSync(child, 'utf8');
    expect(text).toMatch(/createType="vmfsSparse"/);
    expect(text).toMatch(/parentFileNameHint="db01.vmdk"/);
    expect(text).toMatch(/^RW 16384 VMFSSPARSE "db01-000001-delta.vmdk"$/m);
    const head = fs.readFileSync(delta).subarray(0, 32);
    expect(head.toString('latin1', 0, 4)).toBe('COWD');
    expect(head.readUInt32LE(4)).toBe(1); // version
    expect(head.readUInt32LE(8)).toBe(3); // flags
    expect(head.readUInt32LE(12)).toBe(16384); // capacity
    expect(head.readUInt32LE(16)).toBe(1); // grain: one sector, as ESX
    expect(head.readUInt32LE(20)).toBe(4); // GD right after the header
    expect(head.readUInt32LE(24)).toBe(4); // 16384 sectors / 4096 per GT
    expect(head.readUInt32LE(28)).toBe(5); // freeSector after the one-sector GD
    expect(fs.statSync(delta).size).toBe(4096);
    const chain = openChain(child);
    try {
      expect(chain.links[0]!.descriptor?.parentCid).toBe(chain.links[1]!.descriptor?.cid);
      expectSameAsRaw(chain, qemuRaw(child));
    } finally {
      chain.close();
    }
    noLeftovers(dir);
  });

  it('takes writes into the delta (grain store) that qemu-img reads back, the parent untouched', async () => {
    const child = path.join(dir, 'db01-000001.vmdk');
    const flatBefore = fileBytes(path.join(dir, 'db01-flat.vmdk'));
    const link = openLink(child);
    link.data.close();
    const store = openGrainStore(link, (buf, offset) => {
      const under = openChain(base);
      try {
        under.read(buf, offset);
      } finally {
        under.close();
      }
    });
    try {
      store.write(patternBytes(3 * 512, 6), 1 * MiB + 512);
      store.write(patternBytes(5 * MiB, 7), 2 * MiB + 1024); // spans GTs: allocates 3 new ones
      store.writeZeros(1 * MiB + 1024, 512);
      store.flush();
    } finally {
      store.close();
    }
    expect(fileBytes(path.join(dir, 'db01-flat.vmdk')).equals(flatBefore)).toBe(true);
    const chain = openChain(child);
    try {
      expectSameAsRaw(chain, qemuRaw(child));
      const got = Buffer.alloc(512);
      chain.read(got, 1 * MiB + 512);
      expect(got.equals(patternBytes(3 * 512, 6).subarray(0, 512))).toBe(true);
      chain.read(got, 1 * MiB + 1024);
      expect(got.equals(Buffer.alloc(512))).toBe(true);
      expect(chain.top.data.check()).toEqual([]);
    } finally {
      chain.close();
    }
    const next = await snapshot(child);
    expect(path.basename(next)).toBe('db01-000002.vmdk');
    expect(fs.existsSync(path.join(dir, 'db01-000002-delta.vmdk'))).toBe(true);
  });
});

describe('snapshot of ESX 2 disks (REDO logs)', () => {
  const dir = tmpDir();
  const dsk = path.join(dir, 'mail.dsk');
  fs.writeFileSync(dsk, patternBytes(4 * MiB, 8));

  it('names the REDO log DISK.REDO, a bare COWD naming its parent, readable through the chain', async () => {
    const redo = await snapshot(dsk);
    expect(redo).toBe(`${dsk}.REDO`);
    const link = openLink(redo);
    link.data.close();
    expect(link.createType).toBe('cowd');
    expect(link.header['parentFileName']).toBe('mail.dsk');
    expect(link.capacityBytes).toBe(4 * MiB);
    expect(readAll(redo).equals(fs.readFileSync(dsk))).toBe(true);
  });

  it('puts a REDO of the REDO on top, and refuses a third level as ESX 2 did', async () => {
    const second = await snapshot(`${dsk}.REDO`);
    expect(second).toBe(`${dsk}.REDO.REDO`);
    const link = openLink(second);
    link.data.close();
    expect(link.header['parentFileName']).toBe('mail.dsk.REDO');
    const chain = openChain(second);
    try {
      expect(chain.links.map((l) => path.basename(l.path))).toEqual(['mail.dsk.REDO.REDO', 'mail.dsk.REDO', 'mail.dsk']);
    } finally {
      chain.close();
    }
    const err = await errorOf(snapshot(second));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toMatch(/at most 2 REDO levels/);
    expect(fs.existsSync(`${second}.REDO`)).toBe(false);
    noLeftovers(dir);
  });

  it('refuses a second REDO of the same disk, whose name is taken', async () => {
    const err = await errorOf(snapshot(dsk));
    expect(err.code).toBe('E_EXISTS');
  });
});
