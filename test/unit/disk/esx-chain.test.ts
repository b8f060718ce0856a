import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { diskInfo } from '../../../main/disk/info.js';
import { geometryReport } from '../../../main/disk/geometry.js';
import { buildCowd, buildEsx2Chain, writeVmfsFlatDescriptor, writeVmfsSparseDescriptor } from '../../fixtures/cowd-builder.js';
import { expectSameAsRaw } from '../../helpers/compare.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuRaw } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const SECTORS = (8 * MiB) / 512;

describe('ESX 2: a.dsk ← a.dsk.REDO ← a.dsk.REDO.REDO', () => {
  const dir = tmpDir();
  const { top, expected } = buildEsx2Chain(dir, 8 * MiB);

  it('opens three links and reads the flattened disk', () => {
    const chain = openChain(top);
    try {
      expect(chain.links.map((l) => path.basename(l.path))).toEqual(['a.dsk.REDO.REDO', 'a.dsk.REDO', 'a.dsk']);
      expect(chain.links.map((l) => l.createType)).toEqual(['cowd', 'cowd', 'raw']);
      const all = Buffer.alloc(8 * MiB);
      chain.read(all, 0);
      expect(all.equals(expected)).toBe(true);
    } finally {
      chain.close();
    }
  });

  it('names where each parent came from and treats the disk as SCSI 255/63', () => {
    const chain = openChain(top);
    try {
      const info = diskInfo(chain);
      expect(info.layers[0]!.parent).toEqual({ name: 'a.dsk.REDO', source: 'cowd-header' });
      expect(info.layers[0]!.allocatedBytes).toBe(32 * 1024 + 512);
      expect(geometryReport(chain)).toMatchObject({ adapterType: 'legacyESX', geometry: { heads: 255, sectors: 63 } });
    } finally {
      chain.close();
    }
  });

  it('falls back to the REDO name when the header names a parent that is gone', () => {
    const sub = path.join(dir, 'renamed');
    fs.mkdirSync(sub);
    fs.copyFileSync(path.join(dir, 'a.dsk'), path.join(sub, 'b.dsk'));
    buildCowd(path.join(sub, 'b.dsk.REDO'), { capacitySectors: SECTORS, parentFileName: '/vmfs/volumes/old/a.dsk', writes: [] });
    const chain = openChain(path.join(sub, 'b.dsk.REDO'));
    expect(chain.links.map((l) => path.basename(l.path))).toEqual(['b.dsk.REDO', 'b.dsk']);
    chain.close();
  });

  it('cat through the CLI gives the same bytes', () => {
    const r = diskchain(['cat', top]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.equals(expected)).toBe(true);
  });

  it('check reports a clean chain', () => {
    const r = diskchain(['check', top]);
    expect(r.status, r.text).toBe(0);
  });
});

describe('ESX 3+: vmfs base ← vmfsSparse delta ← delta, checked against qemu', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'vm-flat.vmdk'), patternBytes(8 * MiB, 40));
  writeVmfsFlatDescriptor(path.join(dir, 'vm.vmdk'), { capacitySectors: SECTORS, flatFileName: 'vm-flat.vmdk', cid: 0x11111111 });
  buildCowd(path.join(dir, 'vm-000001-delta.vmdk'), {
    capacitySectors: SECTORS,
    writes: [{ lba: 7, data: patternBytes(512 * 9, 41) }],
  });
  writeVmfsSparseDescriptor(path.join(dir, 'vm-000001.vmdk'), {
    capacitySectors: SECTORS,
    deltaFileName: 'vm-000001-delta.vmdk',
    cid: 0x22222222,
    parentCid: 0x11111111,
    parentFileNameHint: 'vm.vmdk',
  });
  buildCowd(path.join(dir, 'vm-000002-delta.vmdk'), {
    capacitySectors: SECTORS,
    writes: [{ lba: 10, data: patternBytes(512 * 2, 42) }, { lba: 16383, data: patternBytes(512, 43) }],
  });
  writeVmfsSparseDescriptor(path.join(dir, 'vm-000002.vmdk'), {
    capacitySectors: SECTORS,
    deltaFileName: 'vm-000002-delta.vmdk',
    cid: 0x33333333,
    parentCid: 0x22222222,
    parentFileNameHint: 'vm-000001.vmdk',
  });

  it('reads the chain byte for byte as qemu does', () => {
    const top = path.join(dir, 'vm-000002.vmdk');
    const chain = openChain(top);
    try {
      expect(chain.links).toHaveLength(3);
      expectSameAsRaw(chain, qemuRaw(top));
    } finally {
      chain.close();
    }
  });
});
