/**
 * Places chosen in main-side dialogs, as opaque ids: where a job writes (a file or a folder), a
 * .vmx to back up, an archive folder to restore or a folder to scan.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
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
      if (file === undefined) return null;
      if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new DiskchainError('E_NOTFOUND', 'no such file', file);
      return this.add('file', fs.realpathSync(file));
    }
    const file = await this.dialogs.saveFile({ title: options.title ?? 'Save as', suggestedName: options.suggestedName, filter });
    if (file === null) return null;
    const folder = path.dirname(path.resolve(file));
    if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new DiskchainError('E_NOTFOUND', 'the folder does not exist', folder);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw new DiskchainError('E_EXISTS', 'a folder of that name exists', file);
    return this.add('file', path.join(fs.realpathSync(folder), path.basename(file)));
  }

  async chooseFolder(options: { title?: string | undefined }): Promise<Target | null> {
    const folder = await this.dialogs.chooseFolder({ title: options.title ?? 'Choose a folder' });
    if (folder === null) return null;
    if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new DiskchainError('E_NOTFOUND', 'no such folder', folder);
    return this.add('folder', fs.realpathSync(folder));
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
