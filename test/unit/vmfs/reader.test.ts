import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { openVmfsImages, type OpenedImages } from '../../../main/vmfs/images.js';
import { vmfsFileSource } from '../../../main/vmfs/file-source.js';
import { vmfsInfo } from '../../../main/vmfs/open.js';
import type { VmfsVolume } from '../../../main/vmfs/volume.js';
import { buildVmfs, everyLayoutFiles, expectedBytes, snapshotChainFiles, type BuiltVmfs, type VmfsFileSpec } from '../../fixtures/vmfs-builder.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function readAll(volume: VmfsVolume, p: string): Buffer {
  const e = volume.lookup(p);
  const fd = volume.readFd(e.address);
  const out = Buffer.alloc(e.size);
  expect(volume.readFile(fd, out, 0)).toBe(e.size);
  return out;
}

function unitOf(f: VmfsFileSpec, built: BuiltVmfs): number {
  return f.layout === 'subblock' ? built.subBlockSize : f.layout === 'lfb' ? 512 * MiB : built.fileBlockSize;
}

function debugvmfs(images: string[], ...args: string[]): Buffer {
  return execFileSync('debugvmfs', [...images, ...args], { maxBuffer: 64 * MiB, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe.each([3, 5, 6] as const)('VMFS-%i volume from the builder', (version) => {
  const dir = tmpDir('vmfs-');
  const files = everyLayoutFiles(version);
  const built = buildVmfs(dir, `every${version}`, { version, label: 'ds-every', files, heldHeartbeats: 2 });
  let opened: OpenedImages;
  const volume = (): VmfsVolume => (opened ??= openVmfsImages(built.images)).volume;

  it('reads every address type byte for byte (resident, sub-block, FB with holes and lazy-zeroed blocks, PB, PB2, double indirect, LFB)', () => {
    const v = volume();
    for (const f of files.filter((x) => (x.kind ?? 'file') === 'file' && x.layout !== 'double')) {
      const got = readAll(v, f.path);
      const want = expectedBytes(f, unitOf(f, built));
      expect(md5(got), f.path).toBe(md5(want));
    }
  });

  it('reads a double-indirect file past the single-indirect reach, with its holes as zeros', () => {
    const v = volume();
    const f = files.find((x) => x.layout === 'double')!;
    const e = v.lookup(f.path);
    expect(e.size).toBe(f.size);
    const fd = v.readFd(e.address);
    const head = Buffer.alloc(f.content!.length);
    v.readFile(fd, head, 0);
    expect(head.equals(f.content!)).toBe(true);
    const far = f.sparseData![0]!;
    const tail = Buffer.alloc(far.data.length + 4096);
    v.readFile(fd, tail, far.offset - 4096);
    expect(tail.subarray(0, 4096).equals(Buffer.alloc(4096))).toBe(true);
    expect(tail.subarray(4096).equals(far.data)).toBe(true);
    // Only the blocks with data are data: a copy stays sparse.
    expect(v.dataRegions(fd, 0, e.size)).toEqual([
      { start: 0, end: 2 * MiB },
      { start: far.offset, end: far.offset + MiB },
    ]);
    expect(v.allocatedBytes(fd)).toBe(3 * MiB);
  });

  it('tells thin files by their holes and lazy-zeroed blocks as zero regions', () => {
    const v = volume();
    const thin = v.readFd(v.lookup('/files/thin.bin').address);
    expect(v.dataRegions(thin, 0, thin.length)).toEqual([
      { start: 0, end: MiB },
      { start: 3 * MiB, end: 4 * MiB },
      { start: 5 * MiB, end: 6 * MiB },
    ]);
    expect(v.allocatedBytes(thin)).toBe(3 * MiB);
    const lazy = v.readFd(v.lookup('/files/lazy-zeroed.bin').address);
    expect(v.allocatedBytes(lazy)).toBe(3 * MiB);
    expect(v.dataRegions(lazy, 0, lazy.length)).toEqual([{ start: MiB, end: 2 * MiB }]);
  });

  it('lists folders with types, sizes, times; RDMs with their device; symlinks with their target', () => {
    const v = volume();
    const names = v.list(v.root()).map((e) => e.name);
    expect(names).toEqual(['.fbb.sf', '.fdc.sf', '.pbc.sf', '.sbc.sf', '.vh.sf', '.pb2.sf', 'resident.txt', 'files']);
    const inFiles = new Map(v.list(v.lookup('/files')).map((e) => [e.name, e]));
    expect(inFiles.get('rdm.vmdk')).toMatchObject({ type: 'rdm', size: 40 * 1024 * MiB, rdm: { lun: 7, vendor: 'NETAPP', id: 'naa.600a098038303053453f463045727a61' } });
    expect(inFiles.get('link-to-resident')).toMatchObject({ type: 'symlink', linkTarget: '/vmfs/volumes/ds-every/resident.txt' });
    expect(inFiles.get('empty-folder')).toMatchObject({ type: 'dir' });
    expect(inFiles.get('direct.bin')).toMatchObject({ type: 'file', size: 3 * MiB + 123, mtimeMs: 1_700_000_000_000 });
    expect(v.list(v.lookup('/files/empty-folder'))).toEqual([]);
    expect(v.lookup('/files/link-to-resident', true).name).toBe('resident.txt');
  });

  it('reports the volume like vmkfstools -P, with the hosts that held heartbeats', () => {
    const info = vmfsInfo(opened);
    expect(info).toMatchObject({ family: version, label: 'ds-every', uuid: built.uuid, blockSize: MiB, subBlockSize: built.subBlockSize, experimental: version === 6 });
    expect(info.version).toBe({ 3: 'VMFS-3.31', 5: 'VMFS-5.81', 6: 'VMFS-6.82' }[version]);
    expect(info.heartbeats.map((h) => h.hostUuid)).toEqual(['6a6b6c6d-00000000-4242-00505600abcd', '6a6b6c6d-00000001-4242-00505600abcd']);
    expect(info.extents).toHaveLength(1);
    expect(info.extents[0]!.scsi.vendor).toBe('DISKCHN');
    expect(info.freeBlocks).toBeGreaterThan(0);
    expect(info.freeBlocks!).toBeLessThan(info.fileBlocks);
  });

  if (version !== 6) {
    it('agrees with debugvmfs (vmfs-tools) on listings, file bytes and free space', () => {
      const v = volume();
      const ours = v.list(v.lookup('/files')).map((e) => `${e.name} ${e.size}`);
      const theirs = debugvmfs(built.images, 'ls', '-l', '/files')
        .toString()
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((cols) => cols.at(-1) !== '.' && cols.at(-1) !== '..')
        // vmfs-tools prints "name -> target" for links: the name is the column before the arrow.
        .map((cols) => (cols.includes('->') ? `${cols[cols.indexOf('->') - 1]} ${cols[4]}` : `${cols.at(-1)} ${cols[4]}`));
      expect(theirs.sort()).toEqual(ours.sort());
      // vmfs-tools reads ZLA 4304 as single indirect (vmfs.md §6 pitfall 1), knows no PB2 and stops at a sub-block hole: those are ours alone.
      const theirsToo = (x: VmfsFileSpec): boolean => x.layout !== 'double' && x.layout !== 'pointer2' && !(x.layout === 'subblock' && x.holes?.length);
      for (const f of files.filter((x) => (x.kind ?? 'file') === 'file' && theirsToo(x))) {
        expect(md5(debugvmfs(built.images, 'cat', f.path)), f.path).toBe(md5(readAll(v, f.path)));
      }
      const df = debugvmfs(built.images, 'df').toString();
      expect(Number(/Free blocks\s*:\s*(\d+)/.exec(df)![1])).toBe(vmfsInfo(opened).freeBlocks);
    });
  }
});

describe('finding the volume', () => {
  const dir = tmpDir('vmfs-find-');
  const files: VmfsFileSpec[] = [{ path: '/a.txt', content: Buffer.from('found me\n') }];

  it.each(['gpt', 'mbr'] as const)('on a whole LUN with a %s partition table', (partition) => {
    const built = buildVmfs(dir, `lun-${partition}`, { version: 5, partition, files });
    const o = openVmfsImages(built.images);
    try {
      expect(readAll(o.volume, '/a.txt').toString()).toBe('found me\n');
    } finally {
      o.close();
    }
    if (partition === 'mbr') expect(debugvmfs(built.images, 'cat', '/a.txt').toString()).toBe('found me\n');
  });

  it('VMFS-6 on a GPT LUN, spanned over two images (LVM6: volume table at mdAlignment)', () => {
    const big = Buffer.alloc(4 * MiB);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i ^ 0x5a5a, i);
    const built = buildVmfs(dir, 'v6span', { version: 6, partition: 'gpt', spanAtPE: 1, pes: 2, firstDataBlock: 254, files: [...files, { path: '/across.bin', content: big, layout: 'direct' }] });
    const o = openVmfsImages([built.images[1]!, built.images[0]!]);
    try {
      expect(readAll(o.volume, '/a.txt').toString()).toBe('found me\n');
      expect(readAll(o.volume, '/across.bin').equals(big)).toBe(true);
      expect(vmfsInfo(o)).toMatchObject({ family: 6, lvmVersion: '6.82', experimental: true });
    } finally {
      o.close();
    }
  });

  it('on a bare volume (no LVM header, the FS descriptor at 2 MiB)', () => {
    const built = buildVmfs(dir, 'bare', { version: 6, lvm: false, files });
    const o = openVmfsImages(built.images);
    try {
      expect(readAll(o.volume, '/a.txt').toString()).toBe('found me\n');
      expect(vmfsInfo(o).lvmVersion).toBeNull();
    } finally {
      o.close();
    }
  });

  it('inside a VMDK (a nested datastore) through the chain', () => {
    const built = buildVmfs(dir, 'nested', { version: 5, files });
    const vmdk = path.join(dir, 'nested.vmdk');
    fs.renameSync(built.images[0]!, path.join(dir, 'nested-flat.vmdk'));
    const sectors = fs.statSync(path.join(dir, 'nested-flat.vmdk')).size / 512;
    fs.writeFileSync(vmdk, `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="vmfs"\n\nRW ${sectors} VMFS "nested-flat.vmdk"\n\nddb.adapterType = "lsilogic"\n`);
    const o = openVmfsImages([vmdk]);
    try {
      expect(readAll(o.volume, '/a.txt').toString()).toBe('found me\n');
    } finally {
      o.close();
    }
  });

  it('a raw LUN copy named like an extent (lun-flat.vmdk) is read raw', () => {
    const built = buildVmfs(dir, 'lunflat', { version: 5, files });
    const named = path.join(dir, 'lun-flat.vmdk');
    fs.renameSync(built.images[0]!, named);
    const o = openVmfsImages([named]);
    try {
      expect(readAll(o.volume, '/a.txt').toString()).toBe('found me\n');
    } finally {
      o.close();
    }
  });

  it('a spanned volume from its two images in any order; a read across the extent boundary; a missing extent named', () => {
    const big = Buffer.alloc(6 * MiB);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    const built = buildVmfs(dir, 'span', { version: 5, spanAtPE: 1, pes: 2, firstDataBlock: 253, files: [...files, { path: '/across.bin', content: big, layout: 'direct' }] });
    expect(built.images).toHaveLength(2);
    const o = openVmfsImages([...built.images].reverse());
    try {
      expect(readAll(o.volume, '/across.bin').equals(big)).toBe(true);
      const info = vmfsInfo(o);
      expect(info.extents.map((e) => [e.firstPE, e.lastPE])).toEqual([[0, 0], [1, 1]]);
    } finally {
      o.close();
    }
    expect(md5(debugvmfs(built.images, 'cat', '/across.bin'))).toBe(md5(big));
    const alone = openVmfsImages([built.images[0]!]);
    try {
      expect(vmfsInfo(alone).missing).toEqual(['the extent holding PEs 1–1 (bytes 268435456–536870911 of the volume)']);
      expect(() => readAll(alone.volume, '/across.bin')).toThrow(/missing extent .*PEs 1–1.*give every extent's image/);
    } finally {
      alone.close();
    }
    expect(() => openVmfsImages([built.images[1]!])).toThrow(/first extent \(PE 0.*\) is missing/);
  });
});

describe('VMFS-3 with 8 MiB file blocks (the FD cluster file at 8 MiB)', () => {
  const dir = tmpDir('vmfs-8m-');
  it('reads files as debugvmfs does', () => {
    const files: VmfsFileSpec[] = [
      { path: '/big.bin', content: Buffer.alloc(20 * MiB, 7), layout: 'direct', holes: [1] },
      { path: '/pb.bin', content: Buffer.alloc(9 * MiB, 9), layout: 'pointer' },
      { path: '/small.txt', content: Buffer.from('eight\n') },
    ];
    const built = buildVmfs(dir, 'v3-8m', { version: 3, blockSize: 8 * MiB, files });
    const o = openVmfsImages(built.images);
    try {
      expect(vmfsInfo(o).blockSize).toBe(8 * MiB);
      for (const f of files) {
        const got = readAll(o.volume, f.path);
        expect(md5(got), f.path).toBe(md5(expectedBytes(f, 8 * MiB)));
        expect(md5(debugvmfs(built.images, 'cat', f.path)), f.path).toBe(md5(got));
      }
    } finally {
      o.close();
    }
  });
});

describe('sub-blocks that straddle two blocks of .sbc.sf', () => {
  const dir = tmpDir('vmfs-straddle-');
  it('are read whole, as debugvmfs reads them', () => {
    const big = Buffer.alloc(1100 * 1024);
    for (let i = 0; i < big.length; i += 512) big.writeUInt32LE(i, i);
    const built = buildVmfs(dir, 'straddle', { version: 5, misalignSubBlocks: true, files: [{ path: '/many-sub-blocks.bin', content: big, layout: 'subblock' }] });
    const o = openVmfsImages(built.images);
    try {
      expect(md5(readAll(o.volume, '/many-sub-blocks.bin'))).toBe(md5(big));
    } finally {
      o.close();
    }
    expect(md5(debugvmfs(built.images, 'cat', '/many-sub-blocks.bin'))).toBe(md5(big));
  });
});

describe('VMFS-5 with DENSE_SBPC', () => {
  const dir = tmpDir('vmfs-dense-');
  it('reads sub-blocks whose resource numbers need the two extra address bits', () => {
    const files: VmfsFileSpec[] = [1, 2, 3].map((i) => ({ path: `/s${i}.bin`, content: Buffer.alloc(9000, i), layout: 'subblock' }));
    const built = buildVmfs(dir, 'dense', { version: 5, denseSbpc: true, files });
    const o = openVmfsImages(built.images);
    try {
      expect(vmfsInfo(o).flags).toContain('dense-sbpc');
      for (const f of files) expect(md5(readAll(o.volume, f.path))).toBe(md5(f.content!));
    } finally {
      o.close();
    }
  });
});

describe('a VM inside the volume, as a file source', () => {
  const dir = tmpDir('vmfs-vm-');
  const vm = snapshotChainFiles(path.join(dir, 'stage'));
  const built = buildVmfs(dir, 'vms', { version: 5, label: 'ds-vms', files: [...vm.files, { path: '/current', kind: 'symlink', target: '/vmfs/volumes/ds-vms/web01' }] });

  it('opens the 3-link snapshot chain inside the volume and reads it as the guest saw it', () => {
    const o = openVmfsImages(built.images);
    try {
      const source = vmfsFileSource(o.volume);
      const chain = openChain(vm.top, { source });
      try {
        expect(chain.links.map((l) => path.posix.basename(l.path))).toEqual(['web01-000002.vmdk', 'web01-000001.vmdk', 'web01.vmdk']);
        const out = Buffer.alloc(chain.capacityBytes);
        chain.read(out, 0);
        expect(md5(out)).toBe(md5(vm.expected));
      } finally {
        chain.close();
      }
      const flat = source.open('/web01/web01-flat.vmdk', 'read');
      expect(flat.isThin?.()).toBe(true);
      expect(flat.dataRegions?.(0, flat.size)).toEqual([
        { start: 0, end: 2 * MiB },
        { start: 6 * MiB, end: 8 * MiB },
      ]);
      expect(source.stat('/web01')).toMatchObject({ kind: 'directory' });
      // Through a symlink (as ESXi writes them) to the folder: the same file, by its canonical name.
      expect(source.realpath('/current/web01.vmdk')).toBe('/web01/web01.vmdk');
      expect(source.realpath('/web01/../web01/./web01.vmdk')).toBe('/web01/web01.vmdk');
      const viaLink = openChain('/current/web01-000002.vmdk', { source });
      try {
        expect(viaLink.links).toHaveLength(3);
      } finally {
        viaLink.close();
      }
      expect(source.stat('/web01/nothing.vmdk')).toBeNull();
      expect(() => source.open('/web01/web01.vmdk', 'write')).toThrow(/read-only/);
    } finally {
      o.close();
    }
  });
});

describe('refusals and damage', () => {
  const dir = tmpDir('vmfs-bad-');
  const files: VmfsFileSpec[] = [
    { path: '/a.txt', content: Buffer.from('a\n') },
    { path: '/b/c.txt', content: Buffer.from('c\n') },
    { path: '/d.txt', content: Buffer.from('d\n') },
  ];

  it.each([
    [{ rawMajor: 2 }, /VMFS-2 volume .*never published/],
    [{ rawMajor: 1 }, /VMFS-1 volume/],
    [{ lvmMajor: 2 }, /VMFS-2 \(or older\) volume \(LVM version 2/],
    [{ fsMagic: 0x2fabf15f }, /VMFS-L volume/],
  ])('refuses %o with the reason', (extra, message) => {
    const built = buildVmfs(dir, `refuse-${JSON.stringify(extra).replace(/\W/g, '')}`, { version: 5, files, ...extra });
    expect(() => openVmfsImages(built.images)).toThrow(message);
    try {
      openVmfsImages(built.images);
    } catch (e) {
      expect((e as { code: string }).code).toBe('E_UNSUPPORTED');
    }
  });

  it('names a VMFS-typed partition without a VMFS-3/5/6 header as an older VMFS', () => {
    const file = path.join(dir, 'vmfs2.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 64 * MiB);
    execFileSync('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', file], { input: 'label: dos\nstart=2048, type=fb\n' });
    expect(() => openVmfsImages([file])).toThrow(/partition 1 is typed VMware VMFS but has no VMFS-3\/5\/6 LVM header at 1 MiB: an older VMFS \(VMFS-2 or VMFS-1/);
  });

  it('stops at a symlink loop with one line', () => {
    const built = buildVmfs(dir, 'symloop', {
      version: 5,
      label: 'ds-loop',
      files: [
        { path: '/a', kind: 'symlink', target: '/vmfs/volumes/ds-loop/b' },
        { path: '/b', kind: 'symlink', target: 'a' },
        { path: '/elsewhere', kind: 'symlink', target: '/vmfs/volumes/other-ds/x' },
      ],
    });
    const o = openVmfsImages(built.images);
    try {
      expect(() => o.volume.lookup('/a/x')).toThrow(/too many symlinks \(a loop\?\) in \/a\/x/);
      expect(() => o.volume.lookup('/elsewhere', true)).toThrow(/\/elsewhere links to \/vmfs\/volumes\/other-ds\/x, outside this volume/);
      expect(vmfsFileSource(o.volume).stat('/elsewhere/y')).toBeNull();
    } finally {
      o.close();
    }
  });

  it('names a file that holds no VMFS', () => {
    const file = path.join(dir, 'zeros.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 32 * MiB);
    expect(() => openVmfsImages([file])).toThrow(/no VMFS volume found \(no partition table/);
  });

  it('refuses a truncated copy with one line naming the image', () => {
    const built = buildVmfs(dir, 'trunc', { version: 5, files });
    fs.truncateSync(built.images[0]!, 20 * MiB);
    let message = '';
    try {
      const o = openVmfsImages(built.images);
      o.volume.list(o.volume.root());
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/ends (at|before)/);
    expect(message).not.toContain('\n');
  });

  it('refuses absurd resource counts before allocating anything', () => {
    const built = buildVmfs(dir, 'absurd', { version: 5, files });
    const fdcBase = 4 * MiB;
    const bad = Buffer.alloc(4);
    bad.writeUInt32LE(0xffffffff, 0);
    built.poke(fdcBase, bad);
    expect(() => openVmfsImages(built.images)).toThrow(/\.fdc\.sf header: 4294967295 resources per cluster/);
  });

  it('goes on past a damaged FD and reports that entry', () => {
    const built = buildVmfs(dir, 'damaged-fd', { version: 5, files });
    built.poke(built.fds.get('/a.txt')!.at, Buffer.alloc(4));
    const o = openVmfsImages(built.images);
    try {
      const entries = o.volume.list(o.volume.root());
      const a = entries.find((e) => e.name === 'a.txt')!;
      expect(a.error).toMatch(/FD <0x[0-9a-f]+>: no FD magic .*\(volume byte \d+\)/);
      expect(entries.find((e) => e.name === 'd.txt')!.error).toBeUndefined();
      expect(readAll(o.volume, '/d.txt').toString()).toBe('d\n');
    } finally {
      o.close();
    }
  });

  it('tells a directory entry whose FD belongs to another file (stale)', () => {
    const built = buildVmfs(dir, 'stale', { version: 5, files });
    const a = built.fds.get('/a.txt')!;
    const other = Buffer.alloc(4);
    other.writeUInt32LE(built.fds.get('/d.txt')!.address, 0);
    built.poke(a.at + 0x200, other);
    const o = openVmfsImages(built.images);
    try {
      expect(o.volume.list(o.volume.root()).find((e) => e.name === 'a.txt')!.error).toMatch(/stale directory entry/);
    } finally {
      o.close();
    }
  });

  it('refuses a block address of the wrong type inside a file', () => {
    const built = buildVmfs(dir, 'wrongtype', { version: 5, files: [{ path: '/x.bin', content: Buffer.alloc(2 * MiB, 1), layout: 'direct' }] });
    const fd = built.fds.get('/x.bin')!;
    const addr = Buffer.alloc(4);
    addr.writeUInt32LE(0x00000004 | (5 << 6), 0); // an FD address where a file block belongs
    built.poke(fd.at + 0x400, addr);
    const o = openVmfsImages(built.images);
    try {
      expect(() => readAll(o.volume, '/x.bin')).toThrow(/block 0 has a FD address .*not a data block/);
    } finally {
      o.close();
    }
  });
});
