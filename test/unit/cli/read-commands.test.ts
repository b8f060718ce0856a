import { createHash } from 'node:crypto';
import { execSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckReport, DiskInfo, GeometryReport, MapRun } from '../../../shared/types.js';
import { writeDescriptor, writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg, qemuRaw, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const ROOT = path.resolve(import.meta.dirname, '../../..');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A failure must be one line `diskchain: <file>: <reason>` and no stack. */
function expectOneLineError(args: string[], file: string, reason: RegExp): void {
  const r = diskchain(args);
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(new RegExp(`^diskchain: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  expect(r.stderr).toMatch(reason);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('diskchain info, geometry, map, check and cat on a hosted chain', () => {
  const dir = tmpDir();
  const base = path.join(dir, 'base.vmdk');
  const top = path.join(dir, 'top.vmdk');
  // qemu writes its default adapter (ide) into children too, and a child's DDB wins (§1.6).
  qemuImg('create', '-q', '-f', 'vmdk', base, '64M');
  qemuWrite(base, 5 * MiB + 3, patternBytes(300_000, 1));
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', top);
  qemuFill(top, 40 * MiB, MiB, 0x5a);

  it('info --json has the documented shape, top link first', () => {
    const r = diskchain(['info', '--json', top]);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.text) as DiskInfo;
    expect(info).toMatchObject({ path: top, createType: 'monolithicSparse', capacityBytes: 64 * MiB, adapterType: 'ide' });
    expect(info.geometry).toEqual({ cylinders: expect.any(Number), heads: expect.any(Number), sectors: expect.any(Number) });
    expect(info.layers.map((l) => l.path)).toEqual([top, base]);
    expect(info.layers[0]).toMatchObject({ createType: 'monolithicSparse', parentCid: info.layers[1]!.cid, allocatedBytes: MiB });
    expect(info.layers[0]!.extents[0]).toMatchObject({ path: top, type: 'SPARSE', access: 'RW', sectors: 131072, offset: 0 });
  });

  it('info prints a readable chain summary', () => {
    const r = diskchain(['info', top]);
    expect(r.status).toBe(0);
    expect(r.text).toContain('64.0 MiB');
    expect(r.text).toContain('[0] top.vmdk');
    expect(r.text).toContain('[1] base.vmdk');
  });

  it('geometry --json reports the descriptor geometry and no mismatch', () => {
    const r = diskchain(['geometry', '--json', top]);
    const g = JSON.parse(r.text) as GeometryReport;
    expect(g).toMatchObject({ adapterType: 'ide', mismatch: false, source: 'descriptor' });
    expect(g.defaultGeometry).toEqual({ cylinders: 130, heads: 16, sectors: 63 });
  });

  it('map --json names the layer of each allocated range, as qemu-img map does', () => {
    const runs = JSON.parse(diskchain(['map', '--json', top]).text) as MapRun[];
    const qemu = JSON.parse(qemuImg('map', '--output=json', top)) as Array<{ start: number; length: number; data: boolean; depth: number }>;
    const qemuData = qemu.filter((q) => q.data);
    const ours = runs.filter((r) => r.state === 'data');
    expect(ours.map((r) => [r.start, r.length, r.layer])).toEqual(qemuData.map((q) => [q.start, q.length, q.depth]));
    expect(ours.find((r) => r.layer === 0)!.file).toBe(top);
  });

  it('check exits 0 on a clean chain', () => {
    const r = diskchain(['check', top]);
    expect(r.status, r.text + r.stderr).toBe(0);
    expect(r.text).toContain('no problems');
  });

  it('cat writes the whole flattened disk, equal to qemu-img convert -O raw', () => {
    const r = diskchain(['cat', top]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(64 * MiB);
    expect(sha(r.stdout)).toBe(sha(fs.readFileSync(qemuRaw(top))));
  });

  it('cat stops quietly when the reader goes away', () => {
    const out = execSync(`node bin/diskchain.js cat "${top}" | head -c 1000 | wc -c; echo "status \${PIPESTATUS[0]}"`, {
      shell: '/bin/bash',
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(/^1000\n/);
  });

  it('check exits 1 and lists each problem with its file', () => {
    writeDescriptor(path.join(dir, 'stale.vmdk'), {
      createType: 'monolithicFlat',
      parentCid: 0x1234,
      parentFileNameHint: 'base.vmdk',
      extents: ['RW 131072 ZERO'],
    });
    const r = diskchain(['check', '--json', path.join(dir, 'stale.vmdk')]);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.text) as CheckReport;
    expect(report.errors).toBeGreaterThan(0);
    expect(report.problems[0]).toMatchObject({ file: path.join(dir, 'stale.vmdk'), location: 'descriptor parentCID' });
  });

  it('check exits 2 when the disk cannot be opened', () => {
    const r = diskchain(['check', path.join(dir, 'nothing.vmdk')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no such file/);
  });

  it('shows the stack only with DEBUG=diskchain', () => {
    const r = diskchain(['info', path.join(dir, 'nothing.vmdk')], { DEBUG: 'diskchain' });
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('usage errors exit 2 with a hint', () => {
    const r = diskchain(['info']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^diskchain: /);
  });

  // A plain line (one disk, known flags) runs without loading commander; `--` sends the same line through commander.
  it.each([
    ['info', '--json'],
    ['info', '--ignore-cid'],
    ['geometry', '--json'],
    ['map', '--hex'],
    ['check', '--json'],
    ['cat', '--force'],
  ])('%s %s gives the same output and status without commander as through it', (command, flag) => {
    const plain = diskchain([command, top, flag], { NODE_DEBUG: 'esm,module' });
    const parsed = diskchain([command, flag, '--', top], { NODE_DEBUG: 'esm,module' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).not.toMatch(/node_modules\/commander/);
    expect(parsed.stderr).toMatch(/node_modules\/commander/);
    expect(parsed.status).toBe(0);
    expect(sha(plain.stdout)).toBe(sha(parsed.stdout));
  });

  it.runIf(process.platform === 'linux')('a plain run that says nothing on stderr leaves it alone (no stream made for its pipe, no net module)', () => {
    // The run's module list, written at exit by a preload straight to a file descriptor.
    const list = path.join(dir, 'modules.txt');
    const preload = path.join(dir, 'modules.cjs');
    fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`);
    // stdout to a file (a pipe there would rightly make its stream), stderr a pipe.
    const out = fs.openSync(path.join(dir, 'info.txt'), 'w');
    const r = spawnSync(process.execPath, ['-r', preload, path.join(ROOT, 'bin/diskchain.js'), 'info', top], { stdio: ['ignore', out, 'pipe'] });
    fs.closeSync(out);
    expect(r.status, String(r.stderr)).toBe(0);
    expect(String(r.stderr)).toBe('');
    expect(fs.readFileSync(path.join(dir, 'info.txt'), 'utf8')).toContain('top.vmdk');
    const modules = fs.readFileSync(list, 'utf8').split('\n');
    expect(modules).toContain('NativeModule fs');
    expect(modules.filter((m) => /^(NativeModule net|Internal Binding pipe_wrap)$/.test(m))).toEqual([]);
  });

  it('--version answers without loading commander', () => {
    const r = diskchain(['--version'], { NODE_DEBUG: 'esm,module' });
    expect(r.text).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(r.stderr).not.toMatch(/node_modules\/commander/);
  });

  it('a failure on the plain path is the same one line with the same status', () => {
    const missing = path.join(dir, 'nothing.vmdk');
    for (const command of ['info', 'check', 'cat']) {
      const plain = diskchain([command, missing]);
      const parsed = diskchain([command, '--', missing]);
      expect(plain.stderr).toBe(parsed.stderr);
      expect(plain.status).toBe(parsed.status);
      expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

describe('bad input gets one clear line naming the file', () => {
  const dir = tmpDir();
  const good = path.join(dir, 'good.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', good, '64M');
  qemuFill(good, 0, 8 * MiB, 0x11);
  const goodBytes = fs.readFileSync(good);

  function variant(name: string, patch: (b: Buffer) => Buffer): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, patch(Buffer.from(goodBytes)));
    return file;
  }
  const u64 = (b: Buffer, at: number, v: bigint): Buffer => {
    b.writeBigUInt64LE(v, at);
    return b;
  };

  const cases: Array<[string, () => string, RegExp, string[]?]> = [
    ['an empty file', () => variant('empty.vmdk', () => Buffer.alloc(0)), /empty/],
    ['text that is not a descriptor', () => variant('notes.vmdk', () => Buffer.from('meeting notes\nbuy milk\n')), /not a VMDK descriptor/],
    ['binary junk', () => variant('junk.vmdk', () => patternBytes(4096, 3)), /not a VMDK/],
    ['a header-only sparse file', () => variant('header-only.vmdk', (b) => b.subarray(0, 512)), /truncat|past the end|beyond/i],
    ['a truncated sparse file', () => variant('truncated.vmdk', (b) => b.subarray(0, b.length - 4 * MiB)), /truncat|past the end|beyond/i, ['cat']],
    ['an absurd capacity', () => variant('absurd.vmdk', (b) => u64(b, 12, 1n << 60n)), /capacity/i],
    ['a grain size that is not a power of two', () => variant('grain.vmdk', (b) => u64(b, 20, 3n)), /grain/i],
    ['a grain directory past the end of the file', () => variant('gd.vmdk', (b) => u64(u64(b, 56, 1n << 40n), 48, 1n << 40n)), /directory|past the end|beyond/i],
    ['a descriptor naming a missing extent', () => writeDescriptor(path.join(dir, 'missing.vmdk'), { createType: 'vmfs', extents: ['RW 2048 VMFS "missing-flat.vmdk"'] }), /missing-flat\.vmdk/],
    ['a disk that names itself as parent', () => writeDescriptor(path.join(dir, 'self.vmdk'), { createType: 'vmfsSparse', parentCid: 1, parentFileNameHint: 'self.vmdk', extents: ['RW 2048 ZERO'] }), /itself/],
  ];

  for (const [what, make, reason, extra] of cases) {
    it(`refuses ${what}`, () => {
      const file = make();
      for (const command of ['info', ...(extra ?? [])]) expectOneLineError([command, file], file, reason);
    });
  }

  it('refuses a CID mismatch naming both CIDs, and --ignore-cid reads anyway', () => {
    writeVmfsDisk(dir, 'parent', 4 * MiB, patternBytes(MiB, 2), { cid: 0xcafe0001 });
    const child = writeDescriptor(path.join(dir, 'child.vmdk'), {
      createType: 'vmfsSparse',
      parentCid: 0xcafe0002,
      parentFileNameHint: 'parent.vmdk',
      extents: ['RW 8192 ZERO'],
    });
    expectOneLineError(['info', child], child, /cafe0002.*cafe0001|cafe0001.*cafe0002/);
    expect(diskchain(['info', '--ignore-cid', child]).status).toBe(0);
  });

  it('refuses a truncated streamOptimized disk', () => {
    const stream = path.join(dir, 'stream.vmdk');
    qemuImg('convert', '-f', 'vmdk', '-O', 'vmdk', '-o', 'subformat=streamOptimized', good, stream);
    const cut = variant('stream-cut.vmdk', () => fs.readFileSync(stream).subarray(0, Math.floor(fs.statSync(stream).size / 2)));
    const r = diskchain(['cat', cut]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^diskchain: .*stream-cut\.vmdk: /);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
