import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { CREATE_TYPE_NAMES } from '../../../shared/capabilities';
import { ENTRY_STATUSES, STATUS_MEANINGS, statusLabel, type EntryStatus } from '../../../shared/catalog-status';
import type { CatalogEntry } from '../../../shared/ipc/contract';
import { EmptyState } from '../components/EmptyState';
import { TabPanel, Tabs, type TabSpec } from '../components/Tabs';
import { ErrorNote, OkNote } from '../components/ErrorNote';
import { baseName, cleanText, dirName, formatBytes, formatDate } from '../format';
import { useCatalog, useStores } from '../store';
import { NO_FILTERS, sinceFilter, sizeFilter, type CatalogColumn, type TypeFilter } from '../store/catalog';
import { EntryDetail } from './CatalogEntryDetail';
import { CatalogFiles } from './CatalogFiles';
import { StatusBadge } from './CatalogStatus';

type CatalogTab = 'entries' | 'files';
/** Files: every file inside the indexed archives and disks (issue 11). */
const CATALOG_TABS: TabSpec<CatalogTab>[] = [
  { key: 'entries', label: 'Disks and archives' },
  { key: 'files', label: 'Files' },
];

const ROW_HEIGHT = 46;
const MAX_TABLE_HEIGHT = 560;

/** `wide`: shown only while no entry is open beside the table (the detail pane shows them then). */
const COLUMNS: Array<{ key: CatalogColumn; label: string; numeric?: boolean; wide?: boolean }> = [
  { key: 'name', label: 'Name' },
  { key: 'status', label: 'Status' },
  { key: 'kind', label: 'Kind' },
  { key: 'vm', label: 'VM', wide: true },
  { key: 'capacityBytes', label: 'Capacity', numeric: true },
  { key: 'sizeBytes', label: 'On disk', numeric: true, wide: true },
  { key: 'mtime', label: 'Modified', wide: true },
];

/** The kind filter offers every createType the engine knows (shared/capabilities.ts). */
const KINDS = CREATE_TYPE_NAMES;

/** Cell padding (10 px each side) and a little slack for rounding. */
const CELL_PAD = 24;
/** A badge's padding, glyph and space around its words. */
const BADGE_EXTRA = 30;
const NAME_MIN = 180;

let measurer: CanvasRenderingContext2D | null | undefined;

/**
 * The width text takes in the app's font (sizePx null: the body's size, which cells inherit);
 * from its length where nothing can measure (tests in jsdom).
 */
function textWidth(text: string, weight: number, sizePx: number | null): number {
  if (measurer === undefined) {
    measurer = typeof navigator !== 'undefined' && navigator.userAgent.includes('jsdom') ? null : document.createElement('canvas').getContext('2d');
  }
  const body = getComputedStyle(document.body);
  const size = sizePx ?? (Number.parseFloat(body.fontSize) || 14);
  if (measurer === null) return text.length * size * 0.62;
  measurer.font = `${weight} ${size}px ${body.fontFamily}`;
  return measurer.measureText(text).width;
}

/**
 * Column widths from the content of the rows loaded (every row is its own grid, so one template
 * sizes them all): each column as wide as its widest value or header, Name the rest. The table
 * scrolls sideways rather than cut a cell.
 */
function columnTemplate(rows: CatalogEntry[], compact: boolean): { template: string; minWidth: number } {
  const widest = (values: string[], label: string, weight = 400, sizePx: number | null = null, extra = 0): number =>
    Math.ceil(Math.max(textWidth(label, 600, 12.5) + 14, ...values.map((v) => textWidth(v, weight, sizePx) + extra)) + CELL_PAD);
  const text = (v: string | null | undefined, max: number): string => (v ? cleanText(v, max) : '—');
  const widths: Record<CatalogColumn, number> = {
    name: NAME_MIN,
    status: widest(rows.map((r) => statusLabel(r.status ?? 'ok')), 'Status', 600, 11.5, BADGE_EXTRA),
    kind: Math.min(220, widest(rows.map((r) => text(r.kind, 64)), 'Kind')),
    vm: Math.min(200, widest(rows.map((r) => text(r.vm, 255)), 'VM')),
    capacityBytes: widest(rows.map((r) => (r.capacityBytes === null ? '—' : formatBytes(r.capacityBytes))), 'Capacity'),
    sizeBytes: widest(rows.map((r) => (r.sizeBytes === null ? '—' : formatBytes(r.sizeBytes))), 'On disk'),
    // Every date prints with the same digits and separators.
    mtime: widest([formatDate(Date.now())], 'Modified'),
    path: 0,
  };
  const shown = COLUMNS.filter((c) => !(compact && c.wide));
  const template = shown.map((c) => (c.key === 'name' ? `minmax(${NAME_MIN}px, 1fr)` : `${widths[c.key]}px`)).join(' ');
  return { template, minWidth: shown.reduce((sum, c) => sum + widths[c.key], 0) };
}

