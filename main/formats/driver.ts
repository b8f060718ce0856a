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

/** What a new, empty extent is made for. */
export interface NewExtent {
  capacitySectors: number;
  /** A descriptor to embed (hosted sparse). */
  descriptor?: Buffer;
  /** An ESX 2 REDO log's parent, as its header records it, and that parent's generation (COWD). */
  parentFileName?: string;
  parentGeneration?: number;
}

/** An empty extent: the bytes its file starts with and the file's length (the rest reads as zeros). */
export interface NewExtentBytes {
  head: Buffer;
  fileBytes: number;
}

export interface FormatDriver {
  readonly name: FormatName;
  /** Whether a file starting with `head` is in this format (flat data has no magic: never). */
  probe(head: Uint8Array): boolean;
  /** A reader of the file; it owns `file` from now on (closing the reader closes it). */
  open(file: DiskFile, placement: ExtentPlacement): ExtentReader;
  /** A writer of the file in place, or why this file cannot be written; it owns `file`. */
  openWriter(file: DiskFile, placement: ExtentPlacement, fill: FillSource | null): ExtentWriter;
  /** The bytes of a new empty extent (snapshot children, extend); absent where Diskchain cannot create one. */
  create?(spec: NewExtent): NewExtentBytes;
}
