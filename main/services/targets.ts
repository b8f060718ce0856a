/**
 * Places chosen in main-side dialogs, as opaque ids: where a job writes (a file or a folder), a
 * .vmx to back up, an archive folder to restore or a folder to scan.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import type { Target } from '../../shared/ipc/contract.js';
import type { Dialogs, FileFilter } from './dialogs.js';

export class TargetService {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly dialogs: Dialogs) {}

  async chooseFile(options: { mode?: 'save' | 'open' | undefined; suggestedName?: string | undefined; filter?: FileFilter | undefined; title?: string | undefined }): Promise<Target | null> {
    const filter = options.filter ?? 'any';
    if (options.mode === 'open') {
      const [file] = await this.dialogs.openFiles({ title: options.title ?? 'Choose a file', filter, multiple: false });
      return file === undefined ? null : this.fromPath(file, 'file', 'open');
    }
    const file = await this.dialogs.saveFile({ title: options.title ?? 'Save as', suggestedName: options.suggestedName, filter });
    return file === null ? null : this.fromPath(file, 'file', 'save');
  }

  async chooseFolder(options: { title?: string | undefined }): Promise<Target | null> {
    const folder = await this.dialogs.chooseFolder({ title: options.title ?? 'Choose a folder' });
    return folder === null ? null : this.fromPath(folder, 'folder');
  }

  /**
   * A place chosen in a dialog or in the browser host's file browser: an existing file (open), a
   * file in an existing folder (save: it may exist, the job decides), or an existing folder.
   */
  async fromPath(file: string, type: Target['type'], mode: 'save' | 'open' = 'save'): Promise<Target> {
    if (type === 'folder') {
      if (!(await statOf(file))?.isDirectory()) throw new DiskchainError('E_NOTFOUND', 'no such folder', file);
      return this.add('folder', await fs.realpath(file));
    }
    if (mode === 'open') {
      if (!(await statOf(file))?.isFile()) throw new DiskchainError('E_NOTFOUND', 'no such file', file);
      return this.add('file', await fs.realpath(file));
    }
    const folder = path.dirname(path.resolve(file));
    if (!(await statOf(folder))?.isDirectory()) throw new DiskchainError('E_NOTFOUND', 'the folder does not exist', folder);
    if ((await statOf(file))?.isDirectory()) throw new DiskchainError('E_EXISTS', 'a folder of that name exists', file);
    return this.add('file', path.join(await fs.realpath(folder), path.basename(file)));
  }

  /** The target behind an id, of the type the job needs. */
  get(targetId: string, type: Target['type']): Target {
    const target = this.targets.get(targetId);
    if (!target) throw new DiskchainError('E_NOTFOUND', 'that destination is unknown: choose it again');
    if (target.type !== type) throw new DiskchainError('E_USAGE', `this job needs a ${type} as its destination, not a ${target.type}`, target.path);
    return target;
  }

  /** A target of either type. */
  getAny(targetId: string): Target {
    const target = this.targets.get(targetId);
    if (!target) throw new DiskchainError('E_NOTFOUND', 'that destination is unknown: choose it again');
    return target;
  }

  private add(type: Target['type'], real: string): Target {
    const target: Target = { targetId: randomUUID(), type, path: real, name: path.basename(real) };
    this.targets.set(target.targetId, target);
    return target;
  }
}

/** The file's stat, or null when there is nothing there. */
async function statOf(file: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fs.stat(file);
  } catch {
    return null;
  }
}
