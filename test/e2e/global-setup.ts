import * as fs from 'node:fs';
import * as path from 'node:path';

/** The end-to-end tests drive what `npm run build` made; say so plainly when it is missing. */
export default function globalSetup(): void {
  const root = path.resolve(import.meta.dirname, '../..');
  const missing = ['dist/cli/diskchain.cjs', 'out/renderer/index.html'].filter((f) => !fs.existsSync(path.join(root, f)));
  if (missing.length > 0) {
    throw new Error(`end-to-end tests need a build first (missing ${missing.join(', ')}): run npm run build`);
  }
  fs.mkdirSync(path.join(root, 'test-results', 'screenshots'), { recursive: true });
}
