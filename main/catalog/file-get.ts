/**
 * `catalog get ID[:DISK][:VOL]:/path`: the version a `catalog find` row names, opened where the
 * index found it — the archive's disk (read through the archive source, chunk-checked) or the
 * loose disk, the volume recorded — ready for main/guest/extract.ts to copy out. Nothing is written to it.
 */
import { DiskchainError, usageError } from '../../shared/errors.js';
import type { Chain } from '../disk/chain.js';
import { chainDevice } from '../guest/block-device.js';
import type { GuestEntry, GuestFileSystem } from '../guest/types.js';
import { openFileSystem } from '../guest/volumes.js';
import { resolveGuestPath, splitGuestPath } from '../guest/walk.js';
import { archiveDiskAliases, planEntry } from './file-index.js';
import { openCatalogDisk, type DiskAt } from './open-disk.js';
import type { CatalogStore } from './store.js';

export interface FileRef {
  entryId: number;
  /** The archived link (0 = the top): `ID@N:` or `catalog get --at N`. */
  link: number;
  /** DISK and/or VOL as written; matched against the index's disks and volumes. */
  parts: string[];
  path: string;
}

export interface IndexedLocation {
  entryId: number;
  disk: string;
  link: number;
  volume: string;
  path: string;
}

export interface OpenedVersion extends IndexedLocation {
  /** The archive it is read through (its damage errors name this path), when it is in one. */
  archive?: string;
  chain: Chain;
  fs: GuestFileSystem;
  entry: GuestEntry;
}

/** `12:/etc/hosts`, `#12:/etc/hosts`, `12:web:2:/etc/hosts`, `12:vg0/root:/etc/hosts`, `12@1:/etc/hosts` (archived link 1). */
export function parseFileRef(text: string): FileRef {
  const cut = text.indexOf(':/');
  const head = cut < 0 ? '' : text.slice(0, cut);
  const [id, ...parts] = head.split(':');
  const m = /^#?(\d+)(?:@(\d+))?$/.exec(id ?? '');
  if (cut < 0 || !m || Number(m[1]) === 0 || !Number.isSafeInteger(Number(m[1])) || !Number.isSafeInteger(Number(m[2] ?? 0))) {
    throw usageError(`bad file "${text}": write ID:/path (or ID:DISK:VOL:/path) as catalog find shows it`);
  }
  const path = `/${splitGuestPath(text.slice(cut + 1)).join('/')}`;
  return { entryId: Number(m[1]), link: Number(m[2] ?? 0), parts: parts.filter((p) => p !== ''), path };
}

/** The indexed volume of the entry that holds the path; refuses when several do and the ref does not say which. */
export function locate(store: CatalogStore, ref: FileRef): IndexedLocation {
  const entry = store.summary(ref.entryId);
  if (!entry) throw new DiskchainError('E_NOTFOUND', `no entry ${ref.entryId} in the catalog`, store.db.name);
  const cut = ref.path.lastIndexOf('/');
  const dir = cut <= 0 ? '/' : ref.path.slice(0, cut);
  const name = ref.path.slice(cut + 1);
  // A disk is named as in the index or by its base link's stem (`sys` for `sys-000001`).
  const aliases = archiveDiskAliases(store, entry);
  const names = (disk: string): string[] => aliases.get(disk) ?? [disk];
  const rows = store.db
    .prepare<[number, number, string, string], { disk: string; volume: string }>(
      `SELECT v.disk, v.volume FROM file_volumes v
       WHERE v.entry_id = ? AND v.link = ? AND v.complete = 1 AND EXISTS (SELECT 1 FROM files f
         JOIN file_dirs d ON d.id = f.dir_id JOIN file_names n ON n.id = f.name_id
         WHERE f.volume_id = v.id AND d.path = ? AND n.name = ?)
       ORDER BY v.id`,
    )
    .all(ref.entryId, ref.link, dir, name)
    .filter((r) => ref.parts.every((p) => names(r.disk).includes(p) || p === r.volume));
  const at = ref.link > 0 ? `@${ref.link}` : '';
  const where = `#${ref.entryId}${at}${ref.parts.map((p) => `:${p}`).join('')}`;
  if (rows.length === 0) {
    throw new DiskchainError('E_NOTFOUND', `${ref.path} is not in the file index of ${where} (catalog find shows the versions indexed)`, entry.path);
  }
  if (rows.length > 1) {
    const refs = rows.map((r) => `${ref.entryId}${at}:${r.disk}:${r.volume}:${ref.path}`).join(', ');
    throw usageError(`${ref.path} is on ${rows.length} volumes of ${where}: name one (${refs})`);
  }
  return { entryId: ref.entryId, disk: rows[0]!.disk, link: ref.link, volume: rows[0]!.volume, path: ref.path };
}

export interface VersionFile extends IndexedLocation, DiskAt {
  /** The entry as people know it: its name and date. */
  from: string;
}

/** Where the version is, down to the disk file; nothing is opened. */
export function versionFile(store: CatalogStore, ref: FileRef): VersionFile {
  const at = locate(store, ref);
  const entry = store.summary(at.entryId)!;
  const disk = planEntry(store, entry).disks.find((d) => d.name === at.disk && d.link === at.link);
  if (!disk || disk.file === null) throw new DiskchainError('E_NOTFOUND', `disk ${at.disk}: ${disk?.problem ?? 'no longer in the entry'}`, entry.path);
  const link = at.link > 0 ? `, link ${at.link}` : '';
  return { ...at, file: disk.file, ...(disk.archive ? { archive: disk.archive } : {}), from: `${entry.name} (${entry.date.slice(0, 16).replace('T', ' ')}${link})` };
}

/** Opens the disk and volume the index names and finds the path on it; the caller closes `chain`. */
export function openVersion(store: CatalogStore, ref: FileRef, open: (disk: DiskAt) => Chain = openCatalogDisk): OpenedVersion {
  const { file, archive, from: _from, ...at } = versionFile(store, ref);
  const chain = open({ file, ...(archive ? { archive } : {}) });
  try {
    const fs = openFileSystem(chainDevice(chain), at.volume);
    return { ...at, ...(archive ? { archive: archive.path } : {}), chain, fs, entry: resolveGuestPath(fs, at.path) };
  } catch (e) {
    chain.close();
    throw e;
  }
}
