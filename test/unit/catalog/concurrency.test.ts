import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Another process that holds the catalog's write lock: it inserts an entry in an IMMEDIATE
 * transaction, says "locked", and commits `holdMs` later.
 */
const WRITER = `
const Database = require(process.argv[2]);
const db = new Database(process.argv[3]);
db.exec('BEGIN IMMEDIATE');
db.prepare("INSERT INTO entries (type, path, name, size_bytes, date_ms, status, first_seen_ms, last_seen_ms) VALUES ('disk', '/elsewhere/uncommitted.vmdk', 'uncommitted.vmdk', 0, 0, 'ok', 0, 0)").run();
process.stdout.write('locked\\n');
setTimeout(() => { db.exec('COMMIT'); db.close(); process.stdout.write('committed\\n'); }, Number(process.argv[4]));
`;

function makeDisks(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const template = path.join(dir, 'template.tmp');
  qemuImg('create', '-q', '-f', 'vmdk', template, '1M');
  const bytes = fs.readFileSync(template);
  fs.rmSync(template);
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `d${Math.floor(i / 100)}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `disk${i}.vmdk`), bytes);
  }
}

describe('concurrent readers and writers (WAL)', () => {
  const dir = tmpDir();

  it('a reader keeps answering while a scan writes, and sees each committed batch', async () => {
    const disks = path.join(dir, 'disks');
    makeDisks(disks, 600);
    const dbFile = path.join(dir, 'scan.db');
    const writer = Catalog.open(dbFile);
    const reader = Catalog.open(dbFile);
    try {
      const seen: number[] = [];
      const count = (): number => [...reader.iterate({ limit: 100_000 })].length;
      await writer.scan([disks], () => seen.push(count()));
      seen.push(count());
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen[0]).toBeLessThan(600);
      expect(seen.at(-1)).toBe(600);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it('another process holding the write lock blocks neither readers nor, once it commits, our writes', async () => {
    const dbFile = path.join(dir, 'locked.db');
    const catalog = Catalog.open(dbFile);
    try {
      const mine = path.join(dir, 'mine');
      fs.mkdirSync(mine);
      qemuImg('create', '-q', '-f', 'vmdk', path.join(mine, 'mine.vmdk'), '1M');
      await catalog.scan([mine]);
      const id = catalog.list().entries[0]!.id;

      const script = path.join(dir, 'writer.cjs');
      fs.writeFileSync(script, WRITER);
      const child = spawn(process.execPath, [script, path.join(REPO, 'node_modules/better-sqlite3'), dbFile, '400'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines: string[] = [];
      child.stdout.setEncoding('utf8').on('data', (text: string) => lines.push(...text.trim().split('\n')));
      while (!lines.includes('locked')) await new Promise((resolve) => setTimeout(resolve, 10));

      // Readers see the last committed state, at once, without waiting for the writer.
      const started = Date.now();
      expect(catalog.list().entries.map((e) => e.name)).toEqual(['mine.vmdk']);
      expect(catalog.search({ text: 'uncommitted' }).entries).toEqual([]);
      expect(catalog.show(id).name).toBe('mine.vmdk');
      expect(Date.now() - started).toBeLessThan(200);

      // A write waits for the lock (busy timeout) instead of failing.
      catalog.forget(id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      await once(child, 'exit');
      expect(lines).toEqual(['locked', 'committed']);
      expect(catalog.list().entries.map((e) => e.name)).toEqual(['uncommitted.vmdk']);
    } finally {
      catalog.close();
    }
  });
});
