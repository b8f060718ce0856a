/** Jobs by id, fed by jobs:progress / jobs:done events; finished and failed ones stay until cleared. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Api, JobDoneEvent, JobKind, JobProgressEvent, JobRecord, JobRequest, Preflight } from '../../../shared/ipc/contract';
import { toWireError } from '../api';

export interface JobsState {
  byId: Record<string, JobRecord>;
  /** Newest first. */
  order: string[];
  init(): Promise<void>;
  /** Starts a job; resolves to its id (its record is in byId at once), or rejects with the reason main refused it. */
  start(request: JobRequest): Promise<string>;
  /** Whether the destination has room: the job's own estimate (the job refuses exactly when this says not enough). */
  preflight(request: JobRequest): Promise<Preflight>;
  cancel(jobId: string): Promise<void>;
  clear(jobId?: string): Promise<void>;
  /** Resolves with the job's record once it has ended (done, failed or cancelled). */
  whenEnded(jobId: string): Promise<JobRecord>;
  onProgress(event: JobProgressEvent): void;
  onDone(event: JobDoneEvent): void;
}

export type JobsStore = StoreApi<JobsState>;

function placeholder(jobId: string, kind: JobKind, title: string): JobRecord {
  return { jobId, kind, title, status: 'running', startedAt: Date.now(), endedAt: null, progress: null, result: null, error: null };
}

export function createJobsStore(api: Api): JobsStore {
  const store = createStore<JobsState>()((set, get) => {
    const upsert = (record: JobRecord): void => {
      const known = get().byId[record.jobId] !== undefined;
      set({
        byId: { ...get().byId, [record.jobId]: record },
        order: known ? get().order : [record.jobId, ...get().order],
      });
    };

    /** Main's list is the truth for titles and times; local progress/ends that are newer win. */
    const merge = (records: JobRecord[]): void => {
      const byId = { ...get().byId };
      for (const r of records) {
        const mine = byId[r.jobId];
        byId[r.jobId] = mine && mine.status !== 'running' && r.status === 'running' ? { ...r, ...pickEnd(mine) } : { ...mine, ...r, progress: r.progress ?? mine?.progress ?? null };
      }
      const listed = records.map((r) => r.jobId);
      const localOnly = get().order.filter((id) => !listed.includes(id));
      const order = [...listed, ...localOnly].sort((a, b) => (byId[b]?.startedAt ?? 0) - (byId[a]?.startedAt ?? 0));
      set({ byId, order });
    };

    return {
      byId: {},
      order: [],

      async init() {
        try {
          merge(await api.invoke('jobs:list', {}));
        } catch {
          // The panel then starts empty; new jobs still appear.
        }
      },

      async start(request) {
        const record = await api.invoke('jobs:start', { request });
        // Electron may deliver the job's first events before this answer: what they brought is newer.
        const seen = get().byId[record.jobId];
        upsert(seen ? { ...record, progress: seen.progress ?? record.progress, ...(seen.status !== 'running' ? pickEnd(seen) : {}) } : record);
        return record.jobId;
      },

      preflight(request) {
        return api.invoke('jobs:preflight', { request });
      },

      async cancel(jobId) {
        try {
          await api.invoke('jobs:cancel', { jobId });
        } catch (e) {
          const job = get().byId[jobId];
          if (job) upsert({ ...job, error: toWireError(e) });
        }
      },

      async clear(jobId) {
        await api.invoke('jobs:clear', jobId === undefined ? {} : { jobId });
        const byId = { ...get().byId };
        for (const id of Object.keys(byId)) {
          if ((jobId === undefined || id === jobId) && byId[id]!.status !== 'running') delete byId[id];
        }
        set({ byId, order: get().order.filter((id) => byId[id]) });
      },

      whenEnded(jobId) {
        return new Promise((resolve) => {
          const ended = (s: JobsState): boolean => {
            const job = s.byId[jobId];
            if (!job || job.status === 'running') return false;
            resolve(job);
            return true;
          };
          if (ended(get())) return;
          const stop = store.subscribe((s) => {
            if (ended(s)) stop();
          });
        });
      },

      onProgress(event) {
        const { jobId, ...progress } = event;
        const job = get().byId[jobId] ?? placeholder(jobId, 'convert', 'Job');
        if (job.status !== 'running') return;
        upsert({ ...job, progress });
      },

      onDone(event) {
        const job = get().byId[event.jobId] ?? placeholder(event.jobId, 'convert', 'Job');
        const progress =
          event.status === 'done' && job.progress ? { ...job.progress, doneBytes: job.progress.totalBytes, eta: 0 } : job.progress;
        upsert({ ...job, status: event.status, result: event.result, error: event.error, endedAt: Date.now(), progress });
        if (!get().byId[event.jobId]?.title || job.title === 'Job') void get().init();
      },
    };
  });

  api.on('jobs:progress', (event) => store.getState().onProgress(event));
  api.on('jobs:done', (event) => store.getState().onDone(event));
  return store;
}

function pickEnd(record: JobRecord): Partial<JobRecord> {
  return { status: record.status, endedAt: record.endedAt, result: record.result, error: record.error, progress: record.progress };
}
