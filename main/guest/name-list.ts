/**
 * A folder's names as columns of bytes: the listing form of walks that print or test names only
 * (`ls -R`, `find`, diff's shortcut). One NameList serves a whole walk (reset() per folder), so
 * 100,000 names make no object and no string each: `ls` copies a name's bytes to its output as
 * they are in the folder, and only the names a caller asks for become strings.
 */
import type { EntryType, GuestName } from './types.js';

/** Entry types as stored in `types`: UNKNOWN where the folder does not say (the record must be read). */
export const TYPE_UNKNOWN = 0;
const TYPES: readonly EntryType[] = ['other', 'file', 'dir', 'symlink', 'other'];
const CODES: Readonly<Record<EntryType, number>> = { file: 1, dir: 2, symlink: 3, other: 4 };

/** Names are at most a few hundred bytes (255 UTF-16 units of NTFS: 765); room for 64 of them at first. */
const FIRST_BYTES = 16 * 1024;
const FIRST_ENTRIES = 256;

export class NameList {
  count = 0;
  /** The names' bytes (UTF-8 as the folder has them), one after another from 0 to `used`. */
  bytes = Buffer.allocUnsafe(FIRST_BYTES);
  used = 0;
  starts = new Uint32Array(FIRST_ENTRIES);
  lengths = new Uint16Array(FIRST_ENTRIES);
  /** 1 where the name is all ASCII (most names): its bytes are its text. */
  ascii = new Uint8Array(FIRST_ENTRIES);
  types = new Uint8Array(FIRST_ENTRIES);
  /** What lists the entry when it is a folder: an inode number, or a file system's id string. */
  ids: Array<number | string> = [];
  /** The names' bytes as latin1 text, made once per folder when a name is asked for (see name()). */
  private text: string | null = null;
  /** order()'s sort keys and merge room, kept for the next folder. */
  private keys = new Float64Array(0);
  private spare = new Uint32Array(0);

  reset(): void {
    this.count = 0;
    this.used = 0;
    this.text = null;
  }

  /** Appends the name in bytes [from, to) of `src`; `type` is an EntryType's code (typeCode) or TYPE_UNKNOWN. */
  add(src: Uint8Array, from: number, to: number, type: number, id: number | string): void {
    const i = this.room(to - from);
    this.text = null;
    let ascii = 1;
    const bytes = this.bytes;
    let at = this.used;
    for (let k = from; k < to; k++) {
      const b = src[k]!;
      if (b >= 0x80) ascii = 0;
      bytes[at++] = b;
    }
    this.ascii[i] = ascii;
    this.finish(i, to - from, type, id);
  }

  /** Appends a name given as text (file systems whose folders are not UTF-8, through list()). */
  addName(name: string, type: EntryType, id: number | string): void {
    const length = Buffer.byteLength(name);
    const i = this.room(length);
    this.text = null;
    this.bytes.write(name, this.used, length, 'utf8');
    this.ascii[i] = length === name.length ? 1 : 0;
    this.finish(i, length, CODES[type], id);
  }

  type(i: number): EntryType | null {
    const code = this.types[i]!;
    return code === TYPE_UNKNOWN ? null : TYPES[code]!;
  }

  /** Whether every entry's type is known from the folder alone. */
  typesKnown(): boolean {
    for (let i = 0; i < this.count; i++) if (this.types[i] === TYPE_UNKNOWN) return false;
    return true;
  }

  /** Entry i's name as text (invalid UTF-8 becomes U+FFFD). ASCII names are cut from one decode of the folder. */
  name(i: number): string {
    const start = this.starts[i]!;
    const end = start + this.lengths[i]!;
    if (this.ascii[i] === 0) return this.bytes.toString('utf8', start, end);
    this.text ??= this.bytes.toString('latin1', 0, this.used);
    return this.text.slice(start, end);
  }

  /** Entry i as a GuestName (for the folders a walk goes into, and callers that want objects). */
  entry(i: number): GuestName {
    return new ListedName(this.name(i), this.type(i) ?? 'other', this.ids[i]!);
  }

