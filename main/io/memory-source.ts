/**
 * Files held in memory, as a FileSource: the smallest second source, so tests prove that chain
 * resolution goes through the interface; also the shape of sources made from archive members.
 */
import * as path from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { shownPath, type FileSource, type FileStat, type RandomAccessFile, type SourcePath } from './file-source.js';

class MemoryFile implements RandomAccessFile {
  constructor(private readonly bytes: Buffer) {}

  get size(): number {
    return this.bytes.length;
  }

  read(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    if (position >= this.bytes.length) return 0;
    return this.bytes.copy(buf, bufOffset, position, Math.min(this.bytes.length, position + length));
  }

  close(): void {}
}

export class MemoryFiles implements FileSource {
  readonly name = 'memory';
  private readonly files = new Map<string, Buffer>();

  /** `files`: absolute POSIX path → content. */
  constructor(files: Iterable<[string, Buffer]> = []) {
    for (const [p, bytes] of files) this.files.set(path.posix.resolve(p), bytes);
  }

  open(raw: SourcePath, mode: 'read' | 'write'): RandomAccessFile {
    const p = shownPath(raw);
    const bytes = this.files.get(path.posix.resolve(p));
    if (!bytes) {
      if (this.isDirectory(p)) throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', p);
      throw new DiskchainError('E_NOTFOUND', 'no such file', p);
    }
    if (mode === 'write') throw new DiskchainError('E_UNSUPPORTED', 'files in memory are read-only', p);
    return new MemoryFile(bytes);
  }

  stat(raw: SourcePath): FileStat | null {
    const p = shownPath(raw);
    const bytes = this.files.get(path.posix.resolve(p));
    if (bytes) return { kind: 'file', size: bytes.length, mtimeMs: 0 };
    return this.isDirectory(p) ? { kind: 'directory', size: 0, mtimeMs: 0 } : null;
  }

  realpath(p: string): string {
    return path.posix.resolve(p);
  }

  private isDirectory(p: string): boolean {
    const prefix = `${path.posix.resolve(p)}/`.replace(/\/+$/, '/');
    return [...this.files.keys()].some((f) => f.startsWith(prefix));
  }
}
