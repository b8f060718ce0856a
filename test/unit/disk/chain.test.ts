import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { diskInfo } from '../../../main/disk/info.js';
import { writeDescriptor, writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

function errorOf(fn: () => unknown): { code: string; message: string; file?: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string; file?: string };
  }
  throw new Error('expected an error');
}

describe('chains of hosted sparse children over an ESX vmfs base', () => {
  const dir = tmpDir();
  writeVmfsDisk(dir, 'base', 32 * MiB, patternBytes(3 * MiB, 7));
  const child = path.join(dir, 'child.vmdk');
  const grandchild = path.join(dir, 'grandchild.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
  qemuWrite(child, 1 * MiB + 700, patternBytes(200_000, 3));
  qemuFill(child, 20 * MiB, 64 * 1024, 0xab);
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'child.vmdk', '-F', 'vmdk', grandchild);
  qemuWrite(grandchild, 2 * MiB - 300, patternBytes(5000, 9));
  qemuFill(grandchild, 31 * MiB, 4096, 0);

  it('reads three links top first and matches qemu byte for byte', () => {
    const chain = openChain(grandchild);
    try {
      expect(chain.links.map((l) => path.basename(l.path))).toEqual(['grandchild.vmdk', 'child.vmdk', 'base.vmdk']);
      expectSameAsRaw(chain, qemuRaw(grandchild));
    } finally {
      chain.close();
    }
  });

  it('describes every layer with CIDs linking child to parent', () => {
    const chain = openChain(grandchild);
    try {
      const info = diskInfo(chain);
      expect(info.layers).toHaveLength(3);
      expect(info.layers[0]!.parentCid).toBe(info.layers[1]!.cid);
      expect(info.layers[1]!.parentCid).toBe(info.layers[2]!.cid);
      expect(info.layers[2]!.parentCid).toBe('ffffffff');
      expect(info.layers[2]!.createType).toBe('vmfs');
      expect(info.capacityBytes).toBe(32 * MiB);
    } finally {
      chain.close();
    }
  });

  it('maps each range to the layer holding it', () => {
    const chain = openChain(grandchild);
    try {
      const runs = chain.mapRuns(0, chain.capacityBytes);
      const at = (offset: number): number | null => runs.find((r) => r.offset <= offset && offset < r.offset + r.length)!.layer;
      expect(at(2 * MiB - 100)).toBe(0);
      expect(at(1 * MiB + 1000)).toBe(1);
      expect(at(20 * MiB)).toBe(1);
      expect(at(100)).toBe(2);
    } finally {
      chain.close();
    }
  });

  it('never changes a file it reads', () => {
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    const before = files.map((f) => fs.statSync(f).mtimeMs);
    const chain = openChain(grandchild);
    const buf = Buffer.alloc(4 * MiB);
    for (let at = 0; at < chain.capacityBytes; at += buf.length) chain.read(buf, at);
    chain.close();
    expect(files.map((f) => fs.statSync(f).mtimeMs)).toEqual(before);
  });
});

