import type { FormatDriver } from '../driver.js';
import { newHostedSparseExtent } from './layout.js';
import { isSparseMagic, openSparseExtent } from './reader.js';
import { KdmvWriter } from './writer.js';

/** Hosted sparse (`KDMV`): monolithicSparse, split sparse extents and streamOptimized (read only). */
export const sparseDriver: FormatDriver = {
  name: 'hostedSparse',
  probe: isSparseMagic,
  open: (file) => openSparseExtent(file),
  openWriter: (file, _placement, fill) => KdmvWriter.open(file, fill),
  create: (spec) => newHostedSparseExtent(spec.capacitySectors, spec.descriptor ?? null),
};
