/**
 * The Files tab: the files inside a disk, as the guest had them at a chosen link of its chain. A
 * volume list, a folder tree, a virtualised table with breadcrumb and quick filter, a preview
 * (text with its encoding, images, hex), Extract… (a job) and "Changed in this snapshot". Every
 * read runs in main's query worker; guest paths are plain strings, host folders come from a dialog.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type { WireError } from '../../../shared/ipc/contract';
import type { GuestDiff, GuestListing, GuestPreview, GuestRow, GuestVolumeRow } from '../../../shared/guest-files';
import type { DiskInfo } from '../../../shared/types';
import { toWireError } from '../api';
import { baseName, cleanText, formatBytes, formatDate } from '../format';
import { useStores } from '../store';
import { ErrorNote, WarningNote } from './ErrorNote';

const ROW_HEIGHT = 30;

type Load<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'error'; error: WireError } | null;

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function typeText(row: GuestRow): string {
  if (row.type === 'dir') return 'Folder';
  if (row.type === 'symlink') return 'Link';
  if (row.type === 'other') return 'Special';
  const dot = row.name.lastIndexOf('.');
  return dot > 0 ? `${row.name.slice(dot + 1).toUpperCase()} file` : 'File';
}

/** Loads whatever `ask` answers while its key stays the same; the last answer wins. */
function useLoad<T>(key: string | null, ask: () => Promise<T>): Load<T> {
  const [state, setState] = useState<{ key: string; load: Load<T> } | null>(null);
  useEffect(() => {
    if (key === null) return;
    let live = true;
    setState({ key, load: { status: 'loading' } });
    ask().then(
      (value) => live && setState({ key, load: { status: 'ready', value } }),
      (e: unknown) => live && setState({ key, load: { status: 'error', error: toWireError(e) } }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return key !== null && state?.key === key ? state.load : key === null ? null : { status: 'loading' };
}

export function FilesTab({ diskId, info, ignoreCid }: { diskId: string; info: DiskInfo; ignoreCid: boolean }) {
  const { api, jobs, targets, ui } = useStores();
  const [at, setAt] = useState(0);
  const [volume, setVolume] = useState<string | null>(null);
  const [dir, setDir] = useState('/');
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [focus, setFocus] = useState<string | null>(null);
  const [showChanges, setShowChanges] = useState(false);
  const [extractError, setExtractError] = useState<WireError | null>(null);
  const cid = ignoreCid ? { ignoreCid: true } : {};

  const volumes = useLoad(`${diskId}|${at}`, () => api.invoke('guest:volumes', { diskId, at, ...cid }));
  const vols = volumes?.status === 'ready' ? volumes.value : [];
  const readable = vols.filter((v) => v.readable);
  const current = volume ?? readable[0]?.volume ?? null;

  const where = current === null ? null : `${diskId}|${at}|${current}`;
  const listing = useLoad(where === null ? null : `${where}|${dir}`, () => api.invoke('guest:list', { diskId, at, volume: current!, dir, ...cid }));
  const preview = useLoad(where !== null && focus !== null ? `${where}|${focus}` : null, () => api.invoke('guest:preview', { diskId, at, volume: current!, file: focus!, ...cid }));
  const changes = useLoad(showChanges && where !== null ? `${where}|diff` : null, () => api.invoke('guest:diff', { diskId, at, volume: current!, dir: '/', ...cid }));

  const entries = useMemo(() => {
    if (listing?.status !== 'ready') return [];
    const needle = filter.trim().toLowerCase();
    const rows = needle === '' ? listing.value.entries : listing.value.entries.filter((e) => e.name.toLowerCase().includes(needle));
    // Folders first, then by name, as file managers show them.
    return [...rows].sort((a, b) => (a.type === 'dir') !== (b.type === 'dir') ? (a.type === 'dir' ? -1 : 1) : a.name.localeCompare(b.name));
  }, [listing, filter]);

  const go = (path: string): void => {
    setDir(path);
    setSelected(new Set());
    setFocus(null);
    setFilter('');
  };
  const chooseVolume = (v: string): void => {
    setVolume(v);
    go('/');
  };
  const chooseLink = (n: number): void => {
    setAt(n);
    setVolume(null);
    setShowChanges(false);
    go('/');
  };

  const extract = async (): Promise<void> => {
    if (current === null) return;
    setExtractError(null);
    const paths = selected.size > 0 ? [...selected] : [dir];
    try {
      const folder = await targets.getState().chooseFolder({ title: `Extract ${paths.length === 1 ? baseName(paths[0]!) || 'the volume' : `${paths.length} items`} into` });
      if (!folder) return;
      await jobs.getState().start({ kind: 'extract', diskId, at, volume: current, paths, targetId: folder.targetId, ...cid });
      ui.getState().setJobsOpen(true);
    } catch (e) {
      setExtractError(toWireError(e));
    }
  };

  const links = info.layers.length;
  const crumbs = dir.split('/').filter((p) => p !== '');

  return (
    <div className="files-tab">
      <div className="files-toolbar" role="toolbar" aria-label="Files">
        {links > 1 && (
          <label>
            As at link{' '}
            <select aria-label="Read the guest at link" value={at} onChange={(e) => chooseLink(Number(e.target.value))}>
              {info.layers.map((l, i) => (
                <option key={l.path} value={i}>
                  {i} — {cleanText(baseName(l.path), 120)}
                  {i === 0 ? ' (this disk)' : i === links - 1 ? ' (base)' : ''}
                </option>
              ))}
            </select>
          </label>
        )}
        <input type="search" placeholder="Filter this folder" aria-label="Quick filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button type="button" className="primary" disabled={current === null} onClick={() => void extract()}>
          Extract…
        </button>
        <button type="button" disabled={current === null || at >= links - 1} aria-pressed={showChanges} title={at >= links - 1 ? 'The base of the chain has no parent to compare with' : undefined} onClick={() => setShowChanges(!showChanges)}>
          Changed in this snapshot
        </button>
      </div>
      {extractError && <ErrorNote error={extractError} title="Extract did not start" />}
      <div className="files-body">
        <nav className="files-side" aria-label="Volumes and folders">
          <VolumeList load={volumes} current={current} onChoose={chooseVolume} />
          {current !== null && <FolderTree key={where} ask={(d) => api.invoke('guest:list', { diskId, at, volume: current, dir: d, ...cid })} current={dir} onOpen={go} />}
        </nav>
        <section className="files-main" aria-label="Folder contents">
          <nav className="breadcrumb" aria-label="Breadcrumb">
            <button type="button" onClick={() => go('/')}>
              {current === null ? '/' : `Volume ${current}`}
            </button>
            {crumbs.map((c, i) => (
              <span key={i}>
                <span aria-hidden="true"> / </span>
                <button type="button" onClick={() => go(`/${crumbs.slice(0, i + 1).join('/')}`)} aria-current={i === crumbs.length - 1 ? 'location' : undefined}>
                  {cleanText(c, 200)}
                </button>
              </span>
            ))}
          </nav>
          {listing?.status === 'error' && <ErrorNote error={listing.error} title="This folder does not read" />}
          {listing?.status === 'loading' && <p className="muted" role="status">Reading the folder…</p>}
          {listing?.status === 'ready' && (
            <>
              {listing.value.notes.map((n) => (
                <WarningNote key={n}>{cleanText(n)}</WarningNote>
              ))}
              <FileTable
                rows={entries}
                dir={dir}
                selected={selected}
                onSelect={(path, add) => {
                  const next = new Set(add ? selected : []);
                  if (add && next.has(path)) next.delete(path);
                  else next.add(path);
                  setSelected(next);
                }}
                onFocus={(row) => setFocus(row.type === 'file' ? join(dir, row.name) : null)}
                onOpen={(row) => row.type === 'dir' && go(join(dir, row.name))}
              />
              <p className="muted files-count">
                {entries.length} of {listing.value.entries.length} entries{listing.value.truncated ? ' (the folder holds more; the rest are not shown)' : ''}
                {selected.size > 0 ? ` · ${selected.size} selected` : ''}
              </p>
            </>
          )}
          {showChanges && <ChangesPanel load={changes} at={at} onOpen={(p) => go(p)} />}
        </section>
        <aside className="files-preview" aria-label="Preview">
          <PreviewPane load={preview} />
        </aside>
      </div>
    </div>
  );
}

function VolumeList({ load, current, onChoose }: { load: Load<GuestVolumeRow[]>; current: string | null; onChoose: (v: string) => void }) {
  if (load === null || load.status === 'loading') return <p className="muted" role="status">Reading the partitions…</p>;
  if (load.status === 'error') return <ErrorNote error={load.error} title="The partitions do not read" />;
  if (load.value.length === 0) return <p className="muted">No partitions or file systems found.</p>;
  return (
    <ul className="volume-list" aria-label="Volumes">
      {load.value.map((v) => (
        <li key={v.volume}>
          <button type="button" disabled={!v.readable} aria-pressed={v.volume === current} onClick={() => onChoose(v.volume)} title={volumeHint(v)}>
            <strong>{cleanText(v.volume, 80)}</strong> {v.fileSystem ?? v.content ?? v.type} · {formatBytes(v.size, 1)}
            {v.label ? ` · ${cleanText(v.label, 80)}` : ''}
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Why a volume cannot be opened, or its notes. */
function volumeHint(v: GuestVolumeRow): string | undefined {
  if (!v.readable) return v.fileSystem !== null ? `No reader for ${v.fileSystem} yet` : (v.content ?? 'No file system that Diskchain knows');
  return v.notes.join('\n') || undefined;
}

/** Folders only, opened on demand (one listing per folder expanded). */
function FolderTree({ ask, current, onOpen }: { ask: (dir: string) => Promise<GuestListing>; current: string; onOpen: (dir: string) => void }) {
  const [open, setOpen] = useState<Record<string, string[] | 'loading' | 'error'>>({});
  const expand = (dir: string): void => {
    if (open[dir] !== undefined && open[dir] !== 'error') {
      const next = { ...open };
      delete next[dir];
      setOpen(next);
      return;
    }
    setOpen((o) => ({ ...o, [dir]: 'loading' }));
    ask(dir).then(
      (l) => setOpen((o) => ({ ...o, [dir]: l.entries.filter((e) => e.type === 'dir').map((e) => e.name).sort((a, b) => a.localeCompare(b)) })),
      () => setOpen((o) => ({ ...o, [dir]: 'error' })),
    );
  };
  useEffect(() => {
    expand('/');
  }, []);
  const node = (dir: string, name: string, depth: number): ReactNode => {
    const kids = open[dir];
    return (
      <li key={dir} role="treeitem" aria-expanded={Array.isArray(kids)} aria-selected={dir === current}>
        <span className="tree-row" style={{ paddingLeft: depth * 14 }}>
          <button type="button" className="tree-toggle" aria-label={`${Array.isArray(kids) ? 'Collapse' : 'Expand'} ${name}`} onClick={() => expand(dir)}>
            {Array.isArray(kids) ? '▾' : '▸'}
          </button>
          <button type="button" className="tree-name" onClick={() => onOpen(dir)}>
            {cleanText(name, 200)}
          </button>
        </span>
        {Array.isArray(kids) && kids.length > 0 && <ul role="group">{kids.map((k) => node(join(dir, k), k, depth + 1))}</ul>}
        {kids === 'error' && <span className="muted"> (does not read)</span>}
      </li>
    );
  };
  return (
    <ul className="folder-tree" role="tree" aria-label="Folders">
      {node('/', '/', 0)}
    </ul>
  );
}

function FileTable(props: { rows: GuestRow[]; dir: string; selected: ReadonlySet<string>; onSelect: (path: string, add: boolean) => void; onFocus: (row: GuestRow) => void; onOpen: (row: GuestRow) => void }) {
  const { rows, dir, selected } = props;
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const [active, setActive] = useState(0);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12, initialRect: { width: 700, height: 400 } });
  const pick = (i: number, add: boolean): void => {
    const row = rows[i];
    if (!row) return;
    setActive(i);
    props.onSelect(join(dir, row.name), add);
    props.onFocus(row);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, Home: 0, End: rows.length - 1 };
    const to = moves[e.key];
    if (to !== undefined && rows.length > 0) {
      e.preventDefault();
      const i = Math.max(0, Math.min(rows.length - 1, to));
      virtualizer.scrollToIndex(i, { align: 'auto' });
      pick(i, false);
    } else if (e.key === 'Enter' && rows[active]) props.onOpen(rows[active]);
  };
  return (
    <div role="table" aria-label="Files" aria-rowcount={rows.length + 1} className="vtable files-table">
      <div role="rowgroup" className="thead">
        <div role="row" aria-rowindex={1}>
          <div role="columnheader">Name</div>
          <div role="columnheader" className="num">Size</div>
          <div role="columnheader">Modified</div>
          <div role="columnheader">Type</div>
        </div>
      </div>
      <div role="rowgroup" className="tbody" ref={scrollRef} tabIndex={0} onKeyDown={onKeyDown} aria-label="Entries (arrow keys move, Enter opens a folder, Ctrl+click selects several)" style={{ height: Math.max(ROW_HEIGHT * 4, Math.min(rows.length * ROW_HEIGHT + 2, 460)) }}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }} className="tbody-inner">
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            return (
              <div
                role="row"
                key={item.key}
                aria-rowindex={item.index + 2}
                aria-selected={selected.has(join(dir, row.name))}
                style={{ height: item.size, transform: `translateY(${item.start}px)` }}
                onClick={(e) => pick(item.index, e.ctrlKey || e.metaKey)}
                onDoubleClick={() => props.onOpen(row)}
              >
                <div role="cell" className="name-cell">
                  <span className="name">
                    {cleanText(row.name, 400)}
                    {row.linkTarget !== undefined ? <span className="muted"> → {cleanText(row.linkTarget, 400)}</span> : null}
                  </span>
                </div>
                <div role="cell" className="num">{row.type === 'dir' ? '' : formatBytes(row.size, 1)}</div>
                <div role="cell">{formatDate(row.mtimeMs)}</div>
                <div role="cell">{typeText(row)}</div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

function PreviewPane({ load }: { load: Load<GuestPreview> }) {
  const [url, setUrl] = useState<string | null>(null);
  const image = load?.status === 'ready' && load.value.kind === 'image' ? load.value : null;
  useEffect(() => {
    if (!image?.base64 || !image.mime) return;
    const bytes = Uint8Array.from(atob(image.base64), (c) => c.charCodeAt(0));
    const u = URL.createObjectURL(new Blob([bytes], { type: image.mime }));
    setUrl(u);
    return () => {
      URL.revokeObjectURL(u);
      setUrl(null);
    };
  }, [image]);
  if (load === null) return <p className="muted">Choose a file to see its first bytes here.</p>;
  if (load.status === 'loading') return <p className="muted" role="status">Reading…</p>;
  if (load.status === 'error') return <ErrorNote error={load.error} title="This file does not read" />;
  const p = load.value;
  const head = (
    <p className="muted preview-head">
      <strong>{cleanText(baseName(p.path), 300)}</strong> · {formatBytes(p.size, 1)}
      {p.encoding ? ` · ${p.encoding}` : ''}
      {p.kind === 'hex' ? ' · binary (hex)' : ''}
      {p.truncated ? ' · first part only' : ''}
    </p>
  );
  if (p.kind === 'image') return <>{head}{url && <img className="preview-image" src={url} alt={`Preview of ${baseName(p.path)}`} />}</>;
  return (
    <>
      {head}
      <pre className={`preview-${p.kind}`} aria-label={p.kind === 'text' ? 'Text preview' : 'Hex preview'}>
        {p.text}
      </pre>
    </>
  );
}

const MARK = { added: 'Added', removed: 'Removed', changed: 'Changed' } as const;

function ChangesPanel({ load, at, onOpen }: { load: Load<GuestDiff>; at: number; onOpen: (dir: string) => void }) {
  return (
    <section className="files-changes" aria-label="Changed in this snapshot">
      <h3>
        Changed in this snapshot (link {at} compared with link {at + 1})
      </h3>
      {load?.status === 'loading' && <p className="muted" role="status">Comparing both states of the volume…</p>}
      {load?.status === 'error' && <ErrorNote error={load.error} title="The two states could not be compared" />}
      {load?.status === 'ready' && (
        <>
          {load.value.problems.map((p) => (
            <WarningNote key={p}>{cleanText(p)}</WarningNote>
          ))}
          {load.value.changes.length === 0 ? (
            <p className="muted">No file was added, changed or removed by this link.</p>
          ) : (
            <ul className="change-list">
              {load.value.changes.map((c) => (
                <li key={`${c.change}:${c.path}`} className={`change-${c.change}`}>
                  <span className="change-kind">{MARK[c.change]}</span>{' '}
                  <button type="button" className="link" onClick={() => onOpen(c.path.slice(0, Math.max(1, c.path.lastIndexOf('/'))))}>
                    {cleanText(c.path, 1000)}
                  </button>
                  {c.change === 'changed' && c.before && c.after ? (
                    <span className="muted">
                      {' '}
                      ({c.reasons.map((r) => (r === 'size' ? `size ${formatBytes(c.before!.size, 1)} → ${formatBytes(c.after!.size, 1)}` : r)).join(', ')})
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
          {load.value.truncated && <p className="muted">More changes than shown; `diskchain diff` lists them all.</p>}
        </>
      )}
    </section>
  );
}
