/** Inside the guest: parts (partitions and LVs), ls, get and find on a volume's file system. */
import type { Command } from 'commander';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { chainDevice } from '../guest/block-device.js';
import type { GuestEntry, GuestFileSystem, GuestName } from '../guest/types.js';
import { readVolumes, type DiskVolumes, type Volume } from '../guest/volumes.js';
import { byName, joinGuestPath, resolveGuestPath, walkFolders, walkGuest, walkNameLists, type NameFolder, type WalkFolder, type WalkProblem } from '../guest/walk.js';
import { emit, emitNameLines, flushOut, print, problemReporter } from './buffered-out.js';
import { humanBytes, json, rwx, table } from './format.js';
import { openDiskOrArchive, openGuest, parseGuestTarget, type ChainOptions } from './guest-target.js';
import { parseSize } from './size.js';

const IGNORE_CID = ['--ignore-cid', "read a child even when its parentCID differs from its parent's CID"] as const;
const AT = ['--at <n>', 'read the guest as it was at link N of the chain (0 = the disk named, as `diskchain info` numbers them)'] as const;
const NO_REPLAY = ['--no-replay', 'read an ext3/4 volume whose journal needs recovery as it is on disk (by default its committed transactions are replayed in memory)'] as const;
const TARGET =
  'DISK[:VOL]/path or ARCHIVE[:DISK[:VOL]]/path: VOL is a partition number or LV name, optional when one volume holds a file system; DISK is a disk of a backup archive, optional when it holds one';

type LsOptions = ChainOptions & { l?: boolean; R?: boolean; json?: boolean };

/** Actions the CLI may also run without commander (main/cli/index.ts, PLAIN). */
export const guestActions = {
  ls(arg: string, options: LsOptions): Promise<void> {
    return withGuest(arg, options, (fsys, entry, at) => {
      const problems = problemReporter(fsys.device.file);
      if (options.json) listJson(fsys, entry, at, options.R === true, problems.report);
      else listText(fsys, entry, at, options.l === true, options.R === true, problems.report);
      if (problems.failed()) process.exitCode = 1;
    });
  },
};

