import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { APPLICATION_ID } from '../../../main/catalog/schema.js';
import type { CatalogPage, EntryDetail, ScanSummary, VerifyReport } from '../../../main/catalog/types.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';
import { makeArchive, MiB } from './fixtures.js';

/** A failure must be one line `diskchain: <file>: <reason>` and no stack. */
function expectOneLineError(r: ReturnType<typeof diskchain>, file: string, reason: RegExp): void {
  expect(r.status, r.stderr).not.toBe(0);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.startsWith(`diskchain: ${file}: `), r.stderr).toBe(true);
  expect(r.stderr).toMatch(reason);
}

describe('diskchain catalog (CLI)', () => {
  const dir = tmpDir();
  const nas = path.join(dir, 'nas');
  const db = path.join(dir, 'catalog.db');
  const dc = (...args: string[]): ReturnType<typeof diskchain> => diskchain(['catalog', '--db', db, ...args]);

  beforeAll(() => {
    fs.mkdirSync(path.join(nas, 'loose'), { recursive: true });
    qemuImg('create', '-q', '-f', 'vmdk', path.join(nas, 'loose', 'scratch.vmdk'), '2M');
    makeArchive(path.join(nas, 'web01-2024-05-01'), { vm: 'web01', createdAt: '2024-05-01T10:00:00.000Z', capacityBytes: 4 * MiB });
  });

  it('scan --json prints the summary; a rescan reads nothing', () => {
    const r = dc('scan', '--json', nas);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.text) as ScanSummary;
    expect(summary).toMatchObject({ disks: { added: 1 }, archives: { added: 1 }, missing: 0, errorCount: 0 });
    const again = dc('scan', nas);
    expect(again.status).toBe(0);
    expect(again.text).toContain('disks     1 (0 new, 0 changed, 1 unchanged)');
    expect(again.text).toContain('archives  1 (0 new, 0 changed, 1 unchanged)');
  });

  it('list and search print pages as JSON and as a table', () => {
    const page = JSON.parse(dc('list', '--json').text) as CatalogPage;
    expect(page).toMatchObject({ offset: 0, limit: 100, more: false });
    expect(page.entries.map((e) => e.name).sort()).toEqual(['scratch.vmdk', 'web01-2024-05-01']);

    const found = JSON.parse(dc('search', '--json', '--vm', 'web01', '--since', '2024-01-01', '--min-size', '4M', '--kind', 'vmfs').text) as CatalogPage;
    expect(found.entries.map((e) => e.name)).toEqual(['web01-2024-05-01']);
    const words = JSON.parse(dc('search', '--json', 'scratch').text) as CatalogPage;
    expect(words.entries.map((e) => e.name)).toEqual(['scratch.vmdk']);

    const table = dc('search', 'web01');
    expect(table.status).toBe(0);
    expect(table.text.split('\n')[0]).toMatch(/ID\s+KIND\s+CAPACITY\s+ON DISK\s+DATE\s+STATUS\s+VM\s+PATH/);
    expect(table.text).toContain(path.join(nas, 'web01-2024-05-01'));

    const paged = dc('list', '--limit', '1');
    expect(paged.text.trim().split('\n')).toHaveLength(2);
    expect(paged.stderr).toContain('more entries follow: --offset 1');
    expect(dc('search', 'nothing').text).toContain('(no entries)');
  });

  it('show prints one entry, as text and as JSON', () => {
    const id = (JSON.parse(dc('search', '--json', '--type', 'archive').text) as CatalogPage).entries[0]!.id;
    const detail = JSON.parse(dc('show', '--json', String(id)).text) as EntryDetail;
    expect(detail.archive!.files.map((f) => f.name)).toEqual(['web01.vmx', 'web01.vmdk', 'web01-s001.vmdk']);
    const text = dc('show', `#${id}`).text;
    expect(text).toContain(`#${id}  archive  ${path.join(nas, 'web01-2024-05-01')}`);
    expect(text).toContain('verified    never');
  });

  it('verify exits 0 when the archive is intact and 1 naming every missing or changed file', () => {
    const id = String((JSON.parse(dc('search', '--json', '--type', 'archive').text) as CatalogPage).entries[0]!.id);
    const ok = dc('verify', id);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.text).toMatch(/3 files hashed, .*: ok/);

    const archive = path.join(nas, 'web01-2024-05-01');
    fs.appendFileSync(path.join(archive, 'web01.vmdk'), '# tampered\n');
    fs.rmSync(path.join(archive, 'web01-s001.vmdk'));
    const bad = dc('verify', id);
    expect(bad.status).toBe(1);
    expect(bad.text).toMatch(/changed\s+web01\.vmdk: it has \d+ bytes, the manifest says \d+/);
    expect(bad.text).toMatch(/missing\s+web01-s001\.vmdk: the file is missing/);

    const all = dc('verify', '--all', '--json');
    expect(all.status).toBe(1);
    const reports = JSON.parse(all.text) as VerifyReport[];
    expect(reports).toHaveLength(1);
    expect(reports[0]!.problems.map((p) => [p.name, p.problem])).toEqual([
      ['web01.vmdk', 'changed'],
      ['web01-s001.vmdk', 'missing'],
    ]);
  });

  it('forget removes entries by id', () => {
    const page = JSON.parse(dc('search', '--json', 'scratch').text) as CatalogPage;
    const id = page.entries[0]!.id;
    const r = dc('forget', '--json', String(id));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.text)).toEqual({ forgotten: [id] });
    expectOneLineError(dc('show', String(id)), db, new RegExp(`no entry ${id} in the catalog`));
  });

  it('usage mistakes exit 2 with one line', () => {
    expect(dc('show', 'abc').status).toBe(2);
    expect(dc('verify').status).toBe(2);
    expect(dc('verify', '1', '--all').status).toBe(2);
    expect(dc('search', '--since', 'someday').stderr).toMatch(/^diskchain: bad --since "someday"/);
    expect(dc('list', '--limit', 'many').status).toBe(2);
  });

  it('a file that is not a catalog gets a one-line error and is left alone', () => {
    const garbage = path.join(dir, 'garbage.db');
    fs.writeFileSync(garbage, 'not sqlite at all\n'.repeat(100));
    const r = diskchain(['catalog', 'list', '--db', garbage]);
    expectOneLineError(r, garbage, /not a catalog: the file is not an SQLite database/);
    expect(r.status).toBe(1);
    expect(fs.readFileSync(garbage, 'utf8')).toBe('not sqlite at all\n'.repeat(100));
  });

  it('a catalog from a newer diskchain gets a one-line error', () => {
    const newer = path.join(dir, 'newer.db');
    const raw = new Database(newer);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.pragma('user_version = 99');
    raw.close();
    expectOneLineError(diskchain(['catalog', 'scan', nas, '--db', newer]), newer, /schema version 99 is newer than this diskchain understands/);
  });

  it('DISKCHAIN_CATALOG chooses the database when --db is not given', () => {
    const fromEnv = path.join(dir, 'env', 'catalog.db');
    const r = diskchain(['catalog', 'scan', '--json', path.join(nas, 'loose')], { DISKCHAIN_CATALOG: fromEnv });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(fromEnv)).toBe(true);
    const page = JSON.parse(diskchain(['catalog', 'list', '--json'], { DISKCHAIN_CATALOG: fromEnv }).text) as CatalogPage;
    expect(page.entries.map((e) => e.name)).toEqual(['scratch.vmdk']);
  });
});
