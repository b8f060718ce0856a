/**
 * One ext inode, decoded: mode, owner, size, times (with the nanosecond/epoch extra fields when the
 * inode is large enough to hold them), flags, the 60-byte i_block area and the in-inode xattrs.
 * Layout: the kernel's `struct ext4_inode`.
 */
import type { EntryType, GuestEntry } from '../types.js';

export const FLAG_ENCRYPT = 0x800;
export const FLAG_EXTENTS = 0x80000;
export const FLAG_INLINE_DATA = 0x10000000;
const FLAG_COMPRESSED = 0x4;

const S_IFMT = 0xf000;
const S_IFREG = 0x8000;
const S_IFDIR = 0x4000;
const S_IFLNK = 0xa000;

const XATTR_MAGIC = 0xea020000;
const XATTR_INDEX_SYSTEM = 7;

export interface Inode {
  number: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linksCount: number;
  flags: number;
  atimeMs: number | null;
  ctimeMs: number | null;
  mtimeMs: number | null;
  birthtimeMs: number | null;
  /** The 60-byte i_block area: block map, extent root, fast symlink target or inline data. */
  block: Buffer;
  /** The value of the in-inode `system.data` xattr (the rest of inline data), or null. */
  inlineTail: Buffer | null;
}

/** Decodes inode `number` from its on-disk bytes (inodeSize long); throws a message on damage. */
export function decodeInode(number: number, raw: Buffer): Inode {
  const mode = raw.readUInt16LE(0x00);
  const flags = raw.readUInt32LE(0x20);
  const fieldEnd = fieldsEnd(raw, 0, raw.length);
  return {
    number,
    mode,
    uid: raw.readUInt16LE(0x02) + raw.readUInt16LE(0x78) * 65536,
    gid: raw.readUInt16LE(0x18) + raw.readUInt16LE(0x7a) * 65536,
    size: sizeOf(raw, 0),
    linksCount: raw.readUInt16LE(0x1a),
    flags,
    atimeMs: inodeTime(raw, 0, fieldEnd, 0x08, 0x8c),
    ctimeMs: inodeTime(raw, 0, fieldEnd, 0x0c, 0x84),
    mtimeMs: inodeTime(raw, 0, fieldEnd, 0x10, 0x88),
    birthtimeMs: fieldEnd >= 0x94 ? inodeTime(raw, 0, fieldEnd, 0x90, 0x94) : null,
    block: raw.subarray(0x28, 0x28 + 60),
    inlineTail: flags & FLAG_INLINE_DATA ? systemData(raw, fieldEnd) : null,
  };
}

/** What listing a folder needs of its inode (readDirEntries): no owner, times or xattrs. */
export type FolderInode = Pick<Inode, 'number' | 'mode' | 'flags' | 'size' | 'block' | 'inlineTail'>;

/**
 * A folder's inode from `size` bytes at `at` of `bytes`, its i_block copied into `block` (60 bytes,
 * the caller's to reuse for the next folder), or null when it keeps inline data (decodeInode reads
 * the xattr that holds the rest). Throws a message on damage, as decodeInode does.
 */
export function folderInode(number: number, bytes: Buffer, at: number, block: Buffer): FolderInode | null {
  const flags = bytes.readUInt32LE(at + 0x20);
  if (flags & FLAG_INLINE_DATA) return null;
  bytes.copy(block, 0, at + 0x28, at + 0x28 + 60);
  return { number, mode: bytes.readUInt16LE(at), flags, size: sizeOf(bytes, at), block, inlineTail: null };
}

/**
 * A listing's entry for inode `number` straight from its bytes (`size` bytes at `at`), with no Inode
 * object in between: a walk makes one per file. Null for a symlink, whose target needs decodeInode.
 * Throws a message on damage, as decodeInode does.
 */
