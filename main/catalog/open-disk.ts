/**
 * One way to open a disk the file catalog names: an archived disk through the archive source
 * (main/backup/archive-source.ts: every chunk a read reaches is checked against the manifest, so a
 * damaged segment refuses exactly the files whose data lies in it), a loose disk as a chain.
 */
import { archiveDisk, openArchive, openArchivedDisk } from '../backup/archive-source.js';
import { openChain, type Chain } from '../disk/chain.js';

/** Where a catalogued disk is: a loose disk's file, or a disk (and archived link) of an archive. */
export interface DiskAt {
  /** The loose disk, or the archived descriptor inside the archive folder (for messages). */
  file: string;
  /** Set for a disk of an archive. */
  archive?: { path: string; disk: string; at: number };
}

export function openCatalogDisk(d: DiskAt): Chain {
  if (!d.archive) return openChain(d.file);
  const files = openArchive(d.archive.path);
  return openArchivedDisk(files, archiveDisk(files, d.archive.disk), d.archive.at);
}
