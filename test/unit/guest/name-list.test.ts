/** NameList: a folder's names as bytes, sorted by bytes, grown past its first room, reused per folder. */
import { describe, expect, it } from 'vitest';
import { ListedName, NameList, TYPE_UNKNOWN, typeCode } from '../../../main/guest/name-list.js';

function filled(names: string[]): NameList {
  const list = new NameList();
  names.forEach((n, i) => {
    const bytes = Buffer.from(`..${n}..`);
    list.add(bytes, 2, bytes.length - 2, i % 2 === 0 ? typeCode('file') : typeCode('dir'), i + 100);
  });
  return list;
}

describe('NameList', () => {
  it('orders names by their bytes, as LC_ALL=C ls does: shared six-byte prefixes, prefixes of each other, UTF-8', () => {
    const names = ['abcdef', 'abcdefg', 'abcdeg', 'abcdefgh', 'abcdef0123456', 'abcdef0123455', 'abcdef012345', 'file10.txt', 'file1.txt', 'file100', 'file1', 'File1', 'a', 'b', '', 'été', 'zz', 'file10.tx', '日本語', '\u{1F600}', '\uFFFD', 'file10.txu', 'IMG_0001.JPG', 'IMG_0001.JPF'];
    const list = filled(names);
    const sorted = Array.from(list.order(), (i) => list.name(i));
    expect(sorted).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    // Code point order, not UTF-16's: U+1F600 after U+FFFD.
    expect(sorted.indexOf('\u{1F600}')).toBeGreaterThan(sorted.indexOf('\uFFFD'));
  });

  it('sorts names that share their first six bytes, or twelve, and names that end there, whatever order they come in', () => {
    const names = ['IMG_0001.JPG', 'IMG_0001.JPF', 'IMG_00', 'IMG_0001', 'IMG_0001.JPG.bak', 'IMG_000', 'IMG_0', 'IMG_0010.JPG', 'IMG_00011', 'IMG_0001.JP'];
    for (let round = 0; round < 20; round++) {
      const shuffled = [...names].sort(() => Math.random() - 0.5);
      const list = filled(shuffled);
      expect(Array.from(list.order(), (i) => list.name(i))).toEqual([...names].sort());
    }
  });

  it('one list sorts folder after folder, small, big and small again', () => {
    const list = new NameList();
    for (const size of [3, 100, 300, 5000, 40, 1000]) {
      list.reset();
      const names = Array.from({ length: size }, (_, i) => `name-${(i * 7919) % size}`);
      for (const n of names) list.addName(n, 'file', 0);
      expect(Array.from(list.order(), (i) => list.name(i)), `${size} names`).toEqual([...names].sort());
    }
  });

  it('merge-sorts a folder too big for its keys (more than 65,536 names)', () => {
    const names = Array.from({ length: 70_000 }, (_, i) => `x${(i * 7919) % 70_000}`);
    const list = filled(names);
    expect(Array.from(list.order(), (i) => list.name(i))).toEqual([...names].sort());
  });

  it('sorts thousands of names and keeps their types and ids', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `n${(i * 7919) % 5000}`);
    const list = filled(names);
    expect(list.count).toBe(5000);
    const order = list.order();
    const sorted = Array.from(order, (i) => list.name(i));
    expect(sorted).toEqual([...names].sort());
    const i = names.indexOf('n42');
    expect([list.type(i), list.ids[i]]).toEqual([i % 2 === 0 ? 'file' : 'dir', i + 100]);
  });

  it('knows which names are ASCII, decodes the others as UTF-8 (bad bytes as U+FFFD)', () => {
    const list = new NameList();
    list.add(Buffer.from('plain'), 0, 5, typeCode('file'), 1);
    list.add(Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9]), 0, 5, typeCode('file'), 2);
    list.add(Buffer.from([0x62, 0xff]), 0, 2, TYPE_UNKNOWN, 3);
    expect([0, 1, 2].map((i) => list.isAscii(i))).toEqual([true, false, false]);
    expect([list.name(0), list.name(1), list.name(2)]).toEqual(['plain', 'café', 'b\uFFFD']);
    expect(list.type(2)).toBeNull();
    expect(list.typesKnown()).toBe(false);
    list.addName('über', 'symlink', 'x7');
    expect([list.name(3), list.type(3), list.isAscii(3)]).toEqual(['über', 'symlink', false]);
  });

  it('starts again on reset(), and gives entries whose id string is made when asked for', () => {
    const list = filled(['a', 'b']);
    list.reset();
    list.add(Buffer.from('c'), 0, 1, typeCode('dir'), 12);
    expect(list.count).toBe(1);
    expect(list.name(0)).toBe('c');
    const entry = list.entry(0);
    expect(entry).toBeInstanceOf(ListedName);
    expect([entry.name, entry.type, entry.id, (entry as ListedName).ref]).toEqual(['c', 'dir', '12', 12]);
  });
});
