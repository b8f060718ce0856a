/** The catalog's detail pane: one entry — an archive with its disks, segments and verify; a loose disk with its chain. */
import { useState } from 'react';
import type { CatalogDetail, VerifyReport, WireError } from '../../../shared/ipc/contract';
import { toWireError } from '../api';
import { ErrorNote, OkNote } from '../components/ErrorNote';
import { baseName, cleanText, formatBytes, formatDate } from '../format';
import { useCatalog, useStores } from '../store';
import { valueOf } from '../store/loadable';
import { StatusBadge } from './CatalogStatus';

const FILE_STATE_WORDS = { missing: 'missing', changed: 'does not match', 'changed-since-verify': 'changed since verify' } as const;

function VerifyResults({ report }: { report: VerifyReport }) {
  const bad = report.files.filter((f) => f.status !== 'ok');
  return (
    <div className="stack">
      {report.ok ? (
        <OkNote>All {report.files.length} files match the manifest.</OkNote>
      ) : (
        <div className="note error" role="alert">
          <span className="icon" aria-hidden="true">
            !
          </span>
          <div className="body">
            <strong>
              {bad.length} of {report.files.length} files do not match the manifest:
            </strong>{' '}
            {bad.map((f) => `${cleanText(baseName(f.path), 255)} (${f.status})`).join(', ')}.
            <div className="fix">Restore from another copy of this archive, or back the VM up again; a restore of this one will refuse the damaged files.</div>
          </div>
        </div>
      )}
      <table className="data" aria-label="Verify results">
        <thead>
          <tr>
            <th scope="col">File</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {report.files.map((f) => (
            <tr key={f.path}>
              <td className="mono nowrap" title={f.path}>
                {cleanText(baseName(f.path), 255)}
              </td>
              <td>
                <span className={f.status === 'ok' ? 'result-ok' : 'result-bad'}>{f.status === 'ok' ? 'ok' : f.status}</span>
                {f.message && <span className="muted"> — {cleanText(f.message, 500)}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One catalog entry: an archive with its disks, segments and verify; a loose disk with its chain. */
export function EntryDetail({ detail }: { detail: CatalogDetail }) {
  const { catalog, ui, disks } = useStores();
  const entry = detail.entry;
  const verify = useCatalog((s) => s.verify[entry.id]);
  const report = valueOf(verify);
  const [openError, setOpenError] = useState<WireError | null>(null);
  const isArchive = entry.type === 'archive';
  const status = entry.status ?? (entry.missing ? 'missing' : 'ok');
  const lastVerify = detail.lastVerify ?? null;
  const lastBad = lastVerify?.files.filter((f) => f.status !== 'ok').length ?? 0;

  const openDisk = async (): Promise<void> => {
    setOpenError(null);
    try {
      await disks.getState().openFrom({ catalogId: entry.id });
      ui.getState().setScreen('disks');
    } catch (e) {
      setOpenError(toWireError(e));
    }
  };

  /** A disk of this archive, opened on its Files tab (read through the archive, checked against its manifest). */
  const openFiles = async (disk: string): Promise<void> => {
    setOpenError(null);
    try {
      await disks.getState().openFrom({ catalogId: entry.id, archiveDisk: disk });
      ui.getState().setTab('files');
      ui.getState().setScreen('disks');
    } catch (e) {
      setOpenError(toWireError(e));
    }
  };

  return (
    <section className="card" aria-labelledby="entry-title">
      <div className="card-head">
        <h2 id="entry-title" className="grow">
          {cleanText(entry.name, 255)}
        </h2>
        <span className="badge">{isArchive ? 'archive' : 'disk'}</span>
      </div>
      <dl className="kv">
        <dt>Status</dt>
        <dd className="catalog-status-line">
          <StatusBadge status={status} note={entry.statusNote} />
          {entry.statusNote && status !== 'ok' && <span> {cleanText(entry.statusNote, 500)}</span>}
        </dd>
        {isArchive && (
          <>
            <dt>Last verify</dt>
            <dd>
              {lastVerify === null
                ? 'never'
                : `${formatDate(lastVerify.verifiedAt)}: ${lastVerify.ok ? 'every file matched' : `${lastBad} file${lastBad === 1 ? '' : 's'} did not match`}`}
            </dd>
          </>
        )}
        <dt>Path</dt>
        <dd className="mono">{cleanText(entry.path)}</dd>
        {entry.vm && (
          <>
            <dt>VM</dt>
            <dd>{cleanText(entry.vm, 255)}</dd>
          </>
        )}
        <dt>Kind</dt>
        <dd>{entry.kind ? cleanText(entry.kind, 64) : '—'}</dd>
        <dt>Capacity</dt>
        <dd>{entry.capacityBytes === null ? '—' : formatBytes(entry.capacityBytes)}</dd>
        <dt>On disk</dt>
        <dd>{entry.sizeBytes === null ? '—' : formatBytes(entry.sizeBytes)}</dd>
        <dt>{isArchive ? 'Made' : 'Modified'}</dt>
        <dd>{formatDate(entry.mtime)}</dd>
      </dl>
      {entry.status === 'error' && entry.error && (
        <div className="spaced">
          <ErrorNote error={{ code: 'E_FORMAT', message: entry.error, file: entry.path }} title="The last scan could not read it" />
        </div>
      )}
      {status === 'missing' && (
        <div className="spaced">
          <ErrorNote error={{ code: 'E_NOTFOUND', message: 'This entry’s files were not found at the last scan.', file: entry.path }} />
        </div>
      )}
      <div className="note-actions">
        {isArchive ? (
          <>
            <button type="button" className="primary" onClick={() => void catalog.getState().runVerify(entry.id)} disabled={verify?.status === 'loading'}>
              {verify?.status === 'loading' ? 'Verifying…' : 'Verify'}
            </button>
            <button type="button" onClick={() => ui.getState().openDialog({ kind: 'restore', catalogId: entry.id, catalogName: entry.name })}>
              Restore…
            </button>
          </>
        ) : (
          <button type="button" className="primary" onClick={() => void openDisk()} disabled={entry.missing}>
            Open disk
          </button>
        )}
        <button type="button" className="quiet" onClick={() => void catalog.getState().forget(entry.id)}>
          Forget
        </button>
      </div>
      {openError && (
        <div className="spaced">
          <ErrorNote error={openError} title="Could not open the disk" />
        </div>
      )}
      {verify?.status === 'error' && (
        <div className="spaced">
          <ErrorNote error={verify.error} title="Could not verify the archive" />
        </div>
      )}
      {report && (
        <>
          <h3 className="section-title">Verify</h3>
          <VerifyResults report={report} />
        </>
      )}

      {isArchive && (
        <>
          <h3 className="section-title">Disks</h3>
          {detail.disks.length === 0 ? (
            <p className="muted">No disks in this archive.</p>
          ) : (
            <table className="data" aria-label="Archived disks">
              <thead>
                <tr>
                  <th scope="col">Disk</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">
                    Capacity
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Files</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {detail.disks.map((d) => (
                  <tr key={d.id}>
                    <td>{cleanText(d.name, 255)}</td>
                    <td>{d.kind ? cleanText(d.kind, 64) : '—'}</td>
                    <td className="num">{d.capacityBytes === null ? '—' : formatBytes(d.capacityBytes)}</td>
                    <td>
                      <button type="button" onClick={() => void openFiles(d.name)} disabled={entry.missing} aria-label={`Open files of ${cleanText(d.name, 255)}`}>
                        Open files
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3 className="section-title">Files</h3>
          <table className="data" aria-label="Archive files">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">SHA-256</th>
                <th scope="col">Last found</th>
              </tr>
            </thead>
            <tbody>
              {detail.segments.map((s) => (
                <tr key={s.path} className={s.state ? 'file-bad' : undefined}>
                  <td className="mono">{cleanText(baseName(s.path), 255)}</td>
                  <td className="num">{s.sizeBytes === null ? '—' : formatBytes(s.sizeBytes)}</td>
                  <td className="mono muted" title={s.sha256 ?? undefined}>
                    {s.sha256 ? `${s.sha256.slice(0, 12)}…` : '—'}
                  </td>
                  <td>
                    {s.state ? (
                      <span className={`badge ${s.state === 'changed-since-verify' ? 'warning' : 'error'}`}>
                        <span aria-hidden="true">!</span> {FILE_STATE_WORDS[s.state]}
                      </span>
                    ) : lastVerify ? (
                      'ok'
                    ) : (
                      <span className="muted">not verified</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {!isArchive && detail.chain.length > 0 && (
        <>
          <h3 className="section-title">Chain (top first)</h3>
          <ol className="plain-list">
            {detail.chain.map((c, i) => (
              <li key={i} className="mono">
                {cleanText(c)}
              </li>
            ))}
          </ol>
        </>
      )}
      <details className="spaced">
        <summary>{isArchive ? 'Manifest' : 'Catalog record'}</summary>
        <pre className="descriptor">{cleanText(detail.raw, 200_000)}</pre>
      </details>
    </section>
  );
}

/** Scan folders, search as you type, sort and filter, and inspect, verify or restore an archive. */
