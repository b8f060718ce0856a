import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { JobRecord, WireError } from '../../../shared/ipc/contract';
import { toWireError } from '../api';
import { appText, cleanText, formatBytes, formatDuration, formatPercent, formatRate } from '../format';
import { useJobs, useStores, useUi } from '../store';
import { RecoverySummary } from './DamageReport';
import { ErrorNote } from './ErrorNote';

const STATUS: Record<JobRecord['status'], { label: string; badge: string }> = {
  running: { label: 'running', badge: '' },
  done: { label: 'done', badge: 'ok' },
  failed: { label: 'failed', badge: 'error' },
  cancelled: { label: 'cancelled', badge: 'warning' },
};

const OPENABLE = new Set(['convert', 'export', 'import', 'recover']);

function JobRow({ job }: { job: JobRecord }) {
  const { jobs, disks, ui } = useStores();
  const [openError, setOpenError] = useState<WireError | null>(null);
  const p = job.progress;
  // The index job counts catalog entries, not bytes: its files and bytes read come beside.
  const counts = p?.counts;
  const total = p?.totalBytes ?? 0;
  const done = job.status === 'done' ? total : (p?.doneBytes ?? 0);
  const percent = job.status === 'done' ? '100 %' : formatPercent(done, total);
  const title = cleanText(job.title, 300);
  const openOutput = async (): Promise<void> => {
    setOpenError(null);
    try {
      await disks.getState().openFrom({ jobId: job.jobId });
      ui.getState().setScreen('disks');
    } catch (e) {
      setOpenError(toWireError(e));
    }
  };
  return (
    <li className="job" aria-label={title}>
      <div>
        <div className="job-title" title={title}>
          {title}
        </div>
        <div className="job-sub">
          <span className={`badge ${STATUS[job.status].badge}`}>{STATUS[job.status].label}</span> {p?.phase ? cleanText(p.phase, 80) : ''}
          {job.status === 'running' && counts?.current ? ` ${cleanText(counts.current, 200)}` : ''}
        </div>
      </div>
      <div>
        <progress
          className={job.status === 'done' ? 'done' : job.status === 'failed' ? 'failed' : ''}
          aria-label={`Progress of ${title}`}
          max={total > 0 ? total : 1}
          value={job.status === 'done' ? (total > 0 ? total : 1) : done}
        />
        <div className="job-stats">
          {(job.status === 'running' || total > 0) && (
            <>
              <span className="percent">{percent}</span>
              {counts ? (
                <>
                  <span>
                    {done.toLocaleString()} of {total.toLocaleString()} archives and disks
                  </span>
                  <span>{counts.files.toLocaleString()} files</span>
                  <span>{formatBytes(counts.readBytes)} read</span>
                </>
              ) : (
                <span>
                  {formatBytes(done)} of {formatBytes(total)}
                </span>
              )}
            </>
          )}
          {job.status === 'running' && !counts && <span>{formatRate(p?.rate ?? 0)}</span>}
          {job.status === 'running' && <span>ETA {formatDuration(p?.eta ?? null)}</span>}
          {job.status !== 'running' && job.endedAt !== null && <span>took {formatDuration((job.endedAt - job.startedAt) / 1000)}</span>}
        </div>
      </div>
      <div className="job-actions">
        {job.status === 'running' ? (
          <button type="button" className="danger small" onClick={() => void jobs.getState().cancel(job.jobId)} aria-label={`Cancel ${title}`}>
            Cancel
          </button>
        ) : (
          <>
            {job.status === 'done' && OPENABLE.has(job.kind) && (
              <button type="button" className="small" onClick={() => void openOutput()} aria-label={`Open the output of ${title}`}>
                Open output
              </button>
            )}
            <button type="button" className="quiet small" onClick={() => void jobs.getState().clear(job.jobId)} aria-label={`Remove ${title} from the list`}>
              Remove
            </button>
          </>
        )}
      </div>
      {job.status === 'done' && job.result && <div className="job-error muted">{cleanText(appText(job.result.summary), 500)}</div>}
      {job.status === 'done' && job.result?.recovery && (
        <div className="job-error">
          <RecoverySummary report={job.result.recovery} />
        </div>
      )}
      {job.error && job.status !== 'cancelled' && (
        <div className="job-error">
          <ErrorNote error={job.error} title={job.status === 'failed' ? 'The job failed' : 'Problem'} />
        </div>
      )}
      {job.status === 'cancelled' && <div className="job-error muted">Cancelled; its partial output was removed.</div>}
      {openError && (
        <div className="job-error">
          <ErrorNote error={openError} title="Could not open the output" />
        </div>
      )}
    </li>
  );
}

/** Running, finished and failed jobs of this session; failures keep their errors until removed. */
export function JobsPanel() {
  const { jobs } = useStores();
  const list = useJobs(useShallow((s) => s.order.map((id) => s.byId[id]!).filter(Boolean)));
  const open = useUi((s) => s.jobsOpen);
  const setOpen = useStores().ui.getState().setJobsOpen;
  const running = list.filter((j) => j.status === 'running').length;
  const failed = list.filter((j) => j.status === 'failed').length;
  const finished = list.length - running;
  const summary =
    list.length === 0
      ? 'No jobs yet. Convert, export, back up and the other actions run here, with progress and Cancel.'
      : [running && `${running} running`, failed && `${failed} failed`, finished - failed && `${finished - failed} finished`].filter(Boolean).join(', ');
  return (
    <section className="jobs-panel" aria-labelledby="jobs-title">
      <header>
        <button type="button" className="quiet small" aria-expanded={open} aria-controls="jobs-list" onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'}
        </button>
        <h2 id="jobs-title">Jobs</h2>
        <span className="summary" aria-live="polite">
          {summary}
        </span>
        {finished > 0 && (
          <button type="button" className="quiet small" onClick={() => void jobs.getState().clear()}>
            Clear finished
          </button>
        )}
      </header>
      {open && list.length > 0 && (
        <ol id="jobs-list" aria-label="Jobs">
          {list.map((job) => (
            <JobRow key={job.jobId} job={job} />
          ))}
        </ol>
      )}
    </section>
  );
}