  /**
   * The entries' indices in name order: by bytes, as `LC_ALL=C ls` sorts (for UTF-8 the order of code
   * points). The first six bytes of each name make a number, so most comparisons are one compare of
   * two numbers, inline in a merge sort (a comparator function called by Array sort was a fifth of
   * `ls -R`); names that share those bytes are compared on from there.
   */
  order(): Uint32Array {
    const n = this.count;
    const index = new Uint32Array(n);
    if (this.keys.length < n) {
      this.keys = new Float64Array(this.starts.length);
      this.spare = new Uint32Array(this.starts.length);
    }
    const { bytes, starts, lengths, keys } = this;
    for (let i = 0; i < n; i++) {
      index[i] = i;
      const s = starts[i]!;
      const len = lengths[i]!;
      let key = 0;
      // Missing bytes count as 0, below every byte a name can hold (names have no NUL).
      for (let k = 0; k < KEY_BYTES; k++) key = key * 256 + (k < len ? bytes[s + k]! : 0);
      keys[i] = key;
    }
    mergeSort(index, this.spare, n, keys, (a, b) => this.compareTails(a, b));
    return index;
  }

  /** Names a and b by their bytes after the first KEY_BYTES (which are equal), then by length. */
  private compareTails(a: number, b: number): number {
    const bytes = this.bytes;
    const sa = this.starts[a]!;
    const sb = this.starts[b]!;
    const la = this.lengths[a]!;
    const lb = this.lengths[b]!;
    const len = la < lb ? la : lb;
    for (let k = KEY_BYTES; k < len; k++) {
      const x = bytes[sa + k]! - bytes[sb + k]!;
      if (x !== 0) return x;
    }
    return la - lb;
  }

  /** The index of the next entry, with room for it and `length` more bytes. */
  private room(length: number): number {
    const i = this.count;
    if (i === this.starts.length) {
      const more = i * 2;
      this.starts = grown(this.starts, new Uint32Array(more));
      this.lengths = grown(this.lengths, new Uint16Array(more));
      this.ascii = grown(this.ascii, new Uint8Array(more));
      this.types = grown(this.types, new Uint8Array(more));
    }
    if (this.used + length > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + length));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    return i;
  }

  private finish(i: number, length: number, type: number, id: number | string): void {
    this.starts[i] = this.used;
    this.lengths[i] = length;
    this.types[i] = type;
    this.ids[i] = id;
    this.used += length;
    this.count = i + 1;
  }
}

/** Bytes of a name in its sort key: 48 bits, exact in a double. */
const KEY_BYTES = 6;
/** Runs this short are sorted by insertion before merging. */
const RUN = 8;

/** Sorts index[0, n) by keys[index], then `tie` where keys are equal. `spare` has room for n. */
function mergeSort(index: Uint32Array, spare: Uint32Array, n: number, keys: Float64Array, tie: (a: number, b: number) => number): void {
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const x = index[i]!;
      const kx = keys[x]!;
      let j = i - 1;
      for (; j >= lo; j--) {
        const y = index[j]!;
        const ky = keys[y]!;
        if (ky < kx || (ky === kx && tie(y, x) <= 0)) break;
        index[j + 1] = y;
      }
      index[j + 1] = x;
    }
  }
  let from = index;
  let to = spare;
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const a = from[i]!;
        const b = from[j]!;
        const ka = keys[a]!;
        const kb = keys[b]!;
        if (ka < kb || (ka === kb && tie(a, b) <= 0)) {
          to[k++] = a;
          i++;
        } else {
          to[k++] = b;
          j++;
        }
      }
      while (i < mid) to[k++] = from[i++]!;
      while (j < hi) to[k++] = from[j++]!;
    }
    const t = from;
    from = to;
    to = t;
  }
  if (from !== index) index.set(from.subarray(0, n));
}

/** The code NameList.add takes for an EntryType. */
export function typeCode(type: EntryType): number {
  return CODES[type];
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}

/**
 * A name from a NameList. Its id string is made only when asked for, which a walk does for folders
 * alone; `ref` is the id as the file system gave it (an inode number stays a number).
 */
export class ListedName implements GuestName {
  constructor(
    readonly name: string,
    readonly type: EntryType,
    readonly ref: number | string,
  ) {}

  get id(): string {
    return String(this.ref);
  }
}
