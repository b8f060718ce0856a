/**
 * The catalog's Files search: type a file name, see every version of the matching files across the
 * indexed archives and disks (grouped by path, newest first, the versions where the file changed
 * marked), a timeline of the chosen path, and Restore file… (a job) on any version.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef } from 'react';
import type { FileVersion } from '../../../shared/catalog-files';
import { EmptyState } from '../components/EmptyState';
import { ErrorNote, OkNote } from '../components/ErrorNote';
import { cleanText, formatBytes, formatDate } from '../format';
import { useCatalogFiles, useStores } from '../store';
import type { FileGroup } from '../store/catalog-files';

const GROUP_HEIGHT = 36;
const VERSION_HEIGHT = 32;
const MAX_LIST_HEIGHT = 520;

type Row = { type: 'group'; group: FileGroup } | { type: 'version'; group: FileGroup; version: FileVersion };

function rowsOf(groups: FileGroup[]): Row[] {
  const rows: Row[] = [];
  for (const group of groups) {
    rows.push({ type: 'group', group });
    for (const version of group.versions) rows.push({ type: 'version', group, version });
  }
  return rows;
}

/** A --keep-chain archive holds a version at each archived link: say which (0, the top, says nothing). */
function linkText(v: FileVersion): string {
  return v.link > 0 ? `, link ${v.link}` : '';
}

function VersionCells({ version }: { version: FileVersion }) {
  const { catalogFiles } = useStores();
  return (
    <>
      <span className="file-change" title={version.changed ? 'size or modification time differ from the older version below' : undefined}>
        {version.changed ? 'changed' : version.changed === false ? 'same' : 'oldest'}
      </span>
      <span className="file-date">{formatDate(version.date)}</span>
      <span className="file-entry" title={`${version.entryName} — ${version.disk}:${version.volume}${linkText(version)}`}>
        {cleanText(version.entryName, 255)}
        {linkText(version)}
      </span>
      <span className="num">{formatBytes(version.size)}</span>
      <span className="file-date" title="modified in the guest">
        {version.mtime === null ? '—' : formatDate(version.mtime)}
      </span>
      <button
        type="button"
        aria-label={`Restore ${version.path} from ${version.entryName}`}
        onClick={(e) => {
          e.stopPropagation();
          void catalogFiles.getState().restore(version);
        }}
      >
        Restore file…
      </button>
    </>
  );
}

