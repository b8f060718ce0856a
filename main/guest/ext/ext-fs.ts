/**
 * A read-only ext2/3/4 volume on a guest block device: folders (linear, htree and inline), files
 * (extents, block maps, inline data; holes and unwritten extents read as zeros), symlinks (fast, inline,
 * slow). Metadata goes through a small LRU; file data goes straight from the device into the caller's
 * buffer, one device read per contiguous run. A journal that needs recovery is replayed in memory
 * (journal.ts) unless asked not to.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import type { FileRun, FileSystemDriver, FileSystemType, GuestEntry, GuestFileSystem, GuestName, OpenOptions } from '../types.js';
import { overlayDevice, replayJournal, type JournalLog, type JournalReplay } from './journal.js';
import { BlockCache } from './block-cache.js';
import { mapExtents, mapIndirect, type MapContext, type Run } from './block-map.js';
import { parseDirBlock } from './directory.js';
import { ListedName, NameList } from '../name-list.js';
import { attributesOf, decodeInode, folderInode, listedEntry, entryType, FLAG_ENCRYPT, FLAG_EXTENTS, FLAG_INLINE_DATA, type FolderInode, type Inode } from './inode.js';
import { groupHasSuper, INCOMPAT_FILETYPE, INCOMPAT_META_BG, INCOMPAT_RECOVER, probeSuperblock, readSuperblock, SUPERBLOCK_OFFSET, type Superblock } from './superblock.js';

const ROOT_INODE = 2;
const METADATA_CACHE_BYTES = 8 * 1024 * 1024;
/** Folder and symlink sizes beyond these are damage, not data (8M entries; PATH_MAX). */
const MAX_DIR_BYTES = 256 * 1024 * 1024;
const MAX_SYMLINK_BYTES = 4096;
const MAX_REMEMBERED_GROUPS = 65536;
/** A listing reads inodes at most this far apart in one device read (reading past a gap beats another read). */
const INODE_RUN_GAP = 16 * 1024;
/** The largest such read. */
const INODE_RUN_BYTES = 1024 * 1024;

export class ExtFileSystem implements GuestFileSystem {
  readonly type: FileSystemType;
  readonly label: string | null;
  readonly uuid: string | null;
  readonly notes: string[];
  private readonly sb: Superblock;
  private readonly cache: BlockCache;
  /** Inode table block per group, so a walk reads each descriptor once; cleared when it grows past its cap. */
  private readonly inodeTables = new Map<number, number>();
  private readonly scratchInodes = Buffer.allocUnsafe(INODE_RUN_BYTES);
  /** One NameList for every listing of list(): its entries are used up before the next folder is read. */
  private readonly entries = new NameList();
  /** A listed folder's i_block (folderInode): used up before the next folder is read. */
  private readonly folderBlock = Buffer.alloc(60);

  /** `notes` are said besides the superblock's (what became of the journal). */
  constructor(
    readonly device: BlockDevice,
    notes: string[] = [],
    readonly replayed = false,
  ) {
    this.sb = readSuperblock(device);
    this.type = this.sb.type;
    this.label = this.sb.label;
    this.uuid = this.sb.uuid;
    this.notes = [...notes, ...this.sb.notes];
    this.cache = new BlockCache(device, this.sb.blockSize, METADATA_CACHE_BYTES);
    const root = this.inode(ROOT_INODE, '/');
    if (entryType(root.mode) !== 'dir') this.damaged(`root inode ${ROOT_INODE} is not a folder`);
  }

  root(): GuestEntry {
    return this.entryOf('/', this.inode(ROOT_INODE, '/'));
  }

  list(dir: GuestEntry): GuestEntry[] {
    return this.entriesFor(this.dirEntries(dir));
  }

