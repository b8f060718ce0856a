import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Where the catalog lives when no --db is given: $DISKCHAIN_CATALOG, else the user's data folder
 * (XDG on Linux and the BSDs, Application Support on macOS, %APPDATA% on Windows).
 */
export function defaultCatalogPath(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir(),
): string {
  const override = env['DISKCHAIN_CATALOG'];
  if (override) return override;
  if (platform === 'win32') {
    const appData = env['APPDATA'] || path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, 'diskchain', 'catalog.db');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'diskchain', 'catalog.db');
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env['XDG_DATA_HOME'];
  const dataHome = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.local', 'share');
  return path.posix.join(dataHome, 'diskchain', 'catalog.db');
}
