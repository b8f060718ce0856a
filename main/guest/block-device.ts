import { DiskchainError } from '../../shared/errors.js';
import type { Chain } from '../disk/chain.js';

/**
 * A stretch of a device for big sequential reads (get): its bytes lie as they are at `position` of
 * host file `file` (read it there directly), or read as zeros (`zero`), or else only through read().
 */
export interface DeviceRun {
  offset: number;
  length: number;
  zero?: boolean;
  file?: string;
  position?: number;
}

/**
 * The bytes a guest reader sees: a whole chain, a partition of it, or a logical volume. There is no
 * write method at all, so "never write to a source disk" holds by construction (file-level.md §5).
 * Reads are synchronous like the engine's: guest readers run in worker threads.
 */
export interface BlockDevice {
  /** Size in bytes. */
  readonly size: number;
  /** Logical sector size of the disk (512, or 4096 for a 4Kn disk once a partition table says so). */
  readonly sectorSize: number;
  /** What the bytes are, for errors: "web01.vmdk", "web01.vmdk partition 2", "web01.vmdk vg0/root". */
  readonly name: string;
  /** The disk file that errors name. */
  readonly file: string;
  /** Fills buf with the bytes at offset; a read past the end is a DiskchainError, not zeros. */
  read(buf: Buffer, offset: number): void;
  /**
   * Optional (a chain of more than one link, and slices of it): whether the top link holds none of
   * these bytes, so that they read the same in the chain without it. diff's shortcut for folders.
   */
  sameAsParent?(offset: number, length: number): boolean;
  /**
   * Optional: [offset, offset+length) as DeviceRuns in order, so that a long read can go straight to
   * the host files in small pieces instead of through the chain's readers for each piece.
   */
  hostRuns?(offset: number, length: number): DeviceRun[];
}

/**
 * A DeviceRun with every field set, in one order: runs then share one shape, and the code that reads
 * them (a walk reads two thousand blocks through them) is not thrown away when a zero run follows data.
 */
export function deviceRun(offset: number, length: number, zero = false, file?: string, position?: number): DeviceRun {
  return { offset, length, zero, file, position };
}

/** The flattened chain as a device. */
export function chainDevice(chain: Chain): BlockDevice {
  const file = chain.top.path;
  const device: BlockDevice = {
    size: chain.capacityBytes,
    sectorSize: 512,
    name: file,
    file,
    read: (buf, offset) => {
      checkRange(file, chain.capacityBytes, buf.length, offset);
      chain.read(buf, offset);
    },
    hostRuns: (offset, length) => {
      checkRange(file, chain.capacityBytes, length, offset);
      return chainRuns(chain, offset, length);
    },
  };
  if (chain.links.length > 1) {
    const top = chain.top;
    device.sameAsParent = (offset, length) => {
      checkRange(file, chain.capacityBytes, length, offset);
      // Past the top link's capacity the chain reads zeros, not its parent: not the same.
      if (offset + length > top.capacityBytes || chain.links[1]!.capacityBytes < offset + length) return false;
      return top.data.blockStatus(offset, length).every((run) => run.state === 'unallocated');
    };
  }
  return device;
}

/**
 * As flatChunks reads a chain: the link that decides each run and, where that link's format stores the
 * bytes as they are, the host file and position they lie at: a VMDK's own file, or the VMFS image that
 * holds it (Chain.mapRuns with backing).
 */
function chainRuns(chain: Chain, offset: number, length: number): DeviceRun[] {
  const out: DeviceRun[] = [];
  for (const run of chain.mapRuns(offset, length, true)) {
    if (run.state === 'zero' || run.layer === null) out.push(deviceRun(run.offset, run.length, true));
    else if (run.file !== undefined && run.position !== undefined) out.push(deviceRun(run.offset, run.length, false, run.file, run.position));
    else out.push(deviceRun(run.offset, run.length));
  }
  return out;
}

/**
 * The same bytes as `device` read another way (a probing cache, a replayed journal's overlay): its size,
 * sector size and names, reads through `read`, and none of its optional views (they would bypass `read`).
 */
export function readingThrough(device: BlockDevice, read: BlockDevice['read']): BlockDevice {
  return { size: device.size, sectorSize: device.sectorSize, name: device.name, file: device.file, read };
}

/** A window of a device: a partition, or a linear piece of a logical volume. */
export function sliceDevice(device: BlockDevice, offset: number, size: number, name: string, sectorSize = device.sectorSize): BlockDevice {
  if (offset < 0 || size < 0 || offset + size > device.size) {
    throw new DiskchainError('E_FORMAT', `${name} (${size} bytes at ${offset}) lies past the end of the disk (${device.size} bytes)`, device.file);
  }
  const slice: BlockDevice = {
    size,
    sectorSize,
    name,
    file: device.file,
    read: (buf, at) => {
      checkRange(device.file, size, buf.length, at, name);
      device.read(buf, offset + at);
    },
  };
  const runs = device.hostRuns?.bind(device);
  if (runs) {
    slice.hostRuns = (at, length) => {
      checkRange(device.file, size, length, at, name);
      return runs(offset + at, length).map((r) => deviceRun(r.offset - offset, r.length, r.zero, r.file, r.position));
    };
  }
  const parent = device.sameAsParent?.bind(device);
  if (parent) {
    slice.sameAsParent = (at, length) => {
      checkRange(device.file, size, length, at, name);
      return parent(offset + at, length);
    };
  }
  return slice;
}

/** A device over bytes in memory: test fixtures and small structures. */
export function bufferDevice(bytes: Buffer, name: string, sectorSize = 512): BlockDevice {
  return {
    size: bytes.length,
    sectorSize,
    name,
    file: name,
    read: (buf, offset) => {
      checkRange(name, bytes.length, buf.length, offset);
      bytes.copy(buf, 0, offset, offset + buf.length);
    },
  };
}

/** Reads `length` bytes at `offset` into a new buffer; for small structures (headers, tables), never file data. */
export function readBytes(device: BlockDevice, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  device.read(buf, offset);
  return buf;
}

function checkRange(file: string, size: number, length: number, offset: number, what?: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > size) {
    const where = what ? `${what}: ` : '';
    throw new DiskchainError('E_FORMAT', `${where}a read of ${length} bytes at ${offset} lies past the end (${size} bytes)`, file, offset);
  }
}
