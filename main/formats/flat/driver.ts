import type { FormatDriver } from '../driver.js';
import { SECTOR } from '../extent.js';
import { FlatExtent } from './reader.js';
import { FlatWriter } from './writer.js';

/** FLAT and VMFS extents, `-flat.vmdk`, raw `.dsk`: bytes at an offset of a file. */
export const flatDriver: FormatDriver = {
  name: 'flat',
  probe: () => false,
  open: (file, { sizeBytes, offsetBytes }) => new FlatExtent(file, sizeBytes, offsetBytes),
  openWriter: (file, { offsetBytes }) => new FlatWriter(file, offsetBytes),
  create: (spec) => ({ head: Buffer.alloc(0), fileBytes: spec.capacitySectors * SECTOR }),
};
