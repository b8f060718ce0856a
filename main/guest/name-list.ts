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

const FIRST_BYTES = 16 * 1024;
const FIRST_ENTRIES = 256;

export class NameList {
  count = 0;
  /** Name bytes (UTF-8 as the folder has them) from 0 to `used`: whole folder blocks, or names one after another. */
  bytes = Buffer.allocUnsafe(FIRST_BYTES);
  used = 0;
  /** Entry i's name is lengths[i] bytes at starts[i] of `bytes`. */
  starts = new Uint32Array(FIRST_ENTRIES);
  lengths = new Uint16Array(FIRST_ENTRIES);
  types = new Uint8Array(FIRST_ENTRIES);
  /** What lists the entry when it is a folder: an inode number, or a file system's id string. */
  ids: Array<number | string> = [];
  /** `bytes` as latin1 text, made once per folder when a name is asked for (see name()). */
  private text: string | null = null;
  /** order()'s sort keys (bytes 0–2 and 3–5 of each name) and merge room, kept for the next folder. */
  private keys0 = new Int32Array(0);
  private keys1 = new Int32Array(0);
  private spare = new Uint32Array(0);

  reset(): void {
    this.count = 0;
    this.used = 0;
    this.text = null;
  }

  /**
   * Copies bytes [from, to) of `src` to the end of `bytes` and says where they start there. A reader
   * appends a whole folder block at once and then sets its entries' starts inside it: one copy per
   * block, none per name.
   */
  append(src: Uint8Array, from: number, to: number): number {
    const length = to - from;
    if (this.used + length > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + length));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    this.bytes.set(src.subarray(from, to), this.used);
    this.text = null;
    const at = this.used;
    this.used += length;
    return at;
  }

  /**
   * Room for `more` entries after the `count` there are: a reader that writes the columns itself
   * (ext's parseDirBlock, a hot loop) reserves a block's worth first, then sets `count`.
   */
  reserve(more: number): void {
    const need = this.count + more;
    if (need <= this.starts.length) return;
    let size = this.starts.length;
    while (size < need) size *= 2;
    this.starts = grown(this.starts, new Uint32Array(size));
    this.lengths = grown(this.lengths, new Uint16Array(size));
    this.types = grown(this.types, new Uint8Array(size));
  }

  /** Appends the name in bytes [from, to) of `src`; `type` is an EntryType's code (typeCode) or TYPE_UNKNOWN. */
  add(src: Uint8Array, from: number, to: number, type: number, id: number | string): void {
    this.push(this.append(src, from, to), to - from, type, id);
  }

  /** Appends a name given as text (file systems whose folders are not UTF-8, through list()). */
  addName(name: string, type: EntryType, id: number | string): void {
    const bytes = Buffer.from(name);
    this.add(bytes, 0, bytes.length, CODES[type], id);
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

  /** Whether entry i's name is all ASCII (most are): its bytes are its text. */
  isAscii(i: number): boolean {
    const bytes = this.bytes;
    const start = this.starts[i]!;
    const end = start + this.lengths[i]!;
    for (let k = start; k < end; k++) if (bytes[k]! >= 0x80) return false;
    return true;
  }

  /** Entry i's name as text (invalid UTF-8 becomes U+FFFD). ASCII names are cut from one decode of the folder. */
  name(i: number): string {
    const start = this.starts[i]!;
    const end = start + this.lengths[i]!;
    if (!this.isAscii(i)) return this.bytes.toString('utf8', start, end);
    this.text ??= this.bytes.toString('latin1', 0, this.used);
    return this.text.slice(start, end);
  }

  /** Entry i as a GuestName (for the folders a walk goes into, and callers that want objects). */
  entry(i: number): GuestName {
    return new ListedName(this.name(i), this.type(i) ?? 'other', this.ids[i]!);
  }

  /**
   * The entries' indices in name order: by bytes, as `LC_ALL=C ls` sorts (for UTF-8 the order of code
   * points). Each name's first six bytes make two small integers, so most comparisons are integer
   * compares inline in a merge sort (Array sort calling a comparator was a fifth of `ls -R`, and keys
   * held as doubles are boxed until the code is optimised); names that share them are compared on from there.
   */
  order(): Uint32Array {
    const n = this.count;
    const index = new Uint32Array(n);
    if (this.keys0.length < n) {
      this.keys0 = new Int32Array(this.starts.length);
      this.keys1 = new Int32Array(this.starts.length);
      this.spare = new Uint32Array(this.starts.length);
    }
    const { bytes, starts, lengths, keys0, keys1 } = this;
    for (let i = 0; i < n; i++) {
      index[i] = i;
      const s = starts[i]!;
      const len = lengths[i]!;
      if (len >= KEY_BYTES) {
        keys0[i] = (bytes[s]! << 16) | (bytes[s + 1]! << 8) | bytes[s + 2]!;
        keys1[i] = (bytes[s + 3]! << 16) | (bytes[s + 4]! << 8) | bytes[s + 5]!;
      } else {
        // Missing bytes count as 0, below every byte a name can hold (names have no NUL).
        let k0 = 0;
        let k1 = 0;
        for (let k = 0; k < 3; k++) k0 = (k0 << 8) | (k < len ? bytes[s + k]! : 0);
        for (let k = 3; k < 6; k++) k1 = (k1 << 8) | (k < len ? bytes[s + k]! : 0);
        keys0[i] = k0;
        keys1[i] = k1;
      }
    }
    mergeSort(index, this.spare, n, keys0, keys1, (a, b) => this.compareTails(a, b));
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

  private push(start: number, length: number, type: number, id: number | string): void {
    this.reserve(1);
    const i = this.count;
    this.starts[i] = start;
    this.lengths[i] = length;
    this.types[i] = type;
    this.ids[i] = id;
    this.count = i + 1;
  }
}

/** The code NameList.add takes for an EntryType. */
export function typeCode(type: EntryType): number {
  return CODES[type];
}

/** Bytes of a name in its two sort keys. */
const KEY_BYTES = 6;
/** Runs this short are sorted by insertion before merging. */
const RUN = 8;

/** Sorts index[0, n) by (keys0, keys1)[index], then `tie` where both are equal. `spare` has room for n. */
function mergeSort(index: Uint32Array, spare: Uint32Array, n: number, keys0: Int32Array, keys1: Int32Array, tie: (a: number, b: number) => number): void {
  // a before (or with) b: inline in both loops below, so that most comparisons make no call.
  const before = (a: number, b: number): boolean => {
    const d = keys0[a]! - keys0[b]!;
    if (d !== 0) return d < 0;
    const e = keys1[a]! - keys1[b]!;
    return e !== 0 ? e < 0 : tie(a, b) <= 0;
  };
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const x = index[i]!;
      let j = i - 1;
      for (; j >= lo && !before(index[j]!, x); j--) index[j + 1] = index[j]!;
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
        if (before(from[i]!, from[j]!)) to[k++] = from[i++]!;
        else to[k++] = from[j++]!;
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
