/** Above a disk's tabs: the disk has lost data (offer Recover to…), or it is an extent whose descriptor is missing (offer Rebuild descriptor). */
import { useState } from 'react';
import type { WireError } from '../../../shared/ipc/contract';
import { toWireError } from '../api';
import { cleanText } from '../format';
import { useStores } from '../store';
import type { OpenDisk } from '../store/disks';
import { valueOf } from '../store/loadable';
import { DamageSummary } from './DamageReport';
import { ErrorNote } from './ErrorNote';

export function DiskNotes({ disk }: { disk: OpenDisk }) {
  const damage = valueOf(disk.info)?.damage ?? null;
  return (
    <>
      {damage && damage.lostBytes > 0 && <DamageNote disk={disk} />}
      {disk.orphan && <OrphanNote disk={disk} descriptorName={disk.orphan.descriptorName} />}
    </>
  );
}

function DamageNote({ disk }: { disk: OpenDisk }) {
  const { ui } = useStores();
  const damage = valueOf(disk.info)!.damage!;
  return (
    <div className="note error disk-note" role="note" aria-label="Damaged disk">
      <span className="icon" aria-hidden="true">
        !
      </span>
      <div className="body">
        <strong>This disk is damaged. </strong>
        <DamageSummary damage={damage} />
        <p>Recover copies everything that can still be read into a new disk; this one is left as it is.</p>
        <div className="row">
          <button type="button" className="primary" onClick={() => ui.getState().openDialog({ kind: 'recover', diskId: disk.ref.diskId })}>
            Recover to…
          </button>
        </div>
      </div>
    </div>
  );
}

function OrphanNote({ disk, descriptorName }: { disk: OpenDisk; descriptorName: string }) {
  const { disks } = useStores();
  const [error, setError] = useState<WireError | null>(null);
  const [busy, setBusy] = useState(false);
  const name = cleanText(descriptorName, 255);
  const rebuild = async (): Promise<void> => {
    setError(null);
    setBusy(true);
    try {
      await disks.getState().rebuildDescriptor(disk.ref.diskId);
    } catch (e) {
      setError(toWireError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="note warning disk-note" role="note" aria-label="Orphan extent">
      <span className="icon" aria-hidden="true">
        i
      </span>
      <div className="body">
        <p>
          <strong>This is an orphan extent:</strong> it holds the data of a disk whose descriptor, <span className="mono">{name}</span>, is missing. What is shown
          here is this file alone.
        </p>
        <p>Rebuild descriptor writes {name} beside it, from what the extent files say, and opens it. No existing file is replaced.</p>
        <div className="row">
          <button type="button" className="primary" disabled={busy} onClick={() => void rebuild()}>
            {busy ? 'Rebuilding…' : 'Rebuild descriptor'}
          </button>
        </div>
        {error && <ErrorNote error={error} title="Could not rebuild the descriptor" />}
      </div>
    </div>
  );
}
