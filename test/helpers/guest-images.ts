/** Builds partitioned test disks with the system's own tools (sfdisk, sgdisk, fdisk, mkfs.*) and reads mmls. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { qemuImg } from './qemu.js';

export const MiB = 1024 * 1024;

export function run(cmd: string, args: string[], input?: string, env: Record<string, string> = {}): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

/** A sparse raw file of `size` bytes. */
export function blankDisk(file: string, size: number): string {
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
  return file;
}

/** sfdisk with a script of `start=,size=,type=` lines (sectors). */
export function sfdisk(file: string, label: 'dos' | 'gpt', lines: string[]): void {
  run('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', file], [`label: ${label}`, 'unit: sectors', '', ...lines, ''].join('\n'));
}

/** Copies `image` into `disk` at byte `offset` without growing past the disk. */
export function writeAt(disk: string, offset: number, image: string | Buffer): void {
  const bytes = typeof image === 'string' ? fs.readFileSync(image) : image;
  const fd = fs.openSync(disk, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** A FAT file system image (mkfs.vfat -F bits) with a label and a fixed serial. */
export function fatImage(dir: string, name: string, sizeBytes: number, bits: 12 | 16 | 32, label: string, serial: string): string {
  const file = path.join(dir, name);
  fs.rmSync(file, { force: true });
  run('mkfs.vfat', ['-C', '-F', String(bits), '-n', label, '-i', serial, file, String(sizeBytes / 1024)]);
  return file;
}

export function ext4Image(dir: string, name: string, sizeBytes: number, label: string, uuid: string): string {
  const file = path.join(dir, name);
  blankDisk(file, sizeBytes);
  run('mkfs.ext4', ['-q', '-F', '-L', label, '-U', uuid, file]);
  return file;
}

export function ntfsImage(dir: string, name: string, sizeBytes: number, startSector: number, label: string): string {
  const file = path.join(dir, name);
  blankDisk(file, sizeBytes);
  run('mkntfs', ['-q', '-F', '-Q', '-L', label, '-s', '512', '-p', String(startSector), '-H', '255', '-S', '63', file]);
  return file;
}

/** The disk as a monolithicSparse VMDK beside it. */
export function toVmdk(raw: string, subformat = 'monolithicSparse'): string {
  const out = raw.replace(/\.img$/, '') + '.vmdk';
  qemuImg('convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, raw, out);
  return out;
}

export interface MmlsRow {
  start: number;
  length: number;
  description: string;
}

/** The allocated partitions mmls sees (Meta and unallocated rows left out), in its sectors. */
export function mmls(file: string, sectorSize = 512): MmlsRow[] {
  const out = run('mmls', ['-b', String(sectorSize), file]);
  const rows: MmlsRow[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+(\d+:\d+|\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*(.*)$/.exec(line);
    if (m) rows.push({ start: Number(m[2]), length: Number(m[4]), description: m[5]!.trim() });
  }
  return rows;
}
