/**
 * `diskchain diff DISK --at N` (what link N changed over its parent's state) and `diskchain diff A B`
 * (two disks): the files added, changed and removed, found by walking both guest file systems.
 */
import type { Command } from 'commander';
import { usageError } from '../../shared/errors.js';
import { diffGuest, type DiffItem } from '../guest/diff.js';
import { resolveGuestPath, type WalkProblem } from '../guest/walk.js';
import { humanBytes } from './format.js';
import { openGuest, parseGuestTarget, type ChainOptions, type OpenedGuest } from './guest-target.js';

const MARK = { added: 'A', removed: 'D', changed: 'M' } as const;

export function addDiffCommand(program: Command): void {
  program
    .command('diff')
    .description('list the files a snapshot link (--at N) or a second disk added (A), changed (M) and removed (D)')
    .argument('<a>', 'DISK[:VOL][/path] or ARCHIVE[:DISK[:VOL]][/path]: with --at N, link N is compared with its parent; else the state before')
    .argument('[b]', 'DISK[:VOL][/path] or ARCHIVE[:DISK[:VOL]][/path]: the state after (not with --at)')
    .option('--at <n>', 'compare link N of the chain (0 = the disk named) with its parent link')
    .option('--content', 'also compare the bytes of files whose size and modified time agree (reads them whole)')
    .option('--json', 'print the changes as a JSON array of {path, change, reasons, before, after}')
    .option('--ignore-cid', "read a child even when its parentCID differs from its parent's CID")
    .option('--no-replay', 'read ext3/4 volumes whose journal needs recovery as they are on disk (by default the journal is replayed in memory)')
    .action(async (a: string, b: string | undefined, options: ChainOptions & { content?: boolean; json?: boolean }) => {
      if (b !== undefined && options.at !== undefined) throw usageError('give either --at N (a link and its parent) or two disks, not both');
      if (b === undefined && options.at === undefined) throw usageError('give --at N to compare a link with its parent, or a second disk');
      const read = { ...(options.ignoreCid ? { ignoreCid: true } : {}), ...(options.replay === false ? { replay: false } : {}) };
      const after = await openGuest(parseGuestTarget(b ?? a), b === undefined ? { ...read, at: options.at! } : read);
      let before: OpenedGuest | undefined;
      try {
        if (b === undefined) {
          if (after.chain.links.length < 2) throw usageError(`--at ${options.at}: link ${options.at} is the base of the chain; it has no parent to compare with`);
          // Link N+1 of the same disk or archive: the state link N was made over.
          before = await openGuest(parseGuestTarget(a), { ...read, at: String(Number(options.at) + 1) });
        } else {
          before = await openGuest(parseGuestTarget(a), read);
        }
        const dirA = resolveGuestPath(before.fs, before.path);
        const dirB = resolveGuestPath(after.fs, after.path);
        if (dirA.type !== 'dir' || dirB.type !== 'dir') throw usageError('diff compares folders: give a folder path (or none for the whole volume)');
        let problems = 0;
        const onProblem = (p: WalkProblem): void => {
          problems++;
          process.stderr.write(`diskchain: ${after.fs.device.file}: ${p.message}\n`);
        };
        let count = 0;
        // --at N: the after state is the before state plus link N, so folders link N did not write are skipped.
        const linkOnTop = b === undefined && before.fs.replayed !== true && after.fs.replayed !== true;
        for (const item of diffGuest(before.fs, dirA, after.fs, dirB, normalise(after.path), { content: options.content === true, onProblem, linkOnTop })) {
          if (options.json) process.stdout.write(`${count === 0 ? '[\n' : ',\n'}  ${JSON.stringify(item)}`);
          else process.stdout.write(`${diffLine(item)}\n`);
          count++;
        }
        if (options.json) process.stdout.write(count === 0 ? '[]\n' : '\n]\n');
        if (problems > 0) process.exitCode = 1;
      } finally {
        before?.chain.close();
        after.chain.close();
      }
    });
}

/** `M /etc/hosts  (size 120 B → 140 B, mtime)`: one line per change. */
export function diffLine(item: DiffItem): string {
  const slash = (item.after ?? item.before)?.type === 'dir' ? '/' : '';
  let line = `${MARK[item.change]} ${item.path}${slash}`;
  if (item.change === 'changed' && item.before && item.after) {
    const why = item.reasons.map((r) => (r === 'size' ? `size ${humanBytes(item.before!.size)} → ${humanBytes(item.after!.size)}` : r));
    line += `  (${why.join(', ')})`;
  }
  return line;
}

function normalise(p: string): string {
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}
