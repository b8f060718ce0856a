/** The commands that write: convert, export, import, commit, snapshot, extend — each a worker-thread job. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { diskStem } from '../../shared/disk-names.js';
import { usageError } from '../../shared/errors.js';
import { ADAPTERS, DISK_KINDS, type Adapter, type DiskKind, type JobResult, type JobSpec } from '../../shared/jobs.js';
import { startJob } from '../jobs/engine.js';
import { specOf, type PathRequest } from '../jobs/requests.js';
import { throttle } from '../jobs/throttle.js';
import { progressMode, progressPrinter } from './progress.js';
import { parseSize } from './size.js';

interface JobOptions {
  progress?: string;
  force?: boolean;
  ignoreCid?: boolean;
  allowDevices?: boolean;
  adapter?: Adapter;
  segmentSize?: string;
  compressLevel?: string;
  thin?: boolean;
  to?: DiskKind;
  /** false with --no-vmx */
  vmx?: boolean;
}

const progressOption = (): Option =>
  new Option('--progress <mode>', 'json: one JSON line per update on stderr; bar: a progress bar; none').choices(['json', 'bar', 'none']);
const adapterOption = (): Option => new Option('--adapter <type>', 'controller the disk is for (geometry follows)').choices([...ADAPTERS]);

/** Runs a job in its worker thread; Ctrl-C cancels it (the job removes its partial output). */
export async function run(request: PathRequest, options: JobOptions): Promise<void> {
  await runSpec(specOf(request), options);
}

async function runSpec(spec: JobSpec, options: JobOptions): Promise<void> {
  const result = await runWithProgress(spec, options.progress);
  if (spec.kind !== 'convert' || spec.dst !== '-') process.stderr.write(`${result.summary}\n`);
}

