import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { ftsMatch, parseWhen } from '../../../main/catalog/search.js';
import type { EntryQuery } from '../../../main/catalog/types.js';
import { writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { buildCowd } from '../../fixtures/cowd-builder.js';
import { qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';
import { makeArchive, MiB, setMtime } from './fixtures.js';

describe('catalog search', () => {
  const dir = tmpDir();
  const root = path.join(dir, 'nas');
  let catalog: Catalog;

  /** Names of the entries a query finds, in the order returned. */
  const names = (q: EntryQuery): string[] => catalog.search(q).entries.map((e) => e.name);

  beforeAll(async () => {
    const web = path.join(root, 'web01');
    fs.mkdirSync(web, { recursive: true });
    qemuImg('create', '-q', '-f', 'vmdk', path.join(web, 'web01.vmdk'), '8M');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'web01.vmdk', '-F', 'vmdk', path.join(web, 'web01-000001.vmdk'));
    fs.writeFileSync(path.join(web, 'web01.vmx'), 'displayName = "Web Frontend"\nscsi0:0.fileName = "web01-000001.vmdk"\n');
    setMtime(path.join(web, 'web01.vmdk'), new Date(2020, 0, 15, 12, 0));
    setMtime(path.join(web, 'web01-000001.vmdk'), new Date(2021, 6, 1, 12, 0));

    const db = path.join(root, 'db');
    fs.mkdirSync(db);
    writeVmfsDisk(db, 'db', 64 * MiB);
    setMtime(path.join(db, 'db.vmdk'), new Date(2023, 5, 1, 8, 30));
    qemuImg('create', '-q', '-f', 'vmdk', path.join(db, 'Café-Server.vmdk'), '1M');
    setMtime(path.join(db, 'Café-Server.vmdk'), new Date(2023, 11, 31, 23, 59));

    const old = path.join(root, 'old-esx');
    fs.mkdirSync(old);
    fs.writeFileSync(path.join(old, 'mail.dsk'), patternBytes(2 * MiB, 1));
    buildCowd(path.join(old, 'mail.dsk.REDO'), { capacitySectors: (2 * MiB) / 512, parentFileName: 'mail.dsk', writes: [] });
    setMtime(path.join(old, 'mail.dsk'), new Date(2005, 1, 1));
    setMtime(path.join(old, 'mail.dsk.REDO'), new Date(2005, 1, 2));
    fs.writeFileSync(path.join(old, 'broken.vmdk'), 'not a disk');
    setMtime(path.join(old, 'broken.vmdk'), new Date(2005, 1, 3));

    makeArchive(path.join(root, 'backups', 'web01-2024-05-01'), { vm: 'web01', createdAt: '2024-05-01T10:00:00.000Z', capacityBytes: 8 * MiB });
    makeArchive(path.join(root, 'backups', 'mail-2024-06-01'), { vm: 'mail', createdAt: '2024-06-01T10:00:00.000Z', kind: 'cowd' });

    catalog = Catalog.open(path.join(dir, 'catalog.db'));
    await catalog.scan([root]);
  });
  afterAll(() => catalog.close());

  it('lists everything in id order when no filter is given', () => {
    expect(catalog.search({}).entries).toHaveLength(9);
    const ids = catalog.search({}).entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('finds by name, file and folder words, each word as a prefix', () => {
    expect(names({ text: 'web01' })).toEqual(['web01-2024-05-01', 'web01-000001.vmdk', 'web01.vmdk']);
    expect(names({ text: 'web' })).toEqual(names({ text: 'web01' }));
    expect(names({ text: '000001' })).toEqual(['web01-000001.vmdk']);
    expect(names({ text: 'backups web' })).toEqual(['web01-2024-05-01']);
    expect(names({ text: 'REDO' })).toEqual(['mail.dsk.REDO']);
    expect(names({ text: 'nothing-like-this' })).toEqual([]);
  });

  it('full text ignores case and accents', () => {
    expect(names({ text: 'cafe server' })).toEqual(['Café-Server.vmdk']);
    expect(names({ text: 'CAFÉ' })).toEqual(['Café-Server.vmdk']);
  });

  it('finds by VM name: the .vmx beside a disk (and its parents), or the archive manifest', () => {
    expect(names({ vm: 'frontend' })).toEqual(['web01-000001.vmdk', 'web01.vmdk']);
    expect(names({ vm: 'mail' })).toEqual(['mail-2024-06-01']);
    expect(names({ vm: 'web' })).toEqual(['web01-2024-05-01', 'web01-000001.vmdk', 'web01.vmdk']);
  });

  it('finds by kind, case-insensitively; an archive matches the kinds of the disks it holds', () => {
    expect(names({ kind: 'COWD' })).toEqual(['mail-2024-06-01', 'mail.dsk.REDO']);
    expect(names({ kind: 'vmfs' })).toEqual(['web01-2024-05-01', 'db.vmdk']);
    expect(names({ kind: 'archive' })).toEqual(['mail-2024-06-01', 'web01-2024-05-01']);
    expect(names({ kind: 'raw' })).toEqual(['mail.dsk']);
    expect(names({ type: 'archive', kind: 'cowd' })).toEqual(['mail-2024-06-01']);
  });

  it('finds by date: a disk by its mtime, an archive by its createdAt; a bare --until date includes that day', () => {
    expect(names({ since: '2023-01-01', until: '2023-12-31' })).toEqual(['Café-Server.vmdk', 'db.vmdk']);
    expect(names({ since: '2023-12-31' })).toEqual(['mail-2024-06-01', 'web01-2024-05-01', 'Café-Server.vmdk']);
    expect(names({ until: '2005-02-02' })).toEqual(['mail.dsk', 'mail.dsk.REDO']);
    expect(names({ since: '2024-05-01T10:00:00Z', until: '2024-05-01T10:00:00Z' })).toEqual(['web01-2024-05-01']);
  });

  it('finds by capacity and by bytes on disk', () => {
    expect(names({ minCapacityBytes: 16 * MiB })).toEqual(['db.vmdk']);
    expect(names({ maxCapacityBytes: MiB })).toEqual(['Café-Server.vmdk']);
    expect(names({ minCapacityBytes: 8 * MiB, maxCapacityBytes: 8 * MiB })).toEqual(['web01-2024-05-01', 'web01-000001.vmdk', 'web01.vmdk']);
    expect(names({ minSizeBytes: 32 * MiB })).toEqual(['db.vmdk']);
    expect(names({ maxSizeBytes: 64, type: 'disk' })).toEqual(['broken.vmdk']);
  });

  it('combines words and filters with AND, and finds errors by status', () => {
    expect(names({ text: 'web01', type: 'disk', since: '2021-01-01' })).toEqual(['web01-000001.vmdk']);
    expect(names({ status: 'error' })).toEqual(['broken.vmdk']);
    expect(names({ text: 'mail', kind: 'raw' })).toEqual(['mail.dsk']);
  });

  it('pages with limit and offset and says whether more follow', () => {
    const all = catalog.search({ limit: 1000 }).entries.map((e) => e.id);
    const seen: number[] = [];
    for (let offset = 0; ; offset += 4) {
      const page = catalog.search({ limit: 4, offset });
      expect(page).toMatchObject({ limit: 4, offset });
      seen.push(...page.entries.map((e) => e.id));
      if (!page.more) break;
      expect(page.entries).toHaveLength(4);
    }
    expect(seen).toEqual(all);
    expect(catalog.search({ text: 'web', limit: 2 })).toMatchObject({ more: true, entries: [{}, {}] });
    expect(catalog.search({ text: 'web', limit: 2, offset: 2 })).toMatchObject({ more: false, entries: [{}] });
    expect(catalog.list({ limit: 3 }).entries).toHaveLength(3);
  });

  it('iterate streams every match (or query.limit of them) past the page cap; count counts them', () => {
    const all = catalog.search({ limit: 1000 }).entries.map((e) => e.id);
    expect([...catalog.iterate({ limit: 5000 })].map((e) => e.id)).toEqual(all);
    expect([...catalog.iterate()].map((e) => e.id)).toEqual(all);
    expect([...catalog.iterate({ text: 'web', limit: 2, offset: 1 })].map((e) => e.name)).toEqual(['web01-000001.vmdk', 'web01.vmdk']);
    expect(catalog.count()).toBe(9);
    expect(catalog.count({ text: 'web', limit: 1 })).toBe(3);
    expect(catalog.count({ kind: 'cowd' })).toBe(2);
  });

  it('rejects bad filters with a usage error instead of a query error', () => {
    expect(() => catalog.search({ text: '--- ***' })).toThrow(/no letters or digits/);
    expect(() => catalog.search({ since: 'last tuesday' })).toThrow(/bad --since/);
    expect(() => catalog.search({ limit: 0 })).toThrow(/bad limit/);
    expect(() => catalog.search({ limit: 5000 })).toThrow(/bad limit/);
    expect(() => catalog.search({ offset: -1 })).toThrow(/bad offset/);
    expect(() => catalog.search({ minCapacityBytes: 1.5 })).toThrow(/bad minimum capacity/);
    for (const q of [{ text: '"' }, { text: 'a"b OR NEAR(' }, { vm: ')(' }]) {
      expect(() => catalog.search(q)).not.toThrow(/fts5|syntax/i);
    }
  });
});

describe('search query helpers', () => {
  it('turns words into quoted prefix terms, so nothing typed is FTS syntax', () => {
    expect(ftsMatch('web01-000002.vmdk', undefined)).toBe('"web01"* AND "000002"* AND "vmdk"*');
    expect(ftsMatch('a"b OR c', 'Web Server')).toBe('"a"* AND "b"* AND "OR"* AND "c"* AND vm : "Web"* AND vm : "Server"*');
    expect(ftsMatch(undefined, undefined)).toBeNull();
    expect(ftsMatch('  ', undefined)).toBeNull();
  });

  it('reads dates, date-times and spans back from now', () => {
    const now = Date.UTC(2024, 4, 10, 12, 0, 0);
    expect(parseWhen('7d', 'since', now)).toBe(now - 7 * 86_400_000);
    expect(parseWhen('12h', 'until', now)).toBe(now - 12 * 3_600_000);
    expect(parseWhen('2w', 'since', now)).toBe(now - 14 * 86_400_000);
    expect(parseWhen('2024-05-01', 'since', now)).toBe(new Date(2024, 4, 1).getTime());
    expect(parseWhen('2024-05-01', 'until', now)).toBe(new Date(2024, 4, 2).getTime());
    expect(parseWhen('2024-05-01T10:00:00Z', 'since', now)).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseWhen('2024-05-01T10:00:00Z', 'until', now)).toBe(Date.UTC(2024, 4, 1, 10) + 1);
    expect(() => parseWhen('May 1st', 'since', now)).toThrow(/bad --since/);
  });
});