describe('broken chains', () => {
  const dir = tmpDir();
  writeVmfsDisk(dir, 'base', 4 * MiB, patternBytes(MiB, 1), { cid: 0xaaaa0001 });

  it('refuses a parentCID that differs from the parent CID, naming both', () => {
    const child = writeDescriptor(path.join(dir, 'stale.vmdk'), {
      createType: 'vmfsSparse',
      cid: 0x1,
      parentCid: 0xbbbb0002,
      parentFileNameHint: 'base.vmdk',
      extents: ['RW 8192 ZERO'],
    });
    const e = errorOf(() => openChain(child));
    expect(e.code).toBe('E_CID');
    expect(e.message).toContain('bbbb0002');
    expect(e.message).toContain('aaaa0001');
    expect(e.message).toContain('base.vmdk');
    expect(e.message).toContain('--ignore-cid');
    const chain = openChain(child, { ignoreCid: true });
    expect(chain.links).toHaveLength(2);
    expect(chain.problems[0]!.location).toBe('descriptor parentCID');
    chain.close();
  });

  it('refuses a disk that names itself as its parent', () => {
    const self = writeDescriptor(path.join(dir, 'self.vmdk'), {
      createType: 'vmfs',
      parentCid: 0x1,
      parentFileNameHint: 'self.vmdk',
      extents: ['RW 8192 ZERO'],
    });
    expect(errorOf(() => openChain(self))).toMatchObject({ code: 'E_CHAIN', message: expect.stringContaining('itself') });
  });

  it('refuses a loop of two disks', () => {
    writeDescriptor(path.join(dir, 'loop-a.vmdk'), { createType: 'vmfs', cid: 1, parentCid: 2, parentFileNameHint: 'loop-b.vmdk', extents: ['RW 8192 ZERO'] });
    writeDescriptor(path.join(dir, 'loop-b.vmdk'), { createType: 'vmfs', cid: 2, parentCid: 1, parentFileNameHint: 'loop-a.vmdk', extents: ['RW 8192 ZERO'] });
    expect(errorOf(() => openChain(path.join(dir, 'loop-a.vmdk')))).toMatchObject({ code: 'E_CHAIN', message: expect.stringContaining('loops') });
  });

  it('names the missing parent and where it looked', () => {
    const orphan = writeDescriptor(path.join(dir, 'orphan.vmdk'), {
      createType: 'vmfsSparse',
      parentCid: 1,
      parentFileNameHint: '/vmfs/volumes/ds1/vm/gone.vmdk',
      extents: ['RW 8192 ZERO'],
    });
    const e = errorOf(() => openChain(orphan));
    expect(e.code).toBe('E_CHAIN');
    expect(e.file).toBe(orphan);
    expect(e.message).toContain('gone.vmdk');
  });

  it('finds a parent named by a foreign absolute path in the child folder', () => {
    for (const hint of ['/vmfs/volumes/datastore1/vm/base.vmdk', 'C:\\VMs\\vm\\base.vmdk']) {
      const child = writeDescriptor(path.join(dir, 'moved.vmdk'), {
        createType: 'monolithicFlat',
        parentCid: 0xaaaa0001,
        parentFileNameHint: hint,
        extents: ['RW 8192 ZERO'],
      });
      const chain = openChain(child);
      expect(chain.links.map((l) => path.basename(l.path))).toEqual(['moved.vmdk', 'base.vmdk']);
      chain.close();
    }
  });

  it('reads a child smaller than its parent at the child capacity', () => {
    const child = path.join(dir, 'small.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child, String(2 * MiB));
    const chain = openChain(child);
    expect(chain.capacityBytes).toBe(2 * MiB);
    expectSameAsRaw(chain, qemuRaw(child));
    chain.close();
  });
});

describe('split and flat layouts', () => {
  const dir = tmpDir();

  it('reads twoGbMaxExtentFlat across its extent boundaries', () => {
    const disk = path.join(dir, 'split.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentFlat', disk, String(4 * 1024 * MiB + 16 * MiB));
    const edge = 2047 * MiB + 512 * 1024;
    qemuWrite(disk, edge, patternBytes(2 * MiB, 5));
    qemuWrite(disk, 4 * 1024 * MiB + 15 * MiB, patternBytes(MiB, 6));
    const chain = openChain(disk);
    try {
      expect(chain.top.extents.length).toBe(3);
      const got = Buffer.alloc(2 * MiB);
      chain.read(got, edge);
      expect(got.equals(patternBytes(2 * MiB, 5))).toBe(true);
      chain.read(got.subarray(0, MiB), 4 * 1024 * MiB + 15 * MiB);
      expect(got.subarray(0, MiB).equals(patternBytes(MiB, 6))).toBe(true);
    } finally {
      chain.close();
    }
  });

  it('reads a descriptor-less ESX 2 .dsk as a raw SCSI disk', () => {
    const dsk = path.join(dir, 'legacy.dsk');
    fs.writeFileSync(dsk, patternBytes(2 * MiB, 11));
    const chain = openChain(dsk);
    expect(chain.top.createType).toBe('raw');
    expect(chain.capacityBytes).toBe(2 * MiB);
    const buf = Buffer.alloc(2 * MiB);
    chain.read(buf, 0);
    expect(buf.equals(patternBytes(2 * MiB, 11))).toBe(true);
    chain.close();
  });

  it('reads flat extents at an offset and ZERO extents', () => {
    fs.writeFileSync(path.join(dir, 'blob.bin'), patternBytes(3 * MiB, 12));
    const disk = writeDescriptor(path.join(dir, 'offset.vmdk'), {
      createType: 'custom',
      extents: ['RW 2048 FLAT "blob.bin" 2048', 'RW 1024 ZERO', 'RDONLY 2048 FLAT "blob.bin" 0'],
      eol: '\r\n',
    });
    const chain = openChain(disk);
    const buf = Buffer.alloc(chain.capacityBytes);
    chain.read(buf, 0);
    const blob = patternBytes(3 * MiB, 12);
    expect(buf.subarray(0, MiB).equals(blob.subarray(MiB, 2 * MiB))).toBe(true);
    expect(buf.subarray(MiB, MiB + 512 * 1024).every((b) => b === 0)).toBe(true);
    expect(buf.subarray(MiB + 512 * 1024).equals(blob.subarray(0, MiB))).toBe(true);
    chain.close();
  });

  it('reports an RDM mapping and refuses to read an unreachable device', () => {
    const rdm = writeDescriptor(path.join(dir, 'rdm.vmdk'), {
      createType: 'vmfsPassthroughRawDeviceMap',
      extents: ['RW 8192 VMFSRDM "rdm-rdmp.vmdk"'],
    });
    const chain = openChain(rdm);
    expect(diskInfo(chain).layers[0]!.extents[0]!.type).toBe('VMFSRDM');
    expect(diskInfo(chain).layers[0]!.rdm).toEqual({ mode: 'physical', mapping: path.join(dir, 'rdm-rdmp.vmdk') });
    expect(errorOf(() => chain.read(Buffer.alloc(512), 0)).code).toBe('E_UNSUPPORTED');
    chain.close();
  });
});
