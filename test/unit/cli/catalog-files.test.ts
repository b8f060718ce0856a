import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FilePage, IndexSummary, ScanSummary } from '../../../main/catalog/types.js';
import { parseFindLine } from '../../../main/cli/catalog-find.js';
import { diskchain } from '../../helpers/cli.js';
import { tmpDir } from '../../helpers/tmp.js';
import { guestFiles, twoBackups } from '../../helpers/file-catalog.js';

/** `catalog scan --index`, `catalog index`, `catalog find` and `catalog get` as a user runs them. */
describe('diskchain catalog index, find, get', () => {
  const dir = tmpDir('diskchain-catalog-files-');
  const db = path.join(dir, 'catalog.db');
  const catalog = (...args: string[]): ReturnType<typeof diskchain> => diskchain(['catalog', '--db', db, ...args]);
  let nas: string;

  beforeAll(() => {
    nas = twoBackups(dir).nas;
  });

  it('scan --index finds the archives and indexes their files in one pass, with progress on stderr', () => {
    const r = catalog('scan', '--index', '--json', '--progress', 'json', nas);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.text) as { scan: ScanSummary; index: IndexSummary };
    expect(out.scan.archives.added).toBe(2);
    expect(out.index).toMatchObject({ indexed: 2, failed: 0 });
    const progress = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { volumeFiles: number; disk: string });
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ disk: 'web' });
  });

  it('index says unchanged archives are unchanged, and names what it read with --force', () => {
    const again = catalog('index', '--all');
    expect(again.status, again.stderr).toBe(0);
    expect(again.text).toMatch(/^indexed 0 entries \(0 files\), 2 unchanged, 0 skipped, 0 failed/);
    const forced = catalog('index', '--force', '1');
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.text).toMatch(/web:1 {2}ext4 "linux", 8 files/);
    expect(forced.text).toMatch(/web:2 {2}ntfs "DATA", \d+ files/);
    const bad = catalog('index');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^diskchain: name entry ids, or --all/);
  });

  it('find prints each path once with its versions newest first, a * where it changed', () => {
    const r = catalog('find', 'nginx.conf');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.text.trimEnd().split('\n');
    expect(lines[0]).toBe('/etc/nginx/nginx.conf  (VM Web Server)');
    const size = (v: 1 | 2): number => guestFiles(v).ext['/etc/nginx/nginx.conf']!.length;
    expect(lines[1]).toMatch(new RegExp(`^\\* {2}\\S+ \\S+ +${size(2)} B {2}modified 2024-06-20 \\S+ {2}2:web:1:/etc/nginx/nginx\\.conf {2}\\(web-2\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^ {3}\\S+ \\S+ +${size(1)} B {2}modified 2024-01-10 \\S+ {2}1:web:1:/etc/nginx/nginx\\.conf {2}\\(web-1\\)$`));
    expect(lines).toHaveLength(3);
    const page = JSON.parse(catalog('find', '--json', '--path', '/etc/*', '*').text) as FilePage;
    expect([...new Set(page.versions.map((v) => v.path))]).toEqual(['/etc/hostname', '/etc/nginx', '/etc/nginx/nginx.conf']);
    expect(catalog('find', 'nothing-like-it').text).toBe('(no files)\n');
  });

  it('a plain find line is answered without commander, the same as through it; anything else goes to commander', () => {
    expect(parseFindLine(['catalog', '--db', db, 'find', '--json', '--path=/etc/*', 'nginx', '--limit', '5'])).toEqual({
      pattern: 'nginx',
      options: { db, json: true, path: '/etc/*', limit: '5' },
    });
    for (const line of [['catalog', 'find', '--help', 'x'], ['catalog', 'find', '--', 'x'], ['catalog', 'find', 'a', 'b'], ['catalog', 'find', '--limit'], ['catalog', '--json', 'find', 'x'], ['catalog', 'search', 'x'], ['catalog', 'find', '--vm', 'a', '--vm', 'b', 'x']]) {
      expect(parseFindLine(line), line.join(' ')).toBeNull();
    }
    // `--` is not a plain line: commander answers it, with the same bytes.
    const fast = catalog('find', '--json', '--path', '/etc/*', '*');
    const full = catalog('find', '--json', '--path', '/etc/*', '--', '*');
    expect(fast.status, fast.stderr).toBe(0);
    expect(fast.text).toBe(full.text);
    expect(catalog('find', 'nginx.conf').text).toBe(catalog('find', '--', 'nginx.conf').text);
    const bad = catalog('find', '--limit', 'x', 'nginx');
    expect([bad.status, bad.stderr]).toEqual([2, 'diskchain: bad limit "x": use a whole number\n']);
  });

  it('get restores the chosen version to a file or to stdout, with the source bytes', () => {
    const dest = path.join(dir, 'nginx-1.conf');
    const r = catalog('get', '1:web:1:/etc/nginx/nginx.conf', dest);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(dest)).toEqual(guestFiles(1).ext['/etc/nginx/nginx.conf']);
    expect(r.stderr).toMatch(/#1 web:1:\/etc\/nginx\/nginx\.conf: 1 file, 0 folders, 20 B copied/);
    const out = catalog('get', '2:/report.txt', '-');
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toEqual(guestFiles(2).ntfs['/report.txt']);
  });

  it('bad references are one-line errors', () => {
    const cases: Array<[string[], RegExp]> = [
      [['get', 'nginx.conf', '-'], /^diskchain: bad file "nginx.conf": write ID:\/path/],
      [['get', '1:/etc/none', '-'], /^diskchain: .*web-1: \/etc\/none is not in the file index of #1/],
      [['get', '1:web:9:/etc/hostname', '-'], /is not in the file index of #1:web:9/],
      [['find', '--limit', '0', 'x'], /^diskchain: bad limit 0/],
    ];
    for (const [args, message] of cases) {
      const r = catalog(...args);
      expect(r.status, r.stderr).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')[0]).toMatch(message);
    }
  });
});
