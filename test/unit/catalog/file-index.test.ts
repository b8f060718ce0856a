import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { MIGRATIONS } from '../../../main/catalog/schema.js';
import { openCatalogDisk, type DiskAt } from '../../../main/catalog/open-disk.js';
import { getToHost } from '../../../main/guest/extract.js';
import { tmpDir } from '../../helpers/tmp.js';
import { guestFiles, MTIME, twoBackups } from '../../helpers/file-catalog.js';

/** The file catalog over two archives made by `diskchain backup` of a VM with ext4 and NTFS volumes. */
describe('file catalog: index, find, get, forget', () => {
  const dir = tmpDir('diskchain-file-index-');
  let nas: string;
  let catalog: Catalog;
  let ids: { first: number; second: number };

  beforeAll(async () => {
    nas = twoBackups(dir).nas;
    catalog = Catalog.open(path.join(dir, 'catalog.db'));
    await catalog.scan([nas]);
    const id = (name: string): number => catalog.search({ text: name, type: 'archive' }).entries.find((e) => e.name === name)!.id;
    ids = { first: id('web-1'), second: id('web-2') };
  });
  afterAll(() => catalog.close());

  it('indexes every file of the ext4 and NTFS volumes of both archives, and says what it read', async () => {
    const summary = await catalog.index(undefined);
    expect(summary).toMatchObject({ indexed: 2, unchanged: 0, failed: 0, skipped: 0 });
    const volumes = catalog.indexedVolumes(ids.first);
    expect(volumes.map((v) => [v.disk, v.volume, v.fileSystem, v.label, v.error])).toEqual([
      ['web', '1', 'ext4', 'linux', null],
      ['web', '2', 'ntfs', 'DATA', null],
    ]);
    // ext4: etc, etc/nginx, nginx.conf, hostname, home, home/ann, notes.txt, lost+found.
    expect(volumes[0]!.files).toBe(8);
    const ntfsNames = catalog.findFiles({ pattern: '*', entryId: ids.first }).versions.filter((v) => v.volume === '2').map((v) => v.path);
    expect(ntfsNames).toEqual(expect.arrayContaining(['/report.txt', '/boot.ini']));
  });

  it('find returns both versions of a changed file, newest first, with their sizes and times, the change marked', () => {
    const versions = catalog.findFiles({ pattern: 'nginx.conf' }).versions;
    expect(versions.map((v) => [v.entryId, v.path, v.size, v.mtime, v.changed])).toEqual([
      [ids.second, '/etc/nginx/nginx.conf', guestFiles(2).ext['/etc/nginx/nginx.conf']!.length, MTIME[2].toISOString(), true],
      [ids.first, '/etc/nginx/nginx.conf', guestFiles(1).ext['/etc/nginx/nginx.conf']!.length, MTIME[1].toISOString(), null],
    ]);
    expect(versions[0]).toMatchObject({ vmName: 'Web Server', disk: 'web', volume: '1', kind: 'file', ref: `${ids.second}:web:1:/etc/nginx/nginx.conf` });
    const notes = catalog.findFiles({ pattern: 'notes' }).versions;
    expect(notes.map((v) => [v.entryId, v.changed])).toEqual([
      [ids.second, false],
      [ids.first, null],
    ]);
    const report = catalog.findFiles({ pattern: 'report' }).versions;
    expect(report.map((v) => [v.volume, v.size])).toEqual([
      ['2', guestFiles(2).ntfs['/report.txt']!.length],
      ['2', guestFiles(1).ntfs['/report.txt']!.length],
    ]);
  });

  it('find narrows by word prefixes, globs, folder globs, VM, dates and sizes', () => {
    const paths = (q: Parameters<Catalog['findFiles']>[0]): string[] => [...new Set(catalog.findFiles(q).versions.map((v) => v.path))];
    expect(paths({ pattern: 'ngi' })).toEqual(['/etc/nginx', '/etc/nginx/nginx.conf']);
    expect(paths({ pattern: '*.conf' })).toEqual(['/etc/nginx/nginx.conf']);
    expect(paths({ pattern: '*ginx*' })).toEqual(['/etc/nginx', '/etc/nginx/nginx.conf']);
    expect(paths({ pattern: 'REPORT.TXT' })).toEqual(['/report.txt']);
    expect(paths({ pattern: '*', path: '/etc/*' })).toEqual(['/etc/hostname', '/etc/nginx', '/etc/nginx/nginx.conf']);
    expect(paths({ pattern: '*', path: 'nginx/*' })).toEqual(['/etc/nginx/nginx.conf']);
    expect(paths({ pattern: 'nginx', vm: 'nobody' })).toEqual([]);
    expect(paths({ pattern: 'nginx.conf', vm: 'web' })).toEqual(['/etc/nginx/nginx.conf']);
    expect(paths({ pattern: 'nginx.conf', minSizeBytes: 30 })).toEqual(['/etc/nginx/nginx.conf']);
    expect(catalog.findFiles({ pattern: 'nginx.conf', maxSizeBytes: 30 }).versions.map((v) => v.entryId)).toEqual([ids.first]);
    const second = catalog.show(ids.second).date;
    expect(catalog.findFiles({ pattern: 'nginx.conf', since: second }).versions.map((v) => v.entryId)).toEqual([ids.second]);
    const justBefore = new Date(Date.parse(second) - 1).toISOString();
    expect(catalog.findFiles({ pattern: 'nginx.conf', until: justBefore }).versions.map((v) => v.entryId)).toEqual([ids.first]);
    expect(() => catalog.findFiles({ pattern: '...' })).toThrow(/no letters or digits/);
  });

  it('get restores the chosen version with the bytes the guest had', async () => {
    const out = path.join(dir, 'restored');
    fs.mkdirSync(out);
    for (const [id, version] of [[ids.first, 1], [ids.second, 2]] as const) {
      const [v] = catalog.findFiles({ pattern: 'nginx.conf', entryId: id }).versions;
      const opened = await catalog.openVersion(v!.ref);
      try {
        getToHost(opened.fs, opened.entry, opened.path, path.join(out, `nginx-${version}.conf`));
      } finally {
        opened.chain.close();
      }
      expect(fs.readFileSync(path.join(out, `nginx-${version}.conf`))).toEqual(guestFiles(version).ext['/etc/nginx/nginx.conf']);
    }
    // The Restore file… job reads the archived disk through its archive (chunk-checked), not its descriptor as a host disk.
    await expect(catalog.locateFile(`${ids.first}:/etc/nginx/nginx.conf`)).resolves.toEqual({
      disk: catalog.show(ids.first).path,
      archiveDisk: 'web',
      at: 0,
      volume: '1',
      path: '/etc/nginx/nginx.conf',
      from: expect.stringMatching(/^web-1 \(/),
    });
    await expect(catalog.openVersion(`${ids.first}:/etc/nginx/nginx.conf`)).resolves.toMatchObject({ volume: '1', archive: catalog.show(ids.first).path });
    await expect(catalog.openVersion(`${ids.first}:/etc/missing`)).rejects.toThrow(/\/etc\/missing is not in the file index of #\d+/);
  });

  it('a re-index of unchanged archives opens nothing, even when the archives cannot be read', async () => {
    let opens = 0;
    const counting = (disk: DiskAt): ReturnType<typeof openCatalogDisk> => {
      opens++;
      // An archived disk is read through its archive, never as a plain host disk.
      expect(disk.archive).toMatchObject({ path: catalog.show(ids.first).path, disk: 'web', at: 0 });
      return openCatalogDisk(disk);
    };
    const again = await catalog.index(undefined, { openDisk: counting });
    expect(again).toMatchObject({ indexed: 0, unchanged: 2 });
    expect(opens).toBe(0);
    const archive = catalog.show(ids.first).path;
    fs.chmodSync(archive, 0o000);
    try {
      expect(await catalog.index([ids.first], { openDisk: counting })).toMatchObject({ unchanged: 1, failed: 0 });
    } finally {
      fs.chmodSync(archive, 0o755);
    }
    expect(opens).toBe(0);
    // --force reads it again: one disk, one open.
    expect(await catalog.index([ids.first], { openDisk: counting, force: true })).toMatchObject({ indexed: 1 });
    expect(opens).toBe(1);
    expect(catalog.findFiles({ pattern: 'nginx.conf' }).versions).toHaveLength(2);
  });

  it('an archive whose disk no longer opens fails with the reason and keeps its earlier index', async () => {
    const archive = catalog.show(ids.second);
    const segment = archive.archive!.files.find((f) => /-s\d{3}\.vmdk$/.test(f.name))!.name;
    const moved = path.join(dir, 'moved-segment');
    fs.renameSync(path.join(archive.path, segment), moved);
    try {
      const summary = await catalog.index([ids.second], { force: true });
      expect(summary).toMatchObject({ failed: 1, indexed: 0 });
      expect(summary.entries[0]!.reason).toContain(segment);
    } finally {
      fs.renameSync(moved, path.join(archive.path, segment));
    }
    expect(catalog.findFiles({ pattern: 'nginx.conf', entryId: ids.second }).versions).toHaveLength(1);
  });

  it('forget removes the entry\'s files from the catalog', () => {
    const db = new BetterSqlite3(catalog.path, { readonly: true });
    const rows = (): number => (db.prepare('SELECT count(*) AS n FROM files').get() as { n: number }).n;
    const before = rows();
    catalog.forget(ids.first);
    expect(rows()).toBe(before / 2);
    expect((db.prepare('SELECT count(*) AS n FROM file_volumes WHERE entry_id = ?').get(ids.first) as { n: number }).n).toBe(0);
    db.close();
    expect(catalog.findFiles({ pattern: 'nginx.conf' }).versions.map((v) => v.entryId)).toEqual([ids.second]);
  });
});

describe('file catalog: loose disks and schema migration', () => {
  const dir = tmpDir('diskchain-file-index-2-');
  let vmDir: string;
  let nas: string;

  beforeAll(() => {
    ({ vmDir, nas } = twoBackups(dir));
  });

  it('a version-2 catalog migrates keeping its entries, then indexes a loose disk, again only when it changed', async () => {
    const file = path.join(dir, 'old.db');
    const old = Catalog.open(file, { migrations: MIGRATIONS.slice(0, 2) });
    await old.scan([nas, vmDir]);
    const entries = old.list().entries.map((e) => [e.id, e.path, e.status]);
    old.close();
    expect(entries).toHaveLength(3);

    const catalog = Catalog.open(file);
    try {
      expect(catalog.list().entries.map((e) => [e.id, e.path, e.status])).toEqual(entries);
      const disk = catalog.list({ type: 'disk' }).entries[0]!;
      expect(await catalog.index([disk.id])).toMatchObject({ indexed: 1 });
      const versions = catalog.findFiles({ pattern: 'nginx.conf' }).versions;
      expect(versions.map((v) => [v.entryType, v.ref, v.size])).toEqual([
        ['disk', `${disk.id}:web.vmdk:1:/etc/nginx/nginx.conf`, guestFiles(2).ext['/etc/nginx/nginx.conf']!.length],
      ]);
      expect(await catalog.index([disk.id])).toMatchObject({ unchanged: 1 });
      // A touched disk file is a new key: read again.
      const later = new Date(Date.now() + 60_000);
      fs.utimesSync(disk.path, later, later);
      expect(await catalog.index([disk.id])).toMatchObject({ indexed: 1 });
    } finally {
      catalog.close();
    }
  });
});
