/** backup, restore (worker-thread jobs with progress and Ctrl-C cancel) and vms (a quick listing). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { usageError } from '../../shared/errors.js';
import { RESTORE_KINDS, type RestoreKind } from '../../shared/jobs.js';
import { listVms, type VmListing } from '../backup/vms.js';
import { humanBytes, json } from './format.js';
import { run } from './job-commands.js';
import { parseSize } from './size.js';

interface BackupOptions {
  keepChain?: boolean;
  force?: boolean;
  ignoreCid?: boolean;
  allowDevices?: boolean;
  segmentSize?: string;
  progress?: string;
}

interface RestoreOptions {
  to?: RestoreKind;
  progress?: string;
}

const progressOption = (): Option =>
  new Option('--progress <mode>', 'json: one JSON line per update on stderr; bar: a progress bar; none').choices(['json', 'bar', 'none']);

export function addBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('archive a VM (.vmx: its disks, .vmx and .nvram) or one disk as 2GB sparse segments with a manifest; the source is only read')
    .argument('<source>', 'a .vmx file or a disk')
    .argument('<archive>', "archive folder (created if missing); '-' writes one tar stream to stdout")
    .option('--keep-chain', 'archive each snapshot link as it is, so a restore gives back the same snapshots (default: flatten)')
    .option('--force', 'back up a VM although lock files say it is in use')
    .option('--ignore-cid', "read a chain whose parentCID does not match its parent's CID")
    .option('--allow-devices', 'read extents on host devices (/dev/...) that a descriptor names')
    .option('--segment-size <size>', 'largest segment file (default 2047M, at most 2G)')
    .addOption(progressOption())
    .action(async (source: string, archive: string, options: BackupOptions) => {
      if (archive === '-' && process.stdout.isTTY) throw usageError('refusing to write a tar stream to a terminal: redirect stdout to a file or a pipe');
      await run(
        {
          kind: 'backup',
          source,
          archiveDir: archive,
          keepChain: options.keepChain === true,
          force: options.force === true,
          ignoreCid: options.ignoreCid === true,
          allowDevices: options.allowDevices === true,
          ...(options.segmentSize === undefined ? {} : { segmentBytes: parseSize(options.segmentSize, 'segment size') }),
        },
        options,
      );
    });

  program
    .command('restore')
    .description('check an archive against its manifest, then write its disks (and .vmx re-pointed at them) into a folder; never replaces files')
    .argument('<archive>', "archive folder; '-' reads a tar stream from stdin")
    .argument('<dest>', 'folder to restore into (created if missing)')
    .addOption(new Option('--to <kind>', 'write every disk as this kind (default: the kind each had)').choices([...RESTORE_KINDS]))
    .addOption(progressOption())
    .action(async (archive: string, dest: string, options: RestoreOptions) => {
      if (archive === '-' && process.stdin.isTTY) throw usageError('restore - reads a tar stream from stdin, which is a terminal here');
      await run({ kind: 'restore', archiveDir: archive, destDir: dest, ...(options.to ? { to: options.to } : {}) }, options);
    });

  program
    .command('vms')
    .description('list the VMs (.vmx) under folders with their disks, whether each chain opens, and whether the VM is in use')
    .argument('<dir...>', 'folders to search (or .vmx files)')
    .option('--json', 'print a JSON array of VM listings')
    .action(async (dirs: string[], options: { json?: boolean }) => {
      // A volume image (or IMAGE:/folder) is searched inside; the reader is loaded only when one is given.
      const images = dirs.some(isFileOrImagePath) ? await import('../vmfs/paths.js') : null;
      images?.installVmfsPaths();
      const vms = listVms(dirs, images?.vmxInImage);
      process.stdout.write(`${options.json ? json(vms) : vmsText(vms)}\n`);
    });
}

function vmsText(vms: VmListing[]): string {
  if (vms.length === 0) return 'no .vmx files found';
  return vms
    .map((vm) => {
      const name = vm.displayName ? ` "${vm.displayName}"` : '';
      const lock = vm.locks.length > 0 ? `  IN USE (${vm.locks.map((l) => path.basename(l)).join(', ')})` : '';
      const head = `${vm.vmx}${name}${lock}`;
      if (vm.error) return `${head}\n  cannot read: ${vm.error}`;
      if (vm.disks.length === 0) return `${head}\n  (no disks)`;
      const rows = vm.disks.map((d) => {
        const state = d.opens ? `${d.kind}, ${d.links.length} link${d.links.length === 1 ? '' : 's'}` : `does not open: ${d.error}`;
        const size = d.capacityBytes === null ? '-' : humanBytes(d.capacityBytes);
        const row = `  ${d.device.padEnd(8)} ${d.fileName.padEnd(28)} ${size.padStart(10)}  ${state}`;
        if (d.unusedChildren.length === 0) return row;
        const names = d.unusedChildren.map((c) => path.basename(c)).join(', ');
        const one = d.unusedChildren.length === 1;
        return `${row}\n  ! ${path.basename(d.path)} has ${one ? 'a snapshot' : 'snapshots'} no VM uses (${names}): the VM writes into ${one ? 'its' : 'their'} parent; point the .vmx at ${one ? 'it' : 'the right one'}, or commit or delete ${one ? 'it' : 'them'}`;
      });
      return [head, ...rows].join('\n');
    })
    .join('\n');
}

/** A root that may be a volume image: a file other than a .vmx, or `IMAGE:/…`. */
function isFileOrImagePath(root: string): boolean {
  if (root.includes(':/')) return true;
  try {
    return fs.statSync(root).isFile() && !/\.vmx$/i.test(root);
  } catch {
    return false;
  }
}
