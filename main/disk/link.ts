import * as path from 'node:path';
import { DiskchainError, formatError } from '../../shared/errors.js';
import type { ExtentInfo, ParentRef } from '../../shared/types.js';
import type { CowdExtent } from '../formats/cowd/reader.js';
import { cowdDriver, extentDriver, flatDriver, readHead, seSparseDriver, sniff, sparseDriver } from '../formats/drivers.js';
import {
  decodeDescriptor,
  looksLikeDescriptor,
  MAX_CAPACITY_BYTES,
  MAX_DESCRIPTOR_BYTES,
  parseDescriptor,
  rawNames,
  type Descriptor,
  type ExtentLine,
  type RawNames,
} from '../formats/descriptor.js';
import type { ExtentReader } from '../formats/extent.js';
import { UnreachableDeviceExtent, ZeroExtent } from '../formats/flat/reader.js';
import type { SparseExtent } from '../formats/sparse/reader.js';
import { DiskFile } from '../io/disk-file.js';
import { DEVICE_REFUSED, hostFiles, shownPath, type FileSource } from '../io/file-source.js';
import { ConcatExtent, type Piece } from './concat.js';

/**
 * One link of a chain: a disk as one file names it (a descriptor and its extents, a sparse file
 * with an embedded descriptor, a bare COWD REDO log, or a raw ESX 2 disk).
 */
export interface Link {
  /** Absolute path of the file that was opened. */
  path: string;
  /** Where its files (and its parent's) are read from. */
  source: FileSource;
  /** createType from the descriptor; `cowd` for a bare COWD file, `raw` for a descriptor-less raw disk. */
  createType: string;
  descriptor: Descriptor | null;
  descriptorText: string | null;
  capacityBytes: number;
  extents: ExtentInfo[];
  /** The link's data, its extents laid end to end. */
  data: ExtentReader;
  parent: ParentRef | null;
  /** The parent hint as the bytes the descriptor holds, when it is in a code page (see rawNames). */
  parentRawName?: Buffer;
  /** The binary header of a link that has one (sparse, COWD, seSparse), flattened: `geometry.cylinders`. */
  header: Record<string, string | number | boolean>;
  warnings: string[];
}

/** File names that announce raw data with no descriptor (ESX 2 `.dsk`, a copied `-flat.vmdk`). */
const RAW_NAME = /(\.dsk|-flat\.vmdk|-f\d{3}\.vmdk|\.img|\.raw)$/i;

/** `openAs`: the raw bytes of a name that is not UTF-8, when `filePath` only shows it (SourcePath). */
export function openLink(filePath: string, source: FileSource = hostFiles, openAs?: Buffer): Link {
  const abs = path.resolve(filePath);
  const file = DiskFile.open(abs, source, openAs);
  try {
    if (file.size === 0) throw formatError(abs, 'empty file: not a disk');
    const head = readHead(file);
    const driver = sniff(head);
    const whole = { sizeBytes: file.size, offsetBytes: 0 };
    if (driver === sparseDriver) return sparseLink(abs, driver.open(file, whole) as SparseExtent, source);
    if (driver === cowdDriver) return cowdLink(abs, driver.open(file, whole) as CowdExtent, source);
    if (driver === seSparseDriver) return bareLink(abs, 'seSparse', driver.open(file, whole), 'SESPARSE', source);
    if (looksLikeDescriptor(head)) {
      const bytes = readDescriptorBytes(file);
      file.close();
      const text = decodeDescriptor(bytes);
      return descriptorLink(abs, text, parseDescriptor(text, abs), null, source, rawNames(bytes));
    }
    if (RAW_NAME.test(abs)) return rawLink(abs, file, source);
    throw formatError(abs, notADiskReason(head));
  } catch (e) {
    file.close();
    throw e;
  }
}

