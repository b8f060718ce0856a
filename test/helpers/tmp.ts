import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';

/** A fresh temporary folder, removed when the test file finishes. */
export function tmpDir(prefix = 'diskchain-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Kept with the fixtures (which the bench also compiles, without vitest); re-exported for tests.
export { patternBytes } from '../fixtures/pattern.js';
