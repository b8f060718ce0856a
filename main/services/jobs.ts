/**
 * The desktop app's jobs: a request of the contract (ids) becomes a JobSpec (paths) for the job
 * engine (main/jobs/engine.ts, one worker thread per job). Progress is relayed as jobs:progress
 * events at most every PROGRESS_MS per job, the end as one jobs:done; finished and failed jobs
 * stay listed with their errors until cleared.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError, type WireError } from '../../shared/errors.js';
import type { JobRecord, JobRequest, Preflight } from '../../shared/ipc/contract.js';
import type { JobProgress, JobSpec } from '../../shared/jobs.js';
import { openChain } from '../disk/chain.js';
import { dataBytes } from '../disk/source.js';
import type { JobHandle } from '../jobs/engine.js';
import type { DiskService } from './disks.js';
import type { Emit } from './events.js';
import type { TargetService } from './targets.js';

export const PROGRESS_MS = 100;

export type StartJob = (spec: JobSpec, onProgress: (p: JobProgress) => void) => JobHandle;

interface Entry {
  record: JobRecord;
  handle: JobHandle | null;
  spec: JobSpec;
}

/** Kinds whose output is a flat file as large as the disk (written fully allocated). */
const FLAT_KINDS = new Set(['monolithicFlat', 'twoGbMaxExtentFlat', 'vmfs', 'raw']);

export class JobService {
  private readonly jobs = new Map<string, Entry>();

  constructor(
    private readonly disks: DiskService,
    private readonly targets: TargetService,
    private readonly emit: Emit,
    private readonly startJob: StartJob,
    /** The folder of a catalogued archive (restore from the catalog). */
    private readonly archives?: (catalogId: number) => Promise<string>,
  ) {}