export function addGuestCommands(program: Command): void {
  program
    .command('parts')
    .description('list the partitions and LVM logical volumes of a disk, with type, offset, size, file system, label and UUID')
    .argument('<disk>', 'a disk, or ARCHIVE[:DISK] (a backup archive folder or .tar)')
    .option('--json', 'print {scheme, sectorSize, notes, volumes} as JSON')
    .option(...IGNORE_CID)
    .option(...AT)
    .action(async (disk: string, options: ChainOptions & { json?: boolean }) => {
      const chain = await openDiskOrArchive(disk, options);
      try {
        const volumes = readVolumes(chainDevice(chain));
        print(options.json ? json({ disk: chain.top.path, ...volumes }) : partsText(chain.top.path, volumes));
      } finally {
        flushOut();
        chain.close();
      }
    });

  program
    .command('ls')
    .description('list a folder (or show a file) inside a disk')
    .argument('<target>', TARGET)
    .option('-l', 'long: mode or attributes, owner, size, modified time (UTC), link target')
    .option('-R', 'list the folders below too')
    .option('--json', 'print the entries as a JSON array (with their paths)')
    .option(...IGNORE_CID)
    .option(...AT)
    .option(...NO_REPLAY)
    .action(guestActions.ls);

  program
    .command('get')
    .description('copy a file or a folder (recursively) out of a disk, keeping times; "-" as DEST writes a file to stdout')
    .argument('<target>', TARGET)
    .argument('[dest]', 'a folder to copy into, a new name, or - for stdout', '.')
    .option('--stream <name>', 'copy a named data stream of the file (NTFS alternate data stream) instead of its data')
    .option(...IGNORE_CID)
    .option(...AT)
    .option(...NO_REPLAY)
    .action(async (arg: string, dest: string, options: ChainOptions & { stream?: string }) => {
      // Only get writes files: ls, find and parts do not load the writer.
      const { getToHost, getToStdout } = await import('../guest/extract.js');
      const target = parseGuestTarget(arg);
      const opened = await openGuest(target, options);
      try {
        sayNotes(opened.fs);
        const entry = resolveGuestPath(opened.fs, opened.path);
        if (dest === '-') {
          if (process.stdout.isTTY) throw usageError('refusing to write file bytes to a terminal: pipe or redirect stdout');
          try {
            getToStdout(opened.fs, entry, opened.path, options.stream);
          } catch (e) {
            // A damaged archive names its segment: say which file needed it, as a folder's get does.
            if (e instanceof DiskchainError && opened.archive && e.file === opened.archive.archivePath) {
              throw new DiskchainError(e.code, `${normalise(opened.path)}: ${e.message}`, e.file);
            }
            // The reader went away (| head): stop quietly with the status a shell gives SIGPIPE.
            if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
            process.exitCode = 141;
          }
          return;
        }
        const report = getToHost(opened.fs, entry, opened.path, dest, {
          onNote: (line) => process.stderr.write(`diskchain: ${line}\n`),
          stream: options.stream,
        });
        const extra = [
          report.mapped.length ? `${report.mapped.length} renamed` : '',
          report.skipped.length ? `${report.skipped.length} skipped` : '',
          report.failed.length ? `${report.failed.length} failed` : '',
        ].filter((s) => s !== '');
        process.stderr.write(`${report.files} file${report.files === 1 ? '' : 's'}, ${report.folders} folder${report.folders === 1 ? '' : 's'}, ${humanBytes(report.bytes)} copied${extra.length ? ` (${extra.join(', ')})` : ''}\n`);
        if (report.failed.length > 0) process.exitCode = 1;
      } finally {
        opened.chain.close();
      }
    });

  program
    .command('find')
    .description('walk a volume (or a folder of it) and print the paths that match')
    .argument('<target>', TARGET)
    .argument('[pattern]', 'a name pattern with * ? [..] (matched against the whole path when it holds a /)')
    .option('--newer <date>', 'modified after DATE (2024-05-01, 2024-05-01T12:00Z)')
    .option('--min-size <size>', 'at least SIZE (bytes, or 10M, 1G)')
    .option('--type <t>', 'f files, d folders, l symlinks')
    .option('--json', 'print the matches as a JSON array')
    .option(...IGNORE_CID)
    .option(...AT)
    .option(...NO_REPLAY)
    .action((arg: string, pattern: string | undefined, options: ChainOptions & { newer?: string; minSize?: string; type?: string; json?: boolean }) => {
      const match = findFilter(pattern, options);
      return withGuest(arg, options, (fsys, entry, at) => {
        const problems = problemReporter(fsys.device.file);
        if (entry.type === 'dir' && options.json !== true && options.newer === undefined && options.minSize === undefined) {
          // Only names and types are tested and printed: read names only (see ls), a folder at a time.
          walkNameLists(fsys, entry, at, problems.report, ({ path: dir, names, order }) => {
            let text = '';
            for (let k = 0; k < order.length; k++) {
              const i = order[k]!;
              const name = names.name(i);
              const path = joinGuestPath(dir, name);
              // A walk by names lists a folder by its names only where every type is known.
              if (match(path, { name, type: names.type(i)! })) text += `${path}\n`;
            }
            emit(text);
          });
        } else {
          const out = jsonArray(options.json === true);
          const items = entry.type === 'dir' ? walkGuest(fsys, entry, at, problems.report) : [{ path: at, entry, depth: 0 }];
          for (const item of items) if (match(item.path, item.entry)) out.push(item.path, item.entry);
          out.end();
        }
        if (problems.failed()) process.exitCode = 1;
      });
    });
}

async function withGuest(arg: string, options: ChainOptions, use: (fsys: GuestFileSystem, entry: GuestEntry, at: string) => void): Promise<void> {
  const opened = await openGuest(parseGuestTarget(arg), options);
  try {
    sayNotes(opened.fs);
    const at = opened.path === '' ? '/' : opened.path;
    use(opened.fs, resolveGuestPath(opened.fs, at), normalise(at));
  } finally {
    flushOut();
    opened.chain.close();
  }
}

