/**
 * Paths that name a file inside an image rather than on the host (`lun.img:/web01/web01.vmdk`, a
 * disk in a VMFS volume image). The layer that reads such images (vmfs/) registers how to tell
 * them; openChain, and with it every command, then reads a disk there as it reads a host disk.
 * This layer cannot import those readers (they are built on it), hence the registration.
 */
import * as nodePath from 'node:path';
import { DiskchainError } from '../../shared/errors.js';
import { hostFiles, type FileSource } from './file-source.js';

export interface PathSource {
  /** The source that reads `path`, or null when the path is not one of this kind. */
  sourceOf(path: string): FileSource | null;
  /** Why a write to such a path is refused ("read-only: inside a VMFS volume image"). */
  readOnlyReason: string;
}

const registered: PathSource[] = [];

export function registerPathSource(kind: PathSource): void {
  if (!registered.includes(kind)) registered.push(kind);
}

/** The source of a path inside an image; null for a host path. */
export function imageSourceOf(path: string): FileSource | null {
  for (const kind of registered) {
    const source = kind.sourceOf(path);
    if (source) return source;
  }
  return null;
}

/** Why nothing may be written at `path` (it is inside a read-only image); null for a host path. */
export function readOnlyReason(path: string): string | null {
  for (const kind of registered) if (kind.sourceOf(path)) return kind.readOnlyReason;
  return null;
}

/** Where `path` is read from: the image's source when it names a file inside one, else the host's. */
export function sourceFor(path: string): FileSource {
  return imageSourceOf(path) ?? hostFiles;
}

/** A whole small file (a .vmx, an .nvram) read through its source; refused past `maxBytes`. */
export function readWholeFile(path: string, maxBytes: number): Buffer {
  const file = sourceFor(path).open(path, 'read');
  try {
    if (file.size > maxBytes) throw new DiskchainError('E_FORMAT', `a ${file.size}-byte file is larger than the ${maxBytes} bytes expected here`, path);
    const buf = Buffer.alloc(file.size);
    for (let done = 0; done < buf.length; ) {
      const n = file.read(buf, done, buf.length - done, done);
      if (n <= 0) throw new DiskchainError('E_IO', `short read at ${done}`, path, done);
      done += n;
    }
    return buf;
  } finally {
    file.close();
  }
}

/** Refuses a write at `target` (an output, or a disk a command changes) when it is inside a read-only image. */
export function refuseWriteInside(target: string): void {
  const reason = readOnlyReason(nodePath.resolve(target));
  if (reason !== null) throw new DiskchainError('E_UNSUPPORTED', reason, target);
}
