/**
 * The browser host's file browser (a web page is never told where a file is): a Path field that
 * takes a typed or pasted path (Enter opens it), the folder listed with sizes and dates, disks
 * first, the parent folder and recent folders. Shown over whatever asked (Open disk…, an output
 * place, Scan folder…, Choose archive…); Electron uses its native dialogs instead.
 */
import { useRef, type KeyboardEvent } from 'react';
import type { FolderEntry } from '../../../shared/ipc/contract';
import { appText, cleanText, formatBytes, formatDate } from '../format';
import { useBrowse, useStores } from '../store';
import { joinPath } from '../store/browse';
import { useModal } from './use-modal';

const VERBS = { open: 'Open', save: 'Save', folder: 'Choose this folder' } as const;

export function FileBrowser() {
  const { browse } = useStores();
  const request = useBrowse((s) => s.request);
  const pathText = useBrowse((s) => s.pathText);
  const listing = useBrowse((s) => s.listing);
  const busy = useBrowse((s) => s.busy);
  const error = useBrowse((s) => s.error);
  const recent = useBrowse((s) => s.recent);
  const field = useRef<HTMLInputElement | null>(null);
  const ref = useModal(request !== null && request !== undefined, () => field.current?.focus());

  const state = browse.getState;
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    void state().submit();
  };
  const pick = (entry: FolderEntry): void => {
    if (!listing) return;
    const full = joinPath(listing.path, entry.name);
    if (entry.type === 'folder') void state().go(full);
    else if (request?.mode !== 'folder') state().setPathText(full);
  };
  const choose = (entry: FolderEntry): void => {
    if (!listing || entry.type !== 'file' || request?.mode === 'folder') return;
    state().setPathText(joinPath(listing.path, entry.name));
    void state().submit();
  };

  return (
    <dialog
      ref={ref}
      className="file-browser"
      aria-labelledby={request ? 'file-browser-title' : undefined}
      onCancel={(e) => {
        e.preventDefault();
        state().cancel();
      }}
    >
      {request && (
        <div className="file-browser-body">
          <header>
            <h2 id="file-browser-title">{cleanText(request.title, 200)}</h2>
            <p>
              {request.mode === 'folder'
                ? 'Type or paste a folder’s path and press Enter, or click through the folders below.'
                : 'Type or paste a path and press Enter, or click through the folders below.'}{' '}
              <span className="muted">Files on the computer running Diskchain.</span>
            </p>
          </header>
          <div className="fields">
            <div className="field">
              <label htmlFor="file-browser-path">Path</label>
              <input
                id="file-browser-path"
                ref={field}
                type="text"
                className="mono"
                spellCheck={false}
                autoComplete="off"
                placeholder="/path/to/disk.vmdk"
                value={pathText}
                onChange={(e) => state().setPathText(e.target.value)}
                onKeyDown={onKey}
                aria-invalid={error !== null}
              />
            </div>
            {error && (
              // One line, not an ErrorNote: the path is what was typed, and its hint is the message itself.
              <div className="note error" role="alert">
                <span className="icon" aria-hidden="true">
                  !
                </span>
                <div className="body">
                  {cleanText(appText(error.message), 500)}
                  {error.file && (
                    <>
                      {' '}
                      <span className="mono">{cleanText(error.file, 500)}</span>
                    </>
                  )}
                </div>
              </div>
            )}
            <div className="file-browser-panes">
              <nav aria-label="Recent folders" className="file-browser-recent">
                <h3>Recent folders</h3>
                {recent.length === 0 ? (
                  <p className="hint">Folders you choose from are remembered here.</p>
                ) : (
                  <ul>
                    {recent.map((folder) => (
                      <li key={folder}>
                        <button type="button" className="quiet small" title={folder} onClick={() => void state().go(folder)}>
                          {cleanText(folder, 300)}
                        </button>
                      </li>
                    ))}
                  </ul>
                )}
              </nav>
              <div className="file-browser-listing">
                {listing ? (
                  <>
                    <div className="file-browser-where">
                      <button type="button" className="small" disabled={listing.parent === null || busy} onClick={() => listing.parent !== null && void state().go(listing.parent)}>
                        ↑ Parent folder
                      </button>
                      <span className="mono" title={listing.path}>
                        {cleanText(listing.path, 500)}
                      </span>
                    </div>
                    <table aria-label={`Contents of ${cleanText(listing.path, 500)}`}>
                      <thead>
                        <tr>
                          <th scope="col">Name</th>
                          <th scope="col" className="num">
                            Size
                          </th>
                          <th scope="col">Modified</th>
                        </tr>
                      </thead>
                      <tbody>
                        {listing.entries.map((entry) => (
                          <Row key={entry.name} entry={entry} folderMode={request.mode === 'folder'} selected={pathText === joinPath(listing.path, entry.name)} onPick={pick} onChoose={choose} />
                        ))}
                      </tbody>
                    </table>
                    {listing.entries.length === 0 && <p className="hint">This folder is empty.</p>}
                    {listing.truncated && <p className="hint">Only the first {listing.entries.length} entries are listed: type the path of the file.</p>}
                  </>
                ) : (
                  <p className="hint">{busy ? 'Looking…' : 'Nothing listed yet: type a folder’s path above (for example /home) and press Enter, or choose a recent folder.'}</p>
                )}
              </div>
            </div>
          </div>
          <footer>
            <button type="button" onClick={() => state().cancel()}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              disabled={busy || (pathText.trim() === '' && !(request.mode === 'folder' && listing))}
              onClick={() => void state().confirm()}
            >
              {VERBS[request.mode]}
            </button>
          </footer>
        </div>
      )}
    </dialog>
  );
}

function Row({
  entry,
  folderMode,
  selected,
  onPick,
  onChoose,
}: {
  entry: FolderEntry;
  folderMode: boolean;
  selected: boolean;
  onPick: (e: FolderEntry) => void;
  onChoose: (e: FolderEntry) => void;
}) {
  const name = cleanText(entry.name, 255);
  const disabled = entry.type === 'other' || (folderMode && entry.type !== 'folder');
  return (
    <tr className={`${entry.diskLike ? 'disk' : ''} ${selected ? 'selected' : ''}`.trim() || undefined} aria-selected={selected}>
      <td>
        <button type="button" className="entry" disabled={disabled} onClick={() => onPick(entry)} onDoubleClick={() => onChoose(entry)} title={entry.type === 'folder' ? `Open folder ${name}` : name}>
          <span className={`entry-icon ${entry.type === 'folder' ? 'folder' : entry.diskLike ? 'disk' : 'file'}`} aria-hidden="true" />
          {name}
          {entry.type === 'folder' && <span className="visually-hidden"> (folder)</span>}
        </button>
      </td>
      <td className="num">{entry.sizeBytes === null ? '' : formatBytes(entry.sizeBytes)}</td>
      <td className="date">{formatDate(entry.mtime)}</td>
    </tr>
  );
}
