/**
 * An opened NTFS volume: the MFT (found through its own runlist), records with an LRU cache,
 * attributes merged across $ATTRIBUTE_LIST extension records, directory listings from the $I30
 * index B-tree, and file data through StreamReader. Read-only; every structure is checked before use.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { BlockDevice } from '../block-device.js';
import type { GuestEntry, GuestFileSystem } from '../types.js';
import { listIndex } from './directory.js';
import { LruCache } from '../../../shared/lru.js';
import { parseWofReparse, WofReader, WOF_STREAM } from './wof.js';
import { assembleStream, StreamReader, type Stream } from './stream.js';
import {
  applyFixups,
  ATTR,
  ATTR_FLAG,
  attributeWords,
  FILE_ATTR_DIRECTORY,
  FILE_ATTR_ENCRYPTED,
  filetimeMs,
  parseBootSector,

  parseRecord,
  parseReparse,
  RECORD_DIRECTORY,
  RECORD_IN_USE,
  REPARSE,
  utf16,
  type Attribute,
  type BootSector,
  type FileName,
  type MftRecord,
  type Reparse,
} from './structures.js';

const ROOT_RECORD = 5;
const VOLUME_RECORD = 3;
const MFT_PAGE = 64 * 1024;
/** Caps on what a damaged record could make us load. */
const MAX_ATTRIBUTE_LIST = 4 * 1024 * 1024;
const MAX_EXTENSION_RECORDS = 4096;

/** A file's attributes, base record and extensions together. */
interface FileRecord {
  record: MftRecord;
  attributes: Attribute[];
}

export class NtfsVolume implements GuestFileSystem {
  readonly type = 'ntfs' as const;
  readonly label: string | null;
  readonly uuid: string | null;
  readonly notes: string[] = [];
  readonly boot: BootSector;
  private readonly streams: StreamReader;
  private readonly wof: WofReader;
  private mft: Stream;
  private readonly pages = new LruCache<Buffer, string>(16);
  private readonly records = new LruCache<FileRecord, string>(512);

  constructor(readonly device: BlockDevice) {
    const sector = Buffer.alloc(512);
    device.read(sector, 0);
    this.boot = this.guard(() => parseBootSector(sector, device.size));
    this.uuid = this.boot.serial;
    this.streams = new StreamReader(device, this.boot.clusterSize);
    this.wof = new WofReader(this.streams, device.file);
    this.mft = this.bootstrapMft();
    const volume = this.file(VOLUME_RECORD);
    const name = volume.attributes.find((a) => a.type === ATTR.volumeName)?.value;
    this.label = name && name.length > 0 ? utf16(name, 0, name.length) : null;
    const info = volume.attributes.find((a) => a.type === ATTR.volumeInformation)?.value;
    if (info && info.length >= 12 && info.readUInt16LE(10) & 0x0001) {
      this.notes.push('volume is dirty: $LogFile was not replayed, so recent changes may be missing or inconsistent');
    }
  }

  root(): GuestEntry {
    return this.entry(ROOT_RECORD, '', null);
  }

  list(dir: GuestEntry): GuestEntry[] {
    const number = recordOf(dir);
    const file = this.file(number);
    const root = file.attributes.find((a) => a.type === ATTR.indexRoot && a.name === '$I30');
    if (!(file.record.flags & RECORD_DIRECTORY)) throw new DiskchainError('E_USAGE', `NTFS record ${number} (${dir.name || '/'}) is not a directory`, this.device.file);
    if (!root?.value) throw this.error(`record ${number} (${dir.name || '/'}) is a directory without an $I30 index root`);
    const allocation = file.attributes.filter((a) => a.type === ATTR.indexAllocation && a.name === '$I30');
    const stream = allocation.length ? this.guard(() => assembleStream(allocation, `record ${number} $INDEX_ALLOCATION`)) : null;
    const readIndex = (buf: Buffer, offset: number): number => (stream ? this.streams.read(stream, buf, offset) : 0);
    const keys = this.guard(() => listIndex(root.value as Buffer, readIndex, stream?.dataSize ?? 0, this.boot.clusterSize, `record ${number} index`));
    const entries: GuestEntry[] = [];
    const seen = new Map<number, string[]>(); // names listed per record: a hard link shows once per name
    for (const { reference, sequence, key } of keys) {
      if (reference === number) continue; // the root lists itself as "."
      const names = seen.get(reference);
      if (names?.includes(key.name) || this.isStale(reference, sequence)) continue;
      if (names) names.push(key.name);
      else seen.set(reference, [key.name]);
      entries.push(this.entry(reference, key.name, key));
    }
    return entries;
  }

