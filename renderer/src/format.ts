/** How numbers read in the UI: sizes in binary units, rates, durations, CIDs. */

import { formatBytes } from '../../shared/bytes';

export { formatBytes, parseSize } from '../../shared/bytes';

export function formatRate(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '—';
}

/** Seconds → `1 h 02 min`, `3 min 05 s`, `12 s`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function formatPercent(done: number, total: number): string {
  if (total <= 0) return '0 %';
  return `${Math.floor((Math.min(done, total) / total) * 100)} %`;
}

export function formatDate(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '—';
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The file name of a path written with either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** The folder of a path, for a secondary line under a file name. */
export function dirName(path: string): string {
  const at = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return at <= 0 ? '' : path.slice(0, at);
}

/**
 * Strings from a guest or a disk header (file names, descriptor values) are shown as React text,
 * never as HTML; this also drops control characters and caps the length so a hostile header
 * cannot flood the layout.
 */
export function cleanText(value: string, max = 4096): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * The engine's messages end with what to do on the command line ("use --force to …"); in the app
 * the same choice is a checkbox or a button, so the hint is said in the app's words (issue 16).
 */
const CLI_HINTS: Array<[RegExp, string]> = [
  [/; use --ignore-cid to read anyway/g, ''],
  [/ now need --ignore-cid/g, ' now open only with “Ignore CID mismatches”'],
  [/\(use --force to replace it\)/g, '(tick “Replace existing files” to replace it)'],
  [/, or use --force to /g, ', or tick “Go ahead anyway” to '],
  [/, or use --force\b/g, ', or tick “Commit even if the parent has other children”'],
  [/ are read only with --allow-devices/g, ' are read only by the command line, when told to'],
  [/; name it with --parent/g, ''],
  [/ \(--force\)/g, ''],
  [/, "diskchain reparent" points this disk at it/g, ', “Locate parent…” points this disk at it'],
  [/, use --fix-cid to set parentCID to /g, ', “Choose it again and set the CID” sets parentCID to '],
];

export function appText(message: string): string {
  return CLI_HINTS.reduce((text, [pattern, words]) => text.replace(pattern, words), message);
}
