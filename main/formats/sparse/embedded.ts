/** The text descriptor inside a monolithicSparse file (format doc §1.1), read and rewritten in place. */
import { formatError, unsupportedError } from '../../../shared/errors.js';
import { DiskFile } from '../../io/disk-file.js';
import { SECTOR } from '../extent.js';
import { isSparseMagic } from './reader.js';

/** 10 MiB: no tool reserves more; a larger field is a damaged header. */
const MAX_EMBEDDED_SECTORS = 20480;

function u64(buf: Buffer, offset: number, file: string, what: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError(file, `${what} (header byte ${offset}) is not plausible`);
  return Number(v);
}

export interface EmbeddedDescriptor {
  /** The descriptor bytes up to the first NUL. */
  bytes: Buffer;
  offsetBytes: number;
  /** Room reserved for it. */
  capacityBytes: number;
}

/** The descriptor inside a monolithicSparse file, or null when it has none. */
export function readEmbeddedDescriptor(file: string): EmbeddedDescriptor | null {
  const disk = DiskFile.open(file);
  try {
    if (disk.size < SECTOR) return null;
    const head = disk.readBlock(SECTOR, 0, 'sparse header');
    if (!isSparseMagic(head)) return null;
    const offset = u64(head, 28, file, 'descriptorOffset');
    const size = u64(head, 36, file, 'descriptorSize');
    if (offset === 0 || size === 0) return null;
    if (size > MAX_EMBEDDED_SECTORS) throw formatError(file, `embedded descriptor of ${size} sectors is not plausible`);
    const raw = Buffer.alloc(size * SECTOR);
    const n = disk.readAtMost(raw, offset * SECTOR);
    const nul = raw.subarray(0, n).indexOf(0);
    return { bytes: Buffer.from(raw.subarray(0, nul < 0 ? n : nul)), offsetBytes: offset * SECTOR, capacityBytes: size * SECTOR };
  } finally {
    disk.close();
  }
}

/**
 * Rewrites the embedded descriptor in place with one write of its whole reserved area (NUL padded),
 * then fsyncs. A process killed around it leaves the old or the new text, never a mix.
 */
export function writeEmbeddedDescriptor(file: string, where: EmbeddedDescriptor, bytes: Buffer): void {
  if (bytes.length > where.capacityBytes) {
    throw unsupportedError(file, `the new descriptor (${bytes.length} bytes) does not fit the ${where.capacityBytes} bytes reserved for it`);
  }
  const area = Buffer.alloc(where.capacityBytes);
  bytes.copy(area);
  const disk = DiskFile.openForWrite(file);
  try {
    disk.writeAt(area, where.offsetBytes);
    disk.sync();
  } finally {
    disk.close();
  }
}
