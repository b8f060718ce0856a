/**
 * Issue 16: the catalog's status tells broken from sound, from the facts scans and verifies
 * recorded — real disks built with qemu-img, real archives, real SQLite, the built CLI.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { openCatalogDb } from '../../../main/catalog/db.js';
import { MIGRATIONS } from '../../../main/catalog/schema.js';
import type { CatalogPage, EntryDetail, EntryStatus, ScanSummary } from '../../../main/catalog/types.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';
import { makeArchive, MiB, setMtime } from './fixtures.js';

/** Flips bytes inside a file without changing its size (nor, when `keepTime`, its mtime). */
function corrupt(file: string, offset: number, keepTime = false): void {
  const before = fs.statSync(file);
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, offset);
  } finally {
    fs.closeSync(fd);
  }
  if (keepTime) fs.utimesSync(file, before.atime, before.mtime);
}

describe('catalog status', () => {
  const dir = tmpDir();
  const nas = path.join(dir, 'nas');
  const vms = path.join(nas, 'vms');
  const archives = path.join(nas, 'archives');
  const db = path.join(dir, 'catalog.db');
  let catalog: Catalog;
  const entry = (name: string): EntryDetail => {
    const hit = catalog.search({ text: name }).entries.find((e) => e.name === name);
    if (!hit) throw new Error(`no entry ${name}`);
    return catalog.show(hit.id);
  };
  const statusOf = (name: string): EntryStatus => entry(name).status;

  beforeAll(async () => {
    fs.mkdirSync(vms, { recursive: true });
    // A sound disk, a disk cut inside its grains, a child whose parent will be deleted.
    qemuImg('create', '-q', '-f', 'vmdk', path.join(vms, 'sound.vmdk'), '8M');
    const cut = path.join(vms, 'cut.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', cut, '64M');
    qemuFill(cut, 8 * MiB, 4 * MiB, 0x31);
    const overhead = Number(fs.readFileSync(cut).readBigUInt64LE(64)) * 512;
    fs.truncateSync(cut, overhead + 2 * MiB);
    const chainDir = path.join(vms, 'chain');
    fs.mkdirSync(chainDir);
    qemuImg('create', '-q', '-f', 'vmdk', path.join(chainDir, 'base.vmdk'), '8M');
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', path.join(chainDir, 'child.vmdk'));
    for (const vm of ['alpha', 'bravo', 'charlie', 'delta']) {
      makeArchive(path.join(archives, `${vm}-2024-05-01`), { vm, createdAt: '2024-05-01T10:00:00.000Z' });
    }
    catalog = Catalog.open(db);
    await catalog.scan([nas]);
  });
  afterAll(() => catalog.close());

  it('a scan tells a sound disk from a truncated one, and an archive never verified is unverified', () => {
    expect(statusOf('sound.vmdk')).toBe('ok');
    expect(statusOf('child.vmdk')).toBe('ok');
    const cut = entry('cut.vmdk');
    expect(cut.status).toBe('damaged');
    expect(cut.statusNote).toMatch(/^damaged: .* lost in \d+ ranges? \(LBA \d+/);
    expect(cut.disk!.problems.some((p) => p.severity === 'error' && /lost/.test(p.message))).toBe(true);
    const alpha = entry('alpha-2024-05-01');
    expect(alpha.status).toBe('unverified');
    expect(alpha.statusNote).toMatch(/never verified/);
  });

  it('a child whose parent was deleted is chain-broken after a rescan; the parent is missing', async () => {
    fs.rmSync(path.join(vms, 'chain', 'base.vmdk'));
    await catalog.scan([nas]);
    const child = entry('child.vmdk');
    expect(child.status).toBe('chain-broken');
    expect(child.statusNote).toMatch(/parent "base.vmdk" not found/);
    expect(catalog.search({ status: 'missing' }).entries.map((e) => e.name)).toEqual(['base.vmdk']);
  });

  it('verify records a missing file and a changed segment: missing-file, each file marked', async () => {
    const archive = path.join(archives, 'bravo-2024-05-01');
    fs.rmSync(path.join(archive, 'bravo.vmx'));
    corrupt(path.join(archive, 'bravo-s001.vmdk'), 70_000, true);
    const id = entry('bravo-2024-05-01').id;
    const report = await catalog.verify(id);
    expect(report.ok).toBe(false);
    const bravo = catalog.show(id);
    expect(bravo.status).toBe('missing-file');
    expect(bravo.statusNote).toBe('missing: bravo.vmx');
    const states = Object.fromEntries(bravo.archive!.files.map((f) => [f.name, f.state]));
    expect(states).toEqual({ 'bravo.vmx': 'missing', 'bravo.vmdk': null, 'bravo-s001.vmdk': 'changed' });
    // A rescan does not forget what the verify found: the segment still has the stats it had then.
    await catalog.scan([nas]);
    expect(statusOf('bravo-2024-05-01')).toBe('missing-file');
  });

  it('verify of a changed segment alone says damaged; a rescan keeps it', async () => {
    corrupt(path.join(archives, 'charlie-2024-05-01', 'charlie-s001.vmdk'), 70_000, true);
    const id = entry('charlie-2024-05-01').id;
    await catalog.verify(id);
    expect(catalog.show(id)).toMatchObject({ status: 'damaged', statusNote: 'does not match the manifest: charlie-s001.vmdk' });
    await catalog.scan([nas]);
    expect(statusOf('charlie-2024-05-01')).toBe('damaged');
  });

  it('a file touched after a clean verify is changed-since-verify at the next scan; verifying again clears it', async () => {
    const id = entry('delta-2024-05-01').id;
    expect((await catalog.verify(id)).ok).toBe(true);
    expect(statusOf('delta-2024-05-01')).toBe('ok');
    const segment = path.join(archives, 'delta-2024-05-01', 'delta-s001.vmdk');
    setMtime(segment, Date.now() + 60_000);
    await catalog.scan([nas]);
    const delta = catalog.show(id);
    expect(delta.status).toBe('changed-since-verify');
    expect(delta.statusNote).toMatch(/^changed after the verify of .*: delta-s001.vmdk$/);
    expect(delta.archive!.files.find((f) => f.name === 'delta-s001.vmdk')!.state).toBe('changed-since-verify');
    expect(delta.archive!.lastVerify!.ok).toBe(true);
    await catalog.verify(id);
    expect(statusOf('delta-2024-05-01')).toBe('ok');
  });

  it('a file deleted after the verify is missing-file at the next scan, without a verify', async () => {
    const id = entry('alpha-2024-05-01').id;
    await catalog.verify(id);
    fs.rmSync(path.join(archives, 'alpha-2024-05-01', 'alpha.vmx'));
    await catalog.scan([nas]);
    expect(catalog.show(id)).toMatchObject({ status: 'missing-file', statusNote: 'missing: alpha.vmx' });
  });

  it('search filters by every status through the health index; spaced spellings work', () => {
    const names = (status: string): string[] => catalog.search({ status: status as EntryStatus }).entries.map((e) => e.name).sort();
    expect(names('damaged')).toEqual(['charlie-2024-05-01', 'cut.vmdk']);
    expect(names('chain broken')).toEqual(['child.vmdk']);
    expect(names('missing-file')).toEqual(['alpha-2024-05-01', 'bravo-2024-05-01']);
    expect(names('ok')).toEqual(['delta-2024-05-01', 'sound.vmdk']);
    expect(catalog.count({ status: 'unverified' })).toBe(0);
    expect(() => catalog.search({ status: 'fine' as EntryStatus })).toThrow(/bad status "fine": use ok, unverified, damaged/);
    const raw = new Database(db, { readonly: true });
    try {
      const plan = raw.prepare("EXPLAIN QUERY PLAN SELECT id FROM entries e WHERE e.health = 'damaged' AND e.status <> 'missing'").all() as Array<{ detail: string }>;
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/entries_health/);
    } finally {
      raw.close();
    }
  });

  it('the CLI prints the status in list, search and show, filters on it and carries it in --json; exit codes unchanged', () => {
    catalog.close();
    try {
      const dc = (...args: string[]): ReturnType<typeof diskchain> => diskchain(['catalog', '--db', db, ...args]);
      const list = dc('list');
      expect(list.status, list.stderr).toBe(0);
      expect(list.text).toMatch(/^\s*\d+\s+monolithicSparse .* damaged\s+.*cut\.vmdk$/m);
      expect(list.text).toMatch(/ chain-broken\s+.*child\.vmdk$/m);
      const search = dc('search', '--status', 'chain broken', '--json');
      expect(search.status, search.stderr).toBe(0);
      const page = JSON.parse(search.text) as CatalogPage;
      expect(page.entries.map((e) => [e.name, e.status])).toEqual([['child.vmdk', 'chain-broken']]);
      expect(page.entries[0]!.statusNote).toMatch(/not found/);
      const bravo = dc('search', 'bravo', '--status', 'missing-file');
      expect(bravo.text).toMatch(/missing-file\s+bravo\s+.*bravo-2024-05-01$/m);
      const id = /^\s*(\d+)/m.exec(bravo.text.split('\n')[1]!)![1]!;
      const show = dc('show', id);
      expect(show.status, show.stderr).toBe(0);
      expect(show.text).toMatch(/status\s+missing-file: missing: bravo\.vmx/);
      expect(show.text).toMatch(/bravo\.vmx .*MISSING$/m);
      expect(show.text).toMatch(/bravo-s001\.vmdk .*CHANGED$/m);
      expect(show.text).toMatch(/verified\s+\S+: 2 problems/);
      const bad = dc('search', '--status', 'fine');
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/^diskchain: bad --status "fine": use ok, unverified, damaged, chain-broken, missing-file, changed-since-verify, missing, error\n$/);
      const verify = dc('verify', id);
      expect(verify.status).toBe(1);
      expect(verify.text).toMatch(/^ {2}status {5}missing-file$/m);
    } finally {
      catalog = Catalog.open(db);
    }
  });

  it('scan says which nested roots it merged', () => {
    const r = diskchain(['catalog', '--db', path.join(dir, 'nested.db'), 'scan', nas, vms, path.join(nas, '.')], {});
    expect(r.status, r.stderr).toBe(0);
    expect(r.text.split('\n')[0]).toBe(
      `scanned 1 root (${vms} is inside ${nas}, ${path.join(nas, '.')} is the same folder as ${nas}: scanned once, as part of it), ` +
        r.text.split('\n')[0]!.split('as part of it), ')[1],
    );
    const json = JSON.parse(diskchain(['catalog', '--db', path.join(dir, 'nested.db'), 'scan', '--json', vms, nas]).text) as ScanSummary;
    expect(json.roots).toEqual([nas]);
    expect(json.merged).toEqual([{ root: vms, into: nas, same: false }]);
  });
});

