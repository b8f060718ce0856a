/**
 * The desktop app's jobs: a request of the contract (ids) becomes paths, then a JobSpec through
 * the one mapper the CLI uses too (main/jobs/requests.ts), for the job engine (one worker thread
 * per job). Progress is relayed as jobs:progress events through the one throttle
 * (main/jobs/throttle.ts), the end as one jobs:done; finished and failed jobs stay listed with
 * their errors until cleared.
 */
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskStem } from '../../shared/disk-names.js';
import { DiskchainError, type WireError } from '../../shared/errors.js';
import type { JobRecord, JobRequest, Preflight } from '../../shared/ipc/contract.js';
import type { FileLocation, JobProgress, JobSpec } from '../../shared/jobs.js';
import type { JobHandle } from '../jobs/engine.js';
import { specOf, type PathRequest } from '../jobs/requests.js';
import { throttle } from '../jobs/throttle.js';
import { isEnough } from '../io/space.js';
import type { DiskService } from './disks.js';
import type { Emit } from './events.js';
import { sharedQueryClient, type QueryClient } from './query-client.js';
import type { TargetService } from './targets.js';

export { PROGRESS_MS } from '../jobs/throttle.js';

export type StartJob = (spec: JobSpec, onProgress: (p: JobProgress) => void) => JobHandle;

interface Entry {
  record: JobRecord;
  handle: JobHandle | null;
  spec: JobSpec;
}

export type { FileLocation };

export interface CatalogLookup {
  archivePath(catalogId: number): Promise<string>;
  /** A catalog find ref (ID:/path, ID:DISK:VOL:/path). */
  locateFile(ref: string): Promise<FileLocation>;
  /** The catalog database, for the index-files job. */
  dbPath(): string;
}

export class JobService {
  private readonly jobs = new Map<string, Entry>();

  constructor(
    private readonly disks: DiskService,
    private readonly targets: TargetService,
    private readonly emit: Emit,
    private readonly startJob: StartJob,
    /** The catalog's answers a job needs: an archive's folder (restore), where an indexed file version is (restore file). */
    private readonly catalog?: CatalogLookup,
    private readonly queries: QueryClient = sharedQueryClient(),
  ) {}

  /** Starts the job and answers its record (status running). */
  async start(request: JobRequest): Promise<JobRecord> {
    const spec = await this.specOf(request);
    // Two indexes of one catalog would drop each other's half-written rows: one at a time.
    if (spec.kind === 'indexFiles' && [...this.jobs.values()].some((e) => e.spec.kind === 'indexFiles' && e.record.status === 'running')) {
      throw new DiskchainError('E_BUSY', 'the catalog is being indexed already: wait for that job, or cancel it');
    }
    const jobId = randomUUID();
    const record: JobRecord = {
      jobId,
      kind: request.kind,
      title: titleOf(request.kind, spec),
      status: 'running',
      startedAt: Date.now(),
      endedAt: null,
      progress: null,
      result: null,
      error: null,
    };
    const entry: Entry = { record, handle: null, spec };
    this.jobs.set(jobId, entry);
    const relay = throttle((p: JobProgress) => {
      if (record.status === 'running') this.emit('jobs:progress', { jobId, ...p });
    });
    const onProgress = (p: JobProgress): void => {
      record.progress = p;
      relay.update(p);
    };
    try {
      entry.handle = this.startJob(spec, onProgress);
    } catch (e) {
      this.jobs.delete(jobId);
      throw e;
    }
    entry.handle.done.then(
      (result) => {
        // The last progress goes out before the end: the jobs panel keeps the counts it last saw.
        relay.flush();
        if (record.progress) record.progress = { ...record.progress, doneBytes: record.progress.totalBytes, eta: 0 };
        this.finish(entry, 'done', { result });
      },
      (e: unknown) => {
        relay.stop();
        const error = wireOf(e);
        this.finish(entry, error.code === 'E_CANCELLED' ? 'cancelled' : 'failed', { error });
      },
    );
    return structuredClone(record);
  }

  cancel(jobId: string): void {
    const entry = this.entry(jobId);
    if (entry.record.status === 'running') entry.handle?.cancel();
  }

