/**
 * Copies a guest file or folder out (`diskchain get`, and the app's Extract… job), streamed through one reused buffer. Every
 * name is mapped to one the host allows and checked to stay inside DEST; symlinks are written as
 * links (never followed) or skipped; existing links in DEST are replaced, never written through;
 * each file goes to a temp name and is renamed into place; times are kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { pageAlignedBuffer } from '../io/aligned-buffer.js';
import { PlainReads } from '../io/plain-reads.js';
import { FdSink } from '../io/sink.js';
import { deviceRun, type DeviceRun } from './block-device.js';
import type { GuestEntry, GuestFileSystem } from './types.js';
import { joinGuestPath } from './walk.js';

/** Big enough for big sequential reads through the chain, small enough to stay bounded. */
const CHUNK = 4 * 1024 * 1024;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * A guest name as a name the host can hold: '/' and NUL (and on Windows <>:"\|?*, control
 * characters, trailing dots and spaces, device names like CON) become '_'; '.', '..' and '' too.
 */
export function hostName(name: string, platform: NodeJS.Platform = process.platform): string {
  let out = name.replace(/[/\0]/g, '_');
  if (platform === 'win32') {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what Windows refuses in names
    out = out.replace(/[<>:"\\|?*\x01-\x1f]/g, '_').replace(/[. ]+$/, (m) => '_'.repeat(m.length));
    if (WINDOWS_RESERVED.test(out)) out = `_${out}`;
  }
  if (out === '' || out === '.' || out === '..') out = '_'.repeat(Math.max(1, out.length));
  return out;
}

export interface GetReport {
  files: number;
  folders: number;
  bytes: number;
  /** Guest path → host path, where the name had to change. */
  mapped: Array<{ guest: string; host: string }>;
  skipped: Array<{ guest: string; reason: string }>;
  failed: Array<{ guest: string; reason: string }>;
}

export interface GetOptions {
  platform?: NodeJS.Platform;
  /** Called for each mapped, skipped or failed entry as it happens (the CLI prints it). */
  onNote?: (line: string) => void;
  /** Called after every chunk written, with the bytes of file data copied so far by this call. */
  onBytes?: (copied: number) => void;
  /** Called between chunks; throws (E_CANCELLED) to stop. The file being written is removed. */
  throwIfCancelled?: () => void;
  /** Copy this named stream (NTFS ADS) of the file instead of its data; the copy is named NAME:STREAM. */
  stream?: string;
}

/** The size of what is copied of a file: its data, or one named stream of it (NTFS ADS). */
export function copiedSize(fsys: GuestFileSystem, e: GuestEntry, at: string, stream: string | undefined): number {
  if (stream === undefined) return e.size;
  if (e.type !== 'file') throw usageError(`${at} is a ${e.type === 'dir' ? 'folder' : e.type}: only a file has named streams`);
  const found = e.streams?.find((s) => s.name === stream);
  if (!found) {
    const names = (e.streams ?? []).map((s) => s.name);
    throw new DiskchainError('E_NOTFOUND', `${at} has no stream "${stream}" (${names.length ? `streams: ${names.join(', ')}` : 'it has none'})`, fsys.device.file);
  }
  return found.size;
}

/**
 * Copies `entry` (at `guestPath`) into `dest`: into it when it is an existing folder, else as it.
 * The root folder of a volume copies its contents into `dest`.
 */
export function getToHost(fsys: GuestFileSystem, entry: GuestEntry, guestPath: string, dest: string, options: GetOptions = {}): GetReport {
  const platform = options.platform ?? process.platform;
  const report: GetReport = { files: 0, folders: 0, bytes: 0, mapped: [], skipped: [], failed: [] };
  const note = (line: string): void => options.onNote?.(line);
  const streamBytes = options.stream === undefined ? undefined : copiedSize(fsys, entry, guestPath, options.stream);
  // Page-aligned: the kernel copies out of the page cache into it twice as fast (aligned-buffer.ts).
  const buf = pageAlignedBuffer(CHUNK);
  let copied = 0;
  const destStat = lstatOrNull(dest);
  let target: string;
  let root: string;
  if (destStat?.isDirectory()) {
    root = path.resolve(dest);
    const name = options.stream === undefined ? entry.name : `${entry.name}:${options.stream}`;
    target = guestPath === '/' || entry.name === '' ? root : path.join(root, mapName(name, guestPath));
  } else {
    if (destStat && entry.type === 'dir') throw usageError(`${dest} exists and is not a folder`);
    const parent = path.dirname(path.resolve(dest));
    if (!lstatOrNull(parent)?.isDirectory()) throw new DiskchainError('E_NOTFOUND', `folder ${parent} does not exist`, dest);
    root = path.resolve(dest);
    target = root;
  }

  function mapName(name: string, at: string): string {
    const mapped = hostName(name, platform);
    if (mapped !== name) {
      report.mapped.push({ guest: at, host: mapped });
      note(`mapped ${at} to ${mapped} (not a valid name here)`);
    }
    return mapped;
  }

  /** Inside DEST, whatever the names: the last guard against a path leaving it. */
  function inside(p: string): string {
    const rel = path.relative(root, p);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new DiskchainError('E_INTERNAL', `refusing to write ${p}: outside ${root}`);
    return p;
  }

  const copy = (e: GuestEntry, at: string, to: string): void => {
    options.throwIfCancelled?.();
    inside(to);
    if (e.type === 'dir') {
      const existing = lstatOrNull(to);
      if (existing && !existing.isDirectory()) {
        report.failed.push({ guest: at, reason: `${to} exists and is not a folder` });
        note(`${at}: not copied: ${to} exists and is not a folder`);
        return;
      }
      if (!existing) fs.mkdirSync(to);
      report.folders++;
      let children: GuestEntry[];
      try {
        children = fsys.list(e);
      } catch (err) {
        fail(at, err);
        return;
      }
      const named = folderNames(platform);
      for (const child of children) {
        const childAt = joinGuestPath(at, child.name);
        copy(child, childAt, path.join(to, named(child.name, mapName(child.name, childAt))));
      }
      setTimes(to, e, false);
      return;
    }
    if (e.type === 'symlink') {
      if (platform === 'win32' || e.linkTarget === undefined) {
        skip(at, 'symbolic link not written here');
        return;
      }
      const temp = tempName(to);
      fs.symlinkSync(e.linkTarget, temp);
      fs.renameSync(temp, to);
      setTimes(to, e, true);
      report.files++;
      return;
    }
    if (e.type !== 'file') {
      skip(at, 'not a regular file (device, pipe or socket)');
      return;
    }
    const temp = tempName(to);
    try {
      const fd = fs.openSync(temp, 'wx');
      try {
        // Only the entry asked for can be a stream: a folder's files are copied as their data.
        const stream = e === entry ? options.stream : undefined;
        copyData(fsys, e, at, fd, buf, stream, (n) => {
          copied += n;
          options.onBytes?.(copied);
        }, options.throwIfCancelled);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, to);
      setTimes(to, e, false);
      report.files++;
      report.bytes += e === entry && streamBytes !== undefined ? streamBytes : e.size;
    } catch (err) {
      fs.rmSync(temp, { force: true });
      fail(at, err);
    }
  };

  const skip = (at: string, reason: string): void => {
    report.skipped.push({ guest: at, reason });
    note(`${at}: skipped: ${reason}`);
  };
  const fail = (at: string, err: unknown): void => {
    // Damage in the guest (DiskchainError) or a refusal of the host (EISDIR, EACCES…) costs this entry only.
    const hostError = err instanceof Error && !(err instanceof DiskchainError) && typeof (err as NodeJS.ErrnoException).code === 'string';
    if ((!(err instanceof DiskchainError) && !hostError) || (err instanceof DiskchainError && err.code === 'E_CANCELLED')) throw err;
    const reason = (err as Error).message;
    report.failed.push({ guest: at, reason });
    note(`${at}: ${reason}`);
  };

  copy(entry, guestPath, target);
  return report;
}

function copyData(
  fsys: GuestFileSystem,
  e: GuestEntry,
  at: string,
  fd: number,
  buf: Buffer,
  stream: string | undefined,
  onChunk: (n: number) => void,
  throwIfCancelled?: () => void,
): void {
  const size = copiedSize(fsys, e, at, stream);
  streamData(fsys, e, at, stream, size, buf, (piece, offset) => void fs.writeSync(fd, piece, 0, piece.length, offset), onChunk, throwIfCancelled);
}

/**
 * Streams one guest file (or one of its named streams) to stdout through one reused buffer:
 * blocking writes (FdSink.blocking) wait for a pipe instead of queueing chunks in memory.
 */
export function getToStdout(fsys: GuestFileSystem, e: GuestEntry, at: string, stream?: string): number {
  if (e.type !== 'file') throw usageError(`${at} is a ${e.type === 'dir' ? 'folder' : e.type}: only a file can go to stdout (-)`);
  const size = copiedSize(fsys, e, at, stream);
  const out = FdSink.blocking(1);
  const buf = pageAlignedBuffer(Math.min(CHUNK, Math.max(size, 1)));
  try {
    streamData(fsys, e, at, stream, size, buf, (piece) => out.write(piece));
  } finally {
    out.close();
  }
  return size;
}

/**
 * Hands `write` bytes [0, size) of a file's data (or named stream) in order, in pieces that live in
 * `buf` until write returns; `onChunk` hears after each chunk. Where the file system and the device
 * say where the bytes lie in host files (dataRuns, hostRuns), they are read straight from there, up to
 * buf.length at a time: one pread per piece, not a walk through the chain's readers. Else through fsys.read.
 */
function streamData(
  fsys: GuestFileSystem,
  e: GuestEntry,
  at: string,
  stream: string | undefined,
  size: number,
  buf: Buffer,
  write: (piece: Buffer, offset: number) => void,
  onChunk?: (n: number) => void,
  throwIfCancelled?: () => void,
): void {
  const device = fsys.device;
  const direct = stream === undefined && fsys.dataRuns !== undefined && device.hostRuns !== undefined;
  const plain = new PlainReads();
  const ends = (offset: number): DiskchainError => new DiskchainError('E_FORMAT', `${at}: the file ends at ${offset} bytes, its size says ${size}`, device.file);
  try {
    let offset = 0;
    while (offset < size) {
      throwIfCancelled?.();
      const want = Math.min(buf.length, size - offset);
      const runs = direct ? fsys.dataRuns!(e, offset, want) : null;
      if (runs === null) {
        const n = fsys.read(e, buf.subarray(0, want), offset, stream);
        if (n <= 0) throw ends(offset);
        write(buf.subarray(0, n), offset);
        offset += n;
        onChunk?.(n);
        continue;
      }
      const start = offset;
      for (const run of runs) {
        const parts: DeviceRun[] = run.at === null ? [deviceRun(0, run.length, true)] : device.hostRuns!(run.at, run.length);
        for (const part of parts) {
          for (let done = 0; done < part.length; ) {
            // As big as buf: each read and write call costs several µs in Node, and 1 GiB in 512 KiB
            // pieces took twice the user time of 4 MiB ones for the same system time.
            const piece = buf.subarray(0, Math.min(buf.length, part.length - done));
            if (part.zero === true) piece.fill(0);
            else if (part.file === undefined || part.position === undefined || !plain.tryRead(part.file, piece, part.position + done)) device.read(piece, part.offset + done);
            write(piece, offset);
            offset += piece.length;
            done += piece.length;
          }
        }
      }
      if (offset === start) throw ends(offset);
      onChunk?.(offset - start);
    }
  } finally {
    plain.close();
  }
}

/**
 * The host names of one folder's entries, each unique there: two guest names that map to one host
 * name (a:b and a_b; README and readme where the host compares names without case, Windows and
 * macOS) both survive, the later as NAME~2. `first` is the name to try first (hostName's, or a mapping).
 */
export function folderNames(platform: NodeJS.Platform): (guestName: string, first: string) => string {
  const used = new Set<string>();
  const key = (name: string): string => (platform === 'win32' || platform === 'darwin' ? name.toLowerCase() : name);
  return (guestName, first) => {
    let name = first;
    for (let n = 2; used.has(key(name)); n++) name = `${hostName(guestName, platform)}~${n}`;
    used.add(key(name));
    return name;
  };
}

/** The temporary name a copied file is written under before its rename (also used by vmfs get). */
export function tempName(to: string): string {
  return path.join(path.dirname(to), `.${path.basename(to)}.${process.pid}.diskchain-part`);
}

/** A copied entry's times, where the host allows them. */
export function setTimes(p: string, e: { mtimeMs: number | null; atimeMs?: number | null | undefined }, link: boolean): void {
  if (e.mtimeMs === null) return;
  const mtime = new Date(e.mtimeMs);
  const atime = e.atimeMs != null ? new Date(e.atimeMs) : mtime;
  try {
    if (link) fs.lutimesSync(p, atime, mtime);
    else fs.utimesSync(p, atime, mtime);
  } catch {
    // Times are kept where the host allows it (some file systems refuse link times).
  }
}

export function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}
