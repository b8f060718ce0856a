/**
 * What an app dialog says before Start (issue 16), from the same checks the job runs: the VMware
 * lock files that make a writer refuse the disk unless forced (disk/in-use.ts), the .vmx files that
 * use it (snapshot and commit re-point them), and the outputs that exist already. Read only, quick:
 * a few folder listings and the .vmx files beside the disk. Runs in the query worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobSpec } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import { diskUse, findLocks, type DiskUse } from '../disk/in-use.js';
import { outputsOf } from '../convert/guard.js';
import { readVmx, vmxValue } from '../formats/vmx.js';

export interface JobSafety extends DiskUse {
  /** displayName of each VM in vms (null when its .vmx has none or does not read). */
  vmNames: Array<string | null>;
  existing: string[];
}

export function jobSafety(spec: JobSpec): JobSafety {
  const found = findings(spec);
  return { ...found, vmNames: found.vms.map(displayName) };
}

function displayName(vmx: string): string | null {
  try {
    return vmxValue(readVmx(vmx), 'displayName') ?? null;
  } catch {
    return null;
  }
}

function findings(spec: JobSpec): Omit<JobSafety, 'vmNames'> {
  switch (spec.kind) {
    case 'convert':
      return { ...useOf(spec.src), existing: existingOutputs(spec.src, spec, spec.ignoreCid === true) };
    case 'recover':
      // recover reads a damaged disk a VM cannot be running on: only its outputs matter.
      return { locks: [], vms: [], existing: existingOutputs(spec.src, { dst: spec.dst, to: spec.to ?? 'monolithicSparse' }, true) };
    case 'commit':
      return { ...useOf(spec.top), existing: [] };
    case 'snapshot':
    case 'extend':
      return { ...useOf(spec.disk), existing: [] };
    case 'backup': {
      const manifest = path.join(spec.archiveDir, 'manifest.json');
      const existing = fs.existsSync(manifest) ? [spec.archiveDir] : [];
      if (/\.vmx$/i.test(spec.source)) return { locks: findLocks([spec.source], path.dirname(spec.source)), vms: [spec.source], existing };
      return { ...useOf(spec.source), existing };
    }
    case 'restore':
    case 'extract':
    case 'restoreFile':
    case 'indexFiles':
      return { locks: [], vms: [], existing: [] };
  }
}

function useOf(disk: string): DiskUse {
  try {
    return diskUse(disk);
  } catch {
    return { locks: [], vms: [] }; // a disk that does not open: the job says why
  }
}

function existingOutputs(src: string, out: Parameters<typeof outputsOf>[0], ignoreCid: boolean): string[] {
  let capacityBytes: number;
  try {
    const chain = openChain(src, { ignoreCid, acceptDamage: true });
    capacityBytes = chain.capacityBytes;
    chain.close();
  } catch {
    return fs.existsSync(out.dst) ? [path.resolve(out.dst)] : [];
  }
  return outputsOf(out, capacityBytes).filter((f) => fs.existsSync(f));
}
