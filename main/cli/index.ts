#!/usr/bin/env node
/** The `diskchain` command line: the engine, scriptable. */
import type { Command } from 'commander';
import { VERSION } from '../io/version.js';

type Register = (program: Command) => void;

/**
 * Command groups by the commands they hold. Only the group a command line needs is loaded:
 * `info` should not pay for SQLite, WebSockets and tar (half of its start-up time otherwise).
 */
const GROUPS: Array<{ commands: string[]; load: () => Promise<Register> }> = [
  { commands: ['info', 'geometry', 'map', 'check', 'cat'], load: async () => (await import('./read-commands.js')).addReadCommands },
  { commands: ['convert', 'export', 'import', 'commit', 'snapshot', 'extend'], load: async () => (await import('./job-commands.js')).addJobCommands },
  { commands: ['recover', 'rebuild-descriptor', 'reparent'], load: async () => (await import('./recover-commands.js')).addRecoverCommands },
  { commands: ['backup', 'restore', 'vms'], load: async () => (await import('./backup-commands.js')).addBackupCommands },
  { commands: ['catalog'], load: async () => (await import('./catalog-commands.js')).addCatalogCommands },
  { commands: ['parts', 'ls', 'get', 'find'], load: async () => (await import('./guest-commands.js')).addGuestCommands },
  { commands: ['vmfs'], load: async () => (await import('./vmfs-commands.js')).addVmfsCommands },
  { commands: ['diff'], load: async () => (await import('./diff-command.js')).addDiffCommand },
  { commands: ['serve'], load: async () => (await import('./serve-command.js')).addServeCommand },
];

/**
 * A command run without commander: its disk and its flags as commander would name them
 * (`--ignore-cid` → ignoreCid: true, `-R` → R: true, `--no-replay` → replay: false).
 */
type PlainAction = (disk: string, options: Record<string, boolean>) => void | Promise<void>;

/**
 * Read commands whose command line is often just a disk and a few flags: such a line runs the
 * action straight away, without loading commander (a third of `info`'s start-up). Any other line
 * (help, an unknown flag, a missing disk) goes to commander as before, so usage and its errors
 * stay commander's.
 */
const PLAIN: Record<string, { flags: string[]; load: () => Promise<PlainAction> }> = {
  info: { flags: ['--json', '--ignore-cid', '--allow-devices'], load: async () => (await import('./read-commands.js')).readActions.info },
  geometry: { flags: ['--json', '--ignore-cid', '--allow-devices'], load: async () => (await import('./read-commands.js')).readActions.geometry },
  map: { flags: ['--json', '--all', '--hex', '--ignore-cid', '--allow-devices'], load: async () => (await import('./read-commands.js')).readActions.map },
  check: { flags: ['--json'], load: async () => (await import('./read-commands.js')).readActions.check },
  cat: { flags: ['--force', '--ignore-cid', '--allow-devices'], load: async () => (await import('./read-commands.js')).readActions.cat },
  // `ls -R disk.vmdk:1/` is the guest command most often run bare; its start was a tenth commander's.
  ls: { flags: ['-l', '-R', '--json', '--ignore-cid', '--no-replay'], load: async () => (await import('./guest-commands.js')).guestActions.ls },
};

/** `diskchain info disk.vmdk --json` as a plain run, or null when commander must parse the line. */
function plainRun(argv: string[]): { disk: string; options: Record<string, boolean>; load: () => Promise<PlainAction> } | null {
  const [name, ...rest] = argv.slice(2);
  const plain = name === undefined ? undefined : Object.hasOwn(PLAIN, name) ? PLAIN[name] : undefined;
  if (plain === undefined) return null;
  const disks = rest.filter((a) => !a.startsWith('-'));
  const flags = rest.filter((a) => a.startsWith('-'));
  if (disks.length !== 1 || disks[0] === '' || !flags.every((f) => plain.flags.includes(f))) return null;
  const options: Record<string, boolean> = {};
  for (const f of flags) {
    const name = f.replace(/^--?/, '');
    const negated = name.startsWith('no-');
    options[(negated ? name.slice(3) : name).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = !negated;
  }
  return { disk: disks[0]!, options, load: plain.load };
}

/** The program with the groups `argv` may use: the one its command names, or all (help, typos). */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('diskchain')
    .description('Open, check, convert and archive VMware virtual disks and their snapshot chains, offline')
    .version(VERSION)
    .showHelpAfterError('(run diskchain --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`diskchain: ${text.replace(/^error: /, '')}`),
    });
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command === undefined && isVersionOnly(argv)) return program;
  const wanted = GROUPS.filter((g) => command !== undefined && g.commands.includes(command));
  for (const group of wanted.length > 0 ? wanted : GROUPS) (await group.load())(program);
  showHelpAfterUsageErrors(program.commands);
  return program;
}

/** A usage error in a sub-command (a missing argument, a bad --to) is followed by that command's help. */
function showHelpAfterUsageErrors(commands: readonly Command[]): void {
  for (const command of commands) {
    command.showHelpAfterError(true);
    showHelpAfterUsageErrors(command.commands);
  }
}

/** `diskchain --version`: no command group is needed to answer it. */
function isVersionOnly(argv: string[]): boolean {
  const args = argv.slice(2);
  return args.length > 0 && args.every((a) => a === '--version' || a === '-V');
}

async function main(argv: string[]): Promise<void> {
  if (isVersionOnly(argv) && argv.length === 3) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const plain = plainRun(argv);
  // `IMAGE:/dir/disk.vmdk` names a disk inside a VMFS volume image; the reader is loaded only when asked for.
  const inImage = argv.slice(2).some((a) => a.includes(':/'));
  try {
    // A plain `catalog find` line answers from SQLite alone, before any command group is built.
    if (argv[2] === 'catalog' && (await import('./catalog-find.js')).findFastPath(argv.slice(2))) return;
    if (inImage) (await import('../vmfs/paths.js')).installVmfsPaths();
    if (plain) {
      await (await plain.load())(plain.disk, plain.options);
      exitWhenWritten();
      return;
    }
    const program = await buildProgram(argv);
    if (inImage) (await import('./read-only.js')).refuseWritesInsideImages(program);
    await program.parseAsync(argv);
  } catch (e) {
    // Only commander's own runs can throw its errors; a plain run's failure does not load it.
    if (!plain && e instanceof (await import('commander')).CommanderError) {
      // Help and version exit 0; usage errors (already printed by commander) exit 2.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    // Loaded only when needed: a successful run does not pay for it.
    const { reportError } = await import('./errors.js');
    process.exitCode = reportError(e);
  }
}

/**
 * A plain read command is done when its action returns: exit then, rather than wait until V8's
 * background work (optimising code no longer run, a GC task) lets the event loop end, ~5 ms of an
 * `ls -R`. Not while stdout or stderr still hold bytes (an asynchronous pipe): the loop drains them first.
 * On Linux stderr is written synchronously whatever it is, and is not looked at: making the stream of a
 * pipe that nothing wrote to would load Node's net module (3 ms).
 */
function exitWhenWritten(): void {
  if (process.stdout.writableLength > 0) return;
  if (process.platform !== 'linux' && process.stderr.writableLength > 0) return;
  process.exit();
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // The reader went away (`| head`): stop quietly with the status a shell gives SIGPIPE.
  if (e.code === 'EPIPE') process.exit(141);
  throw e;
});

// Not top-level await: the CLI bundle is CommonJS (main catches everything it throws).
void main(process.argv);