function notADiskReason(head: Buffer): string {
  const printable = head.subarray(0, 256).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  if (printable) {
    const first = head.toString('latin1').split('\n')[0]!.trim().slice(0, 40);
    return `not a VMDK descriptor: it is text but does not start with version= (first line "${first}")`;
  }
  return 'not a VMDK: no KDMV, COWD or seSparse header and no text descriptor (a raw disk must be named .dsk, -flat.vmdk, .img or .raw)';
}

function readDescriptorBytes(file: DiskFile): Buffer {
  if (file.size > MAX_DESCRIPTOR_BYTES) {
    throw formatError(file.path, `a ${file.size}-byte file is too large to be a text descriptor`);
  }
  return file.readBlock(file.size, 0, 'descriptor');
}

function sparseLink(abs: string, sparse: SparseExtent, source: FileSource): Link {
  const link = sparseLinkOf(abs, sparse, source);
  for (const w of fileShapeWarnings(sparse, source.stat(abs)?.size ?? 0)) if (!link.warnings.includes(w)) link.warnings.push(w);
  return link;
}

/** What cat would trip over or silently read as zeros must be said by info and check too. */
function fileShapeWarnings(sparse: SparseExtent, fileBytes: number): string[] {
  const out: string[] = [];
  if (sparse.sizeBytes === 0) out.push('the capacity is 0: this disk holds nothing');
  if (fileBytes % 512 !== 0) out.push(`the file is ${fileBytes} bytes, not a whole number of 512-byte sectors: it was probably cut short`);
  if (!sparse.isStream && fileBytes < sparse.header.overheadSectors * 512) {
    out.push(`the file (${fileBytes} bytes) ends before its grain area (sector ${sparse.header.overheadSectors}): it holds no data`);
  }
  if (sparse.embeddedDescriptor !== null && sparse.embeddedDescriptor.trim() === '') {
    out.push('its embedded descriptor is empty');
  }
  return out;
}

function sparseLinkOf(abs: string, sparse: SparseExtent, source: FileSource): Link {
  const text = sparse.embeddedDescriptor;
  const header = { ...sparse.header, layout: sparse.layout } as Record<string, string | number | boolean>;
  if (text !== null && text.trim() !== '') {
    const descriptor = parseDescriptor(text, abs);
    const link = descriptorLink(abs, text, descriptor, sparse, source, sparse.embeddedRawNames);
    link.header = header;
    return link;
  }
  // An extent of a split disk, opened on its own: one sparse extent, no parent.
  const link = bareLink(abs, sparse.isStream ? 'streamOptimized' : 'monolithicSparse', sparse, 'SPARSE', source);
  link.header = header;
  link.warnings.push('sparse extent without a descriptor: read on its own, without any parent');
  return link;
}

function cowdLink(abs: string, cowd: CowdExtent, source: FileSource): Link {
  const link = bareLink(abs, 'cowd', cowd, 'VMFSSPARSE', source);
  link.header = { ...flatten(cowd.header) };
  const name = cowd.header.parentFileName;
  if (name) link.parent = { name, source: 'cowd-header' };
  else if (/\.REDO$/i.test(abs)) link.parent = { name: path.basename(abs).replace(/\.REDO$/i, ''), source: 'redo-name' };
  return link;
}

function rawLink(abs: string, file: DiskFile, source: FileSource): Link {
  const sizeBytes = file.size - (file.size % 512);
  return bareLink(abs, 'raw', flatDriver.open(file, { sizeBytes, offsetBytes: 0 }), 'FLAT', source);
}

function bareLink(abs: string, createType: string, reader: ExtentReader, type: string, source: FileSource): Link {
  return {
    path: abs,
    source,
    createType,
    descriptor: null,
    descriptorText: null,
    capacityBytes: reader.sizeBytes,
    extents: [{ path: abs, type, access: 'RW', sectors: reader.sizeBytes / 512, offset: 0 }],
    data: new ConcatExtent([{ sizeBytes: reader.sizeBytes, reader }], abs),
    parent: null,
    header: {},
    warnings: [],
  };
}

function flatten(o: object): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (v && typeof v === 'object') for (const [k2, v2] of Object.entries(flatten(v))) out[`${k}.${k2}`] = v2;
  }
  return out;
}

