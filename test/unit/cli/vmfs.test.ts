/**
 * `diskchain vmfs info|ls|get` end to end on volumes from the test builder: the built CLI, as a user
 * runs it. A VM folder copied out is compared byte for byte with what was put in, and its snapshot
 * chain opened from the copy.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { buildVmfs, everyLayoutFiles, snapshotChainFiles, type VmfsFileSpec } from '../../fixtures/vmfs-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const dir = tmpDir('diskchain-vmfs-cli-');
const vm = snapshotChainFiles(path.join(dir, 'stage'));
const files: VmfsFileSpec[] = [...everyLayoutFiles(5).filter((f) => f.layout !== 'double'), ...vm.files, { path: '/loop', kind: 'dir', layout: 'direct' }, { path: '/loop/child.txt', content: Buffer.from('child\n') }];
const built = buildVmfs(dir, 'ds', { version: 5, label: 'ds-every', partition: 'gpt', files, heldHeartbeats: 1 });
const image = built.images[0]!;

describe('diskchain vmfs info', () => {
  it('prints the volume like vmkfstools -P, and the same as JSON', () => {
    const r = diskchain(['vmfs', 'info', image]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.text).toMatch(/^VMFS-5\.81, raw major version 14, LVM 5\.16\n/);
    expect(r.text).toContain('label        ds-every');
    expect(r.text).toContain(`UUID         ${built.uuid}`);
    expect(r.text).toContain('block size   1.0 MiB, sub-block 8.0 KiB');
    expect(r.text).toMatch(/extents +.*ds\.img partition 1: PEs 0–0 \(256\.0 MiB\), device 5f1e2d3a-00000000-9abc-001122334455, DISKCHN Virtual LUN naa\./);
    expect(r.text).toContain('heartbeats   slot 0: host 6a6b6c6d-00000000-4242-00505600abcd');
    expect(r.text).toContain('a host had the volume mounted when this copy was taken');
    const j = JSON.parse(diskchain(['vmfs', 'info', image, '--json']).text);
    expect(j).toMatchObject({ version: 'VMFS-5.81', label: 'ds-every', blockSize: MiB, subBlockSize: 8192, experimental: false });
    expect(j.freeBlocks).toBeGreaterThan(0);
  });

  it('refuses a file that holds no VMFS in one line, exit 1', () => {
    const junk = path.join(dir, 'junk.img');
    fs.writeFileSync(junk, Buffer.alloc(4 * MiB, 0x41));
    const r = diskchain(['vmfs', 'info', junk]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`diskchain: ${junk}: no VMFS volume found (no partition table; no VMFS LVM header at 1 MiB, no FS descriptor at 2 MiB)\n`);
  });

  it('refuses VMFS-2 with the reason', () => {
    const old = buildVmfs(dir, 'old', { version: 5, rawMajor: 2, files: [] });
    const r = diskchain(['vmfs', 'info', old.images[0]!]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^diskchain: .*old\.img: a VMFS-2 volume \(ESX 2\.x, raw major version 2\): its layout was never published, Diskchain reads VMFS-3, 5 and 6\n$/);
  });
});

describe('diskchain vmfs ls', () => {
  it('lists a folder with -l: type and mode, size, allocated bytes, time; RDMs with their device, symlinks with their target', () => {
    const r = diskchain(['vmfs', 'ls', '-l', `${image}:/files`]);
    expect(r.stderr).toBe('');
    const lines = r.text.trim().split('\n');
    const line = (name: string): string => lines.find((l) => l.endsWith(`  ${name}`) || l.includes(`  ${name} `))!;
    expect(line('thin.bin')).toMatch(/^-rw------- {3}1 {2}0 0 +6291456 +3\.0 MiB {2}2023-11-14 22:13:20 {2}thin\.bin$/);
    expect(line('rdm.vmdk')).toMatch(/^rrw------- .* 42949672960 +0 B .* rdm\.vmdk {2}\[RDM naa\.600a098038303053453f463045727a61, NETAPP LUN C-Mode, LUN 7\]$/);
    expect(line('link-to-resident')).toMatch(/^lrwxrwxrwx .*link-to-resident -> \/vmfs\/volumes\/ds-every\/resident\.txt$/);
    expect(line('empty-folder')).toMatch(/^d/);
  });

  it('lists the whole volume with -R, folder by folder', () => {
    const r = diskchain(['vmfs', 'ls', '-R', `${image}:/web01`]);
    expect(r.status).toBe(0);
    expect(r.text).toBe(['/web01:', ...vm.files.map((f) => path.posix.basename(f.path)), ''].join('\n'));
  });

  it('prints JSON entries with paths and allocated bytes', () => {
    const j = JSON.parse(diskchain(['vmfs', 'ls', '--json', `${image}:/web01`]).text) as Array<{ path: string; size: number; allocated: number; type: string }>;
    const flat = j.find((e) => e.path === '/web01/web01-flat.vmdk')!;
    expect(flat).toMatchObject({ type: 'file', size: 8 * MiB, allocated: 4 * MiB });
  });

  it('goes on past a directory loop, says so on stderr and exits 1', () => {
    // /loop/child.txt's entry made to point at /loop itself.
    const entry = Buffer.alloc(8);
    entry.writeUInt32LE(2, 0);
    entry.writeUInt32LE(built.fds.get('/loop')!.address, 4);
    built.poke(built.dataAt.get('/loop')! + 2 * 0x8c, entry);
    const r = diskchain(['vmfs', 'ls', '-R', `${image}:/loop`]);
    expect(r.status).toBe(1);
    expect(r.text).toBe('/loop:\nchild.txt\n');
    expect(r.stderr).toMatch(/^diskchain: .*: \/loop\/child\.txt: the folder contains itself \(a directory loop at FD <0x[0-9a-f]+>\): not followed\n$/);
  });

  it('names a path that is not in the volume', () => {
    const r = diskchain(['vmfs', 'ls', `${image}:/nope/x`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`diskchain: ${image}: no /nope in the volume\n`);
  });
});

describe('diskchain vmfs get', () => {
  it('copies a VM folder out byte for byte, thin files sparse; the copied chain reads as the guest saw it', () => {
    const dest = path.join(dir, 'out');
    fs.mkdirSync(dest);
    const r = diskchain(['vmfs', 'get', `${image}:/web01`, dest]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('7 files, 1 folder, 8.1 MiB copied (4.1 MiB of data)\n');
    for (const f of vm.files) {
      const copy = fs.readFileSync(path.join(dest, f.path));
      const want = Buffer.alloc(Math.max(f.content!.length, f.size ?? 0));
      f.content!.copy(want);
      expect(md5(copy), f.path).toBe(md5(want));
    }
    const flat = fs.statSync(path.join(dest, 'web01', 'web01-flat.vmdk'));
    expect(flat.blocks * 512).toBeLessThanOrEqual(4 * MiB + 64 * 1024);
    expect(flat.mtimeMs).toBe(1_700_000_000_000);
    const chain = openChain(path.join(dest, 'web01', 'web01-000002.vmdk'));
    try {
      const out = Buffer.alloc(chain.capacityBytes);
      chain.read(out, 0);
      expect(md5(out)).toBe(md5(vm.expected));
    } finally {
      chain.close();
    }
  });

  it('streams one file to stdout with -', () => {
    const r = diskchain(['vmfs', 'get', `${image}:/web01/web01-flat.vmdk`, '-']);
    expect(r.status).toBe(0);
    const want = Buffer.alloc(8 * MiB);
    vm.files.find((f) => f.path.endsWith('-flat.vmdk'))!.content!.copy(want);
    expect(md5(r.stdout)).toBe(md5(want));
    expect(diskchain(['vmfs', 'get', `${image}:/web01`, '-']).stderr).toMatch(/\/web01 is a folder: only a file can go to stdout/);
  });

  it('copies one file under a new name; an RDM is skipped with its device named', () => {
    const r = diskchain(['vmfs', 'get', `${image}:/files/pointer.bin`, path.join(dir, 'p.bin')]);
    expect(r.status).toBe(0);
    const spec = files.find((f) => f.path === '/files/pointer.bin')!;
    const want = Buffer.from(spec.content!);
    want.fill(0, MiB, 2 * MiB);
    expect(md5(fs.readFileSync(path.join(dir, 'p.bin')))).toBe(md5(want));
    const rdm = diskchain(['vmfs', 'get', `${image}:/files/rdm.vmdk`, path.join(dir, 'rdm.vmdk')]);
    expect(rdm.stderr).toContain('diskchain: /files/rdm.vmdk: skipped: raw device mapping: its data is on LUN naa.600a098038303053453f463045727a61, not in this volume');
    expect(fs.existsSync(path.join(dir, 'rdm.vmdk'))).toBe(false);
  });
});
