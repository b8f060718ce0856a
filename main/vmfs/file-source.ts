/**
 * A VMFS volume as a FileSource (io/file-source.ts): chain resolution, and with it every engine
 * command, opens a descriptor, its -flat extent and its -delta links inside the volume the same
 * way it opens host files. Read-only; thin files tell their holes so copies stay sparse.
 */
import * as posix from 'node:path/posix';
import { DiskchainError } from '../../shared/errors.js';
import { shownPath, type FileSource, type FileStat, type HostRegion, type RandomAccessFile, type SourcePath } from '../io/file-source.js';
import type { VmfsVolume } from './volume.js';

class VmfsFile implements RandomAccessFile {
  private thin: boolean | undefined;
  constructor(
    private readonly volume: VmfsVolume,
    private readonly address: number,
    readonly size: number,
  ) {}

  read(buf: Uint8Array, bufOffset: number, length: number, position: number): number {
    if (position >= this.size) return 0;
    const fd = this.volume.readFd(this.address);
    const target = Buffer.from(buf.buffer, buf.byteOffset + bufOffset, Math.min(length, this.size - position));
    return this.volume.readFile(fd, target, position);
  }

  isThin(): boolean {
    this.thin ??= this.volume.allocatedBytes(this.volume.readFd(this.address)) < this.size;
    return this.thin;
  }

  dataRegions(start: number, end: number): Array<{ start: number; end: number }> {
    return this.volume.dataRegions(this.volume.readFd(this.address), start, end);
  }

  hostRegions(start: number, end: number): HostRegion[] {
    return this.volume.hostRegions(this.volume.readFd(this.address), start, end);
  }

  close(): void {}
}

export function vmfsFileSource(volume: VmfsVolume): FileSource {
  const resolve = (p: SourcePath): string => posix.resolve('/', shownPath(p));
  return {
    name: `VMFS volume ${volume.fs.label || volume.fs.uuid}`,
    open(raw, mode) {
      const p = resolve(raw);
      if (mode === 'write') throw new DiskchainError('E_UNSUPPORTED', 'files in a VMFS volume image are read-only', p);
      const entry = volume.lookup(p, true);
      if (entry.error) throw new DiskchainError('E_FORMAT', entry.error, p);
      if (entry.type === 'dir') throw new DiskchainError('E_FORMAT', 'is a directory, not a disk file', p);
      if (entry.type === 'rdm') {
        throw new DiskchainError('E_UNSUPPORTED', `is a raw device mapping: its data is on LUN ${entry.rdm?.id ?? '?'}, not in this volume image`, p);
      }
      if (entry.type !== 'file') throw new DiskchainError('E_FORMAT', `is a ${entry.type} entry, not a disk file`, p);
      return new VmfsFile(volume, entry.address, entry.size);
    },
    stat(raw): FileStat | null {
      try {
        const e = volume.lookup(resolve(raw), true);
        const kind = e.type === 'dir' ? 'directory' : e.type === 'file' ? 'file' : e.type === 'rdm' ? 'device' : 'other';
        return { kind, size: e.size, mtimeMs: e.mtimeMs ?? 0 };
      } catch (e) {
        if (e instanceof DiskchainError && e.code === 'E_NOTFOUND') return null;
        throw e;
      }
    },
    realpath(p) {
      try {
        return volume.resolve(resolve(p), true).path;
      } catch (e) {
        if (e instanceof DiskchainError && e.code === 'E_NOTFOUND') return resolve(p);
        throw e;
      }
    },
  };
}