describe('catalog migration to statuses', () => {
  it('a v1 catalog gets its statuses from what it recorded, and the next scan reads what it could not tell', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'old.db');
    const archive = makeArchive(path.join(dir, 'nas', 'old-2024'), { vm: 'old', createdAt: '2024-05-01T10:00:00.000Z' });
    const v1 = openCatalogDb(file, { migrations: MIGRATIONS.slice(0, 1) });
    const insert = v1.prepare(
      `INSERT INTO entries (type, path, name, kind, size_bytes, date_ms, status, error, first_seen_ms, last_seen_ms)
       VALUES (?, ?, ?, ?, 0, 0, ?, ?, 0, 0)`,
    );
    const add = (type: string, p: string, status: string, error: string | null): number =>
      Number(insert.run(type, p, path.basename(p), type === 'archive' ? 'archive' : 'vmfs', status, error).lastInsertRowid);
    const verified = add('archive', '/nas/verified', 'ok', null);
    const never = add('archive', archive, 'ok', null);
    const failed = add('archive', '/nas/failed', 'ok', null);
    const broken = add('disk', '/nas/child.vmdk', 'ok', null);
    const unreadable = add('disk', '/nas/junk.vmdk', 'error', 'not a VMDK');
    const archiveRow = v1.prepare('INSERT INTO archives (entry_id, verified_ms, verify_ok, verify_report) VALUES (?, ?, ?, ?)');
    archiveRow.run(verified, 1, 1, '{"ok":true,"problems":[]}');
    archiveRow.run(never, null, null, null);
    archiveRow.run(failed, 1, 0, '{"ok":false,"problems":[{"name":"a.vmx","problem":"missing","message":"the file is missing"}]}');
    v1.prepare("INSERT INTO disks (entry_id, chain, problems) VALUES (?, '[]', ?)").run(
      broken,
      '[{"severity":"error","file":"/nas/child.vmdk","message":"parent \\"base.vmdk\\" not found"}]',
    );
    v1.prepare("INSERT INTO entry_files (entry_id, files) VALUES (?, '[]')").run(unreadable);
    v1.close();

    const catalog = Catalog.open(file);
    try {
      const status = (id: number): EntryStatus => catalog.show(id).status;
      expect([verified, never, failed, broken, unreadable].map(status)).toEqual(['ok', 'unverified', 'missing-file', 'unverified', 'error']);
      expect(catalog.show(broken).statusNote).toBe('catalogued by an older diskchain: scan again to check it');
      // The archive's files were forgotten by the migration: the next scan reads it again and keeps it unverified.
      const summary = await catalog.scan([path.dirname(archive)]);
      expect(summary.archives).toMatchObject({ changed: 1, unchanged: 0 });
      expect(catalog.show(never).archive!.files.map((f) => f.state)).toEqual([null, null, null]);
    } finally {
      catalog.close();
    }
  });
});
