/** Lost data, as the disk view shows it when a disk opens damaged and as a recover job reports it. */
import type { RecoveryReport } from '../../../shared/jobs';
import type { Damage } from '../../../shared/types';
import { cleanText, formatBytes } from '../format';

const SECTOR = 512;
/** How many lost ranges are listed; the rest are counted. */
export const RANGES_SHOWN = 5;

interface Run {
  /** first LBA */
  start: number;
  /** sectors */
  length: number;
}

function LostRuns({ runs, total, label }: { runs: Run[]; total: number; label: string }) {
  if (runs.length === 0) return null;
  const more = total - Math.min(runs.length, RANGES_SHOWN);
  return (
    <ul className="lost-ranges mono" aria-label={label}>
      {runs.slice(0, RANGES_SHOWN).map((r, i) => (
        <li key={i}>
          LBA {r.start}–{r.start + r.length - 1} ({formatBytes(r.length * SECTOR)})
        </li>
      ))}
      {more > 0 && <li className="muted">and {more} more</li>}
    </ul>
  );
}

/** What the disk lost at open: the lost bytes and the first LBA ranges. */
export function DamageSummary({ damage }: { damage: Damage }) {
  const runs = damage.ranges.map((r) => ({ start: Math.floor(r.offset / SECTOR), length: Math.ceil((r.offset + r.length) / SECTOR) - Math.floor(r.offset / SECTOR) }));
  return (
    <>
      <p>
        <strong>{formatBytes(damage.lostBytes)}</strong> of this disk cannot be read (in {damage.ranges.length === 1 ? '1 range' : `${damage.ranges.length} ranges`}); they read as zeros.
      </p>
      <LostRuns runs={runs} total={damage.ranges.length} label="Lost ranges" />
    </>
  );
}

/** A finished recover: what was saved and lost, and the first lost ranges. */
export function RecoverySummary({ report }: { report: RecoveryReport }) {
  return (
    <div className="recovery" aria-label="Recovery report">
      {report.lost.length === 0 ? (
        <p>Nothing was lost: {formatBytes(report.savedBytes)} copied.</p>
      ) : (
        <p>
          Saved {formatBytes(report.savedBytes)}; lost <strong>{formatBytes(report.lostBytes)}</strong> (zeros in the new disk).
        </p>
      )}
      <LostRuns runs={report.lost} total={report.lost.length} label="Lost ranges" />
      {report.notes.length > 0 && (
        <ul className="muted">
          {report.notes.slice(0, RANGES_SHOWN).map((n, i) => (
            <li key={i}>{cleanText(n, 300)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
