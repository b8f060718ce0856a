import { DiskchainError, EXIT_CODES } from '../../shared/errors.js';

/**
 * One line per failure, `diskchain: <file>: <reason>`, as the issue promises users and scripts;
 * the stack only with DEBUG=diskchain, because a stack is noise to someone holding a broken disk.
 */
export function reportError(e: unknown): number {
  const debug = (process.env['DEBUG'] ?? '').split(',').includes('diskchain');
  if (e instanceof DiskchainError) {
    const where = e.file === undefined ? '' : `${e.file}: `;
    process.stderr.write(`diskchain: ${where}${e.message}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    const exitCode = (e as DiskchainError & { exitCode?: number }).exitCode;
    return exitCode ?? EXIT_CODES[e.code];
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`diskchain: internal error: ${message.split('\n')[0]}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  else process.stderr.write('diskchain: run again with DEBUG=diskchain to see where it happened\n');
  return EXIT_CODES.E_INTERNAL;
}
