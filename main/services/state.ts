import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A small JSON file of remembered state (recent files, window bounds) in the user's data folder.
 * A missing or damaged file reads as the fallback; writes go to a temporary name, then rename.
 */
export class StateFile<T> {
  constructor(
    readonly file: string,
    private readonly parse: (value: unknown) => T,
    private readonly fallback: () => T,
  ) {}

  read(): T {
    try {
      return this.parse(JSON.parse(fs.readFileSync(this.file, 'utf8')));
    } catch {
      return this.fallback();
    }
  }

  write(value: T): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
    fs.renameSync(temp, this.file);
  }
}

/** Where Diskchain keeps its state when Electron's app.getPath('userData') is not there (the browser host). */
export function defaultStateDir(): string {
  const env = process.env['DISKCHAIN_STATE_DIR'];
  if (env) return env;
  const home = process.env['HOME'] ?? process.env['USERPROFILE'] ?? '.';
  if (process.platform === 'win32') return path.join(process.env['APPDATA'] ?? home, 'diskchain');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'diskchain');
  return path.join(process.env['XDG_STATE_HOME'] ?? path.join(home, '.local', 'state'), 'diskchain');
}
