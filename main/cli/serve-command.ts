/**
 * `diskchain serve`: the desktop app's UI in a browser, without Electron (electron.md §3.1). The
 * first line on stdout is exactly the address to open, `http://127.0.0.1:PORT/?token=…`; tests
 * read it. The host and its services load only when the command runs, so the other commands
 * start as fast as before.
 */
import { Option, type Command } from 'commander';
import { usageError } from '../../shared/errors.js';

interface ServeOptions {
  port?: string;
  stateDir?: string;
  db?: string;
  open: string[];
  save: string[];
  folder: string[];
  saveDir?: string;
  testControl?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the desktop app to a browser on this machine (127.0.0.1 only, with a secret token in the address)')
    .argument('[disks...]', 'disks to have open from the start')
    .option('--port <n>', 'port to listen on (default: a free one)')
    .option('--state-dir <dir>', 'where recent files are remembered (default: the user state folder)')
    .option('--db <path>', 'catalog database (default: as for diskchain catalog)')
    .option('--open <file>', "answer of the next 'Open' dialog, before the app's own file browser (repeatable)", collect, [])
    .option('--save <path>', "answer of the next 'Save' dialog (repeatable)", collect, [])
    .option('--folder <dir>', "answer of the next folder dialog (repeatable)", collect, [])
    .option('--save-dir <dir>', 'when no --save answer is left, save dialogs answer the suggested name in this folder')
    .addOption(new Option('--test-control', 'let tests script the dialogs (POST /__test/dialogs)').hideHelp())
    .action(async (disks: string[], options: ServeOptions) => {
      const port = options.port === undefined ? 0 : Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`bad port "${options.port}": use 0 to 65535`);
      const [{ startHost, findRendererDir }, { ScriptedDialogs }, { defaultStateDir }, { defaultCatalogPath }, { VERSION }] = await Promise.all([
        import('../host/browser-host.js'),
        import('../services/dialogs.js'),
        import('../services/state.js'),
        import('../catalog/default-path.js'),
        import('../io/version.js'),
      ]);
      const dialogs = new ScriptedDialogs({
        open: options.open.map((f) => [f]),
        save: options.save,
        folder: options.folder,
        ...(options.saveDir === undefined ? {} : { saveDir: options.saveDir }),
      });
      const host = await startHost({
        port,
        rendererDir: await findRendererDir(),
        dialogs,
        disks,
        stateDir: options.stateDir ?? defaultStateDir(),
        catalogDb: options.db ?? defaultCatalogPath(),
        version: VERSION,
        testControl: options.testControl === true,
        log: (m) => process.stderr.write(`diskchain serve: ${m}\n`),
      });
      process.stdout.write(`${host.url}\n`);
      process.stderr.write('diskchain serve: open the address above in a browser on this machine; Ctrl-C stops\n');
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await host.close();
    });
}