  list(): JobRecord[] {
    return [...this.jobs.values()].map((e) => structuredClone(e.record)).reverse();
  }

  clear(jobId?: string): void {
    if (jobId !== undefined) {
      const entry = this.entry(jobId);
      if (entry.record.status === 'running') throw new DiskchainError('E_USAGE', 'a running job cannot be cleared: cancel it first');
      this.jobs.delete(jobId);
      return;
    }
    for (const [id, e] of this.jobs) if (e.record.status !== 'running') this.jobs.delete(id);
  }

  /** The primary output of a finished job (to open it as a disk). */
  outputOf(jobId: string): string {
    const { record } = this.entry(jobId);
    const out = record.result?.outputs[0];
    if (record.status !== 'done' || out === undefined) throw new DiskchainError('E_USAGE', 'the job has not finished with an output');
    return out;
  }

  /**
   * Whether the destination's file system has room for what the job writes: the job's own
   * estimate (main/jobs/estimate.ts) against the free bytes, in the query worker.
   */
  async preflight(request: JobRequest): Promise<Preflight> {
    const spec = await this.specOf(request);
    const [{ folder, requiredBytes, basis, availableBytes, purpose }, { locks, vms, vmNames, existing }] = await Promise.all([
      this.queries.ask('space', { spec }),
      this.queries.ask('safety', { spec }),
    ]);
    return { folder, requiredBytes, availableBytes, enough: isEnough({ folder, requiredBytes, basis, purpose }, availableBytes), basis, locks, vms, vmNames, existing };
  }

  /** Waits for every running job to end (tests, and quitting the app after cancel). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.jobs.values()].map((e) => e.handle?.done));
  }

  private finish(entry: Entry, status: Exclude<JobRecord['status'], 'running'>, outcome: { result?: JobRecord['result']; error?: WireError }): void {
    const record = entry.record;
    record.status = status;
    record.endedAt = Date.now();
    record.result = outcome.result ?? null;
    record.error = outcome.error ?? null;
    this.emit('jobs:done', { jobId: record.jobId, status, result: record.result, error: record.error });
  }

  private entry(jobId: string): Entry {
    const entry = this.jobs.get(jobId);
    if (!entry) throw new DiskchainError('E_NOTFOUND', 'no such job (it was cleared, or the app restarted)');
    return entry;
  }

  private async specOf(request: JobRequest): Promise<JobSpec> {
    return specOf(await this.pathsOf(request));
  }

  /** ids → paths; the mapper adds the CLI's defaults. */
  private async pathsOf(request: JobRequest): Promise<PathRequest> {
    const disk = (diskId: string): string => this.disks.pathOf(diskId);
    const file = (targetId: string): string => this.targets.get(targetId, 'file').path;
    const folder = (targetId: string): string => this.targets.get(targetId, 'folder').path;
    switch (request.kind) {
      case 'convert': {
        const { diskId, targetId, ...options } = request;
        return { ...options, src: disk(diskId), dst: file(targetId) };
      }
      case 'export': {
        const { diskId, targetId, ...options } = request;
        return { ...options, src: disk(diskId), dir: folder(targetId) };
      }
      case 'import': {
        const { diskId, targetId, ...options } = request;
        return { ...options, src: disk(diskId), dst: file(targetId) };
      }
      case 'commit':
        return { kind: 'commit', top: disk(request.diskId), force: request.force };
      case 'snapshot':
        return { kind: 'snapshot', disk: disk(request.diskId), force: request.force };
      case 'extend':
        return { kind: 'extend', disk: disk(request.diskId), sizeBytes: request.sizeBytes, force: request.force };
      case 'backup': {
        const source = 'diskId' in request.source ? disk(request.source.diskId) : file(request.source.vmxTargetId);
        return { kind: 'backup', source, archiveDir: this.archiveDir(request.targetId, source), keepChain: request.keepChain, force: request.force };
      }
      case 'restore': {
        const archiveDir = 'catalogId' in request.source ? await this.archivePath(request.source.catalogId) : folder(request.source.folderTargetId);
        return { kind: 'restore', archiveDir, destDir: folder(request.targetId), to: request.to };
      }
      case 'recover':
        return { kind: 'recover', src: disk(request.diskId), dst: file(request.targetId), to: request.to, force: request.force, ignoreCid: request.ignoreCid };
      case 'extract': {
        // A disk opened from an archive is read through the archive, as its Files tab reads it.
        const { path: guestDisk, archiveDisk } = this.disks.guestTarget(request.diskId);
        return { kind: 'extract', disk: guestDisk, archiveDisk, at: request.at, volume: request.volume, paths: request.paths, destDir: folder(request.targetId), ignoreCid: request.ignoreCid };
      }
      case 'restoreFile': {
        const destDir = folder(request.targetId);
        return { kind: 'restoreFile', ...(await this.lookup().locateFile(request.ref)), destDir };
      }
      case 'indexFiles':
        return { kind: 'indexFiles', db: this.lookup().dbPath(), ids: request.ids };
    }
  }

