/**
 * Every command on a disk inside a VMFS volume image (`lun.img:/web01/web01.vmdk`), the built CLI
 * as a user runs it: the output is the same as for the same disk as plain host files (paths aside),
 * write commands are refused in one line, and the image's bytes and mtime stay as they were.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskchain } from '../../helpers/cli.js';
import { tmpDir } from '../../helpers/tmp.js';
import { buildDatastore } from '../../helpers/vmfs-datastore.js';

const dir = tmpDir('diskchain-vmfs-sources-');
const ds = buildDatastore(dir);
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const before = { md5: md5(fs.readFileSync(ds.image)), mtimeMs: fs.statSync(ds.image).mtimeMs };
const DISKS = ['/db01/db01.vmdk', '/web01/web01.vmdk', '/web01/web01-000002.vmdk'];

/** The output with the image's and the twin's prefixes made the same. */
const neutral = (text: string): string => text.split(`${ds.image}:`).join('@').split(ds.host).join('@');

function ok(args: string[]): { stdout: Buffer; text: string } {
  const r = diskchain(args);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r;
}

describe('read commands', () => {
  it('info, check and map print what they print for the host copy', () => {
    for (const d of DISKS) {
      // Allocation is the file system's own (1 MiB VMFS blocks, 4 KiB host blocks): all else is the same.
      const shown = (text: string): string => neutral(text).replace(/allocated \S+ \S+/g, 'allocated -');
      expect(shown(ok(['info', ds.inImage(d)]).text)).toBe(shown(ok(['info', ds.onHost(d)]).text));
      expect(neutral(ok(['check', ds.inImage(d)]).text)).toBe(neutral(ok(['check', ds.onHost(d)]).text));
      const map = JSON.parse(ok(['map', '--json', ds.inImage(d)]).text) as Array<{ state: string; file: string | null }>;
      expect(map.length).toBeGreaterThan(0);
      for (const run of map) expect(run.file?.startsWith(`${ds.image}:/`)).toBe(true);
    }
    const info = ok(['info', ds.inImage('/web01/web01-000002.vmdk')]).text;
    expect(info).toContain(`${ds.image}:/web01/web01-000002.vmdk\n  kind        vmfsSparse`);
    expect(info).toContain('chain       3 links, top first:');
    expect(info).toContain('[2] web01.vmdk  vmfs  8.0 MiB');
  });

  it('cat writes the same bytes as cat of the host copy (and the chain reads as built)', () => {
    for (const d of DISKS) expect(md5(ok(['cat', ds.inImage(d)]).stdout)).toBe(md5(ok(['cat', ds.onHost(d)]).stdout));
    expect(md5(ok(['cat', ds.inImage(ds.chainTop)]).stdout)).toBe(md5(ds.chainBytes));
  });

  it('an image with no VMFS, or a path not in the volume, is named in one line', () => {
    const junk = path.join(dir, 'junk.img');
    fs.writeFileSync(junk, Buffer.alloc(4 * 1024 * 1024, 0x41));
    let r = diskchain(['info', `${junk}:/vm/vm.vmdk`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`diskchain: ${junk}: no VMFS volume found (no partition table; no VMFS LVM header at 1 MiB, no FS descriptor at 2 MiB)\n`);
    r = diskchain(['info', ds.inImage('/web01/nothere.vmdk')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^diskchain: .*lun\.img:\/web01\/nothere\.vmdk: no \/web01\/nothere\.vmdk in the volume\n$/);
  });
});

describe('jobs read from the image and write to the host', () => {
  it('convert and export write the disk the host copy gives', () => {
    for (const d of DISKS) {
      const a = path.join(dir, 'conv-image', `${path.basename(d)}`);
      const b = path.join(dir, 'conv-host', `${path.basename(d)}`);
      expect(diskchain(['convert', ds.inImage(d), a, '--to', 'monolithicSparse']).status).toBe(0);
      expect(diskchain(['convert', ds.onHost(d), b, '--to', 'monolithicSparse']).status).toBe(0);
      expect(md5(ok(['cat', a]).stdout)).toBe(md5(ok(['cat', b]).stdout));
    }
    const r = diskchain(['export', ds.inImage(ds.chainTop), path.join(dir, 'exported')]);
    expect(r.status).toBe(0);
    expect(md5(ok(['cat', path.join(dir, 'exported', 'web01.vmdk')]).stdout)).toBe(md5(ds.chainBytes));
  });

  it('backup IMAGE:/dir/x.vmx archives the VM, and restore gives back its disk', () => {
    const arch = path.join(dir, 'arch');
    const r = diskchain(['backup', ds.inImage('/web01/web01.vmx'), arch]);
    expect(r.stderr).toMatch(/^archived web01\.vmx \(1 disk\)/);
    expect(r.status).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(arch, 'manifest.json'), 'utf8'));
    expect(manifest.source).toEqual({ kind: 'vmx', path: ds.inImage('/web01/web01.vmx'), vmName: 'web01' });
    expect(manifest.disks[0].contentSha256).toBe(createHash('sha256').update(ds.chainBytes).digest('hex'));
    const back = path.join(dir, 'restored');
    expect(diskchain(['restore', arch, back]).status).toBe(0);
    expect(md5(ok(['cat', path.join(back, 'web01.vmdk')]).stdout)).toBe(md5(ds.chainBytes));
  });
});

