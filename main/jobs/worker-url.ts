import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled script of a worker. Under vitest the engine runs from its .ts sources, where no
 * .js sibling exists; worker threads need plain JavaScript, so use the build in dist/ instead
 * (`npm test` builds first).
 */
export function workerUrl(name: string): URL {
  const sibling = new URL(`./${name}.js`, import.meta.url);
  if (fs.existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL(`../../dist/main/jobs/${name}.js`, import.meta.url);
  if (fs.existsSync(fileURLToPath(built))) return built;
  throw new Error(`worker script ${name}.js not found: run npm run build`);
}
