/**
 * Keeping a VM's .vmx on the right disk. After `snapshot` the VM must open the new child (booting
 * it on the old disk writes into the snapshot's parent and breaks the chain); after `commit` a
 * .vmx that named the folded child must name what replaced it. Only .vmx files beside the disk
 * are looked at, as VMware keeps a VM's disks in its folder.
 *
 * Each .vmx is replaced atomically (temp file, fsync, rename, permissions kept: VMware's are
 * executable), after a copy of the old one was kept as `NAME.vmx.YYYYMMDD-HHMMSS.bak`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { readVmx, rewriteVmx, vmxDisks, vmxValue } from '../formats/vmx.js';
import { replaceFile, syncDir } from '../io/staged-output.js';
import { canonical, listFolder } from './in-use.js';

/** A .vmx disk entry naming a disk file. */
export interface VmxReference {
  vmx: string;
  /** `scsi0:0`… */
  device: string;
  /** The entry's value as written. */
  fileName: string;
}

export interface RepointedVmx {
  vmx: string;
  /** The VM's displayName, else the .vmx file name. */
  vmName: string;
  /** The copy of the .vmx as it was. */
  backup: string;
  devices: string[];
}

/** Entries of the .vmx files beside `disk` that name exactly `disk` (not a snapshot or a parent of it). */
export function vmxEntriesNaming(disk: string): VmxReference[] {
  const target = canonical(disk);
  const dir = path.dirname(target);
  const refs: VmxReference[] = [];
  for (const name of listFolder(dir).sort()) {
    if (!/\.vmx$/i.test(name)) continue;
    const file = path.join(dir, name);
    let disks;
    try {
      disks = vmxDisks(readVmx(file));
    } catch {
      continue; // unreadable: nothing we could safely rewrite
    }
    for (const d of disks) if (canonical(d.path) === target) refs.push({ vmx: file, device: d.device, fileName: d.fileName });
  }
  return refs;
}

/** Points every reference at `newDisk`, one .vmx at a time, each after a backup copy of it. */
export function repointVmx(refs: VmxReference[], oldDisk: string, newDisk: string, now = new Date()): RepointedVmx[] {
  const byVmx = new Map<string, VmxReference[]>();
  for (const r of refs) byVmx.set(r.vmx, [...(byVmx.get(r.vmx) ?? []), r]);
  const done: RepointedVmx[] = [];
  for (const [file, entries] of byVmx) {
    const vmx = readVmx(file);
    const changes = new Map(entries.map((e) => [`${e.device}.fileName`, newValue(e.fileName, file, oldDisk, newDisk)]));
    const backup = keepCopy(file, now);
    try {
      replaceFile(file, rewriteVmx(vmx, changes), { mode: fs.statSync(file).mode & 0o7777 });
    } catch (e) {
      throw new DiskchainError('E_IO', `cannot re-point it at ${path.basename(newDisk)}: ${(e as Error).message}`, file);
    }
    const vmName = vmxValue(vmx, 'displayName') ?? path.basename(file).replace(/\.vmx$/i, '');
    done.push({ vmx: file, vmName, backup, devices: entries.map((e) => e.device) });
  }
  return done;
}

/** One clause for a job's summary: `web01.vmx ("Web 01", scsi0:0) now uses web01-000001.vmdk (old .vmx kept as …)`. */
export function repointSummary(done: RepointedVmx[], newDisk: string): string {
  return done
    .map((d) => `${path.basename(d.vmx)} ("${d.vmName}", ${d.devices.join(', ')}) now uses ${path.basename(newDisk)} (old .vmx kept as ${path.basename(d.backup)})`)
    .join('; ');
}

/**
 * The new entry in the style of the old one: when the new disk is beside the old, only the file
 * name changes (a bare name stays bare, an absolute datastore path stays absolute); otherwise the
 * new disk's path relative to the .vmx.
 */
function newValue(oldValue: string, vmx: string, oldDisk: string, newDisk: string): string {
  if (path.dirname(canonical(oldDisk)) === path.dirname(canonical(newDisk))) return oldValue.replace(/[^/\\]*$/, path.basename(newDisk));
  return path.relative(path.dirname(vmx), newDisk).split(path.sep).join('/');
}

/** Copies `file` to `NAME.YYYYMMDD-HHMMSS.bak` (fsynced, never over an older copy); returns the copy's path. */
export function keepCopy(file: string, now: Date = new Date()): string {
  const stamp = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  for (let n = 1; n < 100; n++) {
    const backup = `${file}.${stamp}${n === 1 ? '' : `-${n}`}.bak`;
    try {
      fs.copyFileSync(file, backup, fs.constants.COPYFILE_EXCL);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new DiskchainError('E_IO', `cannot keep a copy of it before re-pointing: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
    }
    const fd = fs.openSync(backup, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    syncDir(path.dirname(backup));
    return backup;
  }
  throw new DiskchainError('E_EXISTS', 'too many backup copies of it from this second', file);
}

function two(n: number): string {
  return String(n).padStart(2, '0');
}
