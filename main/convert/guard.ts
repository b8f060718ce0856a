/**
 * What runs around convert, export and import: a shared lock on every link of the source chain
 * and an exclusive one on every output file (io/writer-lock.ts), so that no commit changes the
 * source while it is copied and no second job writes the same output; and the VMware in-use check
 * (disk/in-use.ts), since a copy of a disk a VM is writing is not a consistent disk.
 */
import * as path from 'node:path';
import { DEFAULT_SEGMENT_BYTES, DISK_KINDS, MAX_SEGMENT_BYTES, type ConvertSpec, type JobResult } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import { diskUse, refuseInUse } from '../disk/in-use.js';
import { lockFiles } from '../io/writer-lock.js';
import { outputNames, planOutput } from './layout.js';

export async function guardedConvert(spec: ConvertSpec, write: () => Promise<JobResult>): Promise<JobResult> {
  const src = path.resolve(spec.src);
  const source = sourceOf(src, spec);
  // A source that does not open, or a bad option, is refused by the job itself with its own message.
  if (source === null || !(DISK_KINDS as readonly string[]).includes(spec.to)) return write();
  const locks = lockFiles({ job: 'convert', writes: outputsOf(spec, source.capacityBytes), reads: source.links });
  try {
    refuseInUse(src, diskUse(src), spec.force === true, 'copy it anyway (the VM may change it while it is read)');
    return await write();
  } finally {
    await locks.release();
  }
}

function sourceOf(src: string, spec: ConvertSpec): { links: string[]; capacityBytes: number } | null {
  let chain;
  try {
    chain = openChain(src, { ignoreCid: spec.ignoreCid === true, allowDevices: spec.allowDevices === true });
  } catch {
    return null;
  }
  try {
    return { links: chain.links.map((l) => l.path), capacityBytes: chain.capacityBytes };
  } finally {
    chain.close();
  }
}

/** The files a convert of a disk of `capacityBytes` writes (none for stdout or a bad segment size). */
export function outputsOf(spec: Pick<ConvertSpec, 'dst' | 'to' | 'segmentBytes'>, capacityBytes: number): string[] {
  if (spec.dst === '-') return [];
  const segment = spec.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  if (!Number.isSafeInteger(segment) || segment < 1024 * 1024 || segment > MAX_SEGMENT_BYTES) return [];
  const plan = planOutput(spec.to, spec.dst, capacityBytes, segment);
  return outputNames(plan).map((n) => path.join(plan.dir, n));
}
