import { DESCRIPTOR_CREATE_TYPES } from '../../shared/capabilities.js';
import { formatError } from '../../shared/errors.js';

/** The text descriptor (format doc §1): header keys, extent lines and the disk database. */

export type ExtentAccess = 'RW' | 'RDONLY' | 'NOACCESS';
export const EXTENT_TYPES = ['FLAT', 'SPARSE', 'ZERO', 'VMFS', 'VMFSSPARSE', 'VMFSRDM', 'VMFSRAW', 'SESPARSE'] as const;
export type ExtentType = (typeof EXTENT_TYPES)[number];

export interface ExtentLine {
  access: ExtentAccess;
  sizeSectors: number;
  type: ExtentType;
  /** File name as written (relative to the descriptor's folder unless absolute); absent for ZERO. */
  fileName?: string;
  offsetSectors: number;
  /** Partition UUID / device id tokens of device-backed extents, kept as written. */
  extra: string[];
}

export interface Descriptor {
  version: number;
  encoding: string;
  cid?: number;
  parentCid?: number;
  /** CID and parentCID as written (Xen Orchestra writes decimal ones), for showing. */
  cidText?: string;
  parentCidText?: string;
  createType: string;
  parentFileNameHint?: string;
  isNativeSnapshot?: string;
  changeTrackPath?: string;
  extents: ExtentLine[];
  /** Disk database, keys lower-cased for lookup (`ddb.adaptertype`), values unquoted. */
  ddb: Map<string, string>;
  /** DDB keys as written, in file order, for faithful rewriting. */
  ddbOrder: string[];
  /** Header keys other than the known ones, lower-cased. */
  otherHeader: Map<string, string>;
  /** Tolerated oddities: duplicate keys, unknown lines, inferred createType. */
  warnings: string[];
}

export const NO_PARENT_CID = 0xffffffff;
/** A generous ceiling (VMware's limit is 62 TiB); anything above is a broken size field. */
export const MAX_CAPACITY_BYTES = 2 ** 47;
/** QEMU reads at most 1 MiB of descriptor; real ones are a few KiB. */
export const MAX_DESCRIPTOR_BYTES = 1024 * 1024;

const KNOWN_CREATE_TYPES = new Map<string, string>(DESCRIPTOR_CREATE_TYPES.map((t) => [t.toLowerCase(), t]));
KNOWN_CREATE_TYPES.set('2gbmaxextentsparse', 'twoGbMaxExtentSparse');
KNOWN_CREATE_TYPES.set('2gbmaxextentflat', 'twoGbMaxExtentFlat');

/**
 * True when the bytes read like a descriptor: printable text whose first line that is not blank
 * or a comment sets `version=` or `encoding=` (kiwi puts encoding first, §1.2).
 */
export function looksLikeDescriptor(head: Uint8Array): boolean {
  head = withoutBom(head);
  if (hasBinaryBytes(head)) return false;
  const text = Buffer.from(head).toString('latin1');
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    return /^(version|encoding)\s*=/i.test(line);
  }
  return false;
}

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Windows editors start a saved descriptor with a UTF-8 byte-order mark; it is not part of the text. */
function withoutBom(bytes: Uint8Array): Uint8Array {
  return UTF8_BOM.every((b, i) => bytes[i] === b) ? bytes.subarray(UTF8_BOM.length) : bytes;
}

/** NUL ends an embedded descriptor; other control bytes besides tab/CR/LF mean binary data. */
export function hasBinaryBytes(head: Uint8Array): boolean {
  for (const b of head) {
    if (b === 0) return false;
    if (b < 9 || (b > 13 && b < 32) || b === 127) return true;
  }
  return false;
}

/** Decodes descriptor bytes: stops at the first NUL, honours `encoding="…"` (§1.2). */
export function decodeDescriptor(bytes: Uint8Array): string {
  bytes = withoutBom(bytes);
  const nul = bytes.indexOf(0);
  const body = nul >= 0 ? bytes.subarray(0, nul) : bytes;
  const latin = Buffer.from(body).toString('latin1');
  const m = /^\s*(?:ddb\.)?encoding\s*=\s*"?([^"\r\n#]+)"?/im.exec(latin);
  const label = m?.[1]?.trim() ?? 'UTF-8';
  try {
    return new TextDecoder(label).decode(body);
  } catch {
    // Unknown code page: names may come out garbled, but the structure is ASCII either way.
    return new TextDecoder('utf-8').decode(body);
  }
}