  read(entry: GuestEntry, buf: Buffer, offset: number, streamName = ''): number {
    const number = recordOf(entry);
    const file = this.file(number);
    const label = `record ${number} (${entry.name})${streamName ? ` stream "${streamName}"` : ''}`;
    const reparse = this.reparseOf(file);
    if (reparse?.tag === REPARSE.wof && streamName === '') return this.readWof(file, reparse, buf, offset, label);
    if (reparse?.tag === REPARSE.dedup && streamName === '') throw this.unsupported(`${label} is a Windows deduplication stub, which this version does not read`);
    const extents = file.attributes.filter((a) => a.type === ATTR.data && a.name === streamName);
    if (extents.length === 0) {
      if (file.record.flags & RECORD_DIRECTORY) throw new DiskchainError('E_USAGE', `NTFS ${label} is a directory`, this.device.file);
      if (streamName === '') return 0; // a system file with only index attributes has no content
      throw new DiskchainError('E_NOTFOUND', `NTFS ${label} has no such data stream`, this.device.file);
    }
    const si = file.attributes.find((a) => a.type === ATTR.standardInformation)?.value;
    const encrypted = extents.some((a) => a.flags & ATTR_FLAG.encrypted) || (si && si.length >= 0x24 && si.readUInt32LE(0x20) & FILE_ATTR_ENCRYPTED);
    if (encrypted) throw this.unsupported(`${label} is EFS-encrypted; its content cannot be read without the user's key`);
    const stream = this.guard(() => assembleStream(extents, label));
    return this.guard(() => this.streams.read(stream, buf, offset));
  }

  private readWof(file: FileRecord, reparse: Reparse, buf: Buffer, offset: number, label: string): number {
    const info = this.guard(() => {
      try {
        return parseWofReparse(reparse.value);
      } catch (e) {
        throw new Error(`${label} ${(e as Error).message}`);
      }
    });
    const data = file.attributes.filter((a) => a.type === ATTR.data && a.name === WOF_STREAM);
    const placeholder = file.attributes.find((a) => a.type === ATTR.data && a.name === '' && a.startVcn === 0);
    if (data.length === 0 || !placeholder) throw this.error(`${label} is a WOF file without its ${WOF_STREAM} stream`);
    const stream = this.guard(() => assembleStream(data, `${label} ${WOF_STREAM}`));
    return this.guard(() => this.wof.read(info, stream, placeholder.dataSize, buf, offset, label));
  }

  /** An index entry left behind for a deleted file whose record now holds another one (a crash-consistent snapshot). */
  private isStale(reference: number, sequence: number): boolean {
    if (sequence === 0) return false;
    try {
      return this.file(reference).record.sequence !== sequence;
    } catch {
      return false; // a damaged record is listed from its index key, and refused when read
    }
  }

  /** The record's attributes with those of its $ATTRIBUTE_LIST extension records; cached. */
  private file(number: number): FileRecord {
    const cached = this.records.get(String(number));
    if (cached) return cached;
    const record = this.record(number);
    if (!(record.flags & RECORD_IN_USE)) throw this.error(`record ${number} is not in use`);
    if (record.base !== number) throw this.error(`record ${number} is an extension of record ${record.base}, not a file`);
    const attributes = [...record.attributes];
    const list = record.attributes.filter((a) => a.type === ATTR.attributeList);
    if (list.length) {
      for (const extension of this.extensionRecords(number, list)) {
        const ext = this.record(extension);
        if (ext.base !== number) throw this.error(`record ${number}: its attribute list names record ${extension}, which belongs to record ${ext.base}`);
        attributes.push(...ext.attributes);
      }
    }
    const file = { record, attributes };
    this.records.set(String(number), file);
    return file;
  }