function Cells({ row, compact }: { row: CatalogEntry; compact: boolean }) {
  const status: EntryStatus = row.status ?? (row.missing ? 'missing' : 'ok');
  return (
    <>
      <div role="cell" className="name-cell" title={row.path}>
        <span className="name">{cleanText(row.name, 255)}</span>
        <span className="sub">{cleanText(dirName(row.path), 1024)}</span>
      </div>
      <div role="cell">
        <StatusBadge status={status} note={row.statusNote ?? row.error} />
      </div>
      <div role="cell" title={row.kind ?? undefined}>
        {row.kind ? cleanText(row.kind, 64) : '—'}
      </div>
      {!compact && (
        <div role="cell" title={row.vm ?? undefined}>
          {row.vm ? cleanText(row.vm, 255) : '—'}
        </div>
      )}
      <div role="cell" className="num">
        {row.capacityBytes === null ? '—' : formatBytes(row.capacityBytes)}
      </div>
      {!compact && (
        <>
          <div role="cell" className="num">
            {row.sizeBytes === null ? '—' : formatBytes(row.sizeBytes)}
          </div>
          <div role="cell">{formatDate(row.mtime)}</div>
        </>
      )}
    </>
  );
}

/** The catalog as a virtualized table: only the rows on screen exist, pages load as you scroll. */
function CatalogTable({ compact }: { compact: boolean }) {
  const { catalog } = useStores();
  const rows = useCatalog((s) => s.rows);
  const total = useCatalog((s) => s.total);
  const sort = useCatalog((s) => s.sort);
  const selectedId = useCatalog((s) => s.selectedId);
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const [active, setActive] = useState(0);
  const columns = useMemo(() => columnTemplate(Object.values(rows), compact), [rows, compact]);
  const shown = COLUMNS.filter((c) => !(compact && c.wide));

  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 900, height: 420 },
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;

  useEffect(() => {
    if (total > 0) catalog.getState().ensureRange(first, last + 1);
  }, [catalog, first, last, total, rows]);

  const choose = (index: number): void => {
    const clamped = Math.max(0, Math.min(total - 1, index));
    setActive(clamped);
    virtualizer.scrollToIndex(clamped, { align: 'auto' });
    const row = catalog.getState().rows[clamped];
    if (row) void catalog.getState().select(row.id);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? 400) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: active + 1, ArrowUp: active - 1, PageDown: active + page, PageUp: active - page, Home: 0, End: total - 1 };
    const to = moves[e.key];
    if (to !== undefined && total > 0) {
      e.preventDefault();
      choose(to);
    }
  };

  return (
    <div className="catalog-scroll">
      <div
        role="table"
        aria-label="Catalog"
        aria-rowcount={total + 1}
        className="vtable catalog-table"
        style={{ '--catalog-columns': columns.template, minWidth: columns.minWidth } as CSSProperties}
      >
        <div role="rowgroup" className="thead">
          <div role="row" aria-rowindex={1}>
            {shown.map((c) => (
              <div
                role="columnheader"
                key={c.key}
                className={c.numeric ? 'num' : undefined}
                aria-sort={sort.column === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
              >
                <button type="button" onClick={() => catalog.getState().sortBy(c.key)}>
                  {c.label}
                  <span aria-hidden="true">{sort.column === c.key ? (sort.dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                </button>
              </div>
            ))}
          </div>
        </div>
        <div
          role="rowgroup"
          className="tbody"
          ref={scrollRef}
          tabIndex={0}
          onKeyDown={onKeyDown}
          aria-label="Catalog rows (arrow keys move, the selected row opens on the right)"
          style={{ height: Math.max(ROW_HEIGHT * 3, Math.min(total * ROW_HEIGHT + 2, MAX_TABLE_HEIGHT)) }}
        >
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }} className="tbody-inner">
            {items.map((item) => {
              const row = rows[item.index];
              return (
                <div
                  role="row"
                  key={item.key}
                  aria-rowindex={item.index + 2}
                  aria-selected={row !== undefined && row.id === selectedId}
                  style={{ height: item.size, transform: `translateY(${item.start}px)` }}
                  onClick={() => {
                    setActive(item.index);
                    if (row) void catalog.getState().select(row.id);
                  }}
                >
                  {row ? (
                    <Cells row={row} compact={compact} />
                  ) : (
                    <div role="cell" className="muted">
                      Loading…
                    </div>
                  )}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}

export function CatalogView() {
  const { catalog, ui } = useStores();
  const query = useCatalog((s) => s.query);
  const type = useCatalog((s) => s.type);
  const kind = useCatalog((s) => s.kind);
  const filters = useCatalog((s) => s.filters);
  const total = useCatalog((s) => s.total);
  const listing = useCatalog((s) => s.listing);
  const scan = useCatalog((s) => s.scan);
  const detail = useCatalog((s) => s.detail);
  const selectedId = useCatalog((s) => s.selectedId);
  const actionError = useCatalog((s) => s.actionError);
  const searchRef = useRef<HTMLInputElement | null>(null);
  const [tab, setTab] = useState<CatalogTab>('entries');

  useEffect(() => {
    if (catalog.getState().listing.status === 'idle') void catalog.getState().refresh();
  }, [catalog]);

  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent): void => {
      if ((e.key === 'f' && (e.ctrlKey || e.metaKey)) || (e.key === '/' && !(e.target instanceof HTMLInputElement))) {
        e.preventDefault();
        searchRef.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const filtered = query.trim() !== '' || type !== 'all' || kind !== '' || JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);
  const badMin = sizeFilter(filters.minSize) === null;
  const badMax = sizeFilter(filters.maxSize) === null;
  const badSince = filters.since !== '' && sinceFilter(filters.since) === undefined;
  const summary = scan.status === 'ready' ? scan.value : null;

  return (
    <>
      <div className="main-header">
        <div className="title">
          <h1>Catalog</h1>
          <div className="path">Every disk and archive found under the folders you scanned</div>
        </div>
        <div className="toolbar" role="toolbar" aria-label="Catalog actions">
          <button type="button" className="primary" onClick={() => void catalog.getState().scanFolder()} disabled={scan.status === 'loading'}>
            {scan.status === 'loading' ? 'Scanning…' : 'Scan folder…'}
          </button>
          <button type="button" onClick={() => ui.getState().openDialog({ kind: 'restore' })}>
            Restore archive…
          </button>
        </div>
      </div>
      <Tabs tabs={CATALOG_TABS} selected={tab} onSelect={setTab} label="Catalog views" idPrefix="catalog" />
      {tab === 'files' ? (
        <TabPanel idPrefix="catalog" tab="files">
          <CatalogFiles />
        </TabPanel>
      ) : (
        <TabPanel idPrefix="catalog" tab="entries">
          {scan.status === 'error' && (
            <div className="spaced-bottom">
              <ErrorNote error={scan.error} title="The scan failed" />
            </div>
          )}
          {summary && (
            <div className="spaced-bottom">
              <OkNote>
                Scanned {summary.folders.map((f) => cleanText(f, 500)).join(', ')} in {(summary.durationMs / 1000).toFixed(1)} s: {summary.added} added, {summary.updated} updated,{' '}
                {summary.unchanged} unchanged, {summary.missing} missing.
                {summary.errors.length > 0 && (
                  <ul className="reasons">
                    {summary.errors.map((e, i) => (
                      <li key={i}>
                        <span className="mono">{cleanText(baseName(e.path), 255)}</span>: {cleanText(e.message)}
                      </li>
                    ))}
                  </ul>
                )}
              </OkNote>
            </div>
          )}
          {actionError && (
            <div className="spaced-bottom">
              <ErrorNote error={actionError} title="That did not work">
                <button type="button" onClick={() => catalog.getState().dismissActionError()}>
                  Dismiss
                </button>
              </ErrorNote>
            </div>
          )}
          <div className="catalog-toolbar">
            <input
              ref={searchRef}
              type="search"
              aria-label="Search the catalog"
              placeholder="Search names and VMs (Ctrl+F)"
              value={query}
              onChange={(e) => catalog.getState().setQuery(e.target.value)}
            />
            <select aria-label="Show" value={type} onChange={(e) => catalog.getState().setType(e.target.value as TypeFilter)}>
              <option value="all">Disks and archives</option>
              <option value="disk">Disks only</option>
              <option value="archive">Archives only</option>
            </select>
            <select aria-label="Kind" value={kind} onChange={(e) => catalog.getState().setKind(e.target.value)}>
              <option value="">Any kind</option>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
            <select
              aria-label="Status"
              value={filters.status}
              onChange={(e) => catalog.getState().setFilters({ status: e.target.value as EntryStatus | '' })}
            >
              <option value="">Any status</option>
              {ENTRY_STATUSES.map((st) => (
                <option key={st} value={st} title={STATUS_MEANINGS[st]}>
                  {statusLabel(st)}
                </option>
              ))}
            </select>
            <input
              type="search"
              className="catalog-vm"
              aria-label="VM"
              placeholder="VM name"
              value={filters.vm}
              onChange={(e) => catalog.getState().setFilters({ vm: e.target.value })}
            />
            <label className="catalog-filter">
              Since
              <input
                type="date"
                aria-label="Dated since"
                aria-invalid={badSince}
                value={filters.since}
                onChange={(e) => catalog.getState().setFilters({ since: e.target.value })}
              />
            </label>
            <label className="catalog-filter">
              Size
              <input
                type="text"
                className="catalog-size"
                aria-label="Capacity at least"
                aria-invalid={badMin}
                title="Capacity at least, e.g. 20G"
                placeholder="min"
                value={filters.minSize}
                onChange={(e) => catalog.getState().setFilters({ minSize: e.target.value })}
              />
              –
              <input
                type="text"
                className="catalog-size"
                aria-label="Capacity at most"
                aria-invalid={badMax}
                title="Capacity at most, e.g. 2T"
                placeholder="max"
                value={filters.maxSize}
                onChange={(e) => catalog.getState().setFilters({ maxSize: e.target.value })}
              />
            </label>
            {filtered && (
              <button type="button" className="quiet" onClick={() => catalog.getState().clearFilters()}>
                Clear filters
              </button>
            )}
            <span className="muted" aria-live="polite" role="status">
              {listing.status === 'loading' ? 'Searching…' : `${total.toLocaleString()} ${total === 1 ? 'entry' : 'entries'}`}
            </span>
          </div>
          {(badMin || badMax) && (
            <p className="muted" role="alert">
              A size reads like 20G, 512M or 1.5T; that filter is left out until it does.
            </p>
          )}
          {listing.status === 'error' && <ErrorNote error={listing.error} title="Could not read the catalog" />}
          {selectedId === null && total > 0 && (
            <p className="muted detail-hint">Select an entry (click, or ↑ ↓ in the table) to see its disks, files and chain; archives can be verified and restored.</p>
          )}
          <div className={`split ${selectedId === null ? 'single' : ''}`}>
            <div>
              {total === 0 && listing.status === 'ready' ? (
                filtered ? (
                  <EmptyState title="Nothing matches">
                    <p>No entry matches these filters.</p>
                    <button type="button" onClick={() => catalog.getState().clearFilters()}>
                      Clear filters
                    </button>
                  </EmptyState>
                ) : (
                  <EmptyState
                    title="The catalog is empty"
                    actions={
                      <button type="button" className="primary" onClick={() => void catalog.getState().scanFolder()}>
                        Scan folder…
                      </button>
                    }
                  >
                    <p>Scan a folder (a NAS share, a USB drive) to list the archives and loose disks in it. Later scans only re-read what changed.</p>
                  </EmptyState>
                )
              ) : (
                <CatalogTable compact={selectedId !== null} />
              )}
            </div>
            <div hidden={selectedId === null}>
              {selectedId === null ? null : detail.status === 'error' ? (
                <ErrorNote error={detail.error} title="Could not read this entry" />
              ) : detail.status === 'ready' ? (
                <EntryDetail detail={detail.value} />
              ) : (
                <p className="muted" role="status">
                  Reading the entry…
                </p>
              )}
            </div>
          </div>
        </TabPanel>
      )}
    </>
  );
}
