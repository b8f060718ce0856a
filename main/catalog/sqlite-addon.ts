/**
 * Where better-sqlite3's native addon is, found once, for its `nativeBinding` option: its default
 * search (the `bindings` package) stats a dozen candidate folders on every start and cannot see
 * its package from inside the CLI bundle. Electron's packaged app keeps the default search, which
 * knows the unpacked asar layout.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

let found: string | null | undefined;

/** The addon's file, or undefined for better-sqlite3's own search. */
export function sqliteAddonPath(): string | undefined {
  if (found === undefined) found = process.versions['electron'] === undefined ? locate() : null;
  return found ?? undefined;
}

function locate(): string | null {
  try {
    const packageJson = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
    const file = path.join(path.dirname(packageJson), 'build', 'Release', 'better_sqlite3.node');
    return fs.existsSync(file) ? file : null;
  } catch {
    return null;
  }
}
