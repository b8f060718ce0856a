/**
 * `diskchain backup`, `restore` and `vms` as a user runs them (the built CLI; `npm test` builds
 * first), on VMs whose disks qemu-img builds at test time, with hand-written .vmx files.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseManifest, type Manifest } from '../../../main/formats/manifest.js';
import type { DiskInfo } from '../../../shared/types.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg, qemuWrite } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/diskchain.js');

/** Runs the CLI with stdin read from a file (`diskchain restore - DEST < FILE`). */
function diskchainFromFile(args: string[], stdinFile: string): { status: number | null; stderr: string } {
  const fd = fs.openSync(stdinFile, 'r');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: [fd, 'pipe', 'pipe'], timeout: 120_000 });
    return { status: r.status, stderr: r.stderr.toString() };
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs the CLI with stdout going to a file (`diskchain backup SRC - > FILE`). */
function diskchainToFile(args: string[], stdoutFile: string): { status: number | null; stderr: string } {
  const fd = fs.openSync(stdoutFile, 'w');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], timeout: 120_000 });
    return { status: r.status, stderr: r.stderr.toString() };
  } finally {
    fs.closeSync(fd);
  }
}

function ok(r: { status: number | null; stderr: string }): void {
  expect(r.stderr && r.status !== 0 ? r.stderr : '').toBe('');
  expect(r.status).toBe(0);
}

function sha256(file: string): string {
  const hash = crypto.createHash('sha256');
  const buf = Buffer.alloc(8 * MiB);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Every file under a folder with its SHA-256 and mtime, to show a source was not touched. */
function snapshotFolder(dir: string): Record<string, { sha256: string; mtimeMs: number; size: number }> {
  const out: Record<string, { sha256: string; mtimeMs: number; size: number }> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    const st = fs.statSync(file);
    if (st.isFile()) out[name] = { sha256: sha256(file), mtimeMs: st.mtimeMs, size: st.size };
  }
  return out;
}

function rawSha256(image: string): string {
  const raw = `${image}.${crypto.randomBytes(4).toString('hex')}.raw`;
  qemuImg('convert', '-O', 'raw', image, raw);
  try {
    return sha256(raw);
  } finally {
    fs.rmSync(raw);
  }
}

function info(disk: string): DiskInfo {
  const r = diskchain(['info', '--json', disk]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.text) as DiskInfo;
}

function readManifest(archive: string): Manifest {
  const file = path.join(archive, 'manifest.json');
  return parseManifest(fs.readFileSync(file, 'utf8'), file);
}

const VMX = (disks: Record<string, string>): string =>
  [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "14"',
    'displayName = "Web 01"',
    'guestOS = "otherlinux-64"',
    'scsi0.present = "TRUE"',
    'scsi0.virtualDev = "lsilogic"',
    ...Object.entries(disks).flatMap(([device, file]) => [`${device}.present = "TRUE"`, `${device}.fileName = "${file}"`]),
    'ide1:0.present = "TRUE"',
    'ide1:0.deviceType = "cdrom-image"',
    'ide1:0.fileName = "/isos/debian-12.iso"',
    'nvram = "web01.nvram"',
    '',
  ].join('\n');

/**
 * web01: scsi0:0 is web01-000001.vmdk, a snapshot child (monolithicSparse) of web01.vmdk that
 * overwrites some of the base's data, zeroes a grain of it and adds data of its own; scsi0:1 is
 * data.vmdk, a twoGbMaxExtentSparse disk.
 */
