import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiskVolumes } from '../../../main/guest/volumes.js';
import { metadataText, pvHeaderBytes, type VgSpec } from '../../fixtures/lvm-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { blankDisk, fatImage, MiB, mmls, ntfsImage, run, sfdisk, toVmdk, writeAt } from '../../helpers/guest-images.js';
import { qemuImg, qemuWrite } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('diskchain-guest-cli-');

/** A failure is one line `diskchain: <file>: <reason>` with no stack. */
function expectOneLine(args: string[], status: number, line: RegExp): void {
  const r = diskchain(args);
  expect(r.status, r.stderr).toBe(status);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(line);
}

describe('diskchain parts, ls, get, find', () => {
  const raw = blankDisk(path.join(dir, 'web01.img'), 64 * MiB);
  sfdisk(raw, 'dos', ['start=2048, size=40960, type=c', 'start=43008, size=88064, type=5', 'start=45056, size=20480, type=7']);
  writeAt(raw, 2048 * 512, fatImage(dir, 'fat.bin', 20 * MiB, 32, 'BASE', '12345678'));
  const ntfs = ntfsImage(dir, 'ntfs.bin', 10 * MiB, 45056, 'DATA');
  fs.writeFileSync(path.join(dir, 'x.log'), 'an NTFS file\n');
  run('ntfscp', ['-q', '-f', ntfs, path.join(dir, 'x.log'), 'x.log']);
  fs.writeFileSync(path.join(dir, 'zone'), '[ZoneTransfer]\nZoneId=3\n');
  run('ntfscp', ['-q', '-f', '-N', 'Zone.Identifier', ntfs, path.join(dir, 'zone'), 'x.log']);
  writeAt(raw, 45056 * 512, ntfs);
  const disk = toVmdk(raw);
  // A snapshot child whose only change is the FAT volume's label ("CHILD").
  const top = path.join(dir, 'web01-000001.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', path.basename(disk), '-F', 'vmdk', top);
  qemuWrite(top, 2048 * 512 + 0x47, Buffer.from('CHILD      ', 'latin1'));

  it('parts prints each volume with its type, offset, size, file system, label and UUID', () => {
    const r = diskchain(['parts', disk]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.text.trimEnd().split('\n');
    expect(lines[0]).toBe(`${disk}: MBR, 512-byte sectors, 2 volumes`);
    expect(lines[1]).toMatch(/^VOL\s+START\s+SIZE\s+TYPE\s+CONTENT\s+LABEL\s+UUID\s+NAME$/);
    expect(lines[2]).toMatch(/^1\s+1\.0 MiB\s+20\.0 MiB\s+W95 FAT32 \(LBA\) \(0x0c\)\s+fat32\s+BASE\s+1234-5678\s+-$/);
    expect(lines[3]).toMatch(/^5\s+22\.0 MiB\s+10\.0 MiB\s+NTFS\/exFAT\/HPFS \(0x07\)\s+ntfs\s+-\s+[0-9A-F]{16}\s+-$/);
  });

  it('parts --json has the documented shape and agrees with mmls', () => {
    const r = diskchain(['parts', '--json', disk]);
    const parsed = JSON.parse(r.text) as DiskVolumes & { disk: string };
    expect(parsed).toMatchObject({ disk, scheme: 'mbr', sectorSize: 512, notes: [] });
    const oracle = mmls(raw).filter((row) => !/Extended/.test(row.description));
    expect(parsed.volumes.map((v) => [v.start! / 512, v.size / 512])).toEqual(oracle.map((row) => [row.start, row.length]));
    expect(parsed.volumes[0]).toEqual({
      index: 1, scheme: 'mbr', start: MiB, size: 20 * MiB, type: 'W95 FAT32 (LBA) (0x0c)', name: null,
      content: null, fileSystem: 'fat32', label: 'BASE', uuid: '1234-5678', notes: [],
    });
  });

  it('--at N reads the guest as it was at link N of the chain', () => {
    expect(diskchain(['parts', '--json', top]).text).toContain('"label": "CHILD"');
    expect(diskchain(['parts', '--json', '--at', '0', top]).text).toContain('"label": "CHILD"');
    expect(diskchain(['parts', '--json', '--at', '1', top]).text).toContain('"label": "BASE"');
    expectOneLine(['parts', '--at', '2', top], 2, /^diskchain: --at 2: .*web01-000001\.vmdk has 2 links \(0 is the disk named, 1 its base\)$/);
  });

  it('ls, get and find read the NTFS logical volume in the extended partition', () => {
    expect(diskchain(['ls', `${disk}:5/`]).text.split('\n')).toContain('x.log');
    expect(diskchain(['get', `${disk}:5/x.log`, '-']).text).toBe('an NTFS file\n');
    expect(diskchain(['find', `${disk}:5`, '*.log']).text.trim()).toBe('/x.log');
    expectOneLine(['get', `${disk}:5/nothere.txt`, dir], 1, /nothere\.txt: no such file or folder$/);
  });

  it('get --stream copies a named stream (NTFS ADS) to stdout or beside the file as NAME:STREAM', () => {
    expect(diskchain(['ls', '-l', `${disk}:5/x.log`]).text).toContain('[+1 stream]');
    expect(diskchain(['get', '--stream', 'Zone.Identifier', `${disk}:5/x.log`, '-']).text).toBe('[ZoneTransfer]\nZoneId=3\n');
    const out = path.join(dir, 'streams-out');
    fs.mkdirSync(out);
    expect(diskchain(['get', '--stream', 'Zone.Identifier', `${disk}:5/x.log`, out]).status).toBe(0);
    expect(fs.readFileSync(path.join(out, 'x.log:Zone.Identifier'), 'utf8')).toBe('[ZoneTransfer]\nZoneId=3\n');
    expectOneLine(['get', '--stream', 'nope', `${disk}:5/x.log`, '-'], 1, /x\.log has no stream "nope" \(streams: Zone\.Identifier\)$/);
  });

  it('ls without a volume on a disk with two file systems asks for one, listing them', () => {
    expectOneLine(['ls', `${disk}/etc`], 2, /has 2 volumes with a file system: name one as DISK:VOL \(1, 5\)$/);
    expectOneLine(['ls', `${disk}:9/`], 1, /no volume "9" \(volumes: 1, 5\)$/);
    expectOneLine(['ls', path.join(dir, 'nothere.vmdk:1/x')], 1, /nothere\.vmdk:1\/x: no such disk file/);
  });

  it('parts of an unpartitioned blank disk says so and exits 0', () => {
    const blank = path.join(dir, 'blank.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', blank, '16M');
    const r = diskchain(['parts', blank]);
    expect(r.status).toBe(0);
    expect(r.text).toBe(`${blank}: no partition table, 512-byte sectors, 0 volumes\n  note: no partition table and no file system found\n`);
  });

  it('parts of a damaged GPT is a one-line error naming both copies', () => {
    const bad = blankDisk(path.join(dir, 'bad-gpt.img'), 8 * MiB);
    run('sgdisk', ['-n', '1:2048:0', bad]);
    writeAt(bad, 512 + 16, Buffer.from([9, 9, 9, 9]));
    writeAt(bad, 8 * MiB - 512, Buffer.alloc(8));
    expectOneLine(['parts', bad], 1, /^diskchain: .*bad-gpt\.img: GPT: primary header at LBA 1: header CRC is wrong; backup at LBA 16383: no "EFI PART" signature$/);
  });

  it('parts of a 2 TiB sparse disk answers at once', () => {
    const big = blankDisk(path.join(dir, 'big.img'), 2 * 1024 * 1024 * MiB);
    run('sgdisk', ['-n', '1:2048:+100G', '-n', '2:0:0', '-c', '2:data', big]);
    const t0 = Date.now();
    const r = diskchain(['parts', '--json', big]);
    const ms = Date.now() - t0;
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.text) as DiskVolumes).volumes.map((v) => v.name)).toEqual(['', 'data']);
    // Node's start-up included; the reading itself is a few sectors (partitions.test.ts times it alone).
    expect(ms).toBeLessThan(3000);
    fs.rmSync(big);
  });
});

