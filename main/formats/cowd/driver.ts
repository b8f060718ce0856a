import type { FormatDriver } from '../driver.js';
import { isCowdMagic, openCowdExtent } from './reader.js';
import { CowdWriter } from './writer.js';

/** COWD: ESX 2 `.REDO` logs and ESX 3+ vmfsSparse `-delta.vmdk` files. */
export const cowdDriver: FormatDriver = {
  name: 'cowd',
  probe: isCowdMagic,
  open: (file) => openCowdExtent(file),
  openWriter: (file, _placement, fill) => CowdWriter.open(file, fill),
};
