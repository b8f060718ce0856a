import { useRef, type KeyboardEvent } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { cleanText, dirName } from '../format';
import { useDisks, useStores, useUi } from '../store';

/** Up/Down/Home/End between the buttons of a list (one Tab stop per list is not needed: lists are short). */
function listKeys(e: KeyboardEvent<HTMLElement>, selector: string): void {
  const buttons = Array.from(e.currentTarget.querySelectorAll<HTMLButtonElement>(selector));
  const at = buttons.findIndex((b) => b === document.activeElement);
  if (at < 0) return;
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  buttons[Math.max(0, Math.min(buttons.length - 1, to))]?.focus();
}

/** The side list: where to be (disks, catalog), what is open, what was open recently. */
export function Sidebar() {
  const { disks, ui } = useStores();
  const screen = useUi((s) => s.screen);
  const appInfo = useUi((s) => s.appInfo);
  const order = useDisks((s) => s.order);
  const byId = useDisks((s) => s.byId);
  const selectedId = useDisks((s) => s.selectedId);
  const recent = useDisks((s) => s.recent);
  const openError = useDisks((s) => s.openError);
  const opening = useDisks((s) => s.opening);
  const openList = useRef<HTMLUListElement | null>(null);

  const openIds = new Set(order.map((id) => byId[id]?.ref.path));
  const recentShown = recent.filter((r) => !openIds.has(r.path)).slice(0, 10);

  return (
    <aside className="sidebar" aria-label="Disks and catalog">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        Diskchain
      </div>
      <nav aria-label="Screens">
        <ul>
          <li>
            <button type="button" className="nav-item" aria-current={screen === 'disks' ? 'page' : undefined} onClick={() => ui.getState().setScreen('disks')}>
              <span className="name">Disks</span>
            </button>
          </li>
          <li>
            <button type="button" className="nav-item" aria-current={screen === 'catalog' ? 'page' : undefined} onClick={() => ui.getState().setScreen('catalog')}>
              <span className="name">Catalog</span>
            </button>
          </li>
        </ul>
      </nav>

      <h3 id="open-disks-title">Open disks</h3>
      <div className="sidebar-actions">
        <button type="button" className="primary" onClick={() => void disks.getState().openDialog()} disabled={opening} title="Ctrl+O">
          {opening ? 'Opening…' : 'Open disk…'}
        </button>
      </div>
      {openError && (
        <ErrorNote error={openError} title="Could not open">
          <button type="button" className="small" onClick={() => disks.getState().dismissOpenError()}>
            Dismiss
          </button>
        </ErrorNote>
      )}
      {order.length === 0 ? (
        <p className="hint">
          {appInfo?.dropOpens === false
            ? 'Nothing open yet. Choose Open disk… and type or paste a disk’s path, or find it in its folder.'
            : 'Nothing open yet. Drop disk files on the window or choose Open disk….'}
        </p>
      ) : (
        <ul aria-labelledby="open-disks-title" ref={openList} onKeyDown={(e) => listKeys(e, '.nav-item')} className="nav-list">
          {order.map((id) => {
            const d = byId[id];
            if (!d) return null;
            const name = cleanText(d.ref.name, 200);
            return (
              <li key={id} className="nav-row">
                <button
                  type="button"
                  className="nav-item"
                  aria-current={screen === 'disks' && selectedId === id ? 'true' : undefined}
                  onClick={() => {
                    disks.getState().select(id);
                    ui.getState().setScreen('disks');
                  }}
                  title={d.ref.path}
                >
                  <span className="name">{name}</span>
                  <span className="sub">{cleanText(dirName(d.ref.path), 500)}</span>
                </button>
                <button type="button" className="quiet small close" aria-label={`Close ${name}`} onClick={() => void disks.getState().close(id)}>
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      )}

      <h3 id="recent-title">Recent</h3>
      {recentShown.length === 0 ? (
        <p className="hint">Disks you open are remembered here.</p>
      ) : (
        <>
          <ul aria-labelledby="recent-title" onKeyDown={(e) => listKeys(e, '.nav-item')} className="nav-list">
            {recentShown.map((r) => (
              <li key={r.recentId}>
                <button
                  type="button"
                  className="nav-item"
                  onClick={() => {
                    void disks.getState().openRecent(r.recentId);
                    ui.getState().setScreen('disks');
                  }}
                  title={r.exists ? r.path : `${r.path} (no longer there)`}
                >
                  <span className="name">
                    {cleanText(r.name, 200)} {!r.exists && <span className="badge error">missing</span>}
                  </span>
                  <span className="sub">{cleanText(dirName(r.path), 500)}</span>
                </button>
              </li>
            ))}
          </ul>
          <div className="sidebar-actions">
            <button type="button" className="quiet small" onClick={() => void disks.getState().clearRecent()}>
              Clear recent
            </button>
          </div>
        </>
      )}
      <div className="grow" />
      {appInfo && (
        <p className="hint" aria-label="About">
          Diskchain {cleanText(appInfo.version, 40)} · {appInfo.mode === 'host' ? 'in the browser (diskchain serve)' : 'desktop'}
        </p>
      )}
    </aside>
  );
}

