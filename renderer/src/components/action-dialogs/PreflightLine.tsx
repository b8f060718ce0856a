import type { Preflight, WireError } from '../../../../shared/ipc/contract';
import { cleanText, formatBytes } from '../../format';
import { ErrorNote } from '../ErrorNote';

/** What the job needs on its destination and what is free there (the job's own estimate). */
export function PreflightLine({ preflight, error, pending }: { preflight: Preflight | null; error: WireError | null; pending: boolean }) {
  if (error) return <ErrorNote error={error} title="Could not check the free space" />;
  if (!preflight) return <p className="preflight muted">{pending ? 'Checking free space…' : 'Free space is checked once the output is chosen.'}</p>;
  const free = preflight.availableBytes === null ? 'free space unknown' : `${formatBytes(preflight.availableBytes)} free`;
  const text = `Needs about ${formatBytes(preflight.requiredBytes)} in ${preflight.folder}; ${free}.`;
  if (!preflight.enough) {
    return (
      <div className="note error" role="alert">
        <span className="icon" aria-hidden="true">
          !
        </span>
        <div className="body">
          <strong>Not enough free space.</strong> {cleanText(text)}
          <div className="fix">Free some space there or choose another place. ({cleanText(preflight.basis, 300)})</div>
        </div>
      </div>
    );
  }
  return (
    <div className="note ok" role="status">
      <span className="icon" aria-hidden="true">
        ✓
      </span>
      <div className="body">
        <strong>Enough space.</strong> {cleanText(text)} <span className="muted">({cleanText(preflight.basis, 300)})</span>
      </div>
    </div>
  );
}
