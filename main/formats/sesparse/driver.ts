import { unsupportedError } from '../../../shared/errors.js';
import type { FormatDriver } from '../driver.js';
import { isSeSparseMagic, openSeSparseExtent } from './reader.js';

/** seSparse (`-sesparse.vmdk`, ESXi 5.5+ snapshots): read only. */
export const seSparseDriver: FormatDriver = {
  name: 'seSparse',
  probe: isSeSparseMagic,
  open: (file) => openSeSparseExtent(file),
  openWriter: (file) => {
    throw unsupportedError(file.path, 'a seSparse extent cannot be written in place');
  },
};
