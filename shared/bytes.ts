/** Sizes as people read and type them, in binary units (as VMware's tools use): the CLI, the UI and the engine's messages. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * `1536` → `1.5 KiB`, `67108864` → `64 MiB` (three significant digits, trailing zeros dropped);
 * with `decimals`, that many digits after the point (`64.0 MiB`). Whole bytes below 1000.
 * The unit changes at 1000, not 1024, so a number never takes four digits: `0.98 GiB`, not `1000.0 MiB`.
 */
export function formatBytes(bytes: number, decimals?: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  // Below 1 (1000–1023 of the unit below) one more digit, so that 0.98 does not read as 1.0.
  if (decimals !== undefined) return `${value.toFixed(value < 1 ? decimals + 1 : decimals)} ${UNITS[unit]}`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  // Trailing zeros go only after a point: 300 KiB stays 300, 1.50 becomes 1.5.
  const text = value.toFixed(digits);
  return `${digits > 0 ? text.replace(/\.?0+$/, '') : text} ${UNITS[unit]}`;
}

/** `40G`, `512M`, `1.5T`, `20GiB`, `1048576` (bytes); null when the text is not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) return null;
  const power = ' KMGTP'.indexOf((m[2] ?? '').toUpperCase() || ' ');
  const bytes = Number(m[1]) * 1024 ** power;
  return Number.isFinite(bytes) ? Math.round(bytes) : null;
}
