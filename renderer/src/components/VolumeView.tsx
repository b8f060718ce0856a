import { useEffect, useState } from 'react';
import type { DiskRef, WireError } from '../../../shared/ipc/contract';
import type { VolumeTree } from '../../../shared/vmfs-tree';
import { toWireError } from '../api';
import { cleanText } from '../format';
import { useStores } from '../store';
import { ErrorNote } from './ErrorNote';

/**
 * A VMFS volume image opened: its VM folders (their .vmx files and disks), each disk with Open, which
 * opens it as a disk like any other (chain, map, check, Files tab and the jobs read through the image).
 */
export function VolumeView({ volume }: { volume: DiskRef }) {
  const { api, disks } = useStores();
  const [tree, setTree] = useState<VolumeTree | null>(null);
  const [error, setError] = useState<WireError | null>(null);
  const [opening, setOpening] = useState<number | null>(null);

  useEffect(() => {
    let live = true;
    setTree(null);
    setError(null);
    api.invoke('volumes:tree', { diskId: volume.diskId }).then(
      (t) => live && setTree(t),
      (e: unknown) => live && setError(toWireError(e)),
    );
    return () => {
      live = false;
    };
  }, [api, volume.diskId]);

  const open = async (entry: number): Promise<void> => {
    setOpening(entry);
    setError(null);
    try {
      const ref = await api.invoke('volumes:openDisk', { diskId: volume.diskId, entry });
      disks.getState().add([ref], true);
    } catch (e) {
      setError(toWireError(e));
    } finally {
      setOpening(null);
    }
  };

  return (
    <>
      <div className="main-header">
        <div className="title">
          <h1>{cleanText(volume.name, 200)}</h1>
          <div className="path" title={volume.path}>
            {cleanText(volume.path)}
          </div>
        </div>
      </div>
      <div className="stack">
        {error && <ErrorNote error={error} title="Could not read the volume" />}
        {!tree && !error && (
          <p className="muted" role="status">
            Reading the volume…
          </p>
        )}
        {tree && (
          <section className="card" aria-labelledby="volume-title">
            <div className="card-head">
              <h2 id="volume-title">
                VMFS volume {cleanText(tree.label || '(no label)', 128)} · {cleanText(tree.version, 32)}
              </h2>
              <span className="muted">read-only: a disk opened here is read through the image, never written</span>
            </div>
            {tree.folders.length === 0 && <p className="muted">No VM folders or disks in this volume.</p>}
            <ul className="volume-tree" aria-label="VM folders">
              {tree.folders.map((f) => (
                <li key={f.folder}>
                  <h3 className="mono">{cleanText(f.folder, 1024)}</h3>
                  {f.vmx.length > 0 && <p className="muted">VM: {f.vmx.map((v) => cleanText(v, 255)).join(', ')}</p>}
                  <ul aria-label={`Disks in ${f.folder}`}>
                    {f.disks.map((d) => (
                      <li key={d.entry} className="row">
                        <span className="grow mono">{cleanText(d.name, 255)}</span>
                        <button type="button" className="small" disabled={opening !== null} onClick={() => void open(d.entry)} aria-label={`Open ${d.name}`}>
                          {opening === d.entry ? 'Opening…' : 'Open'}
                        </button>
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
            {tree.problems.map((p, i) => (
              <p key={i} className="note warning" role="note">
                {cleanText(p, 1000)}
              </p>
            ))}
          </section>
        )}
      </div>
    </>
  );
}
