#!/usr/bin/env node
/** The `diskchain` command line: the engine, scriptable. */
import { Command, CommanderError } from 'commander';
import { addCatalogCommands } from './catalog-commands.js';
import { addBackupCommands } from './backup-commands.js';
import { reportError } from './errors.js';
import { addJobCommands } from './job-commands.js';
import { addReadCommands } from './read-commands.js';
import { addServeCommand } from './serve-command.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('diskchain')
    .description('Open, check, convert and archive VMware virtual disks and their snapshot chains, offline')
    .version(VERSION)
    .showHelpAfterError('(run diskchain --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`diskchain: ${text.replace(/^error: /, '')}`),
    });
  addReadCommands(program);
  addJobCommands(program);
  addBackupCommands(program);
  addCatalogCommands(program);
  addServeCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors (already printed by commander) exit 2.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(e);
  }
}

process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // The reader went away (`| head`): stop quietly with the status a shell gives SIGPIPE.
  if (e.code === 'EPIPE') process.exit(141);
  throw e;
});

await main(process.argv);
