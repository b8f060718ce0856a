/** `recover` (a worker-thread job), `rebuild-descriptor` and `reparent`: getting at damaged, orphaned and broken-chain disks. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { ADAPTERS, DISK_KINDS, type Adapter, type DiskKind, type RecoveryReport, type RecoverSpec } from '../../shared/jobs.js';
import { rebuildDescriptor } from '../convert/rebuild-descriptor.js';
import { reparent } from '../mutate/reparent.js';
import { humanBytes, json } from './format.js';
import { runWithProgress } from './job-commands.js';
import { parseSize } from './size.js';

interface RecoverOptions {
  to?: DiskKind;
  adapter?: Adapter;
  segmentSize?: string;
  force?: boolean;
  ignoreCid?: boolean;
  allowDevices?: boolean;
  json?: boolean;
  progress?: string;
}

const adapterOption = (): Option => new Option('--adapter <type>', 'controller the disk is for (geometry follows)').choices([...ADAPTERS]);

export function addRecoverCommands(program: Command): void {
  program
    .command('recover')
    .description('copy what a damaged disk still holds into a new disk, zeros where data is lost; exit 1 when anything was lost')
    .argument('<src>', 'damaged disk (sparse, streamOptimized, COWD, seSparse) or top of a chain')
    .argument('<dst>', 'the new disk')
    .addOption(new Option('--to <kind>', 'output kind (default monolithicSparse)').choices([...DISK_KINDS]))
    .addOption(adapterOption())
    .option('--segment-size <size>', 'largest extent file of split kinds (default 2047M, at most 2G)')
    .option('--force', 'replace existing output files')
    .option('--ignore-cid', "read a chain whose parentCID does not match its parent's CID")
    .option('--allow-devices', 'read extents on host devices (/dev/...) that a descriptor names')
    .option('--json', 'print the report as JSON on stdout')
    .addOption(new Option('--progress <mode>', 'json: one JSON line per update on stderr; bar; none').choices(['json', 'bar', 'none']))
    .action(async (src: string, dst: string, options: RecoverOptions) => {
      fs.mkdirSync(path.dirname(path.resolve(dst)), { recursive: true }); // as every writer does
      const spec: RecoverSpec = {
        kind: 'recover',
        src,
        dst,
        ...(options.to ? { to: options.to } : {}),
        ...(options.adapter ? { adapter: options.adapter } : {}),
        ...(options.segmentSize === undefined ? {} : { segmentBytes: parseSize(options.segmentSize, 'segment size') }),
        force: options.force === true,
        ignoreCid: options.ignoreCid === true,
        ...(options.allowDevices === true ? { allowDevices: true } : {}),
      };
      const report = await runRecover(spec, options.progress);
      if (options.json) process.stdout.write(`${json(report)}\n`);
      else process.stdout.write(describe(report));
      if (report.lost.length > 0) process.exitCode = 1;
    });

  program
    .command('rebuild-descriptor')
    .description('write the lost descriptor of orphan extents: NAME-s001.vmdk…, NAME-f001.vmdk…, NAME-flat.vmdk, NAME-delta.vmdk, NAME-sesparse.vmdk')
    .argument('<extent>', 'one extent file of the disk')
    .addOption(adapterOption())
    .option('--out <name.vmdk>', 'descriptor to write (default NAME.vmdk beside the extent; never replaced)')
    .option('--parent <disk.vmdk>', 'the parent of a delta, when more than one disk beside it could be')
    .action((extent: string, options: { adapter?: Adapter; out?: string; parent?: string }) => {
      const result = rebuildDescriptor(extent, options);
      const parent = result.parent ? `, child of ${result.parent}` : '';
      process.stdout.write(`wrote ${result.descriptor} (${result.createType}: ${result.extents.join(', ')}${parent})\n`);
    });

  program
    .command('reparent')
    .description("point a child (snapshot) at its parent again after the parent moved or was renamed; the old descriptor is kept as a .bak")
    .argument('<child>', 'the snapshot whose parent is missing: a .vmdk (hosted child, -delta or -sesparse descriptor) or an ESX 2 .REDO')
    .requiredOption('--parent <disk>', 'the parent disk where it is now (same capacity); named relative to the child where possible')
    .option('--fix-cid', "set the child's parentCID to the new parent's CID when they differ (only if it is the disk the snapshot was taken from)")
    .option('--force', 'reparent a disk although VMware lock files say it is in use')
    .option('--json', 'print the result as JSON')
    .action(async (child: string, options: { parent: string; fixCid?: boolean; force?: boolean; json?: boolean }) => {
      const result = await reparent(child, options.parent, { fixCid: options.fixCid === true, force: options.force === true });
      process.stdout.write(options.json ? `${json(result)}\n` : `${result.summary}\n`);
    });
}

/** Runs the job like every other (job-commands.ts) and answers its recovery report. */
async function runRecover(spec: RecoverSpec, progress: string | undefined): Promise<RecoveryReport> {
  const result = await runWithProgress(spec, progress);
  process.stderr.write(`${result.summary}\n`);
  return result.recovery!;
}

function describe(r: RecoveryReport): string {
  const lines = r.notes.map((n) => `note: ${n}`);
  lines.push(`saved ${humanBytes(r.savedBytes)} of data; lost ${humanBytes(r.lostBytes)} in ${r.lost.length} range${r.lost.length === 1 ? '' : 's'}`);
  for (const l of r.lost) lines.push(`lost LBA ${l.start}-${l.start + l.length - 1} (${l.length} sectors, ${humanBytes(l.length * 512)})`);
  return `${lines.join('\n')}\n`;
}
