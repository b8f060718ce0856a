import { usageError } from '../../shared/errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "20G", "20GiB", "1.5T", "512K" or plain bytes; binary units, as VMware's tools use. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text);
  if (!m) throw usageError(`bad ${what} "${text}": use a number of bytes or a number with K, M, G or T (e.g. 20G)`);
  const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(Math.round(bytes)) || bytes <= 0) throw usageError(`bad ${what} "${text}": out of range`);
  return Math.round(bytes);
}
