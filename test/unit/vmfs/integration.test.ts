/**
 * A disk inside a VMFS volume image (`IMAGE:/dir/disk.vmdk`) read by the engine as a host disk:
 * a thick flat disk, a thin one and a 3-link snapshot chain read, converted and backed up, each
 * compared byte for byte with the same files as plain host files; writes refused; the image's
 * bytes and mtime unchanged. In process, with the jobs run as the worker runs them.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../../shared/jobs.js';
import { listVms } from '../../../main/backup/vms.js';
import { openChain } from '../../../main/disk/chain.js';
import { withChain } from '../../helpers/chain.js';
import { diskInfo } from '../../../main/disk/info.js';
import { flatChunks } from '../../../main/disk/stream.js';
import type { JobContext } from '../../../main/io/job-context.js';
import { imageSourceOf, readOnlyReason } from '../../../main/io/path-sources.js';
import { runSpec } from '../../../main/jobs/registry.js';
import { installVmfsPaths, joinVmfsPath, splitVmfsPath, VMFS_READ_ONLY, vmxInImage } from '../../../main/vmfs/paths.js';
import { buildVmfs } from '../../fixtures/vmfs-builder.js';
import { patternBytes } from '../../fixtures/pattern.js';
import { buildDatastore } from '../../helpers/vmfs-datastore.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const dir = tmpDir('diskchain-vmfs-use-');
const ctx: JobContext = { progress() {}, throwIfCancelled() {} };
const ds = buildDatastore(dir);
const imageMd5 = (): string => createHash('md5').update(fs.readFileSync(ds.image)).digest('hex');
const before = { md5: imageMd5(), mtimeMs: fs.statSync(ds.image).mtimeMs };

beforeAll(() => installVmfsPaths());

function flat(disk: string): Buffer {
  const chain = openChain(disk);
  try {
    // flatChunks reuses its buffers: each chunk is copied as it comes.
    return Buffer.concat(Array.from(flatChunks(chain), (c) => Buffer.from(c)));
  } finally {
    chain.close();
  }
}

const DISKS = [
  ['thick flat (pointer blocks)', '/db01/db01.vmdk'],
  ['thin flat', '/web01/web01.vmdk'],
  ['3-link snapshot chain', '/web01/web01-000002.vmdk'],
] as const;

describe('IMAGE:/path names', () => {
  it('split at the longest image prefix; spanned volumes join images with +; a host folder named like one stays a host path', () => {
    const files = new Set(['/d/lun.img', '/d/a:b.img', '/d/a.img', '/d/b.img']);
    const isFile = (p: string): boolean => files.has(p);
    expect(splitVmfsPath('/d/lun.img:/web01/web01.vmdk', isFile)).toEqual({ images: ['/d/lun.img'], inner: '/web01/web01.vmdk' });
    expect(splitVmfsPath('/d/a:b.img:/x/../y.vmdk', isFile)).toEqual({ images: ['/d/a:b.img'], inner: '/y.vmdk' });
    expect(splitVmfsPath('/d/a.img+/d/b.img:/vm/vm.vmdk', isFile)).toEqual({ images: ['/d/a.img', '/d/b.img'], inner: '/vm/vm.vmdk' });
    expect(splitVmfsPath('/d/lun.img', isFile)).toBeNull();
    expect(splitVmfsPath('/d/other.img:/x.vmdk', isFile)).toBeNull();
    expect(joinVmfsPath(['/d/a.img', '/d/b.img'], 'vm/vm.vmdk')).toBe('/d/a.img+/d/b.img:/vm/vm.vmdk');
    const shadow = path.join(dir, 'shadow.img');
    fs.writeFileSync(shadow, 'x');
    fs.mkdirSync(`${shadow}:/vm`, { recursive: true });
    fs.writeFileSync(`${shadow}:/vm/disk.vmdk`, 'host file');
    expect(splitVmfsPath(`${shadow}:/vm/disk.vmdk`)).toBeNull();
    expect(splitVmfsPath(`${shadow}:/vm/other.vmdk`)).toEqual({ images: [shadow], inner: '/vm/other.vmdk' });
  });
});

describe('a disk inside a volume image reads as the same disk on the host', () => {
  for (const [what, inner] of DISKS) {
    it(`${what}: the flattened bytes and info`, () => {
      const inside = flat(ds.inImage(inner));
      expect(inside.equals(flat(ds.onHost(inner)))).toBe(true);
      if (inner === ds.chainTop) expect(inside.equals(ds.chainBytes)).toBe(true);
      const a = withChain(ds.inImage(inner), diskInfo);
      const b = withChain(ds.onHost(inner), diskInfo);
      expect(a.path).toBe(path.resolve(ds.inImage(inner)));
      const shape = (i: typeof a): unknown => ({
        createType: i.createType,
        capacityBytes: i.capacityBytes,
        geometry: i.geometry,
        layers: i.layers.map((l) => ({ name: path.posix.basename(l.path), createType: l.createType, cid: l.cid, parentCid: l.parentCid, parent: l.parent })),
        problems: i.problems,
      });
      expect(shape(a)).toEqual(shape(b));
      expect(a.layers.map((l) => l.path)).toEqual(b.layers.map((l) => path.resolve(ds.inImage(path.posix.join(path.posix.dirname(inner), path.basename(l.path))))));
    });
  }

  it('the thin base tells its holes: a chain link reads allocation from the volume', () => {
    const runs = withChain(ds.inImage('/web01/web01.vmdk'), (c) => c.mapRuns(0, c.capacityBytes));
    expect(runs.filter((r) => r.state === 'zero').reduce((s, r) => s + r.length, 0)).toBe(4 * MiB);
  });

  it('convert of each to a host file writes the same disk as from the host copy', async () => {
    for (const [, inner] of DISKS) {
      fs.mkdirSync(path.join(dir, 'convert'), { recursive: true });
      const out = path.join(dir, 'convert', path.basename(inner));
      const spec: JobSpec = { kind: 'convert', src: ds.inImage(inner), dst: out, to: 'monolithicSparse', force: false, ignoreCid: false };
      await runSpec(spec, ctx);
      expect(flat(out).equals(flat(ds.onHost(inner)))).toBe(true);
    }
  });

  it('backup of a .vmx inside the image archives what a backup of the host copy does', async () => {
    const a = path.join(dir, 'arch-image');
    const b = path.join(dir, 'arch-host');
    await runSpec({ kind: 'backup', source: ds.inImage('/web01/web01.vmx'), archiveDir: a, keepChain: false, force: false }, ctx);
    await runSpec({ kind: 'backup', source: ds.onHost('/web01/web01.vmx'), archiveDir: b, keepChain: false, force: false }, ctx);
    const manifest = (d: string): { source: { path: string }; disks: Array<{ contentSha256: string; capacityBytes: number }> } => JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
    expect(manifest(a).source.path).toBe(path.resolve(ds.inImage('/web01/web01.vmx')));
    expect(manifest(a).disks.map((d) => [d.contentSha256, d.capacityBytes])).toEqual(manifest(b).disks.map((d) => [d.contentSha256, d.capacityBytes]));
    expect(createHash('sha256').update(ds.chainBytes).digest('hex')).toBe(manifest(a).disks[0]!.contentSha256);
    expect(fs.readFileSync(path.join(a, 'web01.vmx'))).toEqual(fs.readFileSync(path.join(b, 'web01.vmx')));
    expect(flat(path.join(a, 'web01.vmdk')).equals(ds.chainBytes)).toBe(true);
  });

  it('a spanned volume: a disk across both extents, named a.img+b.img:/path', () => {
    const big = patternBytes(6 * MiB, 81);
    const stage = path.join(dir, 'span-stage');
    fs.mkdirSync(stage, { recursive: true });
    const descriptor = ['# Disk DescriptorFile', 'version=1', 'CID=12345678', 'parentCID=ffffffff', 'createType="vmfs"', '', `RW ${big.length / 512} VMFS "span-flat.vmdk"`, '', 'ddb.adapterType = "lsilogic"', ''].join('\n');
    const span = buildVmfs(dir, 'span', { version: 5, spanAtPE: 1, pes: 2, firstDataBlock: 253, files: [{ path: '/span/span.vmdk', content: Buffer.from(descriptor) }, { path: '/span/span-flat.vmdk', content: big, layout: 'direct' }] });
    expect(span.images).toHaveLength(2);
    expect(flat(joinVmfsPath([...span.images].reverse(), '/span/span.vmdk')).equals(big)).toBe(true);
  });
});

describe('VMs inside an image', () => {
  it('are found as IMAGE:/dir/x.vmx and listed with their disks', () => {
    const found = vmxInImage(ds.image)!;
    expect(found.sort()).toEqual(['/db01/db01.vmx', '/guest01/guest01.vmx', '/web01/web01.vmx'].map(ds.inImage));
    expect(vmxInImage(ds.inImage('/web01'))).toEqual([ds.inImage('/web01/web01.vmx')]);
    const vms = listVms([ds.image], vmxInImage);
    const web = vms.find((v) => v.displayName === 'web01')!;
    expect(web.vmx).toBe(ds.inImage('/web01/web01.vmx'));
    expect(web.disks).toMatchObject([{ device: 'scsi0:0', path: ds.inImage('/web01/web01-000002.vmdk'), opens: true, kind: 'vmfsSparse', capacityBytes: 8 * MiB }]);
    expect(web.disks[0]!.links).toHaveLength(3);
    const junk = path.join(dir, 'junk.img');
    fs.writeFileSync(junk, Buffer.alloc(4 * MiB, 0x41));
    expect(vmxInImage(junk)).toBeNull();
  });
});

describe('nothing is written into the image', () => {
  it('every writing job on a disk inside it is refused as read-only, outputs inside it too', async () => {
    const top = ds.inImage('/web01/web01-000002.vmdk');
    const specs: JobSpec[] = [
      { kind: 'commit', top, force: false, updateVmx: true },
      { kind: 'snapshot', disk: top, force: false, updateVmx: true },
      { kind: 'extend', disk: ds.inImage('/db01/db01.vmdk'), sizeBytes: 16 * MiB, force: false },
      { kind: 'convert', src: ds.onHost('/db01/db01.vmdk'), dst: ds.inImage('/db01/copy.vmdk'), to: 'monolithicSparse', force: false, ignoreCid: false },
      { kind: 'backup', source: ds.onHost('/db01/db01.vmx'), archiveDir: ds.inImage('/arch'), keepChain: false, force: false },
    ];
    for (const spec of specs) await expect(runSpec(spec, ctx)).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: VMFS_READ_ONLY });
    expect(readOnlyReason(top)).toBe(VMFS_READ_ONLY);
    expect(() => imageSourceOf(top)!.open(top, 'write')).toThrow(VMFS_READ_ONLY);
    expect(fs.existsSync(`${ds.image}:`)).toBe(false);
  });

  it("leaves the image's bytes and mtime as they were", () => {
    expect(fs.statSync(ds.image).mtimeMs).toBe(before.mtimeMs);
    expect(imageMd5()).toBe(before.md5);
  });
});