export function listedEntry(name: string, number: number, bytes: Buffer, at: number, size: number): GuestEntry | null {
  const mode = bytes.readUInt16LE(at);
  const type = entryType(mode);
  if (type === 'symlink') return null;
  const fieldEnd = fieldsEnd(bytes, at, size);
  const entry: GuestEntry = {
    name,
    type,
    size: sizeOf(bytes, at),
    id: String(number),
    mtimeMs: inodeTime(bytes, at, fieldEnd, 0x10, 0x88),
    atimeMs: inodeTime(bytes, at, fieldEnd, 0x08, 0x8c),
    ctimeMs: inodeTime(bytes, at, fieldEnd, 0x0c, 0x84),
    birthtimeMs: fieldEnd >= 0x94 ? inodeTime(bytes, at, fieldEnd, 0x90, 0x94) : null,
    mode,
    uid: bytes.readUInt16LE(at + 0x02) + bytes.readUInt16LE(at + 0x78) * 65536,
    gid: bytes.readUInt16LE(at + 0x18) + bytes.readUInt16LE(at + 0x7a) * 65536,
  };
  const attributes = flagWords(bytes.readUInt32LE(at + 0x20));
  if (attributes) entry.attributes = attributes;
  return entry;
}

/** Where the inode's fields end: 128 bytes plus i_extra_isize. */
function fieldsEnd(bytes: Buffer, at: number, size: number): number {
  const extraSize = size > 128 ? bytes.readUInt16LE(at + 0x80) : 0;
  if (128 + extraSize > size || extraSize % 4 !== 0) throw new Error(`extra size ${extraSize} runs past the ${size}-byte inode`);
  return 128 + extraSize;
}

function sizeOf(bytes: Buffer, at: number): number {
  const size = bytes.readUInt32LE(at + 0x04) + bytes.readUInt32LE(at + 0x6c) * 2 ** 32;
  if (!Number.isSafeInteger(size)) throw new Error(`size ${size} is impossible`);
  return size;
}

/** A time in ms: signed 32-bit seconds, and when the inode holds the extra word, its epoch bits and nanoseconds. */
function inodeTime(bytes: Buffer, at: number, fieldEnd: number, base: number, extra: number): number {
  const seconds = bytes.readInt32LE(at + base);
  if (extra + 4 > fieldEnd) return seconds * 1000;
  const word = bytes.readUInt32LE(at + extra);
  // The low two bits extend the signed 32-bit seconds past 2038; the rest are nanoseconds.
  return (seconds + (word & 3) * 2 ** 32) * 1000 + (word >>> 2) / 1e6;
}

export function entryType(mode: number): EntryType {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

export function attributesOf(inode: Inode): string[] | undefined {
  return flagWords(inode.flags);
}

function flagWords(flags: number): string[] | undefined {
  if (!(flags & (FLAG_ENCRYPT | FLAG_COMPRESSED))) return undefined;
  const words: string[] = [];
  if (flags & FLAG_ENCRYPT) words.push('encrypted');
  if (flags & FLAG_COMPRESSED) words.push('compressed');
  return words;
}

/**
 * The in-inode xattr `system.data`, which holds inline data past the first 60 bytes. The xattr area
 * starts after the extra fields with a magic; each entry's value offset counts from the first entry.
 */
function systemData(raw: Buffer, start: number): Buffer | null {
  if (start + 4 > raw.length || raw.readUInt32LE(start) !== XATTR_MAGIC) return null;
  const first = start + 4;
  let at = first;
  while (at + 16 <= raw.length && raw.readUInt32LE(at) !== 0) {
    const nameLength = raw[at];
    const nameIndex = raw[at + 1];
    const valueOffset = raw.readUInt16LE(at + 2);
    const valueInode = raw.readUInt32LE(at + 4);
    const valueSize = raw.readUInt32LE(at + 8);
    if (at + 16 + nameLength > raw.length) throw new Error('an in-inode xattr name runs past the inode');
    const name = raw.toString('latin1', at + 16, at + 16 + nameLength);
    if (nameIndex === XATTR_INDEX_SYSTEM && name === 'data') {
      if (valueInode !== 0) throw new Error('inline data kept in an xattr inode is not supported');
      if (first + valueOffset + valueSize > raw.length) throw new Error('the inline data xattr runs past the inode');
      return raw.subarray(first + valueOffset, first + valueOffset + valueSize);
    }
    at += (16 + nameLength + 3) & ~3;
  }
  return null;
}
