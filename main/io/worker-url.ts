import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The compiled script of a worker that lives beside the module `from` (its import.meta.url).
 * Bundles (out/main) and tsc's dist/ put it right beside; under vitest the engine runs from its .ts
 * sources, where no .js sibling exists and worker threads need plain JavaScript, so the same
 * folder under dist/ is used instead (`npm test` builds first).
 */
export function workerUrl(name: string, from: string): URL {
  const sibling = new URL(`./${name}.js`, from);
  if (fs.existsSync(fileURLToPath(sibling))) return sibling;
  const root = projectRoot();
  const folder = path.relative(root, path.dirname(fileURLToPath(from)));
  const built = pathToFileURL(path.join(root, 'dist', folder, `${name}.js`));
  if (fs.existsSync(fileURLToPath(built))) return built;
  throw new Error(`worker script ${name}.js not found: run npm run build`);
}

function projectRoot(): string {
  // This file is main/io/worker-url.ts in the sources.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}