  unchangedListing(dir: GuestName, entries: GuestName[]): boolean {
    const same = this.device.sameAsParent?.bind(this.device);
    if (!same) return false;
    const bs = this.sb.blockSize;
    const blocks: number[] = [];
    try {
      // The folder's inode, the map blocks and data blocks of the folder, and every entry's inode.
      // (Inode tables do not move, so the group descriptors that locate them need not be unchanged.)
      const n = this.inodeNumber(dir);
      const inode = this.inode(n, dir.name);
      blocks.push(Math.floor(this.inodePosition(n, dir.name) / bs));
      if (!(inode.flags & FLAG_INLINE_DATA)) {
        const ctx = this.mapContext(inode, dir.name);
        ctx.visit = (b: number) => void blocks.push(b);
        const count = Math.ceil(inode.size / bs);
        for (let logical = 0; logical < count; ) {
          const run: Run = inode.flags & FLAG_EXTENTS ? mapExtents(ctx, inode.block, logical, count - logical) : mapIndirect(ctx, inode.block, logical, count - logical);
          if (run.count <= 0) return false;
          if (run.physical !== null) for (let k = 0; k < run.count; k++) blocks.push(run.physical + k);
          logical += run.count;
        }
      }
      for (const e of entries) blocks.push(Math.floor(this.inodePosition(this.inodeNumber(e), e.name) / bs));
    } catch (err) {
      if (err instanceof DiskchainError) return false;
      throw err;
    }
    // Asked run by run: sorted, and neighbours merged.
    blocks.sort((a, b) => a - b);
    for (let i = 0; i < blocks.length; ) {
      let j = i + 1;
      while (j < blocks.length && blocks[j]! - blocks[j - 1]! <= 1) j++;
      if (!same(blocks[i]! * bs, (blocks[j - 1]! - blocks[i]! + 1) * bs)) return false;
      i = j;
    }
    return true;
  }

  /** Names and types from the dirents alone; false where a dirent has no type (no filetype feature). */
  listNamesInto(dir: GuestName, out: NameList): boolean {
    this.dirEntries(dir, out);
    return out.typesKnown();
  }

  private dirEntries(dir: GuestName, entries: NameList = this.entries): NameList {
    const inode = this.folderInode(this.inodeNumber(dir), dir.name);
    if (entryType(inode.mode) !== 'dir') throw new DiskchainError('E_USAGE', `${dir.name} is not a folder`, this.device.file);
    if (inode.flags & FLAG_ENCRYPT) {
      throw new DiskchainError('E_UNSUPPORTED', `${this.type} folder ${dir.name} (inode ${inode.number}) is encrypted (fscrypt); its names cannot be read`, this.device.file);
    }
    entries.reset();
    try {
      this.readDirEntries(inode, dir.name, entries);
    } catch (err) {
      if (!(err instanceof Error) || err instanceof DiskchainError) throw err;
      this.damaged(`folder ${dir.name} (inode ${inode.number}): ${err.message}`);
    }
    return entries;
  }

  read(file: GuestEntry, buf: Buffer, offset: number, stream?: string): number {
    if (stream !== undefined) {
      throw new DiskchainError('E_NOTFOUND', `${file.name}: ${this.type} files have no named streams (asked for "${stream}")`, this.device.file);
    }
    const inode = this.inode(this.inodeNumber(file), file.name);
    if (entryType(inode.mode) === 'dir') throw new DiskchainError('E_USAGE', `${file.name} is a folder`, this.device.file);
    return this.readData(inode, file.name, buf, offset);
  }

  dataRuns(file: GuestEntry, offset: number, length: number): FileRun[] | null {
    const inode = this.inode(this.inodeNumber(file), file.name);
    if (entryType(inode.mode) !== 'file' || inode.flags & (FLAG_INLINE_DATA | FLAG_ENCRYPT)) return null;
    this.checkOffset(file.name, offset);
    return this.runsOf(inode, file.name, offset, Math.max(0, Math.min(length, inode.size - offset)));
  }

