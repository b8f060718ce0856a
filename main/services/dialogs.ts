import * as path from 'node:path';

/**
 * Where files come from: main-side dialogs. Electron shows native ones (main/electron-dialogs
 * in main/electron/index.ts); the browser host and tests use ScriptedDialogs, whose answers are the paths
 * given on the `serve` command line or set by a test. The renderer never supplies a path.
 */
export type FileFilter = 'disk' | 'vmdk' | 'raw' | 'vmx' | 'any';

export interface Dialogs {
  readonly kind: 'native' | 'scripted';
  /** Files to open; [] when cancelled. */
  openFiles(options: { title: string; filter: FileFilter; multiple: boolean }): Promise<string[]>;
  /** Where to write a file; null when cancelled. */
  saveFile(options: { title: string; suggestedName: string | undefined; filter: FileFilter }): Promise<string | null>;
  /** A folder; null when cancelled. */
  chooseFolder(options: { title: string }): Promise<string | null>;
}

export interface DialogScript {
  /** Answers of the open dialog, in order; each answer is one or more files. */
  open?: string[][];
  /** Answers of save dialogs, in order. */
  save?: string[];
  /** Answers of folder dialogs, in order. */
  folder?: string[];
  /** With no scripted save answer left: the suggested name inside this folder. */
  saveDir?: string;
}

/** Answers dialogs from queues; an empty queue answers "cancelled". */
export class ScriptedDialogs implements Dialogs {
  readonly kind = 'scripted';
  private open: string[][] = [];
  private save: string[] = [];
  private folder: string[] = [];
  private saveDir: string | undefined;

  constructor(script: DialogScript = {}) {
    this.script(script);
  }

  /** Adds answers to the queues (a test can call this between steps). */
  script(script: DialogScript): void {
    this.open.push(...(script.open ?? []));
    this.save.push(...(script.save ?? []));
    this.folder.push(...(script.folder ?? []));
    if (script.saveDir !== undefined) this.saveDir = script.saveDir;
  }

  /** Drops all queued answers. */
  reset(): void {
    this.open = [];
    this.save = [];
    this.folder = [];
    this.saveDir = undefined;
  }

  async openFiles(options: { multiple: boolean }): Promise<string[]> {
    const files = this.open.shift() ?? [];
    return options.multiple ? files : files.slice(0, 1);
  }

  async saveFile(options: { suggestedName: string | undefined }): Promise<string | null> {
    const next = this.save.shift();
    if (next !== undefined) return next;
    if (this.saveDir !== undefined && options.suggestedName !== undefined) return path.join(this.saveDir, options.suggestedName);
    return null;
  }

  async chooseFolder(): Promise<string | null> {
    return this.folder.shift() ?? null;
  }
}
