/**
 * The one verdict on damage (issue 14): what every command decides at open, from the metadata
 * alone, before it reads a byte of data. A table or grain past the end of a file, or a flat
 * extent cut short, loses those LBA ranges; `cat`, `convert`, `commit` and the other data
 * commands refuse such a disk at open, `info` and `check` report it, `recover` saves the rest.
 */
import { formatBytes } from '../../shared/bytes.js';
import { DiskchainError } from '../../shared/errors.js';
import type { Damage } from '../../shared/types.js';
import type { Link } from './link.js';

const SECTOR = 512;
/** Ranges a report lists; the total counts them all. */
const MAX_LISTED = 1000;

export function linksDamage(links: readonly Link[]): Damage | null {
  const ranges: Damage['ranges'] = [];
  let lostBytes = 0;
  links.forEach((link, layer) => {
    for (const r of link.data.lostRanges?.() ?? []) {
      lostBytes += r.length;
      if (ranges.length < MAX_LISTED) ranges.push({ offset: r.offset, length: r.length, layer });
    }
  });
  return lostBytes === 0 ? null : { lostBytes, ranges };
}

/** `LBA 131072–137215` for a byte range. */
export function lbaRange(offset: number, length: number): string {
  const first = Math.floor(offset / SECTOR);
  const last = Math.ceil((offset + length) / SECTOR) - 1;
  return first === last ? `LBA ${first}` : `LBA ${first}–${last}`;
}

/** The refusal every data command gives a damaged disk. */
export function damageError(file: string, damage: Damage, capacityBytes: number): DiskchainError {
  const n = damage.ranges.length;
  const first = damage.ranges.slice(0, 3).map((r) => lbaRange(r.offset, r.length));
  const more = n > 3 ? ', …' : '';
  return new DiskchainError(
    'E_FORMAT',
    `damaged: ${formatBytes(damage.lostBytes, 1)} of ${formatBytes(capacityBytes, 1)} lost in ${n} range${n === 1 ? '' : 's'} ` +
      `(${first.join(', ')}${more}); "diskchain check" lists them, "diskchain recover" copies what survives`,
    file,
    damage.ranges[0]?.offset,
  );
}
