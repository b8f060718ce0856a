/**
 * A VM whose disks hold real file systems, for single-file restore from archives: sys.vmdk (MBR,
 * partition 1 ext4 filled by mkfs.ext4 -d) and data.vmdk (a whole-disk NTFS volume filled by
 * ntfscp), named by web01.vmx. `changeNginx` then takes a snapshot (sys-000001.vmdk) holding the
 * blocks a second mkfs.ext4 -d with one file changed wrote differently, and points the .vmx at it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blankDisk, MiB, ntfsImage, run, sfdisk, toVmdk, writeAt } from './guest-images.js';
import { qemuImg } from './qemu.js';
import { patternBytes } from '../fixtures/pattern.js';

export const PART_START = 2048 * 512;
const EXT4_BYTES = 40 * MiB;
const UUID = '5e1f0000-0000-4000-8000-00000000ab01';
export const NGINX_BEFORE = 'worker_processes 1;\nevents { worker_connections 512; }\n';
export const NGINX_AFTER = 'worker_processes 4;\nevents { worker_connections 4096; }\n# tuned on the 3rd\n';

export interface GuestVm {
  dir: string;
  vmx: string;
  /** The source trees: what the ext4 volume holds before and after the change, and the NTFS files. */
  extBefore: string;
  extAfter: string;
  ntfsFiles: string;
  sys: string;
  data: string;
}

function extTree(root: string, nginx: string): void {
  fs.mkdirSync(path.join(root, 'etc', 'nginx'), { recursive: true });
  fs.mkdirSync(path.join(root, 'var', 'log'), { recursive: true });
  fs.mkdirSync(path.join(root, 'home', 'ann'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'nginx', 'nginx.conf'), nginx);
  fs.writeFileSync(path.join(root, 'etc', 'hostname'), 'web01\n');
  fs.writeFileSync(path.join(root, 'home', 'ann', 'notes.txt'), 'remember the milk\n'.repeat(100));
  fs.writeFileSync(path.join(root, 'var', 'big.bin'), patternBytes(8 * MiB, 11));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(root, 'var', 'log', `app.${i}.log`), `line ${i}\n`.repeat(i + 1));
  const old = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
  fs.utimesSync(path.join(root, 'etc', 'hostname'), old, old);
}

function ext4(dir: string, name: string, tree: string): string {
  const file = blankDisk(path.join(dir, name), EXT4_BYTES);
  run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-L', 'root', '-U', UUID, '-E', `hash_seed=${UUID}`, '-d', tree, file], undefined, { E2FSPROGS_FAKE_TIME: '1700000000' });
  return file;
}

export function makeGuestVm(root: string): GuestVm {
  const dir = path.join(root, 'web01');
  const work = path.join(root, 'work');
  fs.mkdirSync(dir);
  fs.mkdirSync(work);
  const extBefore = path.join(work, 'ext-before');
  const extAfter = path.join(work, 'ext-after');
  extTree(extBefore, NGINX_BEFORE);
  extTree(extAfter, NGINX_AFTER);
  const raw = blankDisk(path.join(work, 'sys.img'), PART_START + EXT4_BYTES + MiB);
  sfdisk(raw, 'dos', [`start=2048, size=${EXT4_BYTES / 512}, type=83`]);
  writeAt(raw, PART_START, ext4(work, 'ext-before.bin', extBefore));
  const sys = path.join(dir, 'sys.vmdk');
  fs.renameSync(toVmdk(raw), sys);

  const ntfsFiles = path.join(work, 'ntfs-files');
  fs.mkdirSync(ntfsFiles);
  fs.writeFileSync(path.join(ntfsFiles, 'report.txt'), 'quarterly numbers\n');
  fs.writeFileSync(path.join(ntfsFiles, 'big.dat'), patternBytes(3 * MiB + 77, 12));
  const ntfs = ntfsImage(work, 'data.img', 16 * MiB, 0, 'DATA');
  for (const name of fs.readdirSync(ntfsFiles)) run('ntfscp', ['-q', '-f', ntfs, path.join(ntfsFiles, name), name]);
  const data = path.join(dir, 'data.vmdk');
  fs.renameSync(toVmdk(ntfs), data);

  const vmx = path.join(dir, 'web01.vmx');
  fs.writeFileSync(vmx, vmxText('sys.vmdk'));
  return { dir, vmx, extBefore, extAfter, ntfsFiles, sys, data };
}

function vmxText(sys: string): string {
  return [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "14"',
    'displayName = "web01"',
    'scsi0.present = "TRUE"',
    'scsi0:0.present = "TRUE"',
    `scsi0:0.fileName = "${sys}"`,
    'scsi0:1.present = "TRUE"',
    'scsi0:1.fileName = "data.vmdk"',
    '',
  ].join('\n');
}

/** A snapshot of sys.vmdk that holds the ext4 volume with NGINX_AFTER; the .vmx then names it. */
export function changeNginx(vm: GuestVm, work = path.join(path.dirname(vm.dir), 'work')): string {
  const before = fs.readFileSync(path.join(work, 'ext-before.bin'));
  const after = fs.readFileSync(ext4(work, 'ext-after.bin', vm.extAfter));
  const top = path.join(vm.dir, 'sys-000001.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'sys.vmdk', '-F', 'vmdk', top);
  const commands: string[] = [];
  const blobs: string[] = [];
  const CHUNK = 64 * 1024;
  for (let at = 0; at < after.length; at += CHUNK) {
    const chunk = after.subarray(at, at + CHUNK);
    if (chunk.equals(before.subarray(at, at + CHUNK))) continue;
    const blob = path.join(work, `chunk-${at}.bin`);
    fs.writeFileSync(blob, chunk);
    blobs.push(blob);
    commands.push('-c', `write -s ${blob} ${PART_START + at} ${chunk.length}`);
  }
  execFileSync('qemu-io', ['-f', 'vmdk', ...commands, top], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const b of blobs) fs.rmSync(b);
  fs.writeFileSync(vm.vmx, vmxText('sys-000001.vmdk'));
  return top;
}

/** Every file under a folder with its bytes' SHA-256 and mtime: an archive must read as untouched. */
export function folderState(dir: string): Record<string, { size: number; mtimeMs: number; sha256: string }> {
  const out: Record<string, { size: number; mtimeMs: number; sha256: string }> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = { size: st.size, mtimeMs: st.mtimeMs, sha256: execFileSync('sha256sum', [p], { encoding: 'utf8' }).slice(0, 64) };
    }
  };
  walk(dir);
  return out;
}
