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
  /** How many entries have the type TYPE_UNKNOWN (a reader that writes the columns itself counts them too). */
  unknown = 0;
  /** `bytes` as latin1 text, made once per folder when a name is asked for (see name()). */
  private text: string | null = null;
  /** order()'s sort keys, as 64-bit keys and as their 32-bit words (one room), and a copy of the order; kept for the next folder. */
  private keys = new BigUint64Array(0);
  private keyWords = new Uint32Array(0);
  private spare = new Uint32Array(0);
  private orderRoom = new Uint32Array(FIRST_ENTRIES);

  reset(): void {
    this.count = 0;
    this.unknown = 0;
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
   * (ext's parseDirBlock, a hot loop) reserves a block's worth first, then sets `count` and `unknown`.
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
    return this.unknown === 0;
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
   * points). Names are sorted six bytes at a time by V8's native sort of 64-bit keys (the six bytes,
   * then the entry's place), and names that share those bytes again by the next six: no comparator
   * call per comparison (a JavaScript sort was a fifth of `ls -R`, mostly before V8 had optimised it).
   * The array is the list's own, valid until the next order().
   */
  order(): Uint32Array {
    const n = this.count;
    if (this.orderRoom.length < n) this.orderRoom = new Uint32Array(Math.max(n, 2 * this.orderRoom.length));
    const index = this.orderRoom.subarray(0, n);
    if (n > MAX_KEYED) {
      for (let i = 0; i < n; i++) index[i] = i;
      if (this.spare.length < n) this.spare = new Uint32Array(n);
      mergeSort(index, this.spare, n, (a, b) => this.compareFrom(a, b, 0));
    } else {
      this.sortFrom(index, 0, n, 0, true);
    }
    return index;
  }

  /**
   * Sorts index[lo, hi) by the names' bytes from `offset` on (the bytes before it are the same).
   * `fresh`: the range is not filled yet and stands for entries lo to hi-1 in their own order.
   */
  private sortFrom(index: Uint32Array, lo: number, hi: number, offset: number, fresh = false): void {
    // Fewer than two names go through the same steps (no branch of their own that V8 has not seen).
    const m = hi - lo;
    if (this.keyWords.length < 2 * m) {
      const keys = Math.max(m, 256);
      const room = new ArrayBuffer(8 * keys);
      this.keyWords = new Uint32Array(room);
      this.keys = new BigUint64Array(room);
      if (this.spare.length < keys) this.spare = new Uint32Array(keys);
    }
    const { bytes, starts, lengths, keyWords: words } = this;
    // Key j (little-endian words): high = bytes offset..offset+3, low = bytes offset+4..offset+5 then j.
    // A name that ends early counts its missing bytes as 0, below every byte a name holds (no NUL).
    for (let j = 0; j < m; j++) {
      const i = fresh ? lo + j : index[lo + j]!;
      const s = starts[i]! + offset;
      const left = lengths[i]! - offset;
      let high: number;
      let low: number;
      if (left >= KEY_BYTES) {
        high = ((bytes[s]! << 24) | (bytes[s + 1]! << 16) | (bytes[s + 2]! << 8) | bytes[s + 3]!) >>> 0;
        low = ((bytes[s + 4]! << 24) | (bytes[s + 5]! << 16) | j) >>> 0;
      } else {
        high = 0;
        low = 0;
        for (let k = 0; k < 4; k++) high = (high << 8) | (k < left ? bytes[s + k]! : 0);
        for (let k = 4; k < 6; k++) low = (low << 8) | (k < left ? bytes[s + k]! : 0);
        high >>>= 0;
        low = ((low << 16) | j) >>> 0;
      }
      words[2 * j] = low;
      words[2 * j + 1] = high;
    }
    this.keys.subarray(0, m).sort();
    if (fresh) {
      for (let j = 0; j < m; j++) index[lo + j] = lo + (words[2 * j]! & 0xffff);
    } else {
      const was = this.spare;
      for (let j = 0; j < m; j++) was[j] = index[lo + j]!;
      for (let j = 0; j < m; j++) index[lo + j] = was[words[2 * j]! & 0xffff]!;
    }
    // Names equal in these six bytes and longer than them: on by the next six. Found before recursing,
    // which reuses the key room; a key's first word ends in its place, so equal bytes are equal
    // second words and first words but for their low 16 bits.
    let ties: number[] | null = null;
    const past = offset + KEY_BYTES;
    for (let j = 1, run = 0; j <= m; j++) {
      if (j < m && words[2 * j + 1] === words[2 * run + 1] && (words[2 * j]! ^ words[2 * run]!) >>> 16 === 0) continue;
      if (j - run > 1) {
        let longer = false;
        for (let k = run; k < j; k++) if (lengths[index[lo + k]!]! > past) longer = true;
        if (longer) (ties ??= []).push(lo + run, lo + j);
      }
      run = j;
    }
    if (ties) for (let t = 0; t < ties.length; t += 2) this.sortFrom(index, ties[t]!, ties[t + 1]!, past);
  }

  /** Names a and b by their bytes from `offset` on, then by length. */
  private compareFrom(a: number, b: number, offset: number): number {
    const bytes = this.bytes;
    const sa = this.starts[a]!;
    const sb = this.starts[b]!;
    const la = this.lengths[a]!;
    const lb = this.lengths[b]!;
    const len = la < lb ? la : lb;
    for (let k = offset; k < len; k++) {
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
    if (type === TYPE_UNKNOWN) this.unknown++;
    this.count = i + 1;
  }
}

/** The code NameList.add takes for an EntryType. */
export function typeCode(type: EntryType): number {
  return CODES[type];
}

/** Bytes of a name in one sort key. */
const KEY_BYTES = 6;
/** A key holds an entry's place in 16 bits: bigger folders (rare) are merge-sorted. */
const MAX_KEYED = 65536;
/** Runs this short are sorted by insertion before merging. */
const RUN = 8;

/** Sorts index[0, n) with `compare`. `spare` has room for n. */
function mergeSort(index: Uint32Array, spare: Uint32Array, n: number, compare: (a: number, b: number) => number): void {
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const x = index[i]!;
      let j = i - 1;
      for (; j >= lo && compare(index[j]!, x) > 0; j--) index[j + 1] = index[j]!;
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
        if (compare(from[i]!, from[j]!) <= 0) to[k++] = from[i++]!;
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