/** File names of a descriptor as the bytes it holds; undefined where a name is ASCII or absent. */
export interface RawNames {
  /** One per extent line. */
  extents: Array<Buffer | undefined>;
  parentHint: Buffer | undefined;
}

/**
 * The names a descriptor holds, as bytes: a name in a code page may be on disk in those very bytes
 * (an unzip on Linux keeps them) rather than in its UTF-8 form. Read as latin1, which keeps every
 * byte; the quotes and separators of a line are ASCII in every code page a descriptor declares.
 */
export function rawNames(bytes: Uint8Array): RawNames {
  bytes = withoutBom(bytes);
  const nul = bytes.indexOf(0);
  const latin = Buffer.from(nul >= 0 ? bytes.subarray(0, nul) : bytes).toString('latin1');
  const raw = (name: string | undefined): Buffer | undefined => {
    const b = name === undefined ? undefined : Buffer.from(name, 'latin1');
    return b?.some((byte) => byte >= 0x80) ? b : undefined;
  };
  try {
    const d = parseDescriptor(latin, '');
    return { extents: d.extents.map((e) => raw(e.fileName)), parentHint: raw(d.parentFileNameHint) };
  } catch {
    return { extents: [], parentHint: undefined };
  }
}

export function parseDescriptor(text: string, file: string): Descriptor {
  const d: Descriptor = {
    version: 0,
    encoding: 'UTF-8',
    createType: '',
    extents: [],
    ddb: new Map(),
    ddbOrder: [],
    otherHeader: new Map(),
    warnings: [],
  };
  let sawVersion = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `line ${i + 1}`;
    if (/^(RW|RDONLY|NOACCESS)\s/i.test(line)) {
      d.extents.push(parseExtentLine(line, file, where));
    } else if (/^ddb\./i.test(line)) {
      parseDdbLine(d, line, where);
    } else if (line.includes('=')) {
      if (parseHeaderLine(d, line, file, where) === 'version') sawVersion = true;
    } else if (/^DDB$/i.test(line)) {
      continue; // "DDB" without its '#' (§8.4)
    } else {
      if (!sawVersion && d.extents.length === 0) {
        throw formatError(file, `not a VMDK descriptor: ${where} "${clip(line)}" is not a descriptor line`);
      }
      d.warnings.push(`${where}: ignored "${clip(line)}"`);
    }
  }
  validate(d, file, sawVersion);
  return d;
}

function parseExtentLine(line: string, file: string, where: string): ExtentLine {
  const m = /^(\S+)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line);
  if (!m) throw formatError(file, `${where}: extent line "${clip(line)}" needs ACCESS SIZE TYPE`);
  const access = m[1]!.toUpperCase() as ExtentAccess;
  const type = m[3]!.toUpperCase();
  if (!(EXTENT_TYPES as readonly string[]).includes(type)) {
    throw formatError(file, `${where}: unknown extent type "${m[3]}"`);
  }
  const sizeSectors = Number(m[2]);
  if (!Number.isSafeInteger(sizeSectors) || sizeSectors * 512 > MAX_CAPACITY_BYTES) {
    throw formatError(file, `${where}: extent size ${m[2]} sectors is not plausible`);
  }
  const ext: ExtentLine = { access, sizeSectors, type: type as ExtentType, offsetSectors: 0, extra: [] };
  let rest = m[4]!.trim();
  if (rest.startsWith('"')) {
    // libvmdk takes the last quote on the line, so names containing quotes survive (§1.5).
    const close = rest.lastIndexOf('"');
    if (close <= 0) throw formatError(file, `${where}: extent file name has no closing quote`);
    ext.fileName = rest.slice(1, close);
    rest = rest.slice(close + 1).trim();
  } else if (rest !== '' && type !== 'ZERO') {
    const [name, ...tail] = rest.split(/\s+/);
    ext.fileName = name;
    rest = tail.join(' ');
  }
  if (rest !== '') {
    const [offset, ...extra] = rest.split(/\s+/);
    const offsetSectors = Number(offset);
    if (!Number.isSafeInteger(offsetSectors) || offsetSectors < 0) {
      throw formatError(file, `${where}: extent offset "${offset}" is not a sector number`);
    }
    ext.offsetSectors = offsetSectors;
    ext.extra = extra;
  }
  if (type !== 'ZERO' && !ext.fileName) throw formatError(file, `${where}: ${type} extent names no file`);
  return ext;
}