  /**
   * A save-dialog target is the archive folder itself (created by the job); a chosen folder gets
   * a new archive folder inside it, named after the source and the time.
   */
  private archiveDir(targetId: string, source: string): string {
    const target = this.targets.getAny(targetId);
    if (target.type === 'file') return target.path;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    return path.join(target.path, `${diskStem(source).replace(/\.vmx$/i, '')}-${stamp}`);
  }

  private archivePath(catalogId: number): Promise<string> {
    return this.lookup().archivePath(catalogId);
  }

  private lookup(): CatalogLookup {
    if (!this.catalog) throw new DiskchainError('E_UNSUPPORTED', 'the catalog is not available');
    return this.catalog;
  }
}

function titleOf(kind: JobRecord['kind'], spec: JobSpec): string {
  switch (spec.kind) {
    case 'convert':
      return `${kind} ${path.basename(spec.src)} → ${shownPath(spec.dst)} (${spec.to})`;
    case 'commit':
      return `commit ${path.basename(spec.top)} into its parent`;
    case 'snapshot':
      return `snapshot ${path.basename(spec.disk)}`;
    case 'extend':
      return `extend ${path.basename(spec.disk)} to ${spec.sizeBytes} bytes`;
    case 'backup':
      return `back up ${path.basename(spec.source)} → ${shownPath(spec.archiveDir)}`;
    case 'restore':
      return `restore ${path.basename(spec.archiveDir)} → ${shownPath(spec.destDir)}`;
    case 'recover':
      return `recover ${path.basename(spec.src)} → ${shownPath(spec.dst)}`;
    case 'extract':
      return `extract ${spec.paths.length === 1 ? spec.paths[0]! : `${spec.paths.length} items`} from ${path.basename(spec.disk)} → ${shownPath(spec.destDir)}`;
    case 'restoreFile':
      return `restore ${spec.path} from ${spec.from} → ${shownPath(spec.destDir)}`;
    case 'indexFiles':
      return spec.ids === undefined ? 'index the files of every catalogued archive and disk' : `index the files of ${spec.ids.length} catalog entr${spec.ids.length === 1 ? 'y' : 'ies'}`;
  }
}

const SHOWN_PATH_MAX = 60;

/**
 * A destination as a job row shows it: the home folder as ~, and a long path cut in the middle
 * (`/mnt/datastore1/…/exports/db01.vmdk`) so that its first folder and its name stay readable.
 */
export function shownPath(file: string, home: string = os.homedir()): string {
  const p = home.length > 1 && (file === home || file.startsWith(home + path.sep)) ? `~${file.slice(home.length)}` : file;
  if (p.length <= SHOWN_PATH_MAX) return p;
  const parts = p.split(path.sep);
  const head = parts.slice(0, parts[0] === '' ? 2 : 1).join(path.sep);
  let tail = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= (parts[0] === '' ? 2 : 1); i--) {
    const next = `${parts[i]}${path.sep}${tail}`;
    if (head.length + next.length + 3 > SHOWN_PATH_MAX) break;
    tail = next;
  }
  return `${head}${path.sep}…${path.sep}${tail}`;
}

function wireOf(e: unknown): WireError {
  if (e instanceof DiskchainError) return e.toWire();
  return { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