  private readDirEntries(inode: FolderInode, name: string, out: NameList): void {
    const hasFileType = (this.sb.featureIncompat & INCOMPAT_FILETYPE) !== 0;
    if (inode.flags & FLAG_INLINE_DATA) {
      // i_block starts with the parent's inode number; entries follow, and continue in system.data.
      parseDirBlock(inode.block, 4, Math.min(60, Math.max(4, inode.size)), this.sb.blockSize, hasFileType, out);
      if (inode.inlineTail && inode.inlineTail.length > 0) parseDirBlock(inode.inlineTail, 0, inode.inlineTail.length, this.sb.blockSize, hasFileType, out);
      return;
    }
    const bs = this.sb.blockSize;
    if (inode.size > MAX_DIR_BYTES) throw new Error(`size ${inode.size} is more than a folder can hold`);
    if (inode.size % bs !== 0) throw new Error(`size ${inode.size} is not a whole number of ${bs}-byte blocks`);
    // Folder blocks come through the metadata cache: a folder's blocks sit near its siblings' and its
    // inode's, so one window read serves many folders of a walk.
    const blocks = inode.size / bs;
    const ctx = this.mapContext(inode, name);
    const extents = (inode.flags & FLAG_EXTENTS) !== 0;
    for (let logical = 0; logical < blocks; ) {
      const run: Run = extents ? mapExtents(ctx, inode.block, logical, blocks - logical) : mapIndirect(ctx, inode.block, logical, blocks - logical);
      if (run.count <= 0) this.damaged(`inode ${inode.number} (${name}): the block map gives an empty run at block ${logical}`);
      for (let k = 0; k < run.count; k++) {
        // A hole in a folder reads as zeros, which parseDirBlock reports as a bad entry.
        const bytes = run.physical === null ? Buffer.alloc(bs) : this.cache.get(run.physical + k);
        try {
          parseDirBlock(bytes, 0, bs, bs, hasFileType, out);
        } catch (err) {
          throw new Error(`block ${logical + k}: ${(err as Error).message}`);
        }
      }
      logical += run.count;
    }
  }

  /**
   * The entries of a folder with their inodes. The inodes are read in runs, in table order: a folder's
   * files mostly sit side by side in one inode table, so a run of INODE_RUN_GAP-close inodes is one device
   * read, not one read per inode (that was most of `ls -R`'s time). An inode that cannot be read still
   * lists its entry, from the dirent.
   */
  private entriesFor(d: NameList): GuestEntry[] {
    const sb = this.sb;
    const count = d.count;
    const out = new Array<GuestEntry>(count);
    const where = new Array<number>(count);
    const order: number[] = [];
    for (let i = 0; i < count; i++) {
      const n = d.ids[i] as number;
      where[i] = -1;
      if (n < 1 || n > sb.inodesCount) continue;
      const group = Math.floor((n - 1) / sb.inodesPerGroup);
      let table: number;
      try {
        table = this.inodeTable(group);
      } catch (err) {
        if (!(err instanceof DiskchainError)) throw err;
        continue;
      }
      where[i] = table * sb.blockSize + ((n - 1) % sb.inodesPerGroup) * sb.inodeSize;
      order.push(i);
    }
    order.sort((a, b) => where[a]! - where[b]!);
    const runBytes = this.scratchInodes;
    for (let k = 0; k < order.length; ) {
      const start = where[order[k]!]!;
      let end = k + 1;
      while (end < order.length && where[order[end]!]! + sb.inodeSize - start <= runBytes.length && where[order[end]!]! - where[order[end - 1]!]! <= INODE_RUN_GAP) end++;
      const length = where[order[end - 1]!]! + sb.inodeSize - start;
      let bytes: Buffer | null = runBytes.subarray(0, length);
      try {
        this.device.read(bytes, start);
      } catch (err) {
        if (!(err instanceof DiskchainError)) throw err;
        bytes = null;
      }
      for (let j = k; j < end; j++) {
        const i = order[j]!;
        out[i] = bytes === null ? this.entryFor(d, i) : this.entryFromTable(d, i, bytes, where[i]! - start);
      }
      k = end;
    }
    for (let i = 0; i < count; i++) if (where[i] === -1) out[i] = this.entryFor(d, i);
    return out;
  }

  /** Entry `i` of a listing from its inode's bytes at `at` of `bytes` (a reused buffer: nothing may point into it). */
  private entryFromTable(d: NameList, i: number, bytes: Buffer, at: number): GuestEntry {
    const n = d.ids[i] as number;
    const name = d.name(i);
    const size = this.sb.inodeSize;
    try {
      // A symlink's target is read through its i_block, so its inode is decoded from a copy.
      return listedEntry(name, n, bytes, at, size) ?? this.entryOf(name, decodeInode(n, Buffer.from(bytes.subarray(at, at + size))));
    } catch (err) {
      if (err instanceof DiskchainError) throw err;
      return { name, type: d.type(i) ?? 'other', size: 0, id: String(n), mtimeMs: null };
    }
  }

  /** Entry `i` of a listing; an entry whose inode is damaged is still listed, and reading it is the error. */
  private entryFor(d: NameList, i: number): GuestEntry {
    const name = d.name(i);
    const n = d.ids[i] as number;
    let inode: Inode;
    try {
      inode = this.inode(n, name);
    } catch (err) {
      if (!(err instanceof DiskchainError)) throw err;
      return { name, type: d.type(i) ?? 'other', size: 0, id: String(n), mtimeMs: null };
    }
    return this.entryOf(name, inode);
  }