function makeVm(root: string): { dir: string; vmx: string; top: string; base: string; data: string } {
  const dir = path.join(root, 'web01');
  fs.mkdirSync(dir);
  const base = path.join(dir, 'web01.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic', base, '96M');
  qemuWrite(base, MiB + 512, patternBytes(3 * MiB, 1));
  qemuFill(base, 30 * MiB, 2 * MiB, 0x5a);
  const top = path.join(dir, 'web01-000001.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'web01.vmdk', '-F', 'vmdk', top);
  qemuWrite(top, 2 * MiB, patternBytes(MiB, 2));
  qemuFill(top, 30 * MiB, 64 * 1024, 0);
  qemuFill(top, 80 * MiB, 3 * MiB + 4096, 0xc3);
  const data = path.join(dir, 'data.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', data, '40M');
  qemuWrite(data, 7 * MiB, patternBytes(2 * MiB, 3));
  const vmx = path.join(dir, 'web01.vmx');
  fs.writeFileSync(vmx, VMX({ 'scsi0:0': 'web01-000001.vmdk', 'scsi0:1': 'data.vmdk' }));
  fs.writeFileSync(path.join(dir, 'web01.nvram'), patternBytes(8684, 4));
  return { dir, vmx, top, base, data };
}

describe('backup and restore of a VM', () => {
  const root = tmpDir();
  const vm = makeVm(root);
  const before = snapshotFolder(vm.dir);
  const topSha = rawSha256(vm.top);
  const dataSha = rawSha256(vm.data);
  const archive = path.join(root, 'archive');

  it('archives every disk flattened, the .vmx and the .nvram, with a manifest of hashes; the source is only read', () => {
    ok(diskchain(['backup', '--progress', 'none', vm.vmx, archive]));
    expect(snapshotFolder(vm.dir)).toEqual(before);

    const m = readManifest(archive);
    expect(m.mode).toBe('flatten');
    expect(m.source).toEqual({ kind: 'vmx', path: vm.vmx, vmName: 'Web 01' });
    expect(m.vm).toEqual({ vmx: 'web01.vmx', nvram: 'web01.nvram', displayName: 'Web 01' });
    expect(m.tool.version).toBe(JSON.parse(fs.readFileSync(path.resolve(BIN, '../../package.json'), 'utf8')).version);
    expect(m.disks.map((d) => [d.device, d.vmxFileName, d.name, d.kind, d.baseKind, d.restoreKind, d.capacityBytes])).toEqual([
      ['scsi0:0', 'web01-000001.vmdk', 'web01', 'monolithicSparse', 'monolithicSparse', 'monolithicSparse', 96 * MiB],
      ['scsi0:1', 'data.vmdk', 'data', 'twoGbMaxExtentSparse', 'twoGbMaxExtentSparse', 'twoGbMaxExtentSparse', 40 * MiB],
    ]);
    expect(m.disks[0]!.sourceLinks.map((l) => l.path)).toEqual([vm.top, vm.base]);
    expect(m.disks.map((d) => d.contentSha256)).toEqual([topSha, dataSha]);
    expect(m.disks[0]!.geometry).toEqual(info(vm.top).geometry);

    // Exactly the listed files, each of its size and hash; the archive itself opens as the disks.
    const listed = m.files.map((f) => f.name).sort();
    expect(fs.readdirSync(archive).filter((n) => n !== 'manifest.json').sort()).toEqual(listed);
    for (const f of m.files) {
      expect(fs.statSync(path.join(archive, f.name)).size, f.name).toBe(f.bytes);
      expect(sha256(path.join(archive, f.name)), f.name).toBe(f.sha256);
    }
    expect(m.files.filter((f) => f.role === 'segment').map((f) => f.name)).toEqual(['web01-s001.vmdk', 'data-s001.vmdk']);
    qemuImg('compare', '-q', vm.top, path.join(archive, 'web01.vmdk'));
    qemuImg('check', '-q', path.join(archive, 'web01.vmdk'));
    // Zero grains are left out: the stored data is what the chain holds that is not zero.
    expect(m.disks[0]!.links[0]!.storedBytes).toBeLessThan(12 * MiB);
  });

  it("the archive's .vmx names the archived disks, not the snapshot it flattened, so the folder opens as a VM", () => {
    const archived = fs.readFileSync(path.join(archive, 'web01.vmx'), 'utf8');
    expect(archived).toBe(fs.readFileSync(vm.vmx, 'utf8').replace('"web01-000001.vmdk"', '"web01.vmdk"'));
    const vms = JSON.parse(diskchain(['vms', '--json', archive]).text) as Array<{ disks: Array<{ device: string; opens: boolean; links: string[] }> }>;
    expect(vms[0]!.disks.map((d) => [d.device, d.opens, d.links.map((l) => path.basename(l))])).toEqual([
      ['scsi0:0', true, ['web01.vmdk']],
      ['scsi0:1', true, ['data.vmdk']],
    ]);
  });

  it('restores identical disks of the kind they had and a .vmx pointing at them', () => {
    const dest = path.join(root, 'restored');
    ok(diskchain(['restore', '--progress', 'none', archive, dest]));
    expect(fs.readdirSync(dest).sort()).toEqual(['data-s001.vmdk', 'data.vmdk', 'web01.nvram', 'web01.vmdk', 'web01.vmx']);
    qemuImg('compare', '-q', vm.top, path.join(dest, 'web01.vmdk'));
    qemuImg('compare', '-q', vm.data, path.join(dest, 'data.vmdk'));
    expect(info(path.join(dest, 'web01.vmdk')).createType).toBe('monolithicSparse');
    expect(info(path.join(dest, 'data.vmdk')).createType).toBe('twoGbMaxExtentSparse');
    expect(sha256(path.join(dest, 'web01.nvram'))).toBe(before['web01.nvram']!.sha256);

    const vmx = fs.readFileSync(path.join(dest, 'web01.vmx'), 'utf8');
    expect(vmx).toContain('scsi0:0.fileName = "web01.vmdk"');
    expect(vmx).toContain('scsi0:1.fileName = "data.vmdk"');
    expect(vmx).toContain('ide1:0.fileName = "/isos/debian-12.iso"');
    expect(vmx).toBe(fs.readFileSync(vm.vmx, 'utf8').replace('"web01-000001.vmdk"', '"web01.vmdk"'));
    // The restored VM is one `vms` sees whole.
    const listing = JSON.parse(diskchain(['vms', '--json', dest]).text) as Array<{ disks: Array<{ opens: boolean; path: string }> }>;
    expect(listing[0]!.disks.map((d) => [path.basename(d.path), d.opens])).toEqual([
      ['web01.vmdk', true],
      ['data.vmdk', true],
    ]);
  });

  it('never replaces files: a second restore into the same folder is refused and changes nothing', () => {
    const dest = path.join(root, 'restored');
    const was = snapshotFolder(dest);
    const r = diskchain(['restore', archive, dest]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/web01\.vmx: already exists; restore never replaces files/);
    expect(snapshotFolder(dest)).toEqual(was);
    expect(fs.readdirSync(dest).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('restores --to another kind with the same content', () => {
    const dest = path.join(root, 'as-vmfs');
    ok(diskchain(['restore', '--to', 'vmfs', archive, dest]));
    expect(fs.readdirSync(dest).sort()).toEqual(['data-flat.vmdk', 'data.vmdk', 'web01-flat.vmdk', 'web01.nvram', 'web01.vmdk', 'web01.vmx']);
    expect(info(path.join(dest, 'web01.vmdk')).createType).toBe('vmfs');
    qemuImg('compare', '-q', vm.top, path.join(dest, 'web01.vmdk'));
    qemuImg('compare', '-q', vm.data, path.join(dest, 'data.vmdk'));
  });

  it('refuses an archive with a corrupt segment, naming it, and writes nothing', () => {
    const bad = path.join(root, 'corrupt');
    fs.cpSync(archive, bad, { recursive: true });
    const segment = path.join(bad, 'web01-s001.vmdk');
    const bytes = fs.readFileSync(segment);
    bytes[bytes.length - 1000] ^= 0x01;
    fs.writeFileSync(segment, bytes);
    const dest = path.join(root, 'from-corrupt');
    const r = diskchain(['restore', bad, dest]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('archive is damaged, nothing was restored: web01-s001.vmdk differs from the manifest');
    expect(fs.existsSync(dest)).toBe(false);

    fs.rmSync(path.join(bad, 'data-s001.vmdk'));
    expect(diskchain(['restore', bad, dest]).stderr).toMatch(/web01-s001\.vmdk differs from the manifest.*; data-s001\.vmdk is missing/);
  });

  it('--keep-chain archives each link as it is, and restore gives back the same snapshots', () => {
    const keep = path.join(root, 'keep');
    ok(diskchain(['backup', '--keep-chain', vm.vmx, keep]));
    const m = readManifest(keep);
    expect(m.mode).toBe('keep-chain');
    const links = m.disks[0]!.links;
    expect(links.map((l) => [l.descriptor, l.parent, l.kind, l.sourcePath])).toEqual([
      ['web01-000001.vmdk', 'web01.vmdk', 'monolithicSparse', vm.top],
      ['web01.vmdk', null, 'monolithicSparse', vm.base],
    ]);
    expect(links.map((l) => l.contentSha256)).toEqual([topSha, rawSha256(vm.base)]);
    // The child keeps only its own grains, the zeroed one included.
    expect(links[0]!.storedBytes).toBe(info(vm.top).layers[0]!.allocatedBytes);

    const dest = path.join(root, 'keep-restored');
    ok(diskchain(['restore', keep, dest]));
    const restored = info(path.join(dest, 'web01-000001.vmdk'));
    const source = info(vm.top);
    expect(restored.layers.map((l) => [path.basename(l.path), l.createType])).toEqual([
      ['web01-000001.vmdk', 'monolithicSparse'],
      ['web01.vmdk', 'monolithicSparse'],
    ]);
    expect(restored.layers.map((l) => l.allocatedBytes)).toEqual(source.layers.map((l) => l.allocatedBytes));
    expect(restored.layers[0]!.parentCid).toBe(restored.layers[1]!.cid);
    qemuImg('compare', '-q', vm.top, path.join(dest, 'web01-000001.vmdk'));
    qemuImg('compare', '-q', vm.base, path.join(dest, 'web01.vmdk'));
    expect(fs.readFileSync(path.join(dest, 'web01.vmx'), 'utf8')).toContain('scsi0:0.fileName = "web01-000001.vmdk"');
  });

  it('writes one tar stream to stdout, manifest first, that tar lists and restore - reads back', () => {
    const tar = path.join(root, 'web01.tar');
    ok(diskchainToFile(['backup', vm.vmx, '-'], tar));
    const names = spawnSync('tar', ['-tf', tar], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(names).toEqual(['manifest.json', 'web01.vmx', 'web01.nvram', 'web01.vmdk', 'web01-s001.vmdk', 'data.vmdk', 'data-s001.vmdk']);

    const dest = path.join(root, 'from-stream');
    ok(diskchainFromFile(['restore', '-', dest], tar));
    expect(fs.readdirSync(dest).sort()).toEqual(['data-s001.vmdk', 'data.vmdk', 'web01.nvram', 'web01.vmdk', 'web01.vmx']);
    qemuImg('compare', '-q', vm.top, path.join(dest, 'web01.vmdk'));
    qemuImg('compare', '-q', vm.data, path.join(dest, 'data.vmdk'));

    // The same archive extracted by tar is an archive folder restore accepts.
    const extracted = path.join(root, 'extracted');
    fs.mkdirSync(extracted);
    spawnSync('tar', ['-xf', tar, '-C', extracted]);
    ok(diskchain(['restore', extracted, path.join(root, 'from-extracted')]));
  });

  it('restore - also reads an archive folder tarred whole by GNU tar (files one folder down, in any order)', () => {
    const tar = path.join(root, 'folder.tar');
    spawnSync('tar', ['-cf', tar, '-C', root, 'archive']);
    expect(spawnSync('tar', ['-tf', tar], { encoding: 'utf8' }).stdout).toContain('archive/manifest.json');
    const dest = path.join(root, 'from-folder-tar');
    ok(diskchainFromFile(['restore', '-', dest], tar));
    qemuImg('compare', '-q', vm.top, path.join(dest, 'web01.vmdk'));
  });

  it('restore - checks every entry as it arrives: a damaged segment is named, a cut-off stream refused, nothing left behind', () => {
    const tar = fs.readFileSync(path.join(root, 'web01.tar'));
    const segmentAt = tar.indexOf(Buffer.from('web01-s001.vmdk\0'));
    const damaged = Buffer.from(tar);
    damaged[segmentAt + 512 + 600 * 1024] ^= 0xff;
    const damagedFile = path.join(root, 'damaged.tar');
    fs.writeFileSync(damagedFile, damaged);
    const dest = path.join(root, 'from-damaged');
    let r = diskchainFromFile(['restore', '-', dest], damagedFile);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('stdin: archive is damaged, nothing was restored: web01-s001.vmdk differs from the manifest');
    expect(fs.existsSync(dest)).toBe(false);

    const cutFile = path.join(root, 'cut.tar');
    fs.writeFileSync(cutFile, tar.subarray(0, Math.floor(tar.length * 0.6)));
    r = diskchainFromFile(['restore', '-', dest], cutFile);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/stdin: .*cut off/);
    expect(fs.existsSync(dest)).toBe(false);
    // Into a folder that exists, a failed restore leaves it as it was.
    fs.mkdirSync(dest);
    expect(diskchainFromFile(['restore', '-', dest], cutFile).status).toBe(1);
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it('backs up a single disk and restores it', () => {
    const single = path.join(root, 'single');
    ok(diskchain(['backup', vm.top, single]));
    const m = readManifest(single);
    expect(m.source).toEqual({ kind: 'disk', path: vm.top });
    expect(m.vm).toBeNull();
    expect(m.disks[0]!.device).toBeNull();
    const dest = path.join(root, 'single-restored');
    ok(diskchain(['restore', '--to', 'twoGbMaxExtentSparse', single, dest]));
    expect(fs.readdirSync(dest).sort()).toEqual(['web01-s001.vmdk', 'web01.vmdk']);
    qemuImg('compare', '-q', vm.top, path.join(dest, 'web01.vmdk'));
  });

  it('refuses an archive folder that already holds an archive', () => {
    const r = diskchain(['backup', vm.vmx, archive]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('already holds an archive');
  });
});

describe('a VM in use', () => {
  const root = tmpDir();
  const vm = makeVm(root);
  const out = tmpDir();

  it('is refused while lock files are beside it, and archived with --force (and says so)', () => {
    fs.mkdirSync(path.join(vm.dir, 'web01-000001.vmdk.lck'));
    fs.writeFileSync(path.join(vm.dir, 'web01-000001.vmdk.lck', 'M12345.lck'), '');
    const archive = path.join(out, 'archive');
    const r = diskchain(['backup', vm.vmx, archive]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`diskchain: ${vm.vmx}: looks in use: lock file web01-000001.vmdk.lck beside it`);
    expect(r.stderr).toContain('--force');
    expect(fs.existsSync(archive)).toBe(false);

    ok(diskchain(['backup', '--force', vm.vmx, archive]));
    expect(readManifest(archive).forcedPastLocks).toBe(true);
  });

  it('shows as in use in vms, beside a VM whose disk does not open', () => {
    const other = path.join(root, 'broken');
    fs.mkdirSync(other);
    qemuImg('create', '-q', '-f', 'vmdk', path.join(other, 'orphan-base.vmdk'), '8M');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'orphan-base.vmdk', '-F', 'vmdk', path.join(other, 'orphan.vmdk'));
    fs.rmSync(path.join(other, 'orphan-base.vmdk'));
    fs.writeFileSync(path.join(other, 'broken.vmx'), VMX({ 'sata0:0': 'orphan.vmdk', 'nvme0:0': 'nowhere.vmdk' }));

    const r = diskchain(['vms', '--json', root]);
    expect(r.status).toBe(0);
    const vms = JSON.parse(r.text) as Array<{ vmx: string; locks: string[]; disks: Array<{ device: string; opens: boolean; error: string | null; links: string[] }> }>;
    expect(vms.map((v) => path.basename(v.vmx))).toEqual(['broken.vmx', 'web01.vmx']);
    const [broken, web01] = vms;
    expect(broken!.disks.map((d) => [d.device, d.opens])).toEqual([
      ['sata0:0', false],
      ['nvme0:0', false],
    ]);
    expect(broken!.disks[0]!.error).toMatch(/parent "orphan-base.vmdk" not found/);
    expect(web01!.locks.map((l) => path.basename(l))).toEqual(['web01-000001.vmdk.lck']);
    expect(web01!.disks.map((d) => [d.device, d.opens, d.links.length])).toEqual([
      ['scsi0:0', true, 2],
      ['scsi0:1', true, 1],
    ]);
    const text = diskchain(['vms', root]).text;
    expect(text).toContain('IN USE (web01-000001.vmdk.lck)');
    expect(text).toMatch(/sata0:0 +orphan\.vmdk .*does not open: orphan\.vmdk: parent "orphan-base\.vmdk" not found/);
  });
});

describe('interrupted backups', () => {
  const root = tmpDir();
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  // A 1 GiB ESX disk with 384 MiB of data: long enough to stop a backup in the middle of writing.
  const disk = writeVmfsDisk(src, 'big', 1024 * MiB);
  const fd = fs.openSync(path.join(src, 'big-flat.vmdk'), 'r+');
  const chunk = patternBytes(8 * MiB, 7);
  for (let i = 0; i < 48; i++) fs.writeSync(fd, chunk, 0, chunk.length, i * 20 * MiB);
  fs.closeSync(fd);
  fs.writeFileSync(path.join(src, 'big.vmx'), VMX({ 'scsi0:0': 'big.vmdk' }).replace(/nvram = .*\n/, ''));
  const before = snapshotFolder(src);

  /** Starts a backup and calls `stop` on the first progress line of the given phase. */
  function backupUntil(archive: string, phase: string, stop: (pid: number) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    const child = spawn(process.execPath, [BIN, 'backup', '--progress', 'json', path.join(src, 'big.vmx'), archive], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let stopped = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!stopped && stderr.includes(`"phase":"${phase}"`)) {
        stopped = true;
        stop(child.pid!);
      }
    });
    return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  }

  it('killed midway (SIGKILL) leaves the source unchanged and no archive that looks complete; restore refuses it', async () => {
    const archive = path.join(root, 'killed');
    const r = await backupUntil(archive, 'write', (pid) => process.kill(pid, 'SIGKILL'));
    expect(r.signal).toBe('SIGKILL');
    expect(snapshotFolder(src)).toEqual(before);
    expect(fs.existsSync(path.join(archive, 'manifest.json'))).toBe(false);
    // What a killed backup leaves is hidden staging, never files beside where the manifest goes.
    expect(fs.readdirSync(archive).every((n) => /^\.diskchain-.*\.partial$/.test(n))).toBe(true);

    const restore = diskchain(['restore', archive, path.join(root, 'from-killed')]);
    expect(restore.status).toBe(1);
    expect(restore.stderr).toMatch(/killed: no manifest\.json: a backup into it did not finish \(it left \.diskchain-.*\.partial\)/);
    expect(fs.existsSync(path.join(root, 'from-killed'))).toBe(false);
  });

  it('cancelled (Ctrl-C) removes what it wrote and exits 130', async () => {
    const archive = path.join(root, 'cancelled');
    const r = await backupUntil(archive, 'write', (pid) => process.kill(pid, 'SIGINT'));
    expect(r.stderr).toContain('diskchain: cancelled');
    expect(r.code).toBe(130);
    expect(fs.readdirSync(archive)).toEqual([]);
    expect(snapshotFolder(src)).toEqual(before);
  });

  it('a cancelled restore (Ctrl-C) leaves nothing behind', async () => {
    const archive = path.join(root, 'complete');
    ok(diskchain(['backup', path.join(src, 'big.vmx'), archive]));
    const dest = path.join(root, 'cancelled-restore');
    const child = spawn(process.execPath, [BIN, 'restore', '--progress', 'json', archive, dest], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      const first = !stderr.includes('"phase":"write');
      stderr += d.toString();
      if (first && stderr.includes('"phase":"write')) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).toContain('"phase":"verify"');
    expect(code).toBe(130);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('fails when the source changes while it is read', async () => {
    const archive = path.join(root, 'changed');
    const flat = path.join(src, 'big-flat.vmdk');
    const r = await backupUntil(archive, 'scan', () => {
      const later = new Date(Date.now() + 60_000);
      fs.utimesSync(flat, later, later);
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${flat}: changed while it was being backed up`);
    expect(fs.readdirSync(archive)).toEqual([]);
    expect(disk).toBe(path.join(src, 'big.vmdk'));
  });
});
