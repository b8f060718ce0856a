/**
 * The Files tab's engine calls, run in the query worker: the volumes of a disk, a folder's
 * entries, a bounded preview of a file and what a chain link changed over its parent. A disk of a
 * backup archive is read through the archive (archive-source.ts), each chunk it reads checked
 * against the manifest, at any of its archived links.
 */
import { DiskchainError } from '../../../shared/errors.js';
import type { GuestDiff, GuestListing, GuestPreview, GuestRow, GuestVolumeRow } from '../../../shared/guest-files.js';
import { chainDevice } from '../../guest/block-device.js';
import { diffGuest } from '../../guest/diff.js';
import { DRIVERS } from '../../guest/drivers.js';
import type { GuestEntry, GuestFileSystem } from '../../guest/types.js';
import { listVolumes, openFileSystem } from '../../guest/volumes.js';
import { resolveGuestPath } from '../../guest/walk.js';
import { openArchiveChain, openChainAtLink } from '../../jobs/extract.js';
import type { Chain } from '../../disk/chain.js';

export interface GuestQuery {
  /** The disk, or the archive folder when `archiveDisk` is given. */
  path: string;
  /** A disk of the archive at `path`, by its name in the manifest. */
  archiveDisk?: string | undefined;
  at?: number | undefined;
  volume?: string | undefined;
  ignoreCid?: boolean | undefined;
}

/** A folder listing sends at most this many entries (the table is virtual, the wire is not). */
export const LIST_MAX = 100_000;
/** Text and hex previews read at most this much of a file; images up to IMAGE_MAX. */
export const PREVIEW_MAX = 64 * 1024;
export const IMAGE_MAX = 4 * 1024 * 1024;
const HEX_MAX = 4096;
export const DIFF_MAX = 10_000;

/** The chain a query names at link `at`: a disk on the host, or a disk of an archive. */
function openQueryChain(q: GuestQuery, at: number): Chain {
  const ignoreCid = q.ignoreCid === true;
  return q.archiveDisk === undefined ? openChainAtLink(q.path, at, ignoreCid) : openArchiveChain(q.path, q.archiveDisk, at, ignoreCid);
}

/** The file system on the query's volume, handed to `use`; the chain is closed after. */
function withGuestFileSystem<T>(q: GuestQuery, at: number, use: (fsys: GuestFileSystem) => T): T {
  const chain = openQueryChain(q, at);
  try {
    return use(openFileSystem(chainDevice(chain), q.volume));
  } finally {
    chain.close();
  }
}

export const guestQueries = {
  guestVolumes: (q: GuestQuery): GuestVolumeRow[] => {
    const chain = openQueryChain(q, q.at ?? 0);
    try {
      return listVolumes(chainDevice(chain)).map((v) => ({
        volume: String(v.index),
        type: v.type,
        size: v.size,
        fileSystem: v.fileSystem,
        label: v.label,
        content: v.content,
        readable: v.fileSystem !== null && DRIVERS.some((d) => d.types.includes(v.fileSystem!)),
        notes: v.notes,
      }));
    } finally {
      chain.close();
    }
  },

  guestList: (q: GuestQuery & { dir: string }): GuestListing =>
    withGuestFileSystem(q, q.at ?? 0, (fsys) => {
      const dir = resolveGuestPath(fsys, q.dir);
      if (dir.type !== 'dir') throw new DiskchainError('E_USAGE', `${q.dir} is not a folder`, q.path);
      const all = fsys.list(dir);
      return { path: normalise(q.dir), entries: all.slice(0, LIST_MAX).map(row), truncated: all.length > LIST_MAX, notes: [...fsys.notes] };
    }),

  guestPreview: (q: GuestQuery & { file: string }): GuestPreview =>
    withGuestFileSystem(q, q.at ?? 0, (fsys) => {
      const file = resolveGuestPath(fsys, q.file);
      if (file.type !== 'file') throw new DiskchainError('E_USAGE', `${q.file} is not a file`, q.path);
      const head = Buffer.alloc(Math.min(file.size, PREVIEW_MAX));
      const n = readFully(fsys.read.bind(fsys), file, head);
      const mime = imageType(head.subarray(0, n));
      if (mime !== null && file.size <= IMAGE_MAX) {
        const bytes = Buffer.alloc(file.size);
        readFully(fsys.read.bind(fsys), file, bytes);
        return { path: normalise(q.file), size: file.size, kind: 'image', encoding: null, text: null, base64: bytes.toString('base64'), mime, truncated: false };
      }
      return { path: normalise(q.file), size: file.size, ...previewOf(head.subarray(0, n)), truncated: n < file.size };
    }),

  /** What link `at` changed over link `at + 1` (its parent). */
  guestDiff: (q: GuestQuery & { dir: string; content?: boolean | undefined }): GuestDiff => {
    const at = q.at ?? 0;
    const chain = openQueryChain(q, at);
    const parents = chain.links.length - 1;
    chain.close();
    if (parents === 0) throw new DiskchainError('E_USAGE', `link ${at} is the base of the chain; it has no parent to compare with`, q.path);
    return withGuestFileSystem(q, at, (after) => {
      const problems: string[] = [];
      const changes: GuestDiff['changes'] = [];
      let truncated = false;
      withGuestFileSystem(q, at + 1, (before) => {
        const onProblem = (p: { message: string }): void => void problems.push(p.message);
        for (const item of diffGuest(before, resolveGuestPath(before, q.dir), after, resolveGuestPath(after, q.dir), normalise(q.dir), { content: q.content === true, onProblem })) {
          if (changes.length >= DIFF_MAX) {
            truncated = true;
            break;
          }
          changes.push(item);
        }
      });
      return { at, changes, truncated, problems };
    });
  },
};