  private entryOf(name: string, inode: Inode): GuestEntry {
    const type = entryType(inode.mode);
    const entry: GuestEntry = {
      name,
      type,
      size: inode.size,
      id: String(inode.number),
      mtimeMs: inode.mtimeMs,
      atimeMs: inode.atimeMs,
      ctimeMs: inode.ctimeMs,
      birthtimeMs: inode.birthtimeMs,
      mode: inode.mode,
      uid: inode.uid,
      gid: inode.gid,
    };
    const attributes = attributesOf(inode);
    if (attributes) entry.attributes = attributes;
    if (type === 'symlink') {
      try {
        entry.linkTarget = this.symlinkTarget(inode, name);
      } catch (err) {
        if (!(err instanceof DiskchainError)) throw err; // a damaged link lists without its target
      }
    }
    return entry;
  }

  private symlinkTarget(inode: Inode, name: string): string {
    if (inode.size > MAX_SYMLINK_BYTES) this.damaged(`symlink ${name} (inode ${inode.number}) claims a ${inode.size}-byte target`);
    const target = Buffer.alloc(inode.size);
    this.readData(inode, name, target, 0);
    return target.toString('utf8');
  }

  /** Reads file data at `offset` into buf; returns the count, less than buf.length only at the end. */
  private readData(inode: Inode, name: string, buf: Buffer, offset: number): number {
    if (inode.flags & FLAG_ENCRYPT) {
      throw new DiskchainError('E_UNSUPPORTED', `${name} (inode ${inode.number}) is encrypted (fscrypt) and cannot be read`, this.device.file);
    }
    this.checkOffset(name, offset);
    if (offset >= inode.size) return 0;
    const length = Math.min(buf.length, inode.size - offset);
    if (inode.flags & FLAG_INLINE_DATA) return this.readInline(inode, name, buf, offset, length);
    if (entryType(inode.mode) === 'symlink' && inode.size < 60) {
      // A fast symlink keeps its target in i_block (e2fsprogs' ext2fs_is_fast_symlink).
      inode.block.copy(buf, 0, offset, offset + length);
      return length;
    }
    let done = 0;
    for (const run of this.runsOf(inode, name, offset, length)) {
      const target = buf.subarray(done, done + run.length);
      if (run.at === null) target.fill(0);
      else this.device.read(target, run.at);
      done += run.length;
    }
    return length;
  }

  private checkOffset(name: string, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new DiskchainError('E_USAGE', `${name}: bad read offset ${offset}`, this.device.file);
  }

