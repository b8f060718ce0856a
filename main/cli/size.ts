import { usageError } from '../../shared/errors.js';
import { parseSize as parseBytes } from '../../shared/bytes.js';

/** "20G", "20GiB", "1.5T", "512K" or plain bytes; binary units, as VMware's tools use. */
export function parseSize(text: string, what = 'size'): number {
  const bytes = parseBytes(text);
  if (bytes === null) throw usageError(`bad ${what} "${text}": use a number of bytes or a number with K, M, G or T (e.g. 20G)`);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw usageError(`bad ${what} "${text}": out of range`);
  return bytes;
}