describe('diskchain parts and ls on LVM', () => {
  const EXTENT = 4 * MiB;
  const spec: VgSpec = {
    name: 'vg0',
    uuid: 'VGuuid0123456789abcdefghijklmnop',
    seqno: 2,
    extentSectors: EXTENT / 512,
    peStartSectors: 2048,
    pvs: [{ uuid: 'PV0uuid0123456789abcdefghijklmno', size: 40 * MiB }],
    lvs: [
      { name: 'root', segments: [{ extents: 2, stripes: [[0, 0]] }] },
      { name: 'thin1', segments: [{ extents: 1, stripes: [], type: 'thin', extra: 'thin_pool = "pool"' }] },
    ],
  };
  const raw = blankDisk(path.join(dir, 'lvm.img'), 48 * MiB);
  sfdisk(raw, 'dos', ['start=2048, size=81920, type=8e']);
  writeAt(raw, MiB, pvHeaderBytes(spec, 0, metadataText(spec)));
  const lvFat = fatImage(dir, 'lv.fat', 2 * EXTENT, 12, 'LVROOT', '0000abcd');
  const hosts = path.join(dir, 'hosts');
  fs.writeFileSync(hosts, '127.0.0.1 localhost\n');
  run('mmd', ['-i', lvFat, '::/etc'], undefined, { MTOOLS_SKIP_CHECK: '1' });
  run('mcopy', ['-i', lvFat, hosts, '::/etc/hosts'], undefined, { MTOOLS_SKIP_CHECK: '1' });
  writeAt(raw, 2 * MiB, lvFat);
  const disk = toVmdk(raw);

  it('parts lists the PV partition and its LVs, with the file system inside root', () => {
    const r = diskchain(['parts', disk]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text).toMatch(/^1\s+1\.0 MiB\s+40\.0 MiB\s+Linux LVM \(0x8e\)\s+LVM2 PV \(VG vg0\)\s+-\s+PV0uui-d012-3456-789a-bcde-fghi-jklmno\s+-$/m);
    expect(r.text).toMatch(/^vg0\/root\s+-\s+8\.0 MiB\s+LVM linear\s+fat12\s+LVROOT\s+0000-ABCD\s+root$/m);
    expect(r.text).toMatch(/^vg0\/thin1\s+-\s+4\.0 MiB\s+LVM thin\s+-\s+-\s+-\s+thin1\n\s+note: thin1 is a thin LV: thin LVs \(their blocks are mapped by the thin pool\) are not read yet$/m);
  });

  it('ls takes an LV by name, as vg/lv (with the path after it) or vg-lv', () => {
    for (const target of [`${disk}:root/etc`, `${disk}:vg0/root/etc`, `${disk}:vg0-root/etc`, `${disk}/etc`]) {
      const r = diskchain(['ls', target]);
      expect(r.status, `${target}: ${r.stderr}`).toBe(0);
      expect(r.text.trim(), target).toBe('hosts');
    }
    expectOneLine(['ls', `${disk}:thin1/`], 1, /: thin1 is a thin LV: thin LVs \(their blocks are mapped by the thin pool\) are not read yet$/);
    expectOneLine(['ls', `${disk}:vg0/nothere/x`], 1, /: no volume "vg0" \(volumes: 1, vg0\/root, vg0\/thin1\)$/);
  });
});
