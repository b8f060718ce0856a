import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { defaultGeometry, geometryReport } from '../../../main/disk/geometry.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('geometry', () => {
  const dir = tmpDir();

  it('defaults follow the adapter: IDE 16/63 capped at 16383 cylinders, SCSI 255/63', () => {
    expect(defaultGeometry(20971520, 'ide')).toEqual({ cylinders: 16383, heads: 16, sectors: 63 });
    expect(defaultGeometry(2097152, 'ide')).toEqual({ cylinders: 2080, heads: 16, sectors: 63 });
    expect(defaultGeometry(20971520, 'lsilogic')).toEqual({ cylinders: 1305, heads: 255, sectors: 63 });
    expect(defaultGeometry(20971520, 'legacyESX')).toEqual({ cylinders: 1305, heads: 255, sectors: 63 });
  });

  it('treats a bare ESX 2 .dsk as a SCSI disk with the default geometry', () => {
    const dsk = path.join(dir, 'a.dsk');
    fs.writeFileSync(dsk, '');
    fs.truncateSync(dsk, 1024 * 1024 * 1024);
    const chain = openChain(dsk);
    const r = geometryReport(chain);
    chain.close();
    expect(r).toMatchObject({ source: 'default', adapterType: 'legacyESX', mismatch: false });
    expect(r.geometry).toEqual({ cylinders: 130, heads: 255, sectors: 63 });
  });

  it('reads what qemu-img wrote for an IDE disk, BIOS geometry included', () => {
    const disk = path.join(dir, 'ide.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'adapter_type=ide', disk, '1G');
    const chain = openChain(disk);
    const r = geometryReport(chain);
    chain.close();
    expect(r).toMatchObject({ source: 'descriptor', adapterType: 'ide', mismatch: false });
    expect(r.geometry).toEqual({ cylinders: 2080, heads: 16, sectors: 63 });
  });

  it('flags a descriptor geometry that does not fit its capacity or adapter', () => {
    const disk = writeVmfsDisk(dir, 'bad', 1024 * 1024 * 1024, Buffer.alloc(0), { adapter: 'ide', geometry: [9999, 255, 63] });
    const chain = openChain(disk);
    const r = geometryReport(chain);
    chain.close();
    expect(r.mismatch).toBe(true);
    expect(r.reasons.length).toBeGreaterThan(0);
  });
});
