/**
 * One driver per on-disk format (QEMU's BlockDriver, style.md §1): how to recognise the format,
 * open it for reading, and open it for writing in place. The chain, the writers and the
 * converters ask a driver what a file can do instead of testing magic bytes or type names.
 */
import type { DiskFile } from '../io/disk-file.js';
import type { ExtentReader, ExtentWriter, FillSource } from './extent.js';

export type FormatName = 'hostedSparse' | 'cowd' | 'seSparse' | 'flat';

/** Where an extent's data lies in its file, as its descriptor line says (formats with headers ignore it). */
export interface ExtentPlacement {
  sizeBytes: number;
  offsetBytes: number;
}

export interface FormatDriver {
  readonly name: FormatName;
  /** Whether a file starting with `head` is in this format (flat data has no magic: never). */
  probe(head: Uint8Array): boolean;
  /** A reader of the file; it owns `file` from now on (closing the reader closes it). */
  open(file: DiskFile, placement: ExtentPlacement): ExtentReader;
  /** A writer of the file in place, or why this file cannot be written; it owns `file`. */
  openWriter(file: DiskFile, placement: ExtentPlacement, fill: FillSource | null): ExtentWriter;
}