  /** Where bytes [offset, offset+length) of the inode's data lie (inside its size): one run per contiguous stretch. */
  private runsOf(inode: Inode, name: string, offset: number, length: number): FileRun[] {
    const bs = this.sb.blockSize;
    const ctx = this.mapContext(inode, name);
    const root = inode.block;
    const extents = (inode.flags & FLAG_EXTENTS) !== 0;
    const runs: FileRun[] = [];
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const logical = Math.floor(pos / bs);
      const within = pos % bs;
      const wanted = Math.ceil((within + length - done) / bs);
      const run: Run = extents ? mapExtents(ctx, root, logical, wanted) : mapIndirect(ctx, root, logical, wanted);
      if (run.count <= 0) this.damaged(`inode ${inode.number} (${name}): the block map gives an empty run at block ${logical}`);
      const bytes = Math.min(run.count * bs - within, length - done);
      runs.push({ at: run.physical === null ? null : run.physical * bs + within, length: bytes });
      done += bytes;
    }
    return runs;
  }

  private readInline(inode: Inode, name: string, buf: Buffer, offset: number, length: number): number {
    const tail = inode.inlineTail ?? Buffer.alloc(0);
    if (inode.size > 60 + tail.length) {
      this.damaged(`inode ${inode.number} (${name}): ${inode.size} bytes of inline data, but the inode holds ${60 + tail.length}`);
    }
    const data = Buffer.concat([inode.block, tail]);
    data.copy(buf, 0, offset, offset + length);
    return length;
  }

  private mapContext(inode: Pick<Inode, 'number'>, name: string): MapContext {
    return new InodeMap(this.cache, this.sb.blockSize, this.sb.blocksCount, this.device.file, `${this.type} inode`, inode.number, name);
  }

  private inodeNumber(entry: GuestName): number {
    if (entry instanceof ListedName && typeof entry.ref === 'number') return entry.ref;
    const n = Number(entry.id);
    if (!Number.isSafeInteger(n) || String(n) !== entry.id) {
      throw new DiskchainError('E_USAGE', `${entry.name}: "${entry.id}" is not an inode number of this volume`, this.device.file);
    }
    return n;
  }

  /**
   * Folder inode `n` as listing needs it, read in place: a walk lists every folder, and a whole
   * decode (owner, times, a copy of the inode) was a tenth of `ls -R`. Inline-data folders decode whole.
   */
  private folderInode(n: number, name: string): FolderInode {
    const at = this.inodePosition(n, name);
    const bs = this.sb.blockSize;
    try {
      return folderInode(n, this.cache.get(Math.floor(at / bs)), at % bs, this.folderBlock) ?? this.inode(n, name);
    } catch (err) {
      if (err instanceof DiskchainError) throw err;
      this.damaged(`inode ${n} (${name}): ${(err as Error).message}`);
    }
  }

  /** Where inode `n` starts on the volume, in bytes. */
  private inodePosition(n: number, name: string): number {
    const sb = this.sb;
    if (n < 1 || n > sb.inodesCount) this.damaged(`entry ${name} points to inode ${n}, outside 1–${sb.inodesCount}`);
    const group = Math.floor((n - 1) / sb.inodesPerGroup);
    return this.inodeTable(group) * sb.blockSize + ((n - 1) % sb.inodesPerGroup) * sb.inodeSize;
  }

  /** Inode `n`, found through its group descriptor; `name` is for errors. */
  private inode(n: number, name: string): Inode {
    const at = this.inodePosition(n, name);
    const bs = this.sb.blockSize;
    // Copied: the cached block may be reused while the inode is still in use.
    const raw = Buffer.from(this.cache.get(Math.floor(at / bs)).subarray(at % bs, (at % bs) + this.sb.inodeSize));
    try {
      return decodeInode(n, raw);
    } catch (err) {
      this.damaged(`inode ${n} (${name}): ${(err as Error).message}`);
    }
  }

  /** The first block of group `group`'s inode table, from its descriptor (32- or 64-byte, meta_bg aware). */
  private inodeTable(group: number): number {
    const known = this.inodeTables.get(group);
    if (known !== undefined) return known;
    const sb = this.sb;
    const perBlock = sb.blockSize / sb.descSize;
    const descBlockIndex = Math.floor(group / perBlock);
    // The table follows the superblock's block (block 2 with 1 KiB blocks, even under bigalloc where the
    // first data block is 0; block 1 otherwise).
    const tableStart = Math.floor(SUPERBLOCK_OFFSET / sb.blockSize) + 1;
    let descBlock: number;
    if (!(sb.featureIncompat & INCOMPAT_META_BG) || descBlockIndex < sb.firstMetaBg) {
      descBlock = tableStart + descBlockIndex;
    } else if (descBlockIndex === 0) {
      descBlock = tableStart;
    } else {
      // meta_bg: each meta group's descriptors sit in its first group, after the superblock backup if any.
      const firstGroup = descBlockIndex * perBlock;
      descBlock = sb.firstDataBlock + firstGroup * sb.blocksPerGroup + (groupHasSuper(sb, firstGroup) ? 1 : 0);
    }
    if (descBlock >= sb.blocksCount) this.damaged(`group descriptor block ${descBlock} of group ${group} lies past the end of the volume`);
    const desc = this.cache.get(descBlock);
    const at = (group % perBlock) * sb.descSize;
    const table = desc.readUInt32LE(at + 8) + (sb.descSize >= 64 ? desc.readUInt32LE(at + 0x28) * 2 ** 32 : 0);
    const tableBlocks = Math.ceil((sb.inodesPerGroup * sb.inodeSize) / sb.blockSize);
    if (table === 0 || table + tableBlocks > sb.blocksCount) {
      this.damaged(`group descriptor ${group}: inode table at block ${table} lies past the end of the volume (${sb.blocksCount} blocks)`);
    }
    if (this.inodeTables.size >= MAX_REMEMBERED_GROUPS) this.inodeTables.clear();
    this.inodeTables.set(group, table);
    return table;
  }

  get blockSize(): number {
    return this.sb.blockSize;
  }

  /** Whether the superblock says the journal holds changes not yet written to their place (needs_recovery). */
  get needsRecovery(): boolean {
    return (this.sb.featureIncompat & INCOMPAT_RECOVER) !== 0;
  }

  /** The journal's committed transactions, as a map of volume blocks (see journal.ts); E_FORMAT or E_UNSUPPORTED when it cannot be read. */
  replayJournal(): JournalReplay {
    const sb = this.sb;
    if (sb.journalInode === 0) throw new DiskchainError('E_UNSUPPORTED', 'the journal is on another device', this.device.file);
    const inode = this.inode(sb.journalInode, 'journal');
    const bs = sb.blockSize;
    const ctx = this.mapContext(inode, 'journal');
    const extents = (inode.flags & FLAG_EXTENTS) !== 0;
    const log: JournalLog = {
      blocks: Math.floor(inode.size / bs),
      physical: (j) => {
        const run = extents ? mapExtents(ctx, inode.block, j, 1) : mapIndirect(ctx, inode.block, j, 1);
        if (run.physical === null) this.damaged(`journal (inode ${inode.number}): block ${j} of the log is a hole`);
        return run.physical;
      },
    };
    return replayJournal(this.device, log, bs, sb.blocksCount);
  }

  private damaged(what: string): never {
    throw new DiskchainError('E_FORMAT', `${this.type} ${what}`, this.device.file);
  }
}

