import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import type { EntryType, FileSystemDriver, GuestEntry, GuestFileSystem } from '../types.js';
import { type Extent, readExtents, readMapped } from './bmap.js';
import { crcMatches } from './crc32c.js';
import { readDirectory } from './directory.js';
import { FORMAT_BTREE, FORMAT_EXTENTS, FORMAT_LOCAL, type Inode, isDir, isRegular, isSymlink, readInode } from './inode.js';
import { logNote } from './log.js';
import { probeSuperblock, readSuperblock } from './superblock.js';
import { XfsVolume } from './volume.js';

const SYMLINK_MAGIC = 0x58534c4d; // "XSLM"
const SYMLINK_HEADER_V5 = 56;
const MAX_SYMLINK = 1024;
/** Extents kept across reads, in all cached files together (about 50 bytes each). */
const EXTENT_CACHE_BUDGET = 500_000;

/** An XFS v4 or v5 volume, read-only: folders of every v2 form, files through their extent maps, symlinks. */
export class XfsFileSystem implements GuestFileSystem {
  readonly type = 'xfs' as const;
  readonly label: string | null;
  readonly uuid: string | null;
  readonly notes: string[];
  private readonly volume: XfsVolume;
  private readonly extentCache = new Map<number, Extent[]>();

  constructor(readonly device: BlockDevice) {
    const sb = readSuperblock(device);
    this.volume = new XfsVolume(device, sb);
    this.label = sb.label;
    this.uuid = sb.uuid;
    this.notes = [...sb.notes];
    const log = logNote(this.volume);
    if (log) this.notes.push(log);
    const root = readInode(this.volume, sb.rootIno);
    if (!isDir(root)) throw this.volume.damaged(`root inode ${sb.rootIno}`, 'is not a directory');
  }

  root(): GuestEntry {
    return this.entryOf('/', readInode(this.volume, this.volume.sb.rootIno));
  }

  list(dir: GuestEntry): GuestEntry[] {
    const inode = this.inodeOf(dir);
    if (!isDir(inode)) throw new DiskchainError('E_USAGE', `${dir.name} is not a folder`, this.device.file);
    return readDirectory(this.volume, inode).map(({ name, ino }) => {
      try {
        return this.entryOf(name, readInode(this.volume, ino));
      } catch (e) {
        // A damaged inode spoils that entry only; reading it reports the damage.
        if (!(e instanceof DiskchainError)) throw e;
        return { name, type: 'other', size: 0, id: String(ino), mtimeMs: null };
      }
    });
  }

  read(file: GuestEntry, buf: Buffer, offset: number, stream?: string): number {
    if (stream !== undefined) throw new DiskchainError('E_NOTFOUND', `XFS has no named data streams (${file.name}:${stream})`, this.device.file);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new DiskchainError('E_USAGE', `${file.name}: read offset ${offset} is not a byte position`, this.device.file);
    const inode = this.inodeOf(file);
    if (isSymlink(inode)) {
      const target = this.symlinkTarget(inode);
      const count = Math.max(0, Math.min(buf.length, target.length - offset));
      target.copy(buf, 0, offset, offset + count);
      return count;
    }
    if (!isRegular(inode)) throw new DiskchainError('E_UNSUPPORTED', `${file.name} is not a regular file`, this.device.file);
    if (inode.realtime) throw new DiskchainError('E_UNSUPPORTED', `XFS inode ${inode.ino}: file data on the realtime device is not read`, this.device.file);
    if (inode.format === FORMAT_LOCAL) {
      const count = Math.max(0, Math.min(buf.length, inode.size - offset, inode.dataFork.length - offset));
      inode.dataFork.copy(buf, 0, offset, offset + count);
      return count;
    }
    return readMapped(this.volume, this.extentsOf(inode), inode.size, buf, offset);
  }

  private inodeOf(entry: GuestEntry): Inode {
    const ino = Number(entry.id);
    if (!Number.isSafeInteger(ino) || ino < 0) throw new DiskchainError('E_USAGE', `${entry.name}: not an entry of this XFS volume`, this.device.file);
    return readInode(this.volume, ino);
  }

