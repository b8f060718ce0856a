/**
 * The extract job: guest files and folders copied into a host folder with the code `diskchain get`
 * uses (guest/extract.ts), with progress over the bytes of file data, an ETA and Cancel. A first
 * walk adds up the sizes before the first progress report, so the percentage is of the real total.
 */
import { DiskchainError } from '../../shared/errors.js';
import type { ExtractSpec, JobResult } from '../../shared/jobs.js';
import { archiveDisk, openArchive, openArchivedDisk } from '../backup/archive-source.js';
import { openChain, type Chain } from '../disk/chain.js';
import { formatBytes } from '../../shared/bytes.js';
import { chainDevice } from '../guest/block-device.js';
import { getToHost } from '../guest/extract.js';
import type { GuestEntry, GuestFileSystem } from '../guest/types.js';
import { openFileSystem } from '../guest/volumes.js';
import { resolveGuestPath, walkGuest } from '../guest/walk.js';
import type { JobContext } from '../io/job-context.js';

/** The chain as the guest saw it at link `at` (0 = the disk named). */
export function openChainAtLink(disk: string, at: number, ignoreCid: boolean): Chain {
  const chain = openChain(disk, { ignoreCid });
  if (at === 0) return chain;
  const link = chain.links[at];
  chain.close();
  if (!link) throw new DiskchainError('E_USAGE', `the chain has no link ${at}`, disk);
  return openChain(link.path, { ignoreCid });
}

/** A disk of a backup archive at archived link `at`, read through the archive (each chunk checked against its manifest). */
export function openArchiveChain(archive: string, disk: string, at: number, ignoreCid: boolean): Chain {
  const files = openArchive(archive);
  return openArchivedDisk(files, archiveDisk(files, disk), at, { ignoreCid });
}

/** Opens the guest file system a spec names and hands it to `use`; the chain is closed after. */
export function withGuestFileSystem<T>(spec: Pick<ExtractSpec, 'disk' | 'at' | 'volume' | 'ignoreCid' | 'archiveDisk'>, use: (fsys: GuestFileSystem) => T): T {
  const chain = spec.archiveDisk === undefined ? openChainAtLink(spec.disk, spec.at ?? 0, spec.ignoreCid === true) : openArchiveChain(spec.disk, spec.archiveDisk, spec.at ?? 0, spec.ignoreCid === true);
  try {
    return use(openFileSystem(chainDevice(chain), spec.volume));
  } finally {
    chain.close();
  }
}

/** Bytes of file data below (and in) the chosen entries: what the job copies. */
export function extractBytes(fsys: GuestFileSystem, items: Array<{ entry: GuestEntry; path: string }>, ctx?: JobContext): number {
  let total = 0;
  for (const { entry, path } of items) {
    if (entry.type === 'file') total += entry.size;
    if (entry.type !== 'dir') continue;
    for (const w of walkGuest(fsys, entry, path, () => undefined)) {
      ctx?.throwIfCancelled();
      if (w.entry.type === 'file') total += w.entry.size;
    }
  }
  return total;
}

// async: a refusal or a cancel is a rejected promise, as for the other jobs.
export async function extractJob(spec: ExtractSpec, ctx: JobContext): Promise<JobResult> {
  return withGuestFileSystem(spec, (fsys) => {
      const items = spec.paths.map((p) => ({ entry: resolveGuestPath(fsys, p), path: normalise(p) }));
      const total = extractBytes(fsys, items, ctx);
      let before = 0;
      let files = 0;
      let folders = 0;
      const failed: string[] = [];
      ctx.progress('extracting', 0, total);
      for (const { entry, path } of items) {
        const report = getToHost(fsys, entry, path, spec.destDir, {
          onBytes: (copied) => ctx.progress('extracting', Math.min(total, before + copied), total),
          throwIfCancelled: () => ctx.throwIfCancelled(),
        });
        before += report.bytes;
        files += report.files;
        folders += report.folders;
        failed.push(...report.failed.map((f) => `${f.guest}: ${f.reason}`));
      }
      ctx.progress('extracting', total, total);
      const summary = `extracted ${files} file${files === 1 ? '' : 's'}, ${folders} folder${folders === 1 ? '' : 's'} (${formatBytes(before, 1)})${failed.length ? `; ${failed.length} failed: ${failed.slice(0, 3).join('; ')}` : ''}`;
      return { outputs: [spec.destDir], summary };
  });
}

function normalise(p: string): string {
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}
