import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The compiled script of a worker that lives beside the module `from` (its import.meta.url).
 * The bundles put it right beside (out/main as .js, the CLI's CommonJS dist/cli as .cjs), and so
 * does tsc's dist/; under vitest the engine runs from its .ts sources, where no .js sibling exists
 * and worker threads need plain JavaScript, so the same folder under dist/ is used instead
 * (`npm test` builds first).
 */
export function workerUrl(name: string, from: string): URL {
  for (const extension of ['.cjs', '.js']) {
    const sibling = new URL(`./${name}${extension}`, from);
    if (fs.existsSync(fileURLToPath(sibling))) return sibling;
  }
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