describe('guest commands on a disk inside the image', () => {
  const disk = ds.inImage('/guest01/guest01.vmdk');
  const twin = ds.onHost('/guest01/guest01.vmdk');

  it('parts, ls, find and get read the guest volume as on the host copy', () => {
    expect(neutral(ok(['parts', disk]).text)).toBe(neutral(ok(['parts', twin]).text));
    expect(ok(['ls', `${disk}:1/etc`]).text).toBe(ok(['ls', `${twin}:1/etc`]).text);
    expect(ok(['ls', `${disk}:1/etc`]).text).toContain('hostname');
    expect(ok(['find', `${disk}:1/data`]).text).toBe(ok(['find', `${twin}:1/data`]).text);
    expect(ok(['get', `${disk}:1/etc/hostname`, '-']).text).toBe('guest01\n');
    const out = path.join(dir, 'blob.bin');
    const r = diskchain(['get', `${disk}:1/data/blob.bin`, out]);
    expect([r.status, r.stderr]).toEqual([0, '1 file, 0 folders, 300.0 KiB copied\n']);
    expect(md5(fs.readFileSync(out))).toBe(md5(fs.readFileSync(path.join(dir, 'lun-stage', 'guest-tree', 'data', 'blob.bin'))));
  });
});

describe('diskchain vms', () => {
  it('lists the VMs inside an image as IMAGE:/dir/x.vmx with their disks', () => {
    const text = ok(['vms', ds.image]).text;
    expect(text).toContain(`${ds.image}:/web01/web01.vmx "web01"\n  scsi0:0  web01-000002.vmdk               8.0 MiB  vmfsSparse, 3 links`);
    expect(text).toContain(`${ds.image}:/db01/db01.vmx "db01"\n  scsi0:0  db01.vmdk                       5.0 MiB  vmfs, 1 link`);
    const json = JSON.parse(ok(['vms', '--json', `${ds.image}:/guest01`]).text);
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ vmx: `${ds.image}:/guest01/guest01.vmx`, disks: [{ path: `${ds.image}:/guest01/guest01.vmdk`, opens: true }] });
  });
});

describe('nothing is written into the image', () => {
  it('commit, snapshot, extend, reparent and outputs inside it are refused in one line', () => {
    const top = ds.inImage('/web01/web01-000002.vmdk');
    const refused: Array<[string[], string]> = [
      [['commit', top], top],
      [['snapshot', top], top],
      [['extend', ds.inImage('/db01/db01.vmdk'), '16M'], ds.inImage('/db01/db01.vmdk')],
      [['reparent', top, '--parent', ds.inImage('/web01/web01.vmdk')], top],
      [['convert', ds.onHost('/db01/db01.vmdk'), ds.inImage('/db01/copy.vmdk'), '--to', 'monolithicSparse'], ds.inImage('/db01/copy.vmdk')],
      [['get', `${ds.inImage('/guest01/guest01.vmdk')}:1/etc/hostname`, ds.inImage('/hostname')], ds.inImage('/hostname')],
      [['vmfs', 'get', ds.inImage('/db01'), ds.inImage('/db02')], ds.inImage('/db02')],
    ];
    for (const [args, file] of refused) {
      const r = diskchain(args);
      expect({ args, stderr: r.stderr, status: r.status }).toEqual({ args, stderr: `diskchain: ${file}: read-only: inside a VMFS volume image\n`, status: 1 });
    }
    expect(fs.existsSync(`${ds.image}:`)).toBe(false);
  });

  it("leaves the image's bytes and mtime as they were", () => {
    expect(fs.statSync(ds.image).mtimeMs).toBe(before.mtimeMs);
    expect(md5(fs.readFileSync(ds.image))).toBe(before.md5);
  });
});