  async start(request: JobRequest): Promise<{ jobId: string }> {
    const spec = await this.specOf(request);
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
    let lastSent = 0;
    let pending: JobProgress | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const send = (): void => {
      timer = null;
      if (!pending || record.status !== 'running') return;
      lastSent = Date.now();
      this.emit('jobs:progress', { jobId, ...pending });
      pending = null;
    };
    const onProgress = (p: JobProgress): void => {
      record.progress = p;
      pending = p;
      const wait = PROGRESS_MS - (Date.now() - lastSent);
      if (wait <= 0) send();
      else timer ??= setTimeout(send, wait);
    };
    try {
      entry.handle = this.startJob(spec, onProgress);
    } catch (e) {
      this.jobs.delete(jobId);
      throw e;
    }
    entry.handle.done.then(
      (result) => {
        if (timer) clearTimeout(timer);
        if (record.progress) record.progress = { ...record.progress, doneBytes: record.progress.totalBytes, eta: 0 };
        this.finish(entry, 'done', { result });
      },
      (e: unknown) => {
        if (timer) clearTimeout(timer);
        const error = wireOf(e);
        this.finish(entry, error.code === 'E_CANCELLED' ? 'cancelled' : 'failed', { error });
      },
    );
    return { jobId };
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

  /** Whether the destination's filesystem has room for what the job writes (an estimate, never a refusal). */
  async preflight(request: JobRequest): Promise<Preflight> {
    const spec = await this.specOf(request);
    const { folder, requiredBytes, basis } = estimate(spec);
    const availableBytes = freeBytes(folder);
    return { folder, requiredBytes, availableBytes, enough: availableBytes >= requiredBytes, basis };
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

  /** ids → paths, with the CLI's defaults (job-commands.ts). */
  private async specOf(request: JobRequest): Promise<JobSpec> {
    switch (request.kind) {
      case 'convert':
        return {
          kind: 'convert',
          src: this.disks.pathOf(request.diskId),
          dst: this.targets.get(request.targetId, 'file').path,
          to: request.to,
          ...defined({ adapter: request.adapter, segmentBytes: request.segmentBytes, compressLevel: request.compressLevel }),
          force: request.force === true,
          ignoreCid: request.ignoreCid === true,
        };
      case 'export': {
        const src = this.disks.pathOf(request.diskId);
        return {
          kind: 'convert',
          src,
          dst: path.join(this.targets.get(request.targetId, 'folder').path, `${diskStem(src)}.vmdk`),
          to: 'twoGbMaxExtentSparse',
          skipZeroGrains: true,
          ...defined({ segmentBytes: request.segmentBytes }),
          force: request.force === true,
          ignoreCid: request.ignoreCid === true,
        };
      }
      case 'import':
        return {
          kind: 'convert',
          src: this.disks.pathOf(request.diskId),
          dst: this.targets.get(request.targetId, 'file').path,
          to: request.thin ? 'vmfsThin' : 'vmfs',
          ...defined({ adapter: request.adapter }),
          force: request.force === true,
          ignoreCid: request.ignoreCid === true,
        };
      case 'commit':
        return { kind: 'commit', top: this.disks.pathOf(request.diskId), force: request.force === true };
      case 'snapshot':
        return { kind: 'snapshot', disk: this.disks.pathOf(request.diskId) };
      case 'extend':
        return { kind: 'extend', disk: this.disks.pathOf(request.diskId), sizeBytes: request.sizeBytes };
      case 'backup': {
        const source = 'diskId' in request.source ? this.disks.pathOf(request.source.diskId) : this.targets.get(request.source.vmxTargetId, 'file').path;
        return {
          kind: 'backup',
          source,
          archiveDir: this.archiveDir(request.targetId, source),
          keepChain: request.keepChain === true,
          force: request.force === true,
        };
      }
      case 'restore': {
        const archiveDir = 'catalogId' in request.source ? await this.archivePath(request.source.catalogId) : this.targets.get(request.source.folderTargetId, 'folder').path;
        return { kind: 'restore', archiveDir, destDir: this.targets.get(request.targetId, 'folder').path, ...defined({ to: request.to }) };
      }
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
    if (!this.archives) throw new DiskchainError('E_UNSUPPORTED', 'the catalog is not available');
    return this.archives(catalogId);
  }
}

/** A disk's name without chain decorations: `vm.dsk.REDO` → `vm`, `vm-000002.vmdk` → `vm` (as the CLI's export names its output). */
export function diskStem(file: string): string {
  let name = path.basename(file);
  while (/\.REDO$/i.test(name)) name = name.replace(/\.REDO$/i, '');
  return name.replace(/\.(vmdk|dsk|img|raw)$/i, '').replace(/-\d{6}$/, '');
}

function titleOf(kind: JobRecord['kind'], spec: JobSpec): string {
  switch (spec.kind) {
    case 'convert':
      return `${kind} ${path.basename(spec.src)} → ${path.basename(spec.dst)} (${spec.to})`;
    case 'commit':
      return `commit ${path.basename(spec.top)} into its parent`;
    case 'snapshot':
      return `snapshot ${path.basename(spec.disk)}`;
    case 'extend':
      return `extend ${path.basename(spec.disk)} to ${spec.sizeBytes} bytes`;
    case 'backup':
      return `back up ${path.basename(spec.source)} → ${path.basename(spec.archiveDir)}`;
    case 'restore':
      return `restore ${path.basename(spec.archiveDir)} → ${spec.destDir}`;
  }
}

function estimate(spec: JobSpec): { folder: string; requiredBytes: number; basis: string } {
  switch (spec.kind) {
    case 'convert': {
      const chain = openChain(spec.src, { ignoreCid: spec.ignoreCid === true });
      try {
        const folder = path.dirname(spec.dst);
        if (FLAT_KINDS.has(spec.to)) return { folder, requiredBytes: chain.capacityBytes, basis: 'the full capacity (flat output is fully allocated)' };
        // Grain tables and directory: 4 bytes per 64 KiB grain, rounded up generously.
        const metadata = Math.ceil(chain.capacityBytes / 16384) + 1024 * 1024;
        return { folder, requiredBytes: dataBytes(chain) + metadata, basis: 'the allocated data of the chain plus metadata (sparse output)' };
      } finally {
        chain.close();
      }
    }
    case 'commit': {
      const chain = openChain(spec.top, { ignoreCid: true });
      try {
        return { folder: path.dirname(chain.links[1]?.path ?? spec.top), requiredBytes: chain.top.data.allocatedBytes(), basis: 'the data the top link holds, written into its parent' };
      } finally {
        chain.close();
      }
    }
    case 'snapshot': {
      const chain = openChain(spec.disk, { ignoreCid: true });
      try {
        return { folder: path.dirname(spec.disk), requiredBytes: Math.ceil(chain.capacityBytes / 16384) + 1024 * 1024, basis: 'an empty child: its grain directory and tables' };
      } finally {
        chain.close();
      }
    }
    case 'extend': {
      const chain = openChain(spec.disk, { ignoreCid: true });
      try {
        const growth = Math.max(0, spec.sizeBytes - chain.capacityBytes);
        const flat = chain.top.extents.some((e) => e.type === 'FLAT' || e.type === 'VMFS');
        return flat
          ? { folder: path.dirname(spec.disk), requiredBytes: growth, basis: 'the added capacity (flat extents grow fully allocated)' }
          : { folder: path.dirname(spec.disk), requiredBytes: Math.ceil(growth / 16384) + 1024 * 1024, basis: 'grain tables for the added capacity (sparse)' };
      } finally {
        chain.close();
      }
    }
    case 'backup': {
      const folder = existingParent(spec.archiveDir);
      if (/\.vmx$/i.test(spec.source)) return { folder, requiredBytes: filesBytes(path.dirname(spec.source)), basis: "the size of the VM's folder (an upper bound)" };
      const chain = openChain(spec.source, { ignoreCid: true });
      try {
        return { folder, requiredBytes: dataBytes(chain) + 1024 * 1024, basis: 'the allocated data of the flattened chain' };
      } finally {
        chain.close();
      }
    }
    case 'restore':
      return { folder: spec.destDir, requiredBytes: filesBytes(spec.archiveDir), basis: "the size of the archive's files (sparse restores need less)" };
  }
}

function existingParent(p: string): string {
  let dir = path.dirname(p);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Bytes of the regular files directly inside a folder. */
function filesBytes(folder: string): number {
  let total = 0;
  for (const name of fs.readdirSync(folder)) {
    const st = fs.statSync(path.join(folder, name), { throwIfNoEntry: false });
    if (st?.isFile()) total += st.size;
  }
  return total;
}

function freeBytes(folder: string): number {
  try {
    const s = fs.statfsSync(folder);
    return s.bavail * s.bsize;
  } catch (e) {
    throw new DiskchainError('E_IO', `cannot tell the free space: ${(e as Error).message}`, folder);
  }
}

function wireOf(e: unknown): WireError {
  if (e instanceof DiskchainError) return e.toWire();
  return { code: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