/** Value rule of §1.2: text inside the first pair of quotes, else up to a '#', trimmed. */
function unquote(raw: string): string {
  const v = raw.trim();
  if (v.startsWith('"')) {
    const close = v.indexOf('"', 1);
    return close > 0 ? v.slice(1, close) : v.slice(1);
  }
  const hash = v.indexOf('#');
  return (hash >= 0 ? v.slice(0, hash) : v).trim();
}

function parseDdbLine(d: Descriptor, line: string, where: string): void {
  const eq = line.indexOf('=');
  if (eq < 0) {
    d.warnings.push(`${where}: DDB line without '=' ignored`);
    return;
  }
  const key = line.slice(0, eq).trim();
  const lower = key.toLowerCase();
  if (d.ddb.has(lower)) d.warnings.push(`${where}: duplicate ${key}, the last one wins`);
  else d.ddbOrder.push(key);
  d.ddb.set(lower, unquote(line.slice(eq + 1)));
}

function parseHeaderLine(d: Descriptor, line: string, file: string, where: string): string {
  const eq = line.indexOf('=');
  const key = line.slice(0, eq).trim().toLowerCase();
  const value = unquote(line.slice(eq + 1));
  switch (key) {
    case 'version': {
      const v = Number(value);
      if (!Number.isInteger(v)) throw formatError(file, `${where}: version "${value}" is not a number`);
      d.version = v;
      break;
    }
    case 'encoding':
      d.encoding = value;
      break;
    case 'cid':
      d.cid = parseCid(value, d.warnings, where, 'CID');
      d.cidText = value;
      break;
    case 'parentcid':
      d.parentCid = parseCid(value, d.warnings, where, 'parentCID');
      d.parentCidText = value;
      break;
    case 'createtype':
      d.createType = KNOWN_CREATE_TYPES.get(value.toLowerCase()) ?? value;
      if (!KNOWN_CREATE_TYPES.has(value.toLowerCase())) d.warnings.push(`${where}: unknown createType "${value}"`);
      break;
    case 'parentfilenamehint':
      d.parentFileNameHint = value;
      break;
    case 'isnativesnapshot':
      d.isNativeSnapshot = value;
      break;
    case 'changetrackpath':
      d.changeTrackPath = value;
      break;
    default:
      d.otherHeader.set(key, value);
  }
  return key;
}

/**
 * CIDs are hex, possibly fewer than 8 digits (QEMU writes them with %x, §1.3); Xen Orchestra
 * writes decimal ones (`CID=417673188`). A CID is an identifier, not a checksum, so anything is
 * taken: hex when it can be, else the decimal number's low 32 bits, else a hash of the text. A
 * child's parentCID and its parent's CID go through this same parse, so such chains still link.
 */
