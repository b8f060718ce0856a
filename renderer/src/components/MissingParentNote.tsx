/** A chain whose parent file is missing: what opened is shown down to the link that names it, and "Locate parent…" reparents that link. */
import { useState } from 'react';
import type { WireError } from '../../../shared/ipc/contract';
import type { DiskInfo } from '../../../shared/types';
import { toWireError } from '../api';
import { baseName, cleanText } from '../format';
import { useStores } from '../store';
import { ErrorNote } from './ErrorNote';

export function MissingParentNote({ diskId, missing }: { diskId: string; missing: NonNullable<DiskInfo['missingParent']> }) {
  const { disks } = useStores();
  const [error, setError] = useState<WireError | null>(null);
  const [busy, setBusy] = useState(false);
  const [cancelled, setCancelled] = useState(false);
  const child = cleanText(baseName(missing.file), 255);
  const locate = async (fixCid: boolean): Promise<void> => {
    setError(null);
    setCancelled(false);
    setBusy(true);
    try {
      const summary = await disks.getState().locateParent(diskId, fixCid);
      if (summary === null) setCancelled(true);
    } catch (e) {
      setError(toWireError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="note error disk-note" role="note" aria-label="Missing parent">
      <span className="icon" aria-hidden="true">
        !
      </span>
      <div className="body">
        <p>
          <strong>The chain is broken:</strong> {child} names its parent <span className="mono">{cleanText(missing.name, 255)}</span>, which is not there. What
          is shown is the chain down to {child} — its header, extents and what it holds — without the parent's data.
        </p>
        <p>If the parent was moved or renamed, Locate parent… points {child} at it (the old descriptor is kept as a backup).</p>
        <div className="row">
          <button type="button" className="primary" disabled={busy} onClick={() => void locate(false)}>
            {busy ? 'Reparenting…' : 'Locate parent…'}
          </button>
          {cancelled && <span className="muted">No file was chosen.</span>}
        </div>
        {error && (
          <ErrorNote error={error} title="Could not reparent">
            {error.code === 'E_CID' && (
              <button type="button" disabled={busy} onClick={() => void locate(true)}>
                Choose it again and set the CID
              </button>
            )}
          </ErrorNote>
        )}
      </div>
    </div>
  );
}
