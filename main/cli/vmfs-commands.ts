/**
 * `diskchain vmfs info|ls|get`: a VMFS datastore image (a LUN copy, a partition, a VMDK holding
 * one; several images for a spanned volume) listed like `vmkfstools -P` / `-l` and copied out.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { getFromVmfs } from '../vmfs/extract.js';
import { openVmfsImages, type OpenedImages } from '../vmfs/images.js';
import { vmfsInfo } from '../vmfs/open.js';
import type { VmfsEntry, VmfsInfo } from '../vmfs/types.js';
import type { VmfsVolume } from '../vmfs/volume.js';
import { joinPath, walkVmfs, type VmfsProblem } from '../vmfs/walk.js';
import { FdSink } from '../io/sink.js';
import { emit, flushOut, print, problemReporter } from './buffered-out.js';
import { humanBytes, json, rwx } from './format.js';

const TARGET = 'IMAGE... then optionally :/path on the last one (a raw LUN or partition copy, or a VMDK holding one; every extent of a spanned volume)';

const isFile = (p: string): boolean => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/** `a.img b.img:/vm/x`: the images, and the path inside the volume ("/" when none). */
export function parseVmfsTarget(args: string[], exists: (p: string) => boolean = isFile): { images: string[]; path: string } {
  if (args.length === 0) throw usageError('give the volume\'s image (and, for a spanned volume, every extent\'s)');
  const images = args.slice(0, -1);
  const last = args[args.length - 1]!;
  if (exists(last)) return { images: [...images, last], path: '/' };
  for (let cut = last.lastIndexOf(':'); cut > 0; cut = last.lastIndexOf(':', cut - 1)) {
    const image = last.slice(0, cut);
    if (exists(image)) {
      const inside = last.slice(cut + 1) || '/';
      return { images: [...images, image], path: inside.startsWith('/') ? inside : `/${inside}` };
    }
  }
  throw new DiskchainError('E_NOTFOUND', 'no such image file (write IMAGE... or IMAGE...:/path)', last);
}

function withVolume<T>(images: string[], use: (opened: OpenedImages) => T): T {
  const opened = openVmfsImages(images);
  try {
    return use(opened);
  } finally {
    flushOut();
    opened.close();
  }
}

export function addVmfsCommands(program: Command): void {
  const vmfs = program.command('vmfs').description('read a VMFS datastore image (VMFS-3, VMFS-5; VMFS-6 experimental): info, ls, get');

  vmfs
    .command('info')
    .description('the volume like vmkfstools -P: version, label, UUID, block sizes, capacity and free space, extents, heartbeats in use')
    .argument('<image...>', 'the volume\'s image (every extent of a spanned volume)')
    .option('--json', 'print the attributes as JSON')
    .action((images: string[], options: { json?: boolean }) => {
      withVolume(images, (opened) => {
        const info = vmfsInfo(opened);
        print(options.json ? json(info) : infoText(info));
      });
    });

  vmfs
    .command('ls')
    .description('list a folder of the volume (or show one entry) like vmkfstools -l and ls -l')
    .argument('<target...>', TARGET)
    .option('-l', 'long: type and mode, links, owner, size, allocated, modified time (UTC), link target or RDM device')
    .option('-R', 'list the folders below too')
    .option('--json', 'print the entries as a JSON array (with their paths and allocated bytes)')
    .action((args: string[], options: { l?: boolean; R?: boolean; json?: boolean }) => {
      const target = parseVmfsTarget(args);
      withVolume(target.images, ({ volume }) => {
        const at = normalise(target.path);
        const entry = volume.lookup(at);
        const seen = problemReporter(volume.device.file);
        if (entry.error) seen.report({ message: `${at}: ${entry.error}` });
        if (options.json) listJson(volume, entry, at, options.R === true, seen.report);
        else listText(volume, entry, at, options.l === true, options.R === true, seen.report);
        if (seen.failed()) process.exitCode = 1;
      });
    });

  vmfs
    .command('get')
    .description('copy a file or a folder (a whole VM folder) out of the volume; thin files stay sparse')
    .argument('<target...>', `${TARGET}, then DEST (a folder to copy into, a new name, or - for stdout)`)
    .action((args: string[]) => {
      if (args.length < 2) throw usageError('give IMAGE...:/path and DEST');
      const dest = args[args.length - 1]!;
      const target = parseVmfsTarget(args.slice(0, -1));
      withVolume(target.images, ({ volume }) => {
        const at = normalise(target.path);
        const entry = volume.lookup(at);
        if (dest === '-') {
          toStdout(volume, entry, at);
          return;
        }
        const report = getFromVmfs(volume, entry, at, dest, { onNote: (line) => process.stderr.write(`diskchain: ${line}\n`) });
        const extra = [report.skipped.length ? `${report.skipped.length} skipped` : '', report.failed.length ? `${report.failed.length} failed` : ''].filter((s) => s !== '');
        process.stderr.write(
          `${report.files} file${report.files === 1 ? '' : 's'}, ${report.folders} folder${report.folders === 1 ? '' : 's'}, ${humanBytes(report.bytes)} copied (${humanBytes(report.writtenBytes)} of data)${extra.length ? `, ${extra.join(', ')}` : ''}\n`,
        );
        if (report.failed.length > 0) process.exitCode = 1;
      });
    });
}