export function parseCid(value: string, warnings: string[], where: string, name: string): number {
  const v = value.trim().replace(/^0x/i, '');
  if (/^[0-9a-f]{1,8}$/i.test(v)) return parseInt(v, 16) >>> 0;
  if (/^\d{1,15}$/.test(v)) return Number(v) % 2 ** 32;
  warnings.push(`${where}: ${name} "${clip(value)}" is neither hex nor decimal; compared as text`);
  let hash = 0x811c9dc5;
  for (const c of v) hash = Math.imul(hash ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

export const formatCid = (cid: number): string => (cid >>> 0).toString(16).padStart(8, '0');

function validate(d: Descriptor, file: string, sawVersion: boolean): void {
  if (!sawVersion) {
    if (d.extents.length === 0) throw formatError(file, 'not a VMDK descriptor: it has no version= line and no extents');
    d.warnings.push('no version= line; assuming version 1');
    d.version = 1;
  }
  if (d.version < 1 || d.version > 3) throw formatError(file, `descriptor version ${d.version} is not supported (1 to 3 are)`);
  if (d.extents.length === 0) throw formatError(file, 'the descriptor lists no extents');
  if (d.createType === '') {
    d.createType = inferCreateType(d);
    d.warnings.push(`no createType; taken as ${d.createType} from the extents`);
  }
  const totalBytes = d.extents.reduce((s, e) => s + e.sizeSectors * 512, 0);
  if (totalBytes > MAX_CAPACITY_BYTES) {
    throw formatError(file, `capacity of ${totalBytes} bytes is not plausible (over 128 TiB)`);
  }
}

function inferCreateType(d: Descriptor): string {
  const types = new Set(d.extents.map((e) => e.type));
  if (types.has('VMFSSPARSE')) return 'vmfsSparse';
  if (types.has('SESPARSE')) return 'seSparse';
  if (types.has('VMFS')) return 'vmfs';
  if (types.has('VMFSRDM')) return 'vmfsRawDeviceMap';
  if (types.has('SPARSE')) return d.extents.length > 1 ? 'twoGbMaxExtentSparse' : 'monolithicSparse';
  return d.extents.length > 1 ? 'twoGbMaxExtentFlat' : 'monolithicFlat';
}

export function capacitySectors(d: Descriptor): number {
  return d.extents.reduce((s, e) => s + e.sizeSectors, 0);
}

/** Writes the canonical form VMware emits (§1.7): the exact `key="` spacing QEMU needs. */
export function serializeDescriptor(d: Descriptor): string {
  const out: string[] = ['# Disk DescriptorFile', `version=${d.version || 1}`, `encoding="${d.encoding || 'UTF-8'}"`];
  out.push(`CID=${formatCid(d.cid ?? randomCid())}`);
  out.push(`parentCID=${formatCid(d.parentCid ?? NO_PARENT_CID)}`);
  out.push(`isNativeSnapshot="${d.isNativeSnapshot ?? 'no'}"`);
  out.push(`createType="${d.createType}"`);
  if (d.parentFileNameHint !== undefined) out.push(`parentFileNameHint="${d.parentFileNameHint}"`);
  out.push('', '# Extent description');
  for (const e of d.extents) out.push(formatExtentLine(e));
  if (d.changeTrackPath !== undefined) out.push('', '# Change Tracking File', `changeTrackPath="${d.changeTrackPath}"`);
  out.push('', '# The Disk Data Base ', '#DDB', '');
  const names = new Map(d.ddbOrder.map((k) => [k.toLowerCase(), k]));
  const keys = [...d.ddb.keys()].sort((a, b) => (names.get(a) ?? a).localeCompare(names.get(b) ?? b));
  for (const k of keys) out.push(`${names.get(k) ?? k} = "${d.ddb.get(k)}"`);
  return out.join('\n') + '\n';
}

function formatExtentLine(e: ExtentLine): string {
  const parts: string[] = [e.access, String(e.sizeSectors), e.type];
  if (e.type !== 'ZERO' && e.fileName !== undefined) parts.push(`"${e.fileName}"`);
  // VMFS, VMFSSPARSE and SESPARSE lines carry no offset; QEMU rejects one on VMFS (§1.5).
  if (e.type === 'FLAT' || e.offsetSectors !== 0) parts.push(String(e.offsetSectors), ...e.extra);
  return parts.join(' ');
}

/** A random CID that is neither "no parent" nor the "never written" marker (§1.8). */
export function randomCid(): number {
  for (;;) {
    const cid = (Math.random() * 0x100000000) >>> 0;
    if (cid !== 0xffffffff && cid !== 0xfffffffe) return cid;
  }
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
