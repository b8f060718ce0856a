/** A catalog status as a badge: a glyph and words (never colour alone), the reason on hover. */
import { STATUS_MEANINGS, statusLabel, type EntryStatus } from '../../../shared/catalog-status';
import { cleanText } from '../format';

const LOOK: Record<EntryStatus, { tone: 'ok' | 'warning' | 'error' | 'neutral'; glyph: string }> = {
  ok: { tone: 'ok', glyph: '✓' },
  unverified: { tone: 'neutral', glyph: '?' },
  damaged: { tone: 'error', glyph: '✕' },
  'chain-broken': { tone: 'error', glyph: '!' },
  'missing-file': { tone: 'error', glyph: '!' },
  'changed-since-verify': { tone: 'warning', glyph: '↻' },
  missing: { tone: 'error', glyph: '!' },
  error: { tone: 'error', glyph: '✕' },
};

export function StatusBadge({ status, note }: { status: EntryStatus; note?: string | null }) {
  const look = LOOK[status];
  const why = note ? cleanText(note, 500) : STATUS_MEANINGS[status];
  return (
    <span className={`badge status-badge ${look.tone === 'neutral' ? '' : look.tone}`} title={why} data-status={status}>
      <span aria-hidden="true">{look.glyph}</span> {statusLabel(status)}
    </span>
  );
}
