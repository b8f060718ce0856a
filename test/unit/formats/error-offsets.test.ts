/** Errors and problems carry the byte offset they concern as a field, not only in their text. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, DiskchainError } from '../../../shared/errors.js';
import { openLink } from '../../../main/disk/link.js';
import { buildCowd } from '../../fixtures/cowd-builder.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';

describe('byte offsets in errors and problems', () => {
  const dir = tmpDir();

  it('a grain past the end of a cut COWD file is reported at its table entry, and reading it fails at the grain', () => {
    const file = path.join(dir, 'cut.REDO');
    buildCowd(file, { capacitySectors: 4096, parentFileName: 'x.dsk', writes: [{ lba: 2000, data: patternBytes(4096, 3) }] });
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 2048);
    const link = openLink(file);
    try {
      const problems = link.data.check();
      const past = problems.find((p) => /past the end of the file/.test(p.message));
      expect(past?.offset).toBeGreaterThan(0);
      expect(past!.offset! % 4).toBe(0);
      const header = problems.find((p) => p.location === 'header byte 28');
      expect(header?.offset).toBe(28);
      let error: unknown;
      try {
        const buf = Buffer.alloc(4096);
        link.data.read(buf, 2000 * 512);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DiskchainError);
      const wire = (error as DiskchainError).toWire();
      expect(wire.code).toBe('E_FORMAT');
      expect(wire.offset).toBeGreaterThan(0);
      expect(wire.offset).toBeLessThanOrEqual(size);
    } finally {
      link.data.close();
    }
  });

  it('maps every error code to one exit status', () => {
    expect(EXIT_CODES.E_USAGE).toBe(2);
    expect(EXIT_CODES.E_CANCELLED).toBe(130);
    expect(EXIT_CODES.E_INTERNAL).toBe(70);
    expect(EXIT_CODES.E_FORMAT).toBe(1);
  });
});
