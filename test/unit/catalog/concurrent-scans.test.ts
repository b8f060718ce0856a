import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { builtEngine } from '../../helpers/dist.js';
import { qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/diskchain.js');
builtEngine('cli/index.js');

function scan(db: string, root: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'catalog', 'scan', '--db', db, root], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('two catalog scans at once', () => {
  const dir = tmpDir();

  it('both succeed (no UNIQUE constraint failure) and the catalog lists each disk once', async () => {
    const disks = path.join(dir, 'disks');
    const template = path.join(dir, 'template.vmdk');
    qemuImg('create', '-q', '-f', 'vmdk', template, '1M');
    for (let i = 0; i < 400; i++) {
      const sub = path.join(disks, `d${Math.floor(i / 50)}`);
      fs.mkdirSync(sub, { recursive: true });
      fs.copyFileSync(template, path.join(sub, `disk${i}.vmdk`));
    }
    const db = path.join(dir, 'catalog.db');
    const first = scan(db, disks);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const results = await Promise.all([first, scan(db, disks)]);
    expect(results).toEqual([
      { code: 0, stderr: expect.any(String) },
      { code: 0, stderr: expect.any(String) },
    ]);
    expect(results.map((r) => r.stderr).join('')).not.toMatch(/UNIQUE|internal error/);
    const catalog = Catalog.open(db);
    try {
      const paths = [...catalog.iterate({ limit: 100_000 })].map((e) => e.path);
      expect(paths).toHaveLength(400);
      expect(new Set(paths).size).toBe(400);
    } finally {
      catalog.close();
    }
  });
});

describe('a find while another process writes', () => {
  const dir = tmpDir();

  it('answers at once from the last committed state instead of waiting for the writer', () => {
    const db = path.join(dir, 'catalog.db');
    Catalog.open(db).close();
    // A scan in progress: another connection holds the write lock for as long as this test runs.
    const raw = new BetterSqlite3(db);
    raw.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      const r = spawnSync(process.execPath, [BIN, 'catalog', '--db', db, 'find', 'nginx.conf', '--json'], { encoding: 'utf8', timeout: 30_000 });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toMatchObject({ versions: [] });
      // The busy timeout is 10 s: a find that took the write lock would have waited all of it.
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      raw.exec('ROLLBACK');
      raw.close();
    }
  });
});
