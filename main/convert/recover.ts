/**
 * `recover`: every grain a damaged disk still holds, copied into a new disk by the same writers as
 * convert; what cannot be read becomes zeros there and is reported as lost LBA ranges. The source
 * is only read (disk/salvage.ts turns its damage into lost ranges), the output is staged and
 * renamed into place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { usageError } from '../../shared/errors.js';
import {
  DEFAULT_SEGMENT_BYTES,
  DISK_KINDS,
  MAX_SEGMENT_BYTES,
  TWO_GIB,
  type ConvertSpec,
  type DiskKind,
  type JobResult,
  type RecoverSpec,
  type RecoveryReport,
} from '../../shared/jobs.js';
import type { Chain } from '../disk/chain.js';
import { openSalvaged } from '../disk/salvage.js';
import type { LostRanges } from '../disk/salvage-reader.js';
import { dataRanges } from '../disk/source.js';
import { randomCid } from '../formats/descriptor.js';
import type { JobContext } from '../io/job-context.js';
import { FileSink } from '../io/sink.js';
import { requireSpace } from '../io/space.js';
import { StagedOutput } from '../io/staged-output.js';
import { writeFlatExtents } from './flat-writer.js';
import { outputDdb, outputDescriptor, outputNames, planOutput, type OutputPlan } from './layout.js';
import { convertSpace } from './space.js';
import { writeHostedSparse } from './sparse-writer.js';
import { writeStreamOptimized } from './stream-writer.js';

const SECTOR = 512;
/** One hosted sparse file addresses at most 2^32 sectors (uint32 grain table entries), metadata included. */
const MONOLITHIC_SPARSE_MAX_BYTES = 2 * 1024 * TWO_GIB - 64 * 1024 * 1024 * 1024;

export async function recoverJob(spec: RecoverSpec, ctx: JobContext): Promise<JobResult> {
  validate(spec);
  const { chain, lost, notes } = openSalvaged(spec.src, { ignoreCid: spec.ignoreCid === true, allowDevices: spec.allowDevices === true });
  try {
    const to = spec.to ?? defaultKind(chain.capacityBytes);
    const plan = planOutput(to, spec.dst, chain.capacityBytes, spec.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    refuseOverlap(chain, plan);
    const asConvert: ConvertSpec = { kind: 'convert', src: spec.src, dst: spec.dst, to, skipZeroGrains: true };
    requireSpace(convertSpace(chain, asConvert));
    const out = StagedOutput.create(plan.dir, outputNames(plan), { force: spec.force === true });
    try {
      await writeRecovered(chain, to, spec, plan, out, ctx);
      const recovery = report(chain, lost, notes);
      const committed = out.commit(plan.primary);
      const primary = committed[committed.length - 1]!;
      return { outputs: [primary, ...committed.slice(0, -1)], summary: summaryOf(primary, recovery), recovery };
    } catch (e) {
      out.abort();
      throw e;
    }
  } finally {
    chain.close();
  }
}

/** What convert would write for a disk this size when asked for a single-file sparse disk. */
export function defaultKind(capacityBytes: number): DiskKind {
  return capacityBytes > MONOLITHIC_SPARSE_MAX_BYTES ? 'twoGbMaxExtentSparse' : 'monolithicSparse';
}

function validate(spec: RecoverSpec): void {
  if (spec.to !== undefined && !(DISK_KINDS as readonly string[]).includes(spec.to)) {
    throw usageError(`unknown kind "${spec.to}" (one of ${DISK_KINDS.join(', ')})`);
  }
  if (spec.dst === '-') throw usageError('recover writes a disk file, not stdout');
  const segment = spec.segmentBytes;
  if (segment !== undefined && (!Number.isSafeInteger(segment) || segment < 1024 * 1024 || segment % (64 * 1024) !== 0 || segment > MAX_SEGMENT_BYTES)) {
    throw usageError('segment size must be a multiple of 64 KiB from 1 MiB to 2 GiB');
  }
}

async function writeRecovered(chain: Chain, to: DiskKind, spec: RecoverSpec, plan: OutputPlan, out: StagedOutput, ctx: JobContext): Promise<void> {
  const cid = randomCid();
  const descriptor = (): string => outputDescriptor(to, plan, outputDdb(chain, chain.capacityBytes, { kind: to, ...(spec.adapter ? { adapter: spec.adapter } : {}) }, cid), { cid });
  const writeDescriptorFile = (): void => out.open(plan.primary).writeAt(Buffer.from(descriptor(), 'utf8'), 0);
  switch (to) {
    case 'raw':
      writeFlatExtents(chain, plan, out, { preallocate: false }, ctx);
      return;
    case 'vmfsThin':
    case 'vmfs':
    case 'monolithicFlat':
    case 'twoGbMaxExtentFlat':
      writeFlatExtents(chain, plan, out, { preallocate: to !== 'vmfsThin' }, ctx);
      writeDescriptorFile();
      return;
    case 'monolithicSparse':
      await writeHostedSparse(chain, plan, out, { skipZeroGrains: true, embeddedDescriptor: descriptor() }, ctx);
      return;
    case 'twoGbMaxExtentSparse':
      await writeHostedSparse(chain, plan, out, { skipZeroGrains: true, embeddedDescriptor: null }, ctx);
      writeDescriptorFile();
      return;
    case 'streamOptimized':
      await writeStreamOptimized(chain, new FileSink(out.open(plan.primary)), { compressLevel: 6, descriptor: descriptor() }, ctx);
      return;
  }
}

/** After the copy every lost range has been met; saved bytes are the source's data ranges less those. */
function report(chain: Chain, lost: LostRanges, notes: string[]): RecoveryReport {
  let dataBytes = 0;
  let lostInData = 0;
  for (const r of dataRanges(chain)) {
    dataBytes += r.length;
    lostInData += lost.overlap(r.offset, r.length);
  }
  const ranges = lost.list().map((r) => ({ start: Math.floor(r.offset / SECTOR), length: Math.ceil((r.offset + r.length) / SECTOR) - Math.floor(r.offset / SECTOR) }));
  return { lost: ranges, lostBytes: lost.totalBytes(), savedBytes: dataBytes - lostInData, capacityBytes: chain.capacityBytes, notes: [...notes] };
}

function summaryOf(primary: string, r: RecoveryReport): string {
  if (r.lost.length === 0) return `recovered ${primary}: nothing was lost (${r.savedBytes} bytes of data)`;
  return `recovered ${primary}: ${r.savedBytes} bytes of data saved, ${r.lostBytes} bytes lost in ${r.lost.length} range${r.lost.length === 1 ? '' : 's'} (zeros there)`;
}

/** DST may not be a file the source chain reads from: the staged rename would replace it. */
function refuseOverlap(chain: Chain, plan: OutputPlan): void {
  const targets = new Set(outputNames(plan).map((n) => realish(path.join(plan.dir, n))));
  for (const link of chain.links) {
    for (const p of [link.path, ...link.extents.map((e) => e.path).filter((x): x is string => x !== null)]) {
      if (targets.has(realish(p))) throw usageError(`destination ${path.join(plan.dir, path.basename(p))} is part of the source (${path.basename(link.path)})`);
    }
  }
}

function realish(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
