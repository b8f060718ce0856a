/**
 * Backups of ESX VMs: an ESX 3+ vmfs disk with vmfsSparse snapshots and an ESX 2 raw disk with
 * REDO logs, archived with --keep-chain and restored as the same kind of links.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiskInfo } from '../../../shared/types.js';
import { buildCowd, buildEsx2Chain, writeVmfsFlatDescriptor, writeVmfsSparseDescriptor } from '../../fixtures/cowd-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const SECTORS = (16 * MiB) / 512;

function ok(r: { status: number | null; stderr: string }): void {
  expect(r.status === 0 ? '' : r.stderr).toBe('');
}

function info(disk: string): DiskInfo {
  const r = diskchain(['info', '--json', disk]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.text) as DiskInfo;
}

const catSha256 = (disk: string): string => crypto.createHash('sha256').update(diskchain(['cat', disk]).stdout).digest('hex');

describe('an ESX 3+ VM: vmfs base ← vmfsSparse ← vmfsSparse', () => {
  const root = tmpDir();
  const dir = path.join(root, 'vm');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'vm-flat.vmdk'), patternBytes(16 * MiB, 40));
  writeVmfsFlatDescriptor(path.join(dir, 'vm.vmdk'), { capacitySectors: SECTORS, flatFileName: 'vm-flat.vmdk', cid: 0x11111111 });
  buildCowd(path.join(dir, 'vm-000001-delta.vmdk'), { capacitySectors: SECTORS, writes: [{ lba: 7, data: patternBytes(512 * 9, 41) }] });
  writeVmfsSparseDescriptor(path.join(dir, 'vm-000001.vmdk'), {
    capacitySectors: SECTORS,
    deltaFileName: 'vm-000001-delta.vmdk',
    cid: 0x22222222,
    parentCid: 0x11111111,
    parentFileNameHint: 'vm.vmdk',
  });
  buildCowd(path.join(dir, 'vm-000002-delta.vmdk'), {
    capacitySectors: SECTORS,
    writes: [
      { lba: 10, data: patternBytes(512 * 2, 42) },
      { lba: SECTORS - 1, data: patternBytes(512, 43) },
      { lba: 20000, data: Buffer.alloc(4096) },
    ],
  });
  writeVmfsSparseDescriptor(path.join(dir, 'vm-000002.vmdk'), {
    capacitySectors: SECTORS,
    deltaFileName: 'vm-000002-delta.vmdk',
    cid: 0x33333333,
    parentCid: 0x22222222,
    parentFileNameHint: 'vm-000001.vmdk',
  });
  const vmx = path.join(dir, 'vm.vmx');
  fs.writeFileSync(vmx, 'displayName = "esx vm"\nscsi0.present = "TRUE"\nscsi0:0.fileName = "vm-000002.vmdk"\n');
  const top = path.join(dir, 'vm-000002.vmdk');
  const archive = path.join(root, 'archive');

  it('restores each snapshot as a vmfsSparse delta on a vmfs base, reading as the source did', () => {
    ok(diskchain(['backup', '--keep-chain', vmx, archive]));
    const dest = path.join(root, 'restored');
    ok(diskchain(['restore', archive, dest]));
    expect(fs.readdirSync(dest).sort()).toEqual(
      ['vm-000001-delta.vmdk', 'vm-000001.vmdk', 'vm-000002-delta.vmdk', 'vm-000002.vmdk', 'vm-flat.vmdk', 'vm.vmdk', 'vm.vmx'].sort(),
    );
    const restored = info(path.join(dest, 'vm-000002.vmdk'));
    expect(restored.layers.map((l) => [path.basename(l.path), l.createType])).toEqual([
      ['vm-000002.vmdk', 'vmfsSparse'],
      ['vm-000001.vmdk', 'vmfsSparse'],
      ['vm.vmdk', 'vmfs'],
    ]);
    expect(restored.problems).toEqual([]);
    for (const name of ['vm-000002.vmdk', 'vm-000001.vmdk', 'vm.vmdk']) {
      qemuImg('compare', '-q', path.join(dir, name), path.join(dest, name));
    }
    expect(diskchain(['check', path.join(dest, 'vm-000002.vmdk')]).status).toBe(0);
    expect(fs.readFileSync(path.join(dest, 'vm.vmx'), 'utf8')).toContain('scsi0:0.fileName = "vm-000002.vmdk"');
  });

  it('restores the same archive --to monolithicSparse as a hosted chain', () => {
    const dest = path.join(root, 'hosted');
    ok(diskchain(['restore', '--to', 'monolithicSparse', archive, dest]));
    expect(info(path.join(dest, 'vm-000002.vmdk')).layers.map((l) => l.createType)).toEqual(['monolithicSparse', 'monolithicSparse', 'monolithicSparse']);
    qemuImg('compare', '-q', top, path.join(dest, 'vm-000002.vmdk'));
  });

  it('flattened, restores as one vmfs disk', () => {
    const flat = path.join(root, 'flat-archive');
    ok(diskchain(['backup', vmx, flat]));
    const dest = path.join(root, 'flat');
    ok(diskchain(['restore', flat, dest]));
    expect(fs.readdirSync(dest).sort()).toEqual(['vm-flat.vmdk', 'vm.vmdk', 'vm.vmx']);
    expect(info(path.join(dest, 'vm.vmdk')).layers.map((l) => l.createType)).toEqual(['vmfs']);
    qemuImg('compare', '-q', top, path.join(dest, 'vm.vmdk'));
  });
});

describe('an ESX 2 disk: a.dsk ← a.dsk.REDO ← a.dsk.REDO.REDO', () => {
  const root = tmpDir();
  const dir = path.join(root, 'vm');
  fs.mkdirSync(dir);
  const { top } = buildEsx2Chain(dir, 16 * MiB);

  it('--keep-chain gives back the raw disk and both REDO logs, each reading as before', () => {
    const archive = path.join(root, 'archive');
    ok(diskchain(['backup', '--keep-chain', top, archive]));
    const manifest = JSON.parse(fs.readFileSync(path.join(archive, 'manifest.json'), 'utf8')) as { disks: Array<{ links: Array<{ kind: string; descriptor: string }> }> };
    expect(manifest.disks[0]!.links.map((l) => [l.kind, l.descriptor])).toEqual([
      ['cowd', 'a-REDO-REDO.vmdk'],
      ['cowd', 'a-REDO.vmdk'],
      ['raw', 'a.vmdk'],
    ]);
    const dest = path.join(root, 'restored');
    ok(diskchain(['restore', archive, dest]));
    expect(fs.readdirSync(dest).sort()).toEqual(['a.dsk', 'a.dsk.REDO', 'a.dsk.REDO.REDO']);
    const restored = info(path.join(dest, 'a.dsk.REDO.REDO'));
    expect(restored.layers.map((l) => [path.basename(l.path), l.createType])).toEqual([
      ['a.dsk.REDO.REDO', 'cowd'],
      ['a.dsk.REDO', 'cowd'],
      ['a.dsk', 'raw'],
    ]);
    for (const name of ['a.dsk.REDO.REDO', 'a.dsk.REDO', 'a.dsk']) {
      expect(catSha256(path.join(dest, name)), name).toBe(catSha256(path.join(dir, name)));
    }
    expect(diskchain(['check', path.join(dest, 'a.dsk.REDO.REDO')]).status).toBe(0);
    expect(execFileSync('cmp', [path.join(dir, 'a.dsk'), path.join(dest, 'a.dsk')]).length).toBe(0);
  });
});