/** One file to stdout through one reused buffer; holes are zeros made here, not read. */
function toStdout(volume: VmfsVolume, entry: VmfsEntry, at: string): void {
  if (entry.type !== 'file') throw usageError(`${at} is a ${entry.type === 'dir' ? 'folder' : entry.type}: only a file can go to stdout (-)`);
  if (process.stdout.isTTY) throw usageError('refusing to write file bytes to a terminal: pipe or redirect stdout');
  const fd = volume.readFd(entry.address);
  const out = FdSink.blocking(1);
  const buf = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(fd.length, 1)));
  try {
    for (let off = 0; off < fd.length; off += buf.length) {
      const n = volume.readFile(fd, buf.subarray(0, Math.min(buf.length, fd.length - off)), off);
      out.write(buf.subarray(0, n));
    }
  } catch (e) {
    // The reader went away (| head): stop quietly with the status a shell gives SIGPIPE.
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    process.exitCode = 141;
  } finally {
    out.close();
  }
}

function normalise(p: string): string {
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}

const utc = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 19).replace('T', ' '));

export function infoText(i: VmfsInfo): string {
  const lines = [`${i.version}${i.experimental ? ' (experimental)' : ''}, raw major version ${i.majorVersion}${i.lvmVersion ? `, LVM ${i.lvmVersion}` : ', no LVM header (bare volume)'}`];
  const row = (k: string, v: string): number => lines.push(`  ${k.padEnd(12)} ${v}`);
  row('label', i.label || '-');
  row('UUID', i.uuid);
  row('mode', i.flags.length ? i.flags.join(', ') : '-');
  row('block size', `${humanBytes(i.blockSize)}, sub-block ${humanBytes(i.subBlockSize)}`);
  row('capacity', `${humanBytes(i.capacityBytes)} (${i.fileBlocks} file blocks)`);
  row('free', i.freeBytes === null ? 'unknown (the block bitmap could not be read)' : `${humanBytes(i.freeBytes)} (${i.freeBlocks} file blocks)`);
  row('created', `${utc(i.createdMs)} UTC`);
  if (i.lvUuid) row('LV UUID', i.lvUuid);
  i.extents.forEach((e, n) => {
    const scsi = [e.scsi.vendor, e.scsi.model, e.scsi.id].filter((s) => s !== '').join(' ');
    row(n === 0 ? 'extents' : '', `${e.file}: PEs ${e.firstPE}–${e.lastPE} (${humanBytes(e.bytes)}), device ${e.deviceUuid}${scsi ? `, ${scsi}` : ''}`);
  });
  for (const m of i.missing) row('missing', m);
  if (i.heartbeats.length === 0) row('heartbeats', 'none held (cleanly unmounted)');
  i.heartbeats.forEach((h, n) => row(n === 0 ? 'heartbeats' : '', `slot ${h.slot}: host ${h.hostUuid} (sequence ${h.sequence})`));
  for (const n of i.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

const TYPE_CHAR: Record<VmfsEntry['type'], string> = { file: '-', dir: 'd', symlink: 'l', rdm: 'r', system: 's', other: '?' };

function allocated(volume: VmfsVolume, e: VmfsEntry): number | null {
  if (e.error) return null;
  try {
    return volume.allocatedBytes(volume.readFd(e.address));
  } catch (err) {
    if (err instanceof DiskchainError && err.code === 'E_FORMAT') return null;
    throw err;
  }
}

function longLine(volume: VmfsVolume, e: VmfsEntry, name: string): string {
  if (e.error) return `?---------  ${name}  (damaged: ${e.error})`;
  const alloc = allocated(volume, e);
  const extra = e.linkTarget !== undefined ? ` -> ${e.linkTarget}` : e.rdm ? `  [RDM ${e.rdm.id}${e.rdm.vendor ? `, ${e.rdm.vendor} ${e.rdm.model}` : ''}, LUN ${e.rdm.lun}]` : '';
  return `${TYPE_CHAR[e.type]}${rwx(e.mode)}  ${String(e.links).padStart(2)}  ${`${e.uid} ${e.gid}`.padEnd(7)}  ${String(e.size).padStart(14)}  ${(alloc === null ? '?' : humanBytes(alloc)).padStart(10)}  ${utc(e.mtimeMs)}  ${name}${extra}`;
}

function listText(volume: VmfsVolume, entry: VmfsEntry, at: string, long: boolean, recursive: boolean, onProblem: (p: VmfsProblem) => void): void {
  const line = (e: VmfsEntry, name: string): string => (long ? longLine(volume, e, name) : name);
  if (entry.type !== 'dir') {
    print(line(entry, at));
    return;
  }
  if (!recursive) {
    for (const e of volume.list(entry)) {
      if (e.error) onProblem({ path: joinPath(at, e.name), message: `${joinPath(at, e.name)}: ${e.error}` });
      print(line(e, e.name));
    }
    return;
  }
  print(`${at}:`);
  let folder = at;
  for (const item of walkVmfs(volume, entry, at, onProblem)) {
    const parent = item.path.slice(0, item.path.length - item.entry.name.length - 1) || '/';
    if (parent !== folder) print(`\n${parent}:`);
    folder = parent;
    print(line(item.entry, item.entry.name));
  }
}

function listJson(volume: VmfsVolume, entry: VmfsEntry, at: string, recursive: boolean, onProblem: (p: VmfsProblem) => void): void {
  let first = true;
  const push = (p: string, e: VmfsEntry): void => {
    emit(`${first ? '[\n' : ',\n'}  ${JSON.stringify({ path: p, ...e, allocated: allocated(volume, e) })}`);
    first = false;
  };
  if (entry.type !== 'dir') push(at, entry);
  else if (recursive) for (const item of walkVmfs(volume, entry, at, onProblem)) push(item.path, item.entry);
  else {
    for (const e of volume.list(entry)) {
      if (e.error) onProblem({ path: joinPath(at, e.name), message: `${joinPath(at, e.name)}: ${e.error}` });
      push(joinPath(at, e.name), e);
    }
  }
  emit(first ? '[]\n' : '\n]\n');
}
