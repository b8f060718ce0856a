/**
 * One route from what a person asks for to the engine's JobSpec, for the CLI (paths from the
 * command line) and the desktop services (paths behind the renderer's ids): export and import are
 * converts with fixed kinds, and every default is set here once.
 */
import * as path from 'node:path';
import { diskStem } from '../../shared/disk-names.js';
import type { Adapter, DiskKind, JobSpec, RestoreKind } from '../../shared/jobs.js';

interface ReadOptions {
  force?: boolean | undefined;
  ignoreCid?: boolean | undefined;
  allowDevices?: boolean | undefined;
}

export type PathRequest =
  | ({ kind: 'convert'; src: string; dst: string; to: DiskKind; adapter?: Adapter | undefined; segmentBytes?: number | undefined; compressLevel?: number | undefined } & ReadOptions)
  /** ESX → Workstation: twoGbMaxExtentSparse named after the source, inside `dir`. */
  | ({ kind: 'export'; src: string; dir: string; segmentBytes?: number | undefined } & ReadOptions)
  /** Workstation → ESX: vmfs, or vmfsThin. */
  | ({ kind: 'import'; src: string; dst: string; thin?: boolean | undefined; adapter?: Adapter | undefined } & ReadOptions)
  | { kind: 'commit'; top: string; force?: boolean | undefined; updateVmx?: boolean | undefined }
  | { kind: 'snapshot'; disk: string; force?: boolean | undefined; updateVmx?: boolean | undefined }
  | { kind: 'extend'; disk: string; sizeBytes: number; force?: boolean | undefined }
  | { kind: 'backup'; source: string; archiveDir: string; keepChain?: boolean | undefined; force?: boolean | undefined; ignoreCid?: boolean | undefined; allowDevices?: boolean | undefined; segmentBytes?: number | undefined }
  | { kind: 'restore'; archiveDir: string; destDir: string; to?: RestoreKind | undefined }
  /** What a damaged disk still holds, into a new disk (default kind: the engine's, monolithicSparse). */
  | { kind: 'recover'; src: string; dst: string; to?: DiskKind | undefined; force?: boolean | undefined; ignoreCid?: boolean | undefined; allowDevices?: boolean | undefined }
  /** Guest files and folders into a host folder. */
  | { kind: 'extract'; disk: string; at?: number | undefined; volume?: string | undefined; paths: string[]; destDir: string; ignoreCid?: boolean | undefined; archiveDisk?: string | undefined }
  /** One indexed version of a file, from the disk and volume the catalog's index names, into a host folder. */
  | { kind: 'restoreFile'; disk: string; volume: string; path: string; destDir: string; from: string; archiveDisk?: string | undefined; at?: number | undefined }
  /** The files inside catalogued archives and disks (every entry when ids is left out), into the catalog db. */
  | { kind: 'indexFiles'; db: string; ids?: number[] | undefined; force?: boolean | undefined };

export function specOf(request: PathRequest): JobSpec {
  switch (request.kind) {
    case 'convert':
      return {
        kind: 'convert',
        src: request.src,
        dst: request.dst,
        to: request.to,
        ...defined({ adapter: request.adapter, segmentBytes: request.segmentBytes, compressLevel: request.compressLevel }),
        ...readOptions(request),
      };
    case 'export':
      return {
        kind: 'convert',
        src: request.src,
        dst: exportPath(request.src, request.dir),
        to: 'twoGbMaxExtentSparse',
        skipZeroGrains: true,
        ...defined({ segmentBytes: request.segmentBytes }),
        ...readOptions(request),
      };
    case 'import':
      return {
        kind: 'convert',
        src: request.src,
        dst: request.dst,
        to: request.thin === true ? 'vmfsThin' : 'vmfs',
        ...defined({ adapter: request.adapter }),
        ...readOptions(request),
      };
    case 'commit':
      return { kind: 'commit', top: request.top, force: request.force === true, updateVmx: request.updateVmx !== false };
    case 'snapshot':
      return { kind: 'snapshot', disk: request.disk, force: request.force === true, updateVmx: request.updateVmx !== false };
    case 'extend':
      return { kind: 'extend', disk: request.disk, sizeBytes: request.sizeBytes, force: request.force === true };
    case 'backup':
      return {
        kind: 'backup',
        source: request.source,
        archiveDir: request.archiveDir,
        keepChain: request.keepChain === true,
        force: request.force === true,
        ...defined({ ignoreCid: request.ignoreCid, segmentBytes: request.segmentBytes }),
        ...devices(request),
      };
    case 'restore':
      return { kind: 'restore', archiveDir: request.archiveDir, destDir: request.destDir, ...defined({ to: request.to }) };
    case 'recover':
      return { kind: 'recover', src: request.src, dst: request.dst, ...defined({ to: request.to }), ...readOptions(request) };
    case 'extract':
      return { kind: 'extract', disk: request.disk, paths: request.paths, destDir: request.destDir, ...defined({ at: request.at, volume: request.volume, archiveDisk: request.archiveDisk }), ignoreCid: request.ignoreCid === true };
    case 'restoreFile':
      return { kind: 'restoreFile', disk: request.disk, volume: request.volume, path: request.path, destDir: request.destDir, from: request.from, ...defined({ archiveDisk: request.archiveDisk, at: request.at }) };
    case 'indexFiles':
      return { kind: 'indexFiles', db: request.db, ...defined({ ids: request.ids }), force: request.force === true };
  }
}

/** Where export writes inside a folder: NAME.vmdk after the source (`vm-000002.vmdk` → `vm.vmdk`). */
export function exportPath(src: string, dir: string): string {
  return path.join(dir, `${diskStem(src)}.vmdk`);
}

function readOptions(request: ReadOptions): { force: boolean; ignoreCid: boolean; allowDevices?: true } {
  return { force: request.force === true, ignoreCid: request.ignoreCid === true, ...devices(request) };
}

/** Only when asked for, so that specs without it stay as they were. */
function devices(request: ReadOptions): { allowDevices?: true } {
  return request.allowDevices === true ? { allowDevices: true } : {};
}

function defined<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