function descriptorLink(
  abs: string,
  text: string,
  d: Descriptor,
  embedded: SparseExtent | null,
  source: FileSource,
  raw: RawNames = { extents: [], parentHint: undefined },
): Link {
  const dir = path.dirname(abs);
  const pieces: Piece[] = [];
  const extents: ExtentInfo[] = [];
  const warnings = [...d.warnings];
  try {
    for (const [index, line] of d.extents.entries()) {
      // Device paths stay as written (`\\.\PhysicalDrive1` is no file beside the descriptor).
      const found =
        line.fileName === undefined
          ? null
          : DEVICE_PATH.test(line.fileName)
            ? { path: line.fileName }
            : resolveExtentPath(dir, line.fileName, source, raw.extents[index]);
      const extentPath = found?.path ?? null;
      // A monolithicSparse file that was renamed still names its old self: one extent is the file itself.
      const self = embedded !== null && (d.extents.length === 1 || (extentPath !== null && source.realpath(extentPath) === source.realpath(abs)));
      const reader: ExtentReader = self && embedded ? embedded : openExtent(abs, line, extentPath, source, found?.raw, raw.extents[index]);
      if (self) embedded = null; // owned by the piece from now on
      if (reader.sizeBytes !== line.sizeSectors * 512 && line.type !== 'ZERO') {
        warnings.push(
          `extent ${path.basename(extentPath ?? '')}: descriptor says ${line.sizeSectors} sectors, the extent holds ${reader.sizeBytes / 512}`,
        );
      }
      pieces.push({ sizeBytes: line.sizeSectors * 512, reader });
      extents.push({
        // The file the reader opened: writers open this path, never the (possibly stale) name.
        path: self ? abs : extentPath,
        ...(extentPath !== null && isDevice(extentPath, source) ? { device: { readable: !(reader instanceof UnreachableDeviceExtent) } } : {}),
        type: line.type,
        access: line.access,
        sectors: line.sizeSectors,
        offset: line.offsetSectors,
      });
    }
  } catch (e) {
    for (const p of pieces) p.reader.close();
    embedded?.close();
    throw e;
  }
  // A monolithicSparse whose embedded descriptor names some other file still owns its own extent.
  embedded?.close();
  const capacityBytes = pieces.reduce((s, p) => s + p.sizeBytes, 0);
  if (capacityBytes === 0 && !warnings.some((w) => w.startsWith('the capacity is 0'))) warnings.push('the capacity is 0: this disk holds nothing');
  if (capacityBytes > MAX_CAPACITY_BYTES) throw formatError(abs, `capacity of ${capacityBytes} bytes is not plausible`);
  return {
    path: abs,
    source,
    createType: d.createType,
    descriptor: d,
    descriptorText: text,
    capacityBytes,
    extents,
    data: new ConcatExtent(pieces, abs),
    parent: d.parentFileNameHint ? { name: d.parentFileNameHint, source: 'parentFileNameHint' } : null,
    ...(d.parentFileNameHint && raw.parentHint ? { parentRawName: raw.parentHint } : {}),
    header: {},
    warnings,
  };
}

/**
 * Where an extent name points, in the order tried (§1.5): the name as written (a file unzipped
 * from a Windows archive may really be called `w\\lit-flat.vmdk`), then with `\\` read as a
 * separator. Relative names are relative to the descriptor; a Windows or foreign absolute path
 * falls back to its base name beside it.
 */