/** What the reader wants said about the volume (a journal replayed, a dirty NTFS), on stderr. */
function sayNotes(fsys: GuestFileSystem): void {
  for (const n of fsys.notes) process.stderr.write(`diskchain: ${fsys.device.file}: note: ${n}\n`);
}

function normalise(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return `/${parts.join('/')}`;
}

export function partsText(disk: string, d: DiskVolumes): string {
  const scheme = { mbr: 'MBR', gpt: 'GPT', none: 'no partition table' }[d.scheme];
  const lines = [`${disk}: ${scheme}, ${d.sectorSize}-byte sectors, ${d.volumes.length} volume${d.volumes.length === 1 ? '' : 's'}`];
  for (const n of d.notes) lines.push(`  note: ${n}`);
  if (d.volumes.length === 0) return lines.join('\n');
  const rows = [['VOL', 'START', 'SIZE', 'TYPE', 'CONTENT', 'LABEL', 'UUID', 'NAME']];
  for (const v of d.volumes) rows.push(volumeRow(v));
  const body = table(rows).split('\n');
  lines.push(body[0]!);
  d.volumes.forEach((v, i) => {
    lines.push(body[i + 1]!);
    for (const n of v.notes) lines.push(`    note: ${n}`);
  });
  return lines.join('\n');
}

function volumeRow(v: Volume): string[] {
  return [String(v.index), v.start === null ? '-' : humanBytes(v.start), humanBytes(v.size), v.type, v.fileSystem ?? v.content ?? '-', v.label ?? '-', v.uuid ?? '-', v.name || '-'];
}

function listText(fsys: GuestFileSystem, entry: GuestEntry, at: string, long: boolean, recursive: boolean, onProblem: (p: WalkProblem) => void): void {
  if (entry.type !== 'dir') {
    print(long ? longLine(entry, at) : at);
    return;
  }
  if (long) {
    const one = (entries: GuestEntry[]): Array<WalkFolder<GuestEntry>> => [{ path: at, depth: 0, entries: byName(entries) }];
    printFolders(recursive ? walkFolders((d: GuestEntry) => fsys.list(d), entry, at, onProblem) : one(fsys.list(entry)), recursive, (e) => longLine(e, e.name));
    return;
  }
  // Without -l only names are printed, so only names are read: no inode or record per file where the
  // folder itself says which entries are folders (as ls uses d_type), and no string per name.
  walkNameLists(fsys, entry, at, onProblem, (folder) => {
    if (recursive) emit(folder.depth === 0 ? `${folder.path}:\n` : `\n${folder.path}:\n`);
    printNames(folder);
    return recursive;
  });
}

/** A folder's names a line each, in order: ASCII names copied as they are in the folder, others as text (bad UTF-8 shows U+FFFD). */
function printNames({ names, order }: NameFolder): void {
  for (let k = emitNameLines(names.bytes, names.starts, names.lengths, order, 0); k < order.length; k = emitNameLines(names.bytes, names.starts, names.lengths, order, k + 1)) {
    emit(`${names.name(order[k]!)}\n`);
  }
}

/** Like ls -R: a folder's name, its entries, then each subfolder the same way (an empty one too); one string per folder. */
function printFolders<T extends GuestName>(folders: Iterable<WalkFolder<T>>, headed: boolean, line: (e: T) => string): void {
  for (const folder of folders) {
    const head = !headed ? '' : folder.depth === 0 ? `${folder.path}:\n` : `\n${folder.path}:\n`;
    // Joined, not added line by line: one flat string instead of two string pieces per entry.
    const lines = new Array<string>(folder.entries.length);
    for (let i = 0; i < lines.length; i++) lines[i] = line(folder.entries[i]!);
    emit(lines.length === 0 ? head : `${head}${lines.join('\n')}\n`);
  }
}

const TYPE_CHAR: Record<GuestEntry['type'], string> = { file: '-', dir: 'd', symlink: 'l', other: '?' };

