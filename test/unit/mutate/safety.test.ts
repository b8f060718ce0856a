/**
 * Issue 16, "Safety first", as a user meets it on the command line (the built CLI, real processes):
 * VMware lock files stop every writer, a .vmx follows snapshot and commit, two writers on one
 * chain cannot both run, a killed writer leaves no lock that matters, restore never replaces a
 * dangling symlink, and `info` of an extent says whose extent it is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openChain } from '../../../main/disk/chain.js';
import { diskUse } from '../../../main/disk/in-use.js';
import { lockFilesOf } from '../../../main/io/writer-lock.js';
import type { DiskInfo } from '../../../shared/types.js';
import { diskchain } from '../../helpers/cli.js';
import { builtEngine } from '../../helpers/dist.js';
import { qemuFill, qemuImg, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
builtEngine('cli/index.js');
const scripts = tmpDir();

function ok(r: { status: number | null; stderr: string }): void {
  expect(r.status === 0 ? '' : r.stderr).toBe('');
  expect(r.status).toBe(0);
}

function readAll(disk: string): Buffer {
  const chain = openChain(disk);
  try {
    const buf = Buffer.alloc(chain.capacityBytes);
    for (let at = 0; at < buf.length; at += 4 * MiB) chain.read(buf.subarray(at, Math.min(buf.length, at + 4 * MiB)), at);
    return buf;
  } finally {
    chain.close();
  }
}

const VMX = (disk: string): string =>
  ['.encoding = "UTF-8"', 'config.version = "8"', 'displayName = "Web 01"', 'scsi0.present = "TRUE"', 'scsi0:0.present = "TRUE"', `scsi0:0.fileName = "${disk}"`, 'nvram = "web01.nvram"', ''].join(
    '\n',
  );

/** A Workstation VM folder: web01.vmx (executable, as VMware writes it) using web01.vmdk. */
function vmFolder(root: string, name: string): { dir: string; vmx: string; disk: string } {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  const disk = path.join(dir, 'web01.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', disk, '8M');
  qemuWrite(disk, 0, patternBytes(64 * 1024, 1));
  const vmx = path.join(dir, 'web01.vmx');
  fs.writeFileSync(vmx, VMX('web01.vmdk'), { mode: 0o755 });
  fs.chmodSync(vmx, 0o755);
  return { dir, vmx, disk };
}

/**
 * A real process running a job of the built engine that stops for `holdMs` at its first progress
 * report (its locks taken, its writes begun), so a second job surely meets it: on this machine a
 * 200 MiB commit takes a tenth of a second.
 */
function holdingJob(spec: object, holdMs: number): { child: ChildProcess; holding: Promise<void>; done: Promise<number | null> } {
  const registry = builtEngine('jobs/registry.js');
  const script = path.join(scripts, `hold-${holdMs}-${Date.now()}.mjs`);
  fs.writeFileSync(
    script,
    [
      `import { runSpec } from ${JSON.stringify(registry)};`,
      'let held = false;',
      'const ctx = { progress() { if (held) return; held = true; process.stdout.write("holding\\n");',
      `  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs}); }, throwIfCancelled() {} };`,
      `await runSpec(${JSON.stringify(spec)}, ctx);`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const holding = new Promise<void>((resolve) =>
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('holding')) resolve();
    }),
  );
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, holding, done };
}

describe('VMware lock files stop every writer', () => {
  const root = tmpDir();

  it('commit, snapshot, extend, convert, export and import refuse a disk of a VM with web01.vmx.lck, with backup’s message; --force goes ahead', () => {
    const vm = vmFolder(root, 'locked');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'web01.vmdk', '-F', 'vmdk', path.join(vm.dir, 'web01-000001.vmdk'));
    fs.writeFileSync(vm.vmx, VMX('web01-000001.vmdk'));
    fs.mkdirSync(path.join(vm.dir, 'web01.vmx.lck'));
    fs.writeFileSync(path.join(vm.dir, 'web01.vmx.lck', 'M12345.lck'), '');
    const top = path.join(vm.dir, 'web01-000001.vmdk');
    expect(diskUse(top)).toEqual({ locks: [path.join(vm.dir, 'web01.vmx.lck')], vms: [vm.vmx] });
    expect(diskUse(vm.disk).vms).toEqual([vm.vmx]);

    const out = path.join(root, 'out');
    fs.mkdirSync(out);
    const before = fs.readdirSync(vm.dir).sort();
    for (const args of [
      ['commit', top],
      ['snapshot', top],
      ['extend', vm.disk, '16M'],
      ['convert', top, path.join(out, 'c.vmdk'), '--to', 'monolithicSparse'],
      ['export', top, path.join(out, 'e')],
      ['import', top, path.join(out, 'i.vmdk')],
    ]) {
      const r = diskchain(args);
      expect(r.status, args[0]).toBe(2);
      expect(r.stderr).toMatch(/: looks in use: lock file web01\.vmx\.lck beside it\. Shut the VM down first, or use --force to /);
    }
    expect(fs.readdirSync(vm.dir).sort()).toEqual(before);
    // export makes its folder before the job starts; nothing is written into it.
    expect(fs.readdirSync(out)).toEqual(['e']);
    expect(fs.readdirSync(path.join(out, 'e'))).toEqual([]);

    ok(diskchain(['convert', '--force', top, path.join(out, 'c.vmdk'), '--to', 'monolithicSparse']));
    ok(diskchain(['snapshot', '--force', top]));
  });

  it('a lock of the disk itself (web01.vmdk.lck) counts without a .vmx', () => {
    const dir = path.join(root, 'bare');
    fs.mkdirSync(dir);
    const disk = path.join(dir, 'data.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk, '4M');
    fs.mkdirSync(path.join(dir, 'data.vmdk.lck'));
    const r = diskchain(['snapshot', disk]);
    expect(r.stderr).toContain(`diskchain: ${disk}: looks in use: lock file data.vmdk.lck beside it.`);
    expect(fs.existsSync(path.join(dir, 'data-000001.vmdk'))).toBe(false);
  });
});