/** The versions as one virtualised list: a header row per path, then one row per version. */
function VersionList() {
  const { catalogFiles } = useStores();
  const groups = useCatalogFiles((s) => s.groups);
  const selectedKey = useCatalogFiles((s) => s.selectedKey);
  const rows = useMemo(() => rowsOf(groups), [groups]);
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.type === 'group' ? GROUP_HEIGHT : VERSION_HEIGHT),
    overscan: 16,
    initialRect: { width: 800, height: 400 },
  });
  const height = rows.reduce((h, r) => h + (r.type === 'group' ? GROUP_HEIGHT : VERSION_HEIGHT), 2);
  return (
    <div
      role="list"
      aria-label="File versions"
      className="file-versions"
      ref={scrollRef}
      style={{ height: Math.min(height, MAX_LIST_HEIGHT), overflowY: 'auto' }}
    >
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          const style = { position: 'absolute' as const, top: 0, left: 0, right: 0, height: item.size, transform: `translateY(${item.start}px)` };
          if (row.type === 'group') {
            const g = row.group;
            return (
              <div
                role="listitem"
                key={item.key}
                className="file-group"
                aria-current={g.key === selectedKey}
                style={style}
                onClick={() => catalogFiles.getState().select(g.key)}
              >
                <span className="mono">{cleanText(g.path, 4096)}</span>
                <span className="muted">
                  {g.vmName ? `VM ${cleanText(g.vmName, 255)} · ` : ''}
                  {g.versions.length} version{g.versions.length === 1 ? '' : 's'}
                  {g.kind === 'file' ? '' : ` · ${g.kind}`}
                </span>
              </div>
            );
          }
          return (
            <div
              role="listitem"
              key={item.key}
              className={`file-version ${row.version.changed ? 'changed' : ''}`}
              aria-label={`${row.version.path} in ${row.version.entryName}`}
              style={style}
              onClick={() => catalogFiles.getState().select(row.group.key)}
            >
              <VersionCells version={row.version} />
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** The chosen path's versions along time, oldest left: a filled dot where the file changed. */
function Timeline({ group }: { group: FileGroup }) {
  const versions = [...group.versions].reverse();
  const times = versions.map((v) => Date.parse(v.date));
  const first = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - first);
  return (
    <section aria-label={`Timeline of ${group.path}`} className="file-timeline">
      <h2 className="mono">{cleanText(group.path, 4096)}</h2>
      <div className="timeline-track" aria-hidden="true">
        {versions.map((v, i) => (
          <span
            key={v.ref}
            className={`timeline-dot ${v.changed !== false ? 'changed' : ''}`}
            style={{ left: `${versions.length === 1 ? 50 : ((times[i]! - first) / span) * 100}%` }}
            title={`${formatDate(v.date)}: ${formatBytes(v.size)}`}
          />
        ))}
      </div>
      <ol className="timeline-list">
        {versions.map((v) => (
          <li key={v.ref}>
            <strong>{formatDate(v.date)}</strong> {cleanText(v.entryName, 255)}{linkText(v)}: {formatBytes(v.size)}, modified {v.mtime === null ? '—' : formatDate(v.mtime)}
            {v.changed === null ? ' (first seen)' : v.changed ? ' (changed)' : ' (unchanged)'}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function CatalogFiles() {
  const { catalogFiles } = useStores();
  const pattern = useCatalogFiles((s) => s.pattern);
  const pathGlob = useCatalogFiles((s) => s.pathGlob);
  const result = useCatalogFiles((s) => s.result);
  const groups = useCatalogFiles((s) => s.groups);
  const selectedKey = useCatalogFiles((s) => s.selectedKey);
  const index = useCatalogFiles((s) => s.index);
  const indexCancelled = useCatalogFiles((s) => s.indexCancelled);
  const restoreError = useCatalogFiles((s) => s.restoreError);
  const selected = groups.find((g) => g.key === selectedKey) ?? null;
  const versions = result.status === 'ready' ? result.value.versions.length : 0;
  const summary = index.status === 'ready' ? index.value : null;

  return (
    <div className="catalog-files">
      <div className="catalog-toolbar">
        <input
          type="search"
          aria-label="Find files in backups"
          placeholder="A file name, or its start (nginx.conf, ngi, *.log)"
          value={pattern}
          onChange={(e) => catalogFiles.getState().setPattern(e.target.value)}
        />
        <input
          type="search"
          aria-label="In folders"
          placeholder="Folders: /etc/* (optional)"
          value={pathGlob}
          onChange={(e) => catalogFiles.getState().setPathGlob(e.target.value)}
        />
        <button
          type="button"
          onClick={() => void catalogFiles.getState().indexAll()}
          disabled={index.status === 'loading'}
          title="A job: its progress and Cancel are in the jobs panel"
        >
          {index.status === 'loading' ? 'Indexing…' : 'Index files'}
        </button>
        <span className="muted" role="status" aria-live="polite">
          {result.status === 'loading'
            ? 'Searching…'
            : result.status === 'ready'
              ? `${versions.toLocaleString()} version${versions === 1 ? '' : 's'} of ${groups.length.toLocaleString()} file${groups.length === 1 ? '' : 's'}${result.value.more ? ' (the first; type more to narrow)' : ''}`
              : ''}
        </span>
      </div>
      {indexCancelled && <p className="muted spaced-bottom">Indexing was cancelled: the archives and disks indexed before it are found; Index files again finishes the rest.</p>}
      {index.status === 'error' && (
        <div className="spaced-bottom">
          <ErrorNote error={index.error} title="Indexing failed" />
        </div>
      )}
      {summary && (
        <div className="spaced-bottom">
          <OkNote>
            Indexed {summary.indexed} {summary.indexed === 1 ? 'entry' : 'entries'} ({summary.files.toLocaleString()} files) in {(summary.elapsedMs / 1000).toFixed(1)} s; {summary.unchanged} unchanged
            {summary.skipped + summary.failed > 0 ? `, ${summary.skipped} skipped, ${summary.failed} failed` : ''}.
            {summary.entries.some((e) => e.reason || e.volumes.some((v) => v.error)) && (
              <ul className="reasons">
                {summary.entries.flatMap((e) => [
                  ...(e.reason ? [<li key={`${e.id}`}>#{e.id}: {cleanText(e.reason)}</li>] : []),
                  ...e.volumes
                    .filter((v) => v.error)
                    .map((v) => (
                      <li key={`${e.id}@${v.link}:${v.disk}:${v.volume}`}>
                        #{e.id}{v.link > 0 ? `@${v.link}` : ''} {cleanText(v.disk, 255)}:{v.volume || '—'}: {cleanText(v.error ?? '')}
                      </li>
                    )),
                ])}
              </ul>
            )}
          </OkNote>
        </div>
      )}
      {restoreError && <ErrorNote error={restoreError} title="Restore did not start" />}
      {result.status === 'error' && <ErrorNote error={result.error} title="Could not search the files" />}
      {result.status === 'idle' ? (
        <p className="muted">
          Type a file name to see every version of it in the indexed archives and disks. Index files lists the files inside what the catalog holds (archives
          already indexed and unchanged are not read again).
        </p>
      ) : result.status === 'ready' && versions === 0 ? (
        <EmptyState title="No such file indexed">
          <p>No indexed file matches. New archives need Index files first.</p>
        </EmptyState>
      ) : (
        <div className={`split ${selected ? '' : 'single'}`}>
          <div>
            <VersionList />
          </div>
          <div hidden={!selected}>{selected && <Timeline group={selected} />}</div>
        </div>
      )}
    </div>
  );
}
