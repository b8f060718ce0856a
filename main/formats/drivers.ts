/** The registry of format drivers: format sniffing happens here and nowhere else. */
import { formatError } from '../../shared/errors.js';
import { DiskFile } from '../io/disk-file.js';
import { cowdDriver } from './cowd/driver.js';
import type { FormatDriver } from './driver.js';
import { flatDriver } from './flat/driver.js';
import { seSparseDriver } from './sesparse/driver.js';
import { sparseDriver } from './sparse/driver.js';

export type { ExtentPlacement, FormatDriver, FormatName, NewExtent, NewExtentBytes } from './driver.js';

/** Formats with a magic number, in the order they are tried. */
const MAGIC_DRIVERS: readonly FormatDriver[] = [sparseDriver, cowdDriver, seSparseDriver];

/** Enough of a file's start for every probe. */
export const HEAD_BYTES = 4096;

/** The driver whose magic starts `head`, or null (a descriptor, raw data, or not a disk). */
export function sniff(head: Uint8Array): FormatDriver | null {
  return MAGIC_DRIVERS.find((d) => d.probe(head)) ?? null;
}

/** The first bytes of a file, for sniff(). */
export function readHead(file: DiskFile): Buffer {
  const head = Buffer.alloc(Math.min(HEAD_BYTES, file.size));
  file.readAt(head, 0, 'file header');
  return head;
}

/**
 * The driver of an extent named by a descriptor line. FLAT and VMFS lines are raw data whatever
 * their bytes; for the others the magic wins over the line's type, as QEMU and VirtualBox do (§1.4).
 */
export function extentDriver(type: string, file: DiskFile): FormatDriver {
  if (type === 'FLAT' || type === 'VMFS') return flatDriver;
  const driver = sniff(readHead(file));
  if (!driver) throw formatError(file.path, `a ${type} extent must start with a KDMV, COWD or seSparse header; this file has none`);
  return driver;
}

export { cowdDriver, flatDriver, seSparseDriver, sparseDriver };
