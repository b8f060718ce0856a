/**
 * What runs around commit, snapshot and extend, before and after they touch a chain:
 *
 * - writer locks (io/writer-lock.ts) on the links the job changes and the links it reads, so a
 *   second job on the same chain refuses before writing anything;
 * - the VMware in-use check (disk/in-use.ts): a locked disk, or one of a locked VM, is refused
 *   unless forced;
 * - after success, a .vmx beside the disk that named it follows the change (disk/vmx-repoint.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommitSpec, ExtendSpec, JobResult, SnapshotSpec } from '../../shared/jobs.js';
import { findChildren } from '../disk/children.js';
import { chainLinks, diskUse, refuseInUse } from '../disk/in-use.js';
import { repointSummary, repointVmx, vmxEntriesNaming, type VmxReference } from '../disk/vmx-repoint.js';
import { lockFiles } from '../io/writer-lock.js';

/** commit: TOP, its parent and TOP's children are rewritten; the links below are read. */
export async function guardedCommit(spec: CommitSpec, fold: () => Promise<JobResult>): Promise<JobResult> {
  const top = path.resolve(spec.top);
  const links = chainLinks(top);
  const locks = lockFiles({ job: 'commit', writes: [top, ...links.slice(1, 2), ...childrenOf(top)], reads: links.slice(2) });
  try {
    refuseInUse(top, diskUse(top), spec.force === true, 'commit it anyway (the VM may be writing to these disks)');
    const naming = spec.updateVmx === false ? [] : vmxEntriesNaming(top);
    const result = await fold();
    // An ESX 2 REDO of the REDO renamed over TOP's name is what a .vmx naming TOP now opens.
    const parent = result.outputs[0];
    if (naming.length === 0 || parent === undefined || fs.existsSync(top)) return result;
    return withVmx(result, naming, top, parent);
  } finally {
    await locks.release();
  }
}

/** snapshot: the disk gets a child (and must not change meanwhile); its parents are read. */
export async function guardedSnapshot(spec: SnapshotSpec, add: () => Promise<JobResult>): Promise<JobResult> {
  const disk = path.resolve(spec.disk);
  const links = chainLinks(disk);
  const locks = lockFiles({ job: 'snapshot', writes: [disk], reads: links.slice(1) });
  try {
    refuseInUse(disk, diskUse(disk), spec.force === true, 'snapshot it anyway (the running VM would go on writing into the parent)');
    const naming = spec.updateVmx === false ? [] : vmxEntriesNaming(disk);
    const result = await add();
    const child = result.outputs[0];
    return naming.length === 0 || child === undefined ? result : withVmx(result, naming, disk, child);
  } finally {
    await locks.release();
  }
}

/** extend: one base disk, changed in place. */
export async function guardedExtend(spec: ExtendSpec, grow: () => Promise<JobResult>): Promise<JobResult> {
  const disk = path.resolve(spec.disk);
  const locks = lockFiles({ job: 'extend', writes: [disk], reads: [] });
  try {
    refuseInUse(disk, diskUse(disk), spec.force === true, 'extend it anyway (the VM may be writing to it)');
    return await grow();
  } finally {
    await locks.release();
  }
}

function withVmx(result: JobResult, naming: VmxReference[], oldDisk: string, newDisk: string): JobResult {
  const done = repointVmx(naming, oldDisk, newDisk);
  return {
    outputs: [...result.outputs, ...done.map((d) => d.vmx)],
    summary: `${result.summary}; ${repointSummary(done, newDisk)}`,
  };
}

function childrenOf(disk: string): string[] {
  try {
    return findChildren(disk);
  } catch {
    return []; // the folder cannot be listed: the job itself will say so
  }
}
