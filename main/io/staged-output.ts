import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { ioError } from './disk-file.js';
import { WRITE_BEHIND_BYTES, writeFully } from './write.js';

export { WRITE_BEHIND_BYTES };

/** A file being written inside a staging folder; positional writes, synchronous like the readers. */
export class OutFile {
  private fd: number;
  /** Highest byte written so far (the file's logical size). */
  size = 0;
  /** Bytes written since the last background sync started. */
  private unsynced = 0;
  /** A background fdatasync on the thread pool, until its callback runs. */
  private syncing: Promise<void> | null = null;
  private closeWhenSynced = false;

  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'wx');
    } catch (e) {
      throw ioError(path, e);
    }
  }

  writeAt(buf: Uint8Array, position: number): void {
    try {
      writeFully(this.fd, buf, position);
    } catch (e) {
      throw ioError(this.path, e);
    }
    this.size = Math.max(this.size, position + buf.length);
    this.unsynced += buf.length;
  }

  /**
   * Write-behind for long copies: every WRITE_BEHIND_BYTES, an fdatasync starts on the thread
   * pool while the writer goes on filling the page cache, so the disk writes during the copy and
   * the final fsync (commit) waits only for the tail; written then synced, the two take their sum.
   * Returns a promise to await between writes when it is time (it yields to the event loop, which
   * is what lets a finished sync report), else null: the common call costs nothing.
   */
  writeBehind(): Promise<void> | null {
    if (this.unsynced < WRITE_BEHIND_BYTES) return null;
    // Asked again after the next WRITE_BEHIND_BYTES, whether a sync starts now or one is still running.
    this.unsynced = 0;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      if (this.syncing || this.fd < 0) return;
      const fd = this.fd;
      this.syncing = new Promise<void>((resolve) => {
        // An error here shows again in the final fsync, which is the one that counts.
        fs.fdatasync(fd, () => {
          this.syncing = null;
          if (this.closeWhenSynced) this.closeNow();
          resolve();
        });
      });
    });
  }

  append(buf: Uint8Array): number {
    const at = this.size;
    this.writeAt(buf, at);
    return at;
  }

  /** Sets the length without writing (holes stay sparse on disk). */
  truncate(length: number): void {
    fs.ftruncateSync(this.fd, length);
    this.size = length;
  }

  sync(): void {
    fs.fsyncSync(this.fd);
  }

  /** Closes now, or when a background sync ends: its descriptor must not be reused under it. */
  close(): void {
    if (this.syncing) this.closeWhenSynced = true;
    else this.closeNow();
  }

  private closeNow(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * All files of one output (a descriptor and its extents) are written into a hidden staging
 * folder beside their destination, fsynced, then renamed into place with the primary file (the
 * descriptor users open) last. A crash or cancel never leaves a disk that looks complete.
 */
export class StagedOutput {
  private readonly files = new Map<string, OutFile>();
  private done = false;

  private constructor(
    readonly dir: string,
    private readonly staging: string,
  ) {}

  /** Refuses existing destinations unless `force`; `names` are base names inside `dir`. */
  static create(dir: string, names: string[], options: { force?: boolean } = {}): StagedOutput {
    const abs = path.resolve(dir);
    if (!fs.existsSync(abs)) throw new DiskchainError('E_NOTFOUND', 'destination folder does not exist', abs);
    for (const n of names) {
      const target = path.join(abs, n);
      if (fs.existsSync(target) && !options.force) {
        throw new DiskchainError('E_EXISTS', 'already exists (use --force to replace it)', target);
      }
    }
    const staging = path.join(abs, `.diskchain-${crypto.randomBytes(4).toString('hex')}.partial`);
    fs.mkdirSync(staging);
    return new StagedOutput(abs, staging);
  }

  /** Creates a file that will become `dir/name` on commit. */
  open(name: string): OutFile {
    const f = new OutFile(path.join(this.staging, name));
    this.files.set(name, f);
    return f;
  }

  /** Where `name` will be once committed. */
  finalPath(name: string): string {
    return path.join(this.dir, name);
  }

  /** fsyncs everything and renames into place; `primary` (if given) goes last. */
  commit(primary?: string): string[] {
    const names = [...this.files.keys()].sort((a, b) => Number(a === primary) - Number(b === primary));
    for (const f of this.files.values()) {
      f.sync();
      f.close();
    }
    for (const n of names) fs.renameSync(path.join(this.staging, n), path.join(this.dir, n));
    fs.rmdirSync(this.staging);
    syncDir(this.dir);
    this.done = true;
    return names.map((n) => path.join(this.dir, n));
  }

  /** Removes everything written so far; safe to call twice or after commit. */
  abort(): void {
    if (this.done) return;
    for (const f of this.files.values()) f.close();
    fs.rmSync(this.staging, { recursive: true, force: true });
    this.done = true;
  }
}

export function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems (and Windows) cannot fsync a folder; the renames are still in order.
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** Replaces one file atomically: write `name.tmp`, fsync, rename over. `mode` sets the new file's permissions. */
export function replaceFile(target: string, content: string | Uint8Array, options: { mode?: number } = {}): void {
  const tmp = `${target}.diskchain-${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', options.mode);
  try {
    fs.writeFileSync(fd, content);
    // openSync's mode is masked by the umask; an executable .vmx must stay executable.
    if (options.mode !== undefined) fs.fchmodSync(fd, options.mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
  syncDir(path.dirname(target));
}
