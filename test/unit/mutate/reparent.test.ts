import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFiles } from '../../../main/io/writer-lock.js';
import { buildCowd, buildEsx2Chain, writeVmfsSparseDescriptor } from '../../fixtures/cowd-builder.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { buildSeSparseDisk } from '../../fixtures/sesparse-builder.js';
import { buildHostedSparse } from '../../fixtures/sparse-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

/** A failure is one line `diskchain: FILE: reason`, no stack. */
function expectRefusal(args: string[], reason: RegExp): void {
  const r = diskchain(args);
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^diskchain: /);
  expect(r.stderr).toMatch(reason);
}

/** qemu-img compare exits 0 when the two images read the same. */
function qemuSame(a: string, b: string, formatB = 'raw'): boolean {
  try {
    execFileSync('qemu-img', ['compare', '-f', 'vmdk', '-F', formatB, a, b], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** A qemu-made hosted chain base.vmdk ← top.vmdk with data in both, and its content as raw. */
function hostedChain(dir: string): { base: string; top: string; raw: string } {
  const base = path.join(dir, 'base.vmdk');
  const top = path.join(dir, 'top.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', base, '16M');
  qemuWrite(base, 3 * MiB + 7, patternBytes(200_000, 3));
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
  qemuFill(top, 9 * MiB, MiB, 0x5a);
  const raw = path.join(dir, 'expected.raw');
  fs.renameSync(qemuRaw(top), raw);
  return { base, top, raw };
}

describe('diskchain reparent: a hosted child whose parent was moved and renamed', () => {
  const dir = tmpDir();
  const { base, top, raw } = hostedChain(dir);
  const moved = path.join(dir, 'parents', 'base-renamed.vmdk');
  fs.mkdirSync(path.dirname(moved));
  fs.renameSync(base, moved);

  it('leaves the chain broken until reparented, then opens with diskchain and qemu-img and reads the same bytes', () => {
    expect(diskchain(['info', top]).stderr).toMatch(/parent "base.vmdk" not found/);
    const r = diskchain(['reparent', top, '--parent', moved]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text).toMatch(/top.vmdk now names parents\/base-renamed.vmdk as its parent \(old descriptor kept as top.vmdk.descriptor.bak\)/);

    const info = diskchain(['info', '--json', top]);
    expect(info.status, info.stderr).toBe(0);
    expect((JSON.parse(info.text) as { layers: Array<{ path: string }> }).layers.map((l) => l.path)).toEqual([top, moved]);
    expect(qemuImg('info', '--backing-chain', top)).toContain('base-renamed.vmdk');
    expect(qemuSame(top, raw)).toBe(true);
  });

  it('rewrote the embedded descriptor in place and kept the old text beside it', () => {
    const saved = fs.readFileSync(`${top}.descriptor.bak`, 'latin1');
    expect(saved).toContain('parentFileNameHint="base.vmdk"');
    const head = fs.readFileSync(top).subarray(0, 64 * 1024).toString('latin1');
    expect(head).toContain('parentFileNameHint="parents/base-renamed.vmdk"');
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('a second reparent keeps the first backup and saves beside it', () => {
    const r = diskchain(['reparent', top, '--parent', moved]);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(`${top}.descriptor-2.bak`)).toBe(true);
    expect(fs.readFileSync(`${top}.descriptor.bak`, 'latin1')).toContain('parentFileNameHint="base.vmdk"');
  });
});

describe('diskchain reparent refuses what would not be this child\'s parent', () => {
  const dir = tmpDir();
  const { base, top } = hostedChain(dir);
  const other = path.join(dir, 'other.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', other, '32M');
  const before = fs.readFileSync(top);

  it('a parent of another capacity, naming both sizes, and writes nothing', () => {
    expectRefusal(['reparent', top, '--parent', other], /other.vmdk cannot be its parent: its capacity is 32 MiB .* the child's is 16 MiB/);
    expect(fs.readFileSync(top).equals(before)).toBe(true);
    expect(fs.existsSync(`${top}.descriptor.bak`)).toBe(false);
  });

  it('a base disk, which has no parent to re-point', () => {
    expectRefusal(['reparent', base, '--parent', top], /has no parent to re-point/);
  });

  it('its own snapshot as parent, which would loop the chain', () => {
    const grandchild = path.join(dir, 'grandchild.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'top.vmdk', '-F', 'vmdk', grandchild);
    expectRefusal(['reparent', top, '--parent', grandchild], /grandchild.vmdk is a snapshot of this disk: making it the parent would loop/);
  });

  it('a disk in use (a VMware lock beside it) unless --force', () => {
    fs.mkdirSync(`${top}.lck`);
    try {
      expectRefusal(['reparent', top, '--parent', base], /looks in use: lock file top.vmdk.lck beside it/);
      expect(diskchain(['reparent', top, '--parent', base, '--force']).status).toBe(0);
    } finally {
      fs.rmSync(`${top}.lck`, { recursive: true });
    }
  });

  it('a disk another job is writing: exit 75, naming that job', async () => {
    const locks = lockFiles({ job: 'commit', writes: [top], reads: [] });
    try {
      const r = diskchain(['reparent', top, '--parent', base]);
      expect(r.status, r.stderr).toBe(75);
      expect(r.stderr).toMatch(/top\.vmdk is being written by commit/);
    } finally {
      await locks.release();
    }
  });

  it('a parent whose CID differs, showing both CIDs, and sets parentCID with --fix-cid', () => {
    const copy = path.join(dir, 'base-copy.vmdk');
    fs.copyFileSync(base, copy);
    qemuFill(copy, 0, 4096, 0x11); // qemu gives a disk a new CID on its first write
    const cidOf = (file: string, key: string): string => new RegExp(`\\b${key}=([0-9a-f]+)`).exec(fs.readFileSync(file).toString('latin1'))![1]!;
    // A CID is a number: qemu writes it with 8 digits, VMware (and a message) may drop leading zeros.
    const cidPattern = (cid: string): string => `0*${cid.replace(/^0+(?=.)/, '')}`;
    const newCid = cidOf(copy, 'CID');
    expectRefusal(['reparent', top, '--parent', copy], new RegExp(`parent CID ${cidPattern(cidOf(top, 'parentCID'))}, base-copy.vmdk has CID ${cidPattern(newCid)}\\b.*--fix-cid`));
    const r = diskchain(['reparent', top, '--parent', copy, '--fix-cid', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.text) as { parentName: string; cidChanged: { to: string } };
    expect(result.parentName).toBe('base-copy.vmdk');
    expect(parseInt(result.cidChanged.to, 16)).toBe(parseInt(newCid, 16));
    expect(parseInt(cidOf(top, 'parentCID'), 16)).toBe(parseInt(newCid, 16));
    expect(diskchain(['info', top]).status).toBe(0);
  });
});

describe('diskchain reparent of an ESX child with a separate descriptor (-delta.vmdk)', () => {
  const dir = tmpDir();
  const capacity = 8 * MiB;
  const baseContent = patternBytes(capacity, 7);
  writeVmfsDisk(dir, 'web01', capacity, baseContent, { cid: 0x1234abcd });
  const writes = [{ lba: 2048, data: patternBytes(64 * 1024, 8) }];
  buildCowd(path.join(dir, 'web01-000001-delta.vmdk'), { capacitySectors: capacity / 512, writes });
  const child = path.join(dir, 'web01-000001.vmdk');
  writeVmfsSparseDescriptor(child, {
    capacitySectors: capacity / 512,
    deltaFileName: 'web01-000001-delta.vmdk',
    cid: 0x55556666,
    parentCid: 0x1234abcd,
    parentFileNameHint: 'web01.vmdk',
  });
  const expected = Buffer.from(baseContent);
  writes[0]!.data.copy(expected, 2048 * 512);
  fs.writeFileSync(path.join(dir, 'expected.raw'), expected);
  // The parent went to another folder, descriptor and flat file together.
  fs.mkdirSync(path.join(dir, 'base'));
  for (const f of ['web01.vmdk', 'web01-flat.vmdk']) fs.renameSync(path.join(dir, f), path.join(dir, 'base', f));

  it('replaces the descriptor atomically, keeps NAME.vmdk.YYYYMMDD-HHMMSS.bak, and the chain reads as before', () => {
    const r = diskchain(['reparent', child, '--parent', path.join(dir, 'base', 'web01.vmdk')]);
    expect(r.status, r.stderr).toBe(0);
    const backups = fs.readdirSync(dir).filter((n) => /^web01-000001\.vmdk\.\d{8}-\d{6}\.bak$/.test(n));
    expect(backups).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, backups[0]!), 'utf8')).toContain('parentFileNameHint="web01.vmdk"');
    expect(fs.readFileSync(child, 'utf8')).toContain('parentFileNameHint="base/web01.vmdk"');
    expect(diskchain(['cat', child]).stdout.equals(expected)).toBe(true);
    expect(qemuSame(child, path.join(dir, 'expected.raw'))).toBe(true);
  });
});

describe('diskchain reparent of an ESX 2 REDO log (parent named in its COWD header)', () => {
  const dir = tmpDir();
  const { expected } = buildEsx2Chain(dir, 8 * MiB);
  const redo = path.join(dir, 'a.dsk.REDO');
  fs.renameSync(path.join(dir, 'a.dsk'), path.join(dir, 'mail-base.dsk'));

  it('rewrites the header parent name, keeps the old header, and the chain reads as before', () => {
    expect(diskchain(['info', `${redo}.REDO`]).status).not.toBe(0);
    const r = diskchain(['reparent', redo, '--parent', path.join(dir, 'mail-base.dsk')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.text).toMatch(/a.dsk.REDO now names mail-base.dsk as its parent in its COWD header \(old header kept as a.dsk.REDO.header.bak/);
    expect(fs.readFileSync(`${redo}.header.bak`).subarray(32, 38).toString('latin1')).toBe('a.dsk\0');
    const cat = diskchain(['cat', `${redo}.REDO`]);
    expect(cat.status, cat.stderr).toBe(0);
    expect(cat.stdout.equals(expected)).toBe(true);
  });
});

describe('diskchain reparent says what it cannot rewrite', () => {
  const dir = tmpDir();

  it('a new name that does not fit the room a sparse file reserves for its descriptor: refused, nothing written', () => {
    const deep = path.join(dir, 'a'.repeat(120), 'b'.repeat(120), 'c'.repeat(120), 'd'.repeat(120));
    fs.mkdirSync(deep, { recursive: true });
    const parent = path.join(deep, 'base.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', parent, '1M');
    const child = path.join(dir, 'small-room.vmdk');
    const descriptor = [
      '# Disk DescriptorFile',
      'version=1',
      'CID=11111111',
      'parentCID=22222222',
      'createType="monolithicSparse"',
      'parentFileNameHint="base.vmdk"',
      '',
      'RW 2048 SPARSE "small-room.vmdk"',
      '',
    ].join('\n');
    fs.writeFileSync(child, buildHostedSparse({ capacitySectors: 2048, descriptor, descriptorSizeSectors: 1, grains: new Map() }));
    const before = fs.readFileSync(child);
    expectRefusal(['reparent', child, '--parent', parent, '--fix-cid'], /the new descriptor \(\d+ bytes\) does not fit the 512 bytes the sparse file reserves for it/);
    expect(fs.readFileSync(child).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.bak'))).toEqual([]);
  });

  it('a REDO whose COWD header holds a base disk\'s geometry: refused, with what to do instead', () => {
    fs.writeFileSync(path.join(dir, 'vm.dsk'), Buffer.alloc(MiB));
    buildCowd(path.join(dir, 'vm.dsk.REDO'), { capacitySectors: MiB / 512, root: { geometry: { cylinders: 2, heads: 16, sectors: 63 } } });
    expectRefusal(['reparent', path.join(dir, 'vm.dsk.REDO'), '--parent', path.join(dir, 'vm.dsk')], /holds a base disk's geometry.*rename the parent to vm\.dsk instead/);
  });

  it('an seSparse child (separate descriptor) is re-pointed like a -delta', () => {
    const { descriptor } = buildSeSparseDisk(dir, 'se', { capacitySectors: 2048, data: [[3, Buffer.alloc(4096, 9)]] });
    // A snapshot of a disk that was since renamed.
    fs.writeFileSync(descriptor, fs.readFileSync(descriptor, 'utf8').replace('createType="seSparse"', 'createType="seSparse"\nparentFileNameHint="gone.vmdk"'));
    expect(diskchain(['info', descriptor]).stderr).toMatch(/parent "gone.vmdk" not found/);
    const parent = path.join(dir, 'se-parent.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', parent, '1M');
    const r = diskchain(['reparent', descriptor, '--parent', parent, '--fix-cid']);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(descriptor, 'utf8')).toContain('parentFileNameHint="se-parent.vmdk"');
    expect(diskchain(['info', descriptor]).status).toBe(0);
  });
});