  private extensionRecords(number: number, list: Attribute[]): number[] {
    const stream = this.guard(() => assembleStream(list, `record ${number} $ATTRIBUTE_LIST`));
    if (stream.dataSize > MAX_ATTRIBUTE_LIST) throw this.error(`record ${number}: its attribute list of ${stream.dataSize} bytes is absurd`);
    const bytes = Buffer.alloc(stream.dataSize);
    this.guard(() => this.streams.read(stream, bytes, 0));
    const records = new Set<number>();
    for (let pos = 0; pos + 0x1a <= bytes.length; ) {
      const length = bytes.readUInt16LE(pos + 4);
      if (length < 0x1a || pos + length > bytes.length) throw this.error(`record ${number}: attribute list entry at ${pos} runs past the list end`);
      const ref = Number(bytes.readBigUInt64LE(pos + 0x10) & 0xffffffffffffn);
      if (ref !== number) records.add(ref);
      if (records.size > MAX_EXTENSION_RECORDS) throw this.error(`record ${number}: its attribute list names over ${MAX_EXTENSION_RECORDS} records`);
      pos += length;
    }
    return [...records];
  }

  /** Parses one MFT record (fixups verified). */
  private record(number: number): MftRecord {
    const size = this.boot.recordSize;
    if (!Number.isSafeInteger(number) || number < 0 || (number + 1) * size > this.mft.dataSize) {
      throw this.error(`record ${number} lies past the end of the MFT (${Math.floor(this.mft.dataSize / size)} records)`);
    }
    const pageSize = Math.max(MFT_PAGE, size);
    const page = Math.floor((number * size) / pageSize);
    let bytes = this.pages.get(String(page));
    if (!bytes) {
      bytes = Buffer.alloc(Math.min(pageSize, this.mft.dataSize - page * pageSize));
      const pageBytes = bytes;
      this.guard(() => this.streams.read(this.mft, pageBytes, page * pageSize));
      this.pages.set(String(page), bytes);
    }
    const at = number * size - page * pageSize;
    return this.parse(Buffer.from(bytes.subarray(at, at + size)), number);
  }

  private parse(bytes: Buffer, number: number): MftRecord {
    return this.guard(() => {
      try {
        applyFixups(bytes, 'FILE');
        return parseRecord(bytes, number, this.boot.totalClusters);
      } catch (e) {
        const message = (e as Error).message;
        throw new Error(`record ${number}${/^(is|has) /.test(message) ? ' ' : ': '}${message}`);
      }
    });
  }

  /** $MFT from record 0's own runlist; a $MFT with an attribute list is re-read through its extensions. */
  private bootstrapMft(): Stream {
    const { recordSize, clusterSize, mftLcn } = this.boot;
    const bytes = Buffer.alloc(recordSize);
    this.device.read(bytes, mftLcn * clusterSize);
    const record0 = this.parse(bytes, 0);
    const data = record0.attributes.filter((a) => a.type === ATTR.data && a.name === '');
    if (data.length === 0) throw this.error('record 0 ($MFT) has no $DATA attribute');
    let mft = this.guard(() => assembleStreamPrefix(data, '$MFT'));
    if (mft.dataSize < 16 * recordSize) throw this.error(`$MFT of ${mft.dataSize} bytes is too small`);
    this.mft = mft;
    if (record0.attributes.some((a) => a.type === ATTR.attributeList)) {
      const all = this.file(0).attributes.filter((a) => a.type === ATTR.data && a.name === '');
      mft = this.guard(() => assembleStream(all, '$MFT'));
      this.records.clear();
      this.pages.clear();
    }
    return mft;
  }

  private reparseOf(file: FileRecord): Reparse | null {
    const value = file.attributes.find((a) => a.type === ATTR.reparsePoint)?.value;
    if (!value) return null;
    return this.guard(() => parseReparse(value));
  }

