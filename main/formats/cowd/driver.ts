import type { FormatDriver } from '../driver.js';
import { newCowdFile } from './create.js';
import { isCowdMagic, openCowdExtent } from './reader.js';
import { CowdWriter } from './writer.js';

/** COWD: ESX 2 `.REDO` logs and ESX 3+ vmfsSparse `-delta.vmdk` files. */
export const cowdDriver: FormatDriver = {
  name: 'cowd',
  probe: isCowdMagic,
  open: (file) => openCowdExtent(file),
  openWriter: (file, _placement, fill) => CowdWriter.open(file, fill),
  create: (spec) => {
    const head = newCowdFile({
      capacitySectors: spec.capacitySectors,
      ...(spec.parentFileName === undefined ? {} : { parentFileName: spec.parentFileName, parentGeneration: spec.parentGeneration ?? 0 }),
    });
    return { head, fileBytes: head.length };
  },
};