const MISSING = 'changes the guest made just before the snapshot may be missing';

/**
 * The volume, with its journal replayed in memory when the superblock says it needs recovery (unless
 * `replay` is false); the notes say which. A journal that cannot be read leaves the volume as it is on
 * disk, with a note saying why.
 */
export function openExt(device: BlockDevice, options: OpenOptions = {}): ExtFileSystem {
  const onDisk = new ExtFileSystem(device);
  if (!onDisk.needsRecovery) return onDisk;
  if (options.replay === false) {
    onDisk.notes.unshift(`journal not replayed (--no-replay): read as it is on disk; ${MISSING}`);
    return onDisk;
  }
  let replay: JournalReplay;
  try {
    replay = onDisk.replayJournal();
  } catch (err) {
    if (!(err instanceof DiskchainError)) throw err;
    onDisk.notes.unshift(`journal not replayed (${err.message}): read as it is on disk; ${MISSING}`);
    return onDisk;
  }
  if (replay.transactions === 0 && replay.stopped === null) {
    onDisk.notes.unshift('the journal needs recovery (needs_recovery) but holds no committed transaction: nothing to replay');
    return onDisk;
  }
  const notes = [`journal replayed: ${replay.transactions} transaction${replay.transactions === 1 ? '' : 's'} (${replay.copies.size} block${replay.copies.size === 1 ? '' : 's'}, in memory; --no-replay reads the volume as it is on disk)`];
  if (replay.stopped) notes.push(`journal replay stopped early: ${replay.stopped}; later transactions are not applied`);
  if (replay.badBlocks > 0) notes.push(`journal: ${replay.badBlocks} logged block${replay.badBlocks === 1 ? '' : 's'} with a wrong checksum skipped`);
  if (replay.fastCommit) notes.push('journal: fast-commit blocks are not replayed (the last full commit is read)');
  if (replay.copies.size === 0) {
    onDisk.notes.unshift(...notes);
    return onDisk;
  }
  return new ExtFileSystem(overlayDevice(device, onDisk.blockSize, replay), notes, true);
}

export const extDriver: FileSystemDriver = {
  types: ['ext2', 'ext3', 'ext4'],
  probe: (device: BlockDevice) => probeSuperblock(device),
  open: (device: BlockDevice, options?: OpenOptions) => openExt(device, options),
};

/**
 * What mapExtents and mapIndirect need to map an inode's blocks. The label errors give is made only
 * for an error: a walk maps a thousand folders and says nothing of most (an object literal with a
 * getter cost microseconds each).
 */
class InodeMap implements MapContext {
  visit?: (block: number) => void;

  constructor(
    readonly cache: BlockCache,
    readonly blockSize: number,
    readonly blocksCount: number,
    readonly file: string,
    private readonly kind: string,
    private readonly number: number,
    private readonly name: string,
  ) {}

  get where(): string {
    return `${this.kind} ${this.number} (${this.name})`;
  }
}