  /** A listing entry from the file's record; when the record is damaged, from its index key. */
  private entry(number: number, name: string, key: FileName | null): GuestEntry {
    let file: FileRecord;
    try {
      file = this.file(number);
    } catch (e) {
      if (!key || !(e instanceof DiskchainError)) throw e;
      return fromKey(number, key);
    }
    const si = file.attributes.find((a) => a.type === ATTR.standardInformation)?.value;
    const siFlags = si && si.length >= 0x24 ? si.readUInt32LE(0x20) : (key?.flags ?? 0);
    const isDir = (file.record.flags & RECORD_DIRECTORY) !== 0;
    const data = file.attributes.filter((a) => a.type === ATTR.data);
    const unnamed = data.find((a) => a.name === '' && a.startVcn === 0);
    const streams = new Map<string, number>();
    for (const a of data) if (a.name !== '' && a.startVcn === 0) streams.set(a.name, a.dataSize);
    const attributes = attributeWords(siFlags);
    if (!attributes.includes('encrypted') && data.some((a) => a.flags & ATTR_FLAG.encrypted)) attributes.push('encrypted');
    let reparse: Reparse | null = null;
    try {
      reparse = this.reparseOf(file);
    } catch {
      reparse = null;
    }
    if (reparse?.tag === REPARSE.wof && !attributes.includes('compressed')) attributes.push('compressed');
    const isLink = reparse !== null && reparse.target !== null && (reparse.tag === REPARSE.symlink || reparse.tag === REPARSE.mountPoint);
    const entry: GuestEntry = {
      name,
      type: isLink ? 'symlink' : isDir ? 'dir' : 'file',
      size: isLink ? (reparse?.target?.length ?? 0) : isDir ? 0 : (unnamed?.dataSize ?? 0),
      id: String(number),
      mtimeMs: si && si.length >= 0x20 ? filetimeMs(si, 0x08) : (key?.modifiedMs ?? null),
      atimeMs: si && si.length >= 0x20 ? filetimeMs(si, 0x18) : (key?.accessedMs ?? null),
      ctimeMs: si && si.length >= 0x20 ? filetimeMs(si, 0x10) : (key?.changedMs ?? null),
      birthtimeMs: si && si.length >= 0x20 ? filetimeMs(si, 0x00) : (key?.createdMs ?? null),
      attributes,
    };
    if (isLink && reparse?.target) entry.linkTarget = reparse.target;
    if (streams.size) entry.streams = [...streams].map(([streamName, size]) => ({ name: streamName, size }));
    return entry;
  }

  /** Runs fn, turning a plain Error (a parser's message) into a one-line E_FORMAT error. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof DiskchainError) throw e;
      throw this.error((e as Error).message);
    }
  }

  private error(message: string): DiskchainError {
    return new DiskchainError('E_FORMAT', `NTFS ${message}`, this.device.file);
  }

  private unsupported(message: string): DiskchainError {
    return new DiskchainError('E_UNSUPPORTED', `NTFS ${message}`, this.device.file);
  }
}

/** $MFT's first extent alone (enough to reach the records that hold its other extents). */
function assembleStreamPrefix(extents: Attribute[], what: string): Stream {
  const first = extents.find((a) => a.startVcn === 0);
  if (!first) throw new Error(`${what}: the extent at VCN 0 is missing`);
  return assembleStream([first], what);
}

function recordOf(entry: GuestEntry): number {
  const number = Number(entry.id);
  if (!Number.isSafeInteger(number) || number < 0) throw new DiskchainError('E_USAGE', `"${entry.id}" is not an NTFS file id`);
  return number;
}

function fromKey(number: number, key: FileName): GuestEntry {
  return {
    name: key.name,
    type: key.flags & FILE_ATTR_DIRECTORY ? 'dir' : 'file',
    size: key.realSize,
    id: String(number),
    mtimeMs: key.modifiedMs,
    atimeMs: key.accessedMs,
    ctimeMs: key.changedMs,
    birthtimeMs: key.createdMs,
    attributes: attributeWords(key.flags),
  };
}