describe('a .vmx follows snapshot and commit', () => {
  const root = tmpDir();

  it('snapshot re-points the .vmx at the new child, keeps the old one as NAME.vmx.STAMP.bak and its permissions, and says so', () => {
    const vm = vmFolder(root, 'snap');
    const oldText = fs.readFileSync(vm.vmx, 'utf8');
    const r = diskchain(['snapshot', vm.disk]);
    ok(r);
    expect(r.stderr).toMatch(/created web01-000001\.vmdk on top of web01\.vmdk; web01\.vmx \("Web 01", scsi0:0\) now uses web01-000001\.vmdk \(old \.vmx kept as web01\.vmx\.\d{8}-\d{6}\.bak\)/);
    const text = fs.readFileSync(vm.vmx, 'utf8');
    expect(text).toBe(oldText.replace('scsi0:0.fileName = "web01.vmdk"', 'scsi0:0.fileName = "web01-000001.vmdk"'));
    expect(fs.statSync(vm.vmx).mode & 0o777).toBe(0o755);
    const backups = fs.readdirSync(vm.dir).filter((n) => n.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(fs.readFileSync(path.join(vm.dir, backups[0]!), 'utf8')).toBe(oldText);
    expect(fs.readdirSync(vm.dir).filter((n) => n.includes('.diskchain-'))).toEqual([]);

    // `vms` is content: the VM's disk has no child it does not use.
    const vms = JSON.parse(diskchain(['vms', '--json', vm.dir]).text) as Array<{ disks: Array<{ unusedChildren: string[] }> }>;
    expect(vms[0]!.disks[0]!.unusedChildren).toEqual([]);
  });

  it('snapshot --no-vmx leaves the .vmx alone, and vms flags the child no VM uses', () => {
    const vm = vmFolder(root, 'novmx');
    const oldText = fs.readFileSync(vm.vmx, 'utf8');
    const r = diskchain(['snapshot', '--no-vmx', vm.disk]);
    ok(r);
    expect(r.stderr).not.toMatch(/vmx/);
    expect(fs.readFileSync(vm.vmx, 'utf8')).toBe(oldText);
    expect(fs.readdirSync(vm.dir).filter((n) => n.endsWith('.bak'))).toEqual([]);

    const listing = diskchain(['vms', vm.dir]);
    expect(listing.text).toContain('! web01.vmdk has a snapshot no VM uses (web01-000001.vmdk): the VM writes into its parent');
    const vms = JSON.parse(diskchain(['vms', '--json', vm.dir]).text) as Array<{ disks: Array<{ unusedChildren: string[] }> }>;
    expect(vms[0]!.disks[0]!.unusedChildren).toEqual([path.join(vm.dir, 'web01-000001.vmdk')]);
  });

  it('commit re-points a .vmx that named the folded child at the parent', () => {
    const vm = vmFolder(root, 'commit');
    ok(diskchain(['snapshot', vm.disk]));
    const child = path.join(vm.dir, 'web01-000001.vmdk');
    qemuWrite(child, 2 * MiB, patternBytes(64 * 1024, 2));
    const content = readAll(child);
    const r = diskchain(['commit', child]);
    ok(r);
    expect(r.stderr).toMatch(/folded web01-000001\.vmdk into web01\.vmdk .*; web01\.vmx \("Web 01", scsi0:0\) now uses web01\.vmdk \(old \.vmx kept as web01\.vmx\.\d{8}-\d{6}(-2)?\.bak\)/);
    expect(fs.readFileSync(vm.vmx, 'utf8')).toContain('scsi0:0.fileName = "web01.vmdk"');
    expect(readAll(vm.disk).equals(content)).toBe(true);
    expect(fs.readdirSync(vm.dir).filter((n) => n.endsWith('.bak'))).toHaveLength(2);
  });
});

describe('two writers on one chain', () => {
  const root = tmpDir();

  /** base.vmdk (256 MiB) ← child.vmdk holding 200 MiB. */
  function bigChain(name: string): { base: string; child: string; expected: Buffer } {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    const base = path.join(dir, 'base.vmdk');
    const child = path.join(dir, 'child.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', base, '256M');
    qemuFill(base, 0, 256 * MiB, 0x11);
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child);
    qemuFill(child, 8 * MiB, 200 * MiB, 0x22);
    return { base, child, expected: readAll(child) };
  }

  it('a second commit of the same child refuses before writing, naming the commit that holds it; the first finishes right', async () => {
    const f = bigChain('twice');
    const first = holdingJob({ kind: 'commit', top: f.child }, 1500);
    await first.holding;
    const second = diskchain(['commit', f.child]);
    expect(second.status).toBe(75);
    expect(second.stderr).toMatch(
      new RegExp(`^diskchain: .*(child|base)\\.vmdk: (child|base)\\.vmdk is being written by commit \\(pid ${first.child.pid}, since \\d\\d:\\d\\d\\); wait for it to finish, or cancel it\\n$`),
    );
    expect(await first.done).toBe(0);
    expect(readAll(f.base).equals(f.expected)).toBe(true);
    expect(diskchain(['check', f.base]).status).toBe(0);
    expect(fs.readdirSync(path.dirname(f.base))).toEqual(['base.vmdk']);
  });

  it('a convert of the chain refuses while a commit writes it, and the commit refuses while a convert reads it', async () => {
    const f = bigChain('reader');
    const commit = holdingJob({ kind: 'commit', top: f.child }, 1500);
    await commit.holding;
    const out = path.join(root, 'reader-copy.vmdk');
    const convert = diskchain(['convert', f.child, out, '--to', 'monolithicSparse']);
    expect(convert.status).toBe(75);
    expect(convert.stderr).toMatch(/is being written by commit \(pid \d+/);
    expect(fs.existsSync(out)).toBe(false);
    expect(await commit.done).toBe(0);

    const g = bigChain('reader2');
    const copy = holdingJob({ kind: 'convert', src: g.child, dst: path.join(root, 'reader2-copy.vmdk'), to: 'vmfs' }, 1500);
    await copy.holding;
    const refused = diskchain(['commit', g.child]);
    expect(refused.status).toBe(75);
    expect(refused.stderr).toMatch(/child\.vmdk is being read by convert \(pid \d+, since \d\d:\d\d\)/);
    expect(await copy.done).toBe(0);
    ok(diskchain(['commit', g.child]));
  });

  it('a SIGKILLed commit leaves a lock of a dead process, which the next commit takes over', async () => {
    const f = bigChain('killed');
    const first = holdingJob({ kind: 'commit', top: f.child }, 30_000);
    await first.holding;
    first.child.kill('SIGKILL');
    await first.done;
    expect(lockFilesOf(f.child)).toEqual([path.join(path.dirname(f.child), '.child.vmdk.diskchain-lock')]);
    const holder = JSON.parse(fs.readFileSync(lockFilesOf(f.child)[0]!, 'utf8')) as { pid: number; job: string };
    expect(holder).toMatchObject({ pid: first.child.pid, job: 'commit' });

    ok(diskchain(['commit', f.child]));
    expect(readAll(f.base).equals(f.expected)).toBe(true);
    expect(fs.readdirSync(path.dirname(f.base))).toEqual(['base.vmdk']);
  });
});

describe('restore never replaces', () => {
  const root = tmpDir();

  it('refuses a DEST holding a dangling symlink named like a restored file, and leaves the symlink', () => {
    const disk = path.join(root, 'web01.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', disk, '4M');
    const archive = path.join(root, 'archive');
    ok(diskchain(['backup', disk, archive]));
    const dest = path.join(root, 'dest');
    fs.mkdirSync(dest);
    const link = path.join(dest, 'web01.vmdk');
    fs.symlinkSync(path.join(root, 'nowhere', 'gone.vmdk'), link);
    const r = diskchain(['restore', archive, dest]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`diskchain: ${link}: already exists; restore never replaces files (choose an empty folder)\n`);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe(path.join(root, 'nowhere', 'gone.vmdk'));
  });
});

describe('info of an extent', () => {
  const root = tmpDir();

  it('says whose extent a -flat or -s001 file is, in text and JSON', () => {
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', path.join(root, 'web01.vmdk'), '4M');
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', path.join(root, 'split.vmdk'), '4M');
    const text = diskchain(['info', path.join(root, 'web01-flat.vmdk')]);
    ok(text);
    expect(text.text).toContain('this is an extent of web01.vmdk (beside it)');
    const info = JSON.parse(diskchain(['info', '--json', path.join(root, 'split-s001.vmdk')]).text) as DiskInfo;
    expect(info.extentOf).toBe(path.join(root, 'split.vmdk'));
    const whole = JSON.parse(diskchain(['info', '--json', path.join(root, 'split.vmdk')]).text) as DiskInfo;
    expect(whole.extentOf).toBeUndefined();
  });
});