function longLine(e: GuestEntry, name: string): string {
  const mode = e.mode !== undefined ? rwx(e.mode) : attributeLetters(e.attributes ?? []);
  const owner = e.uid !== undefined ? `${e.uid} ${e.gid ?? '-'}` : '-';
  const time = e.mtimeMs === null ? '-'.padEnd(19) : new Date(e.mtimeMs).toISOString().slice(0, 19).replace('T', ' ');
  const link = e.linkTarget !== undefined ? ` -> ${e.linkTarget}` : '';
  const streams = e.streams?.length ? `  [+${e.streams.length} stream${e.streams.length === 1 ? '' : 's'}]` : '';
  return `${TYPE_CHAR[e.type]}${mode}  ${owner.padEnd(11)}  ${String(e.size).padStart(13)}  ${time}  ${name}${link}${streams}`;
}

/** FAT/NTFS attributes in the spirit of `attrib`: r h s a, then c(ompressed) e(ncrypted) p (sparse) l (reparse). */
function attributeLetters(attributes: string[]): string {
  const has = new Set(attributes);
  const flags: Array<[string, string]> = [['readonly', 'r'], ['hidden', 'h'], ['system', 's'], ['archive', 'a'], ['compressed', 'c'], ['encrypted', 'e'], ['sparse', 'p'], ['reparse', 'l']];
  return flags.map(([word, letter]) => (has.has(word) ? letter : '-')).join('').padEnd(9);
}

function listJson(fsys: GuestFileSystem, entry: GuestEntry, at: string, recursive: boolean, onProblem: (p: WalkProblem) => void): void {
  const out = jsonArray(true);
  if (entry.type !== 'dir') out.push(at, entry);
  else if (recursive) for (const item of walkGuest(fsys, entry, at, onProblem)) out.push(item.path, item.entry);
  else for (const e of byName(fsys.list(entry))) out.push(at === '/' ? `/${e.name}` : `${at}/${e.name}`, e);
  out.end();
}

/** Entries printed as they come: a JSON array streamed element by element, or one path a line. */
function jsonArray(asJson: boolean): { push: (path: string, e: GuestEntry) => void; end: () => void } {
  let first = true;
  return {
    push: (path, e) => {
      if (!asJson) {
        print(path);
        return;
      }
      emit(`${first ? '[\n' : ',\n'}  ${JSON.stringify({ path, ...e })}`);
      first = false;
    },
    end: () => {
      if (asJson) emit(first ? '[]\n' : '\n]\n');
    },
  };
}

/** The --newer/--min-size/--type/pattern test of find, checked before the disk is opened. */
/** What find tests of an entry: a listing by names has no size or time (and is used only when no filter asks for them). */
export type FindCandidate = Pick<GuestEntry, 'name' | 'type'> & Partial<Pick<GuestEntry, 'size' | 'mtimeMs'>>;

export function findFilter(pattern: string | undefined, options: { newer?: string; minSize?: string; type?: string }): (path: string, e: FindCandidate) => boolean {
  const regex = pattern === undefined ? null : globRegExp(pattern);
  const whole = pattern?.includes('/') ?? false;
  let newer: number | null = null;
  if (options.newer !== undefined) {
    newer = Date.parse(options.newer);
    if (Number.isNaN(newer)) throw usageError(`bad --newer "${options.newer}": use a date like 2024-05-01 or 2024-05-01T12:00Z`);
  }
  const minSize = options.minSize === undefined ? null : options.minSize === '0' ? 0 : parseSize(options.minSize, '--min-size');
  const types: Record<string, GuestEntry['type']> = { f: 'file', d: 'dir', l: 'symlink' };
  if (options.type !== undefined && !(options.type in types)) throw usageError(`bad --type "${options.type}": use f, d or l`);
  const type = options.type === undefined ? null : types[options.type]!;
  return (path, e) => {
    if (type !== null && e.type !== type) return false;
    if (minSize !== null && (e.type !== 'file' || e.size === undefined || e.size < minSize)) return false;
    if (newer !== null && (e.mtimeMs === undefined || e.mtimeMs === null || e.mtimeMs <= newer)) return false;
    if (regex !== null && !regex.test(whole ? path : e.name)) return false;
    return true;
  };
}

/** A shell glob as a RegExp: * and ? never cross a '/', ** does; [abc] and [!abc] classes. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
