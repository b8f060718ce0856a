import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * A small JSON file of remembered state (recent files, window bounds) in the user's data folder.
 * A missing or damaged file reads as the fallback; writes go to a temporary name, then rename,
 * one at a time (`update` reads, changes and writes as one step).
 */
export class StateFile<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly parse: (value: unknown) => T,
    private readonly fallback: () => T,
  ) {}

  async read(): Promise<T> {
    try {
      return this.parse(JSON.parse(await fs.readFile(this.file, 'utf8')));
    } catch {
      return this.fallback();
    }
  }

  write(value: T): Promise<void> {
    return this.update(() => value);
  }

  /** Replaces the value by `change(current)`, after every earlier write has landed. */
  update(change: (current: T) => T): Promise<void> {
    const step = this.queue.then(async () => {
      const next = change(await this.read());
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.tmp`;
      await fs.writeFile(temp, `${JSON.stringify(next, null, 2)}\n`);
      await fs.rename(temp, this.file);
    });
    this.queue = step.catch(() => undefined);
    return step;
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