function extentCandidates(dir: string, name: string): string[] {
  const out = [path.isAbsolute(name) ? name : path.resolve(dir, name)];
  const unix = name.replace(/\\/g, '/');
  if (path.isAbsolute(unix)) out.push(unix, path.join(dir, path.posix.basename(unix)));
  else if (/^[A-Za-z]:\//.test(unix)) out.push(path.join(dir, path.posix.basename(unix)));
  else out.push(path.resolve(dir, unix));
  return [...new Set(out)];
}

/**
 * Where a name in a code page may also be: in the bytes the descriptor holds (after the decoded
 * name's UTF-8 form has been tried), as written and with `\\` as a separator.
 */
export function rawCandidates(dir: string, raw: Buffer | undefined): Buffer[] {
  if (!raw) return [];
  const separated = Buffer.from(raw.map((b) => (b === 0x5c ? 0x2f : b)));
  const inDir = (name: Buffer): Buffer => (name[0] === 0x2f ? name : Buffer.concat([Buffer.from(`${dir}/`), name]));
  return raw.includes(0x5c) ? [inDir(raw), inDir(separated)] : [inDir(raw)];
}

/**
 * The first candidate that exists, or the last name tried (whose open then names them all). A raw
 * candidate is opened by its bytes and shown with \\xHH escapes.
 */
function resolveExtentPath(dir: string, name: string, source: FileSource, rawName?: Buffer): { path: string; raw?: Buffer } {
  const candidates = extentCandidates(dir, name);
  const found = candidates.find((c) => source.stat(c) !== null);
  if (found !== undefined) return { path: found };
  const raw = rawCandidates(dir, rawName).find((c) => source.stat(c) !== null);
  if (raw) return { path: shownPath(raw), raw };
  return { path: candidates[candidates.length - 1]! };
}

const DEVICE_PATH = /^(\/dev\/|\/vmfs\/devices\/|\\\\\.\\)/i;

function openExtent(
  descriptorPath: string,
  line: ExtentLine,
  extentPath: string | null,
  source: FileSource,
  openAs?: Buffer,
  rawName?: Buffer,
): ExtentReader {
  const sizeBytes = line.sizeSectors * 512;
  const name = line.fileName ?? '';
  if (line.type === 'ZERO' || extentPath === null) return new ZeroExtent(descriptorPath, sizeBytes);
  if (line.type === 'VMFSRDM' || line.type === 'VMFSRAW') {
    return new UnreachableDeviceExtent(
      extentPath,
      sizeBytes,
      `raw device mapping "${name}": its data is on the ESX host's LUN, which is not reachable from here`,
    );
  }
  if (line.access === 'NOACCESS') {
    return new UnreachableDeviceExtent(extentPath, sizeBytes, `extent "${name}" is marked NOACCESS`);
  }
  let file: DiskFile;
  try {
    file = DiskFile.open(extentPath, source, openAs);
  } catch (e) {
    if (e instanceof DiskchainError && e.message === DEVICE_REFUSED) {
      return new UnreachableDeviceExtent(name, sizeBytes, `extent on device "${name}": devices named by a descriptor are read only with --allow-devices`);
    }
    if (DEVICE_PATH.test(name)) {
      return new UnreachableDeviceExtent(name, sizeBytes, `device "${name}" is not reachable on this machine`);
    }
    if (e instanceof DiskchainError && e.code === 'E_NOTFOUND') {
      const dir = path.dirname(descriptorPath);
      const raw = rawCandidates(dir, rawName).map((c) => shownPath(c));
      const tried = [...extentCandidates(dir, name), ...raw].map((c) => path.relative(dir, c) || c);
      throw new DiskchainError('E_NOTFOUND', `extent file "${name}" named by the descriptor is missing (looked for ${tried.join(', ')})`, descriptorPath);
    }
    throw e;
  }
  try {
    return openExtentData(file, line, sizeBytes);
  } catch (e) {
    file.close();
    throw e;
  }
}

function openExtentData(file: DiskFile, line: ExtentLine, sizeBytes: number): ExtentReader {
  return extentDriver(line.type, file).open(file, { sizeBytes, offsetBytes: line.offsetSectors * 512 });
}

function isDevice(p: string, source: FileSource): boolean {
  return DEVICE_PATH.test(p) || source.stat(p)?.kind === 'device';
}

/** A number from a link's binary header (COWD `generation`, `freeSector`…), when it has one. */
export function headerNumber(link: Link, key: string): number | undefined {
  const value = link.header[key];
  return typeof value === 'number' ? value : undefined;
}
