/**
 * The browser host's own file browser (issue 16): a browser page is never told where a file is, so
 * the app lists the host's folders itself. Only the folder the user typed or clicked is listed
 * (names, sizes and dates from stat: no file is opened), only absolute paths are taken, and the
 * channels answer only behind the browser host's token; Electron keeps its native dialogs.
 */
import type { Stats } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { FolderEntry, FolderListing, PathLook } from '../../shared/ipc/contract.js';
import { StateFile } from './state.js';

/** A folder with more entries is listed in part (a page cannot show more anyway). */
export const MAX_ENTRIES = 5000;
const RECENT_FOLDERS = 12;
/** stat calls in flight while listing (a network share answers slowly, a local folder fast). */
const STAT_BATCH = 64;

/** Names VMware gives disks: NAME.vmdk, an ESX 2 NAME.dsk and its NAME.dsk.REDO logs. */
export function looksLikeDisk(name: string): boolean {
  return /\.(vmdk|dsk|redo)$/i.test(name);
}

export class FileBrowser {
  private readonly recentFile: StateFile<string[]>;

  constructor(stateDir: string) {
    this.recentFile = new StateFile(path.join(stateDir, 'recent-folders.json'), parseFolders, () => []);
  }

  async look(typed: string): Promise<PathLook> {
    const p = absolute(typed);
    const [st, parent] = await Promise.all([statOf(p), statOf(path.dirname(p))]);
    const type = st === null ? 'missing' : st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'other';
    return { path: p, type, parentIsFolder: parent?.isDirectory() === true };
  }

  async list(typed: string): Promise<FolderListing> {
    const folder = absolute(typed);
    let dir: import('node:fs').Dir;
    try {
      dir = await fs.opendir(folder);
    } catch (e) {
      throw listError(e, folder);
    }
    const names: string[] = [];
    let truncated = false;
    try {
      for await (const d of dir) {
        if (names.length === MAX_ENTRIES) {
          truncated = true;
          break;
        }
        names.push(d.name);
      }
    } finally {
      await dir.close().catch(() => undefined);
    }
    const entries: FolderEntry[] = [];
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = names.slice(i, i + STAT_BATCH);
      entries.push(...(await Promise.all(batch.map(async (name) => entryOf(name, await statOf(path.join(folder, name)))))));
    }
    entries.sort(byGroupThenName);
    const parent = path.dirname(folder);
    return { path: folder, parent: parent === folder ? null : parent, entries, truncated };
  }

  async recentFolders(): Promise<string[]> {
    return this.recentFile.read();
  }

  /** Puts the folder of a chosen place first in the recent folders (a read-only state folder only costs the list). */
  async remember(folder: string): Promise<void> {
    await this.recentFile.update((list) => [folder, ...list.filter((f) => f !== folder)].slice(0, RECENT_FOLDERS)).catch(() => undefined);
  }
}

/** The path, normalized; a relative one is refused (it would mean the server's working folder). */
export function absolute(typed: string): string {
  if (typed.includes('\0') || !path.isAbsolute(typed)) throw new DiskchainError('E_USAGE', 'not an absolute path: type the whole path, starting with /', typed);
  const p = path.resolve(typed);
  return p.length > 1 && p.endsWith(path.sep) ? p.slice(0, -1) : p;
}

function entryOf(name: string, st: Stats | null): FolderEntry {
  const type = st === null ? 'other' : st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'other';
  return {
    name,
    type,
    sizeBytes: type === 'file' && st ? st.size : null,
    mtime: st ? Math.round(st.mtimeMs) : null,
    diskLike: type === 'file' && looksLikeDisk(name),
  };
}

function group(e: FolderEntry): number {
  return e.diskLike ? 0 : e.type === 'folder' ? 1 : 2;
}

function byGroupThenName(a: FolderEntry, b: FolderEntry): number {
  return group(a) - group(b) || a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' }) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function listError(e: unknown, folder: string): DiskchainError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new DiskchainError('E_NOTFOUND', 'no such folder', folder);
  if (code === 'ENOTDIR') return new DiskchainError('E_USAGE', 'not a folder', folder);
  if (code === 'EACCES' || code === 'EPERM') return new DiskchainError('E_IO', 'permission denied', folder);
  return new DiskchainError('E_IO', `cannot list it: ${code ?? (e instanceof Error ? e.message : String(e))}`, folder);
}

async function statOf(p: string): Promise<Stats | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

function parseFolders(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && path.isAbsolute(v)).slice(0, RECENT_FOLDERS) : [];
}
