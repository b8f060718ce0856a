/** `convert`, `export` and `import`: the flattened view of any readable disk or chain, written as a new disk. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { usageError } from '../../shared/errors.js';
import { DEFAULT_SEGMENT_BYTES, DISK_KINDS, MAX_SEGMENT_BYTES, type ConvertSpec, type DiskKind, type JobResult } from '../../shared/jobs.js';
import { openChain, type Chain } from '../disk/chain.js';
import { FdSink, FileSink } from '../io/sink.js';
import { StagedOutput } from '../io/staged-output.js';
import type { JobContext } from '../io/job-context.js';
import { requireSpace } from '../io/space.js';
import { writeFlatExtents, writeRawStream } from './flat-writer.js';
import { guardedConvert } from './guard.js';
import { outputDdb, outputDescriptor, outputNames, planOutput, type OutputPlan } from './layout.js';
import { randomCid } from '../formats/descriptor.js';
import { convertSpace } from './space.js';
import { writeHostedSparse } from './sparse-writer.js';
import { writeStreamOptimized } from './stream-writer.js';

const STREAMABLE: DiskKind[] = ['raw', 'streamOptimized'];

/** Writer locks and the in-use check around the copy (guard.ts). */
export function convertJob(spec: ConvertSpec, ctx: JobContext): Promise<JobResult> {
  return guardedConvert(spec, () => writeConverted(spec, ctx));
}

async function writeConverted(spec: ConvertSpec, ctx: JobContext): Promise<JobResult> {
  validateSpec(spec);
  const chain = openChain(spec.src, { ignoreCid: spec.ignoreCid === true, allowDevices: spec.allowDevices === true });
  try {
    if (spec.dst === '-') {
      await writeToStdout(chain, spec, ctx);
      return { outputs: [], summary: `wrote ${spec.to} of ${path.basename(chain.top.path)} to stdout` };
    }
    const plan = planOutput(spec.to, spec.dst, chain.capacityBytes, spec.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    refuseOverlap(chain, plan);
    requireSpace(convertSpace(chain, spec));
    const out = StagedOutput.create(plan.dir, outputNames(plan), { force: spec.force === true });
    try {
      await writeOutput(chain, spec, plan, out, ctx);
      // commit() renames the primary last; report it first.
      const committed = out.commit(plan.primary);
      const primary = committed[committed.length - 1]!;
      return { outputs: [primary, ...committed.slice(0, -1)], summary: `wrote ${spec.to} ${primary}` };
    } catch (e) {
      out.abort();
      throw e;
    }
  } finally {
    chain.close();
  }
}

function validateSpec(spec: ConvertSpec): void {
  if (!(DISK_KINDS as readonly string[]).includes(spec.to)) {
    throw usageError(`unknown kind "${spec.to}" (one of ${DISK_KINDS.join(', ')})`);
  }
  if (spec.segmentBytes !== undefined) {
    if (!Number.isSafeInteger(spec.segmentBytes) || spec.segmentBytes < 1024 * 1024 || spec.segmentBytes % (64 * 1024) !== 0) {
      throw usageError('segment size must be a multiple of 64 KiB and at least 1 MiB');
    }
    if (spec.segmentBytes > MAX_SEGMENT_BYTES) throw usageError('segment size cannot exceed 2 GiB');
  }
  if (spec.compressLevel !== undefined && !(Number.isInteger(spec.compressLevel) && spec.compressLevel >= 1 && spec.compressLevel <= 9)) {
    throw usageError('compress level must be 1 to 9');
  }
  if (spec.dst === '-' && !STREAMABLE.includes(spec.to)) {
    throw usageError(`only raw and streamOptimized can be written to stdout, not ${spec.to}`);
  }
}

async function writeToStdout(chain: Chain, spec: ConvertSpec, ctx: JobContext): Promise<void> {
  const sink = FdSink.blocking(1);
  try {
    if (spec.to === 'raw') return writeRawStream(chain, sink, ctx);
    const plan = planOutput('streamOptimized', 'stdout.vmdk', chain.capacityBytes);
    await writeStreamOptimized(chain, sink, { compressLevel: spec.compressLevel ?? 6, descriptor: descriptorFor(chain, spec, plan) }, ctx);
  } finally {
    sink.close();
  }
}

function descriptorFor(chain: Chain, spec: ConvertSpec, plan: OutputPlan): string {
  const cid = randomCid();
  const ddb = outputDdb(chain, chain.capacityBytes, { kind: spec.to, ...(spec.adapter ? { adapter: spec.adapter } : {}) }, cid);
  return outputDescriptor(spec.to, plan, ddb, { cid });
}

async function writeOutput(chain: Chain, spec: ConvertSpec, plan: OutputPlan, out: StagedOutput, ctx: JobContext): Promise<void> {
  const skipZeroGrains = spec.skipZeroGrains ?? true;
  switch (spec.to) {
    case 'raw':
      writeFlatExtents(chain, plan, out, { preallocate: false }, ctx);
      return;
    case 'vmfsThin':
    case 'vmfs':
    case 'monolithicFlat':
    case 'twoGbMaxExtentFlat':
      writeFlatExtents(chain, plan, out, { preallocate: spec.to !== 'vmfsThin' }, ctx);
      writeDescriptorFile(out, plan, descriptorFor(chain, spec, plan));
      return;
    case 'monolithicSparse':
      await writeHostedSparse(chain, plan, out, { skipZeroGrains, embeddedDescriptor: descriptorFor(chain, spec, plan) }, ctx);
      return;
    case 'twoGbMaxExtentSparse':
      await writeHostedSparse(chain, plan, out, { skipZeroGrains, embeddedDescriptor: null }, ctx);
      writeDescriptorFile(out, plan, descriptorFor(chain, spec, plan));
      return;
    case 'streamOptimized': {
      const file = out.open(plan.primary);
      await writeStreamOptimized(chain, new FileSink(file), { compressLevel: spec.compressLevel ?? 6, descriptor: descriptorFor(chain, spec, plan) }, ctx);
      return;
    }
  }
}

function writeDescriptorFile(out: StagedOutput, plan: OutputPlan, text: string): void {
  out.open(plan.primary).writeAt(Buffer.from(text, 'utf8'), 0);
}

/** DST may not be a file SRC's chain reads from: the staged rename would replace it mid-read. */
function refuseOverlap(chain: Chain, plan: OutputPlan): void {
  const targets = new Set(outputNames(plan).map((n) => realish(path.join(plan.dir, n))));
  for (const link of chain.links) {
    const used = [link.path, ...link.extents.map((e) => e.path).filter((p): p is string => p !== null)];
    for (const p of used) {
      if (targets.has(realish(p))) {
        throw usageError(`destination ${path.join(plan.dir, path.basename(p))} is part of the source chain (${path.basename(link.path)})`);
      }
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
