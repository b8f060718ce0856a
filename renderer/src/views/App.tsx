import { useEffect, useState, type DragEvent } from 'react';
import { ActionDialog } from '../components/ActionDialog';
import { WarningNote } from '../components/ErrorNote';
import { FileBrowser } from '../components/FileBrowser';
import { JobsPanel } from '../components/JobsPanel';
import { cleanText } from '../format';
import { useDisks, useStores, useUi } from '../store';
import { CatalogView } from './CatalogView';
import { DiskView } from './DiskView';
import { Sidebar } from './Sidebar';

/** The window title says where you are: "web01.vmdk — Diskchain", "Catalog — Diskchain". */
export function windowTitle(screen: 'disks' | 'catalog', diskName: string | null): string {
  if (screen === 'catalog') return 'Catalog — Diskchain';
  return diskName ? `${cleanText(diskName, 200)} — Diskchain` : 'Diskchain — open a VMware disk';
}

const hasFiles = (e: DragEvent): boolean => Array.from(e.dataTransfer?.types ?? []).includes('Files');

export function App() {
  const { disks, ui } = useStores();
  const screen = useUi((s) => s.screen);
  const appInfo = useUi((s) => s.appInfo);
  const dropNote = useUi((s) => s.dropNote);
  const diskName = useDisks((s) => (s.selectedId ? (s.byId[s.selectedId]?.ref.name ?? null) : null));
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    document.title = windowTitle(screen, diskName);
  }, [screen, diskName]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'o') {
        e.preventDefault();
        void disks.getState().openDialog();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [disks]);

  // In Electron the preload reads dropped files' paths and main opens them (disks:opened); a
  // browser gives no paths, so there the drop is explained instead.
  const onDragOver = (e: DragEvent<HTMLDivElement>): void => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    setDragging(true);
  };
  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    setDragging(false);
    ui.getState().setScreen('disks');
    if (appInfo && !appInfo.dropOpens) {
      ui.getState().setDropNote(
        'This browser window cannot open dropped files: a web page is not told where they are. Choose Open disk… and type or paste the disk’s path instead.',
      );
    }
  };

  return (
    <div className="app" onDragOver={onDragOver} onDragLeave={(e) => e.currentTarget === e.target && setDragging(false)} onDrop={onDrop}>
      <Sidebar />
      <main className="main" aria-label={screen === 'catalog' ? 'Catalog' : 'Disk'}>
        {dropNote && (
          <div className="banner">
            <WarningNote>
              {dropNote}{' '}
              <button type="button" className="small" onClick={() => ui.getState().setDropNote(null)}>
                Dismiss
              </button>
            </WarningNote>
          </div>
        )}
        {screen === 'catalog' ? <CatalogView /> : <DiskView />}
        {dragging && (
          <div className="drop-overlay" aria-hidden="true">
            Drop disk files to open them
          </div>
        )}
      </main>
      <JobsPanel />
      <ActionDialog />
      <FileBrowser />
    </div>
  );
}