function row(e: GuestEntry): GuestRow {
  return {
    name: e.name,
    type: e.type,
    size: e.size,
    mtimeMs: e.mtimeMs,
    ...(e.attributes ? { attributes: e.attributes } : {}),
    ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
  };
}

function readFully(read: (f: GuestEntry, b: Buffer, o: number) => number, file: GuestEntry, buf: Buffer): number {
  let done = 0;
  while (done < buf.length) {
    const n = read(file, buf.subarray(done), done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}

function imageType(b: Buffer): string | null {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return 'image/gif';
  if (b.length >= 2 && b.toString('latin1', 0, 2) === 'BM') return 'image/bmp';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/**
 * Text when it decodes as text: a UTF-16 or UTF-8 byte-order mark says which; else valid UTF-8
 * without NULs is UTF-8, and bytes without NULs or C0 controls (tabs and line ends aside) Latin-1.
 * Anything else is a hex dump of the first HEX_MAX bytes.
 */
export function previewOf(b: Buffer): Pick<GuestPreview, 'kind' | 'encoding' | 'text' | 'base64' | 'mime'> {
  const text = (encoding: string, value: string): Pick<GuestPreview, 'kind' | 'encoding' | 'text' | 'base64' | 'mime'> => ({ kind: 'text', encoding, text: value, base64: null, mime: null });
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return text('UTF-16LE', b.subarray(2, 2 + ((b.length - 2) & ~1)).toString('utf16le'));
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const be = Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)));
    return text('UTF-16BE', be.swap16().toString('utf16le'));
  }
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return text('UTF-8', new TextDecoder('utf-8').decode(b.subarray(3)));
  // eslint-disable-next-line no-control-regex -- C0 controls other than tab, LF, FF, CR mark binary data
  const binary = /[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]/.test(b.toString('latin1'));
  if (!binary) {
    try {
      // A preview cut in the middle of a character still counts as UTF-8: trim up to 3 bytes.
      return text('UTF-8', new TextDecoder('utf-8', { fatal: true }).decode(trimPartial(b)));
    } catch {
      return text('Latin-1', b.toString('latin1'));
    }
  }
  return { kind: 'hex', encoding: null, text: hexDump(b.subarray(0, HEX_MAX)), base64: null, mime: null };
}

function trimPartial(b: Buffer): Buffer {
  for (let i = 1; i <= Math.min(3, b.length); i++) {
    const c = b[b.length - i]!;
    if ((c & 0xc0) === 0x80) continue;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return need > i ? b.subarray(0, b.length - i) : b;
    }
    return b;
  }
  return b;
}

function hexDump(b: Buffer): string {
  const lines: string[] = [];
  for (let off = 0; off < b.length; off += 16) {
    const row = b.subarray(off, off + 16);
    const hex = [...row].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}

function normalise(p: string): string {
  return `/${p.split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
}