/** A job in its worker thread with the chosen progress display; a first Ctrl-C cancels, a second exits. */
export async function runWithProgress(spec: JobSpec, progress: string | undefined): Promise<JobResult> {
  const printer = progressPrinter(progressMode(progress));
  const shown = throttle(printer.update);
  const job = startJob(spec, (p) => shown.update(p));
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    job.cancel();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await job.done;
    shown.flush();
    printer.finish();
    return result;
  } catch (e) {
    shown.stop();
    printer.finish();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function segmentBytes(options: JobOptions): number | undefined {
  return options.segmentSize === undefined ? undefined : parseSize(options.segmentSize, 'segment size');
}

function compressLevel(options: JobOptions): number | undefined {
  if (options.compressLevel === undefined) return undefined;
  const n = Number(options.compressLevel);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw usageError(`bad compress level "${options.compressLevel}": use 1 (fastest) to 9 (smallest)`);
  return n;
}

/**
 * DST given as a folder (existing, or ending in a separator) gets the source's name. The folder
 * the output goes into is created when missing, as export and restore create theirs.
 */
function destination(src: string, dst: string, ext = '.vmdk'): string {
  const out = isFolder(dst) ? path.join(dst, diskStem(src) + ext) : dst;
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  return out;
}

function isFolder(dst: string): boolean {
  return dst.endsWith('/') || dst.endsWith(path.sep) || (fs.existsSync(dst) && fs.statSync(dst).isDirectory());
}

/** A `.vmdk` name that is not an existing folder is the output file itself. */
function isVmdkFile(dst: string): boolean {
  return /\.vmdk$/i.test(dst) && !isFolder(dst);
}

export function addJobCommands(program: Command): void {
  program
    .command('convert')
    .description('write any readable disk or chain (flattened) as a new disk of another kind')
    .argument('<src>', 'disk or top of a chain')
    .argument('<dst>', "output file, or a folder to write it into (created if missing); '-' writes raw or streamOptimized to stdout")
    .addOption(new Option('--to <kind>', 'output kind').choices([...DISK_KINDS]).makeOptionMandatory())
    .addOption(adapterOption())
    .option('--segment-size <size>', 'largest extent file of split kinds (default 2047M, at most 2G)')
    .option('--compress-level <n>', 'deflate level for streamOptimized, 1-9 (default 6)')
    .option('--force', 'replace existing output files, and copy a disk although VMware lock files say it is in use')
    .option('--ignore-cid', "read a chain whose parentCID does not match its parent's CID")
    .option('--allow-devices', 'read extents on host devices (/dev/...) that a descriptor names')
    .addOption(progressOption())
    .action(async (src: string, dst: string, options: JobOptions) => {
      const kind = options.to!;
      const out = dst === '-' ? '-' : destination(src, dst, kind === 'raw' ? '.img' : '.vmdk');
      await run(
        {
          kind: 'convert',
          src,
          dst: out,
          to: kind,
          adapter: options.adapter,
          segmentBytes: segmentBytes(options),
          compressLevel: compressLevel(options),
          force: options.force,
          ignoreCid: options.ignoreCid,
          allowDevices: options.allowDevices,
        },
        options,
      );
    });

  program
    .command('export')
    .description('ESX → Workstation: write a disk or chain as twoGbMaxExtentSparse into a folder (like vmkfstools -e)')
    .argument('<src>', 'disk or top of a chain (an ESX vmfs disk, a -delta snapshot…); the chain is flattened')
    .argument('<dst>', 'folder to write NAME.vmdk and NAME-s001.vmdk… into (created if missing), or the output NAME.vmdk itself')
    .option('--segment-size <size>', 'largest extent file (default 2047M, at most 2G)')
    .option('--force', 'replace existing output files, and copy a disk although VMware lock files say it is in use')
    .option('--ignore-cid', "read a chain whose parentCID does not match its parent's CID")
    .option('--allow-devices', 'read extents on host devices (/dev/...) that a descriptor names')
    .addOption(progressOption())
    .action(async (src: string, dst: string, options: JobOptions) => {
      const dir = isVmdkFile(dst) ? path.dirname(dst) : dst;
      fs.mkdirSync(dir, { recursive: true });
      const spec = specOf({ kind: 'export', src, dir, segmentBytes: segmentBytes(options), force: options.force, ignoreCid: options.ignoreCid, allowDevices: options.allowDevices });
      await runSpec(isVmdkFile(dst) && spec.kind === 'convert' ? { ...spec, dst } : spec, options);
    });

  program
    .command('import')
    .description('Workstation → ESX: write a disk or chain in vmfs layout, NAME.vmdk + NAME-flat.vmdk (like vmkfstools -i)')
    .argument('<src>', 'disk or top of a chain (a Workstation disk, a hosted snapshot…); the chain is flattened')
    .argument('<dst>', 'output NAME.vmdk (NAME-flat.vmdk is written beside it), or a folder (created if missing) to write it into')
    .option('--thin', 'write the -flat.vmdk sparse (ddb.thinProvisioned) instead of fully allocated')
    .addOption(adapterOption())
    .option('--force', 'replace existing output files, and copy a disk although VMware lock files say it is in use')
    .option('--ignore-cid', "read a chain whose parentCID does not match its parent's CID")
    .option('--allow-devices', 'read extents on host devices (/dev/...) that a descriptor names')
    .addOption(progressOption())
    .action(async (src: string, dst: string, options: JobOptions) => {
      await run(
        { kind: 'import', src, dst: destination(src, dst), thin: options.thin, adapter: options.adapter, force: options.force, ignoreCid: options.ignoreCid, allowDevices: options.allowDevices },
        options,
      );
    });

  program
    .command('commit')
    .description('fold a REDO log, -delta.vmdk or hosted child into its parent and remove it (like vmkfstools -m)')
    .argument('<top>')
    .option('--force', 'commit even when the parent has other children (they will read changed data), or VMware lock files say the disk is in use')
    .option('--no-vmx', 'leave a .vmx beside TOP that names it as it is (default: re-point it at the parent, old .vmx kept as .bak)')
    .addOption(progressOption())
    .action(async (top: string, options: JobOptions) => {
      await run({ kind: 'commit', top, force: options.force, updateVmx: options.vmx }, options);
    });

  program
    .command('snapshot')
    .description('add a child to a disk: NAME.REDO for ESX 2, NAME-000001.vmdk (+ -delta) otherwise')
    .argument('<disk>')
    .option('--force', 'snapshot a disk although VMware lock files say it is in use')
    .option('--no-vmx', 'leave a .vmx beside the disk that names it as it is (default: re-point it at the new child, old .vmx kept as .bak)')
    .addOption(progressOption())
    .action(async (disk: string, options: JobOptions) => {
      await run({ kind: 'snapshot', disk, force: options.force, updateVmx: options.vmx }, options);
    });

  program
    .command('extend')
    .description('grow a disk to SIZE (like vmkfstools -X); never shrinks')
    .argument('<disk>')
    .argument('<size>', 'new capacity, e.g. 40G')
    .option('--force', 'extend a disk although VMware lock files say it is in use')
    .addOption(progressOption())
    .action(async (disk: string, size: string, options: JobOptions) => {
      await run({ kind: 'extend', disk, sizeBytes: parseSize(size), force: options.force }, options);
    });
}
