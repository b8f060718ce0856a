/**
 * Copies files and folders out of a VMFS volume (`diskchain vmfs get`): only the data regions are
 * written, so thin disks stay sparse; each file goes to a temp name and is renamed into place;
 * names are mapped to ones the host allows and checked to stay inside DEST; symlinks are written
 * as links, RDMs (no data here) and the volume's system files are skipped with a note.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, usageError } from '../../shared/errors.js';
import { folderNames, hostName, lstatOrNull, setTimes, tempName } from '../guest/extract.js';
import type { VmfsEntry } from './types.js';
import type { VmfsVolume } from './volume.js';
import { joinPath } from './walk.js';

const CHUNK = 4 * 1024 * 1024;

export interface VmfsGetReport {
  files: number;
  folders: number;
  bytes: number;
  /** Bytes actually written (data regions that are not all zeros). */
  writtenBytes: number;
  skipped: Array<{ path: string; reason: string }>;
  failed: Array<{ path: string; reason: string }>;
}

export interface VmfsGetOptions {
  onNote?: (line: string) => void;
  platform?: NodeJS.Platform;
}

export function getFromVmfs(volume: VmfsVolume, entry: VmfsEntry, at: string, dest: string, options: VmfsGetOptions = {}): VmfsGetReport {
  const platform = options.platform ?? process.platform;
  const report: VmfsGetReport = { files: 0, folders: 0, bytes: 0, writtenBytes: 0, skipped: [], failed: [] };
  const note = (line: string): void => options.onNote?.(line);
  const buf = Buffer.allocUnsafe(CHUNK);
  const zero = Buffer.alloc(CHUNK);
  const destStat = lstatOrNull(dest);
  let root: string;
  let target: string;
  if (destStat?.isDirectory()) {
    root = path.resolve(dest);
    target = at === '/' ? root : path.join(root, hostName(entry.name, platform));
  } else {
    if (destStat) throw usageError(`${dest} exists and is not a folder`);
    const parent = path.dirname(path.resolve(dest));
    if (!lstatOrNull(parent)?.isDirectory()) throw new DiskchainError('E_NOTFOUND', `folder ${parent} does not exist`, dest);
    root = path.resolve(dest);
    target = root;
  }

  const inside = (p: string): string => {
    const rel = path.relative(root, p);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new DiskchainError('E_INTERNAL', `refusing to write ${p}: outside ${root}`);
    return p;
  };
  const skip = (p: string, reason: string): void => {
    report.skipped.push({ path: p, reason });
    note(`${p}: skipped: ${reason}`);
  };
  const fail = (p: string, err: unknown): void => {
    const hostError = err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && !(err instanceof DiskchainError);
    if (!(err instanceof DiskchainError) && !hostError) throw err;
    if (err instanceof DiskchainError && err.code === 'E_NOTFOUND') throw err; // a missing extent stops the copy
    report.failed.push({ path: p, reason: (err as Error).message });
    note(`${p}: ${(err as Error).message}`);
  };
  const visited = new Set<number>();

  const copy = (e: VmfsEntry, p: string, to: string, named: boolean): void => {
    inside(to);
    if (e.error) return fail(p, new DiskchainError('E_FORMAT', e.error));
    switch (e.type) {
      case 'dir': {
        if (visited.has(e.address)) return skip(p, 'the folder contains itself (a directory loop)');
        visited.add(e.address);
        const existing = lstatOrNull(to);
        if (existing && !existing.isDirectory()) return fail(p, new DiskchainError('E_EXISTS', `${to} exists and is not a folder`));
        if (!existing) fs.mkdirSync(to);
        report.folders++;
        let children: VmfsEntry[];
        try {
          children = volume.list(e);
        } catch (err) {
          return fail(p, err);
        }
        const named = folderNames(platform);
        for (const child of children) copy(child, joinPath(p, child.name), path.join(to, named(child.name, hostName(child.name, platform))), false);
        setTimes(to, e, false);
        visited.delete(e.address);
        return;
      }
      case 'symlink': {
        if (platform === 'win32' || e.linkTarget === undefined) return skip(p, 'symbolic link not written here');
        const temp = tempName(to);
        fs.symlinkSync(e.linkTarget, temp);
        fs.renameSync(temp, to);
        setTimes(to, e, true);
        report.files++;
        return;
      }
      case 'rdm':
        return skip(p, `raw device mapping: its data is on LUN ${e.rdm?.id ?? '?'}, not in this volume`);
      case 'system':
        if (!named) return skip(p, 'VMFS system file');
        break;
      case 'file':
        break;
      default:
        return skip(p, `not a regular file (FD type ${e.type})`);
    }
    const temp = tempName(to);
    try {
      const fd = fs.openSync(temp, 'wx');
      try {
        const file = volume.readFd(e.address);
        for (const region of volume.dataRegions(file, 0, file.length)) {
          for (let off = region.start; off < region.end; off += CHUNK) {
            const n = Math.min(CHUNK, region.end - off);
            const chunk = buf.subarray(0, n);
            volume.readFile(file, chunk, off);
            // Zeros inside allocated blocks are holes in the copy too (a thick disk's unused space).
            if (chunk.equals(zero.subarray(0, n))) continue;
            fs.writeSync(fd, chunk, 0, n, off);
            report.writtenBytes += n;
          }
        }
        fs.ftruncateSync(fd, file.length);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, to);
      setTimes(to, e, false);
      report.files++;
      report.bytes += e.size;
    } catch (err) {
      fs.rmSync(temp, { force: true });
      fail(p, err);
    }
  };

  copy(entry, at, target, true);
  return report;
}