  private extentsOf(inode: Inode): Extent[] {
    const cached = this.extentCache.get(inode.ino);
    if (cached) return cached;
    const extents = readExtents(this.volume, inode);
    let total = extents.length;
    for (const kept of this.extentCache.values()) total += kept.length;
    // Evict the oldest files until the new one fits; a file over the budget is kept alone.
    for (const [ino, kept] of this.extentCache) {
      if (total <= EXTENT_CACHE_BUDGET) break;
      this.extentCache.delete(ino);
      total -= kept.length;
    }
    this.extentCache.set(inode.ino, extents);
    return extents;
  }

  private symlinkTarget(inode: Inode): Buffer {
    const where = `symlink inode ${inode.ino}`;
    if (inode.size === 0 || inode.size > MAX_SYMLINK) throw this.volume.damaged(where, `target length ${inode.size} is not 1 to ${MAX_SYMLINK}`);
    if (inode.format === FORMAT_LOCAL) {
      if (inode.size > inode.dataFork.length) throw this.volume.damaged(where, `target length ${inode.size} runs past the inode`);
      return inode.dataFork.subarray(0, inode.size);
    }
    if (inode.format !== FORMAT_EXTENTS && inode.format !== FORMAT_BTREE) throw this.volume.damaged(where, `data fork format ${inode.format}`);
    const extents = this.extentsOf(inode);
    const { blockSize, version } = this.volume.sb;
    if (version === 4) {
      const target = Buffer.alloc(inode.size);
      readMapped(this.volume, extents, inode.size, target, 0);
      return target;
    }
    // v5 remote symlink blocks each carry a header saying which bytes of the target they hold.
    const parts: Buffer[] = [];
    let total = 0;
    const block = Buffer.alloc(blockSize);
    for (let logical = 0; total < inode.size; logical += blockSize) {
      if (logical > MAX_SYMLINK * 2 + blockSize) throw this.volume.damaged(where, 'remote blocks hold less than the target length');
      readMapped(this.volume, extents, Number.MAX_SAFE_INTEGER, block, logical);
      const bytes = block.readUInt32BE(8);
      const blockWhere = `${where} remote block ${logical / blockSize}`;
      if (block.readUInt32BE(0) !== SYMLINK_MAGIC) throw this.volume.damaged(blockWhere, 'no XSLM header');
      if (bytes === 0 || bytes > blockSize - SYMLINK_HEADER_V5 || total + bytes > inode.size) throw this.volume.damaged(blockWhere, `byte count ${bytes} does not fit`);
      if (!crcMatches(block, 12)) throw this.volume.damaged(blockWhere, 'CRC mismatch');
      if (block.readBigUInt64BE(32) !== BigInt(inode.ino)) throw this.volume.damaged(blockWhere, 'belongs to another inode');
      parts.push(Buffer.from(block.subarray(SYMLINK_HEADER_V5, SYMLINK_HEADER_V5 + bytes)));
      total += bytes;
    }
    return Buffer.concat(parts);
  }

  private entryOf(name: string, inode: Inode): GuestEntry {
    const entry: GuestEntry = {
      name,
      type: entryType(inode),
      size: inode.size,
      id: String(inode.ino),
      mtimeMs: inode.mtimeMs,
      atimeMs: inode.atimeMs,
      ctimeMs: inode.ctimeMs,
      birthtimeMs: inode.birthtimeMs,
      mode: inode.mode,
      uid: inode.uid,
      gid: inode.gid,
    };
    if (entry.type === 'symlink') {
      try {
        entry.linkTarget = this.symlinkTarget(inode).toString('utf8');
      } catch (e) {
        if (!(e instanceof DiskchainError)) throw e;
      }
    }
    return entry;
  }
}

function entryType(inode: Inode): EntryType {
  if (isRegular(inode)) return 'file';
  if (isDir(inode)) return 'dir';
  if (isSymlink(inode)) return 'symlink';
  return 'other';
}

export const xfsDriver: FileSystemDriver = {
  types: ['xfs'],
  probe: (device) => (probeSuperblock(device) ? 'xfs' : null),
  open: (device) => new XfsFileSystem(device),
};
