import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskchainError } from '../../../shared/errors.js';
import { Catalog } from '../../../main/catalog/catalog.js';
import type { EntrySummary } from '../../../main/catalog/types.js';
import { buildCowd } from '../../fixtures/cowd-builder.js';
import { writeDescriptor, writeVmfsDisk } from '../../fixtures/descriptor-builder.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';
import { makeArchive, MiB, setMtime } from './fixtures.js';

/** Every entry, through the paging API (as the app would), keyed by path relative to `root`. */
function entries(catalog: Catalog, root: string): Map<string, EntrySummary> {
  const out = new Map<string, EntrySummary>();
  for (let offset = 0; ; offset += 2) {
    const page = catalog.list({ limit: 2, offset });
    for (const e of page.entries) out.set(path.relative(root, e.path), e);
    if (!page.more) return out;
  }
}

/**
 * A folder tree with every kind of thing the scanner meets: a hosted VM with a snapshot and its
 * .vmx, an ESX vmfs disk (descriptor + flat), a split sparse disk, an ESX 2 .dsk with a REDO log,
 * a flat extent whose descriptor is gone, a text file named .vmdk, and an archive.
 */
function buildTree(root: string): void {
  const web = path.join(root, 'vms', 'web01');
  fs.mkdirSync(web, { recursive: true });
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic', path.join(web, 'web01.vmdk'), '8M');
  qemuFill(path.join(web, 'web01.vmdk'), 0, 128 * 1024, 0x11);
  qemuImg('create', '-q', '-f', 'vmdk', '-b', 'web01.vmdk', '-F', 'vmdk', path.join(web, 'web01-000001.vmdk'));
  qemuFill(path.join(web, 'web01-000001.vmdk'), 2 * MiB, 64 * 1024, 0x22);
  fs.writeFileSync(path.join(web, 'web01.vmx'), 'displayName = "Web 01"\nscsi0:0.fileName = "web01-000001.vmdk"\n');

  const db = path.join(root, 'vms', 'db');
  fs.mkdirSync(db, { recursive: true });
  writeVmfsDisk(db, 'db', 16 * MiB, patternBytes(4096, 3), { adapter: 'lsilogic' });
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', path.join(db, 'split.vmdk'), '4M');

  const esx2 = path.join(root, 'esx2');
  fs.mkdirSync(esx2);
  fs.writeFileSync(path.join(esx2, 'a.dsk'), patternBytes(4 * MiB, 7));
  buildCowd(path.join(esx2, 'a.dsk.REDO'), { capacitySectors: (4 * MiB) / 512, parentFileName: 'a.dsk', writes: [{ lba: 8, data: patternBytes(512, 8) }] });

  const orphan = path.join(root, 'orphan');
  fs.mkdirSync(orphan);
  fs.writeFileSync(path.join(orphan, 'lonely-flat.vmdk'), patternBytes(MiB, 9));

  const junk = path.join(root, 'junk');
  fs.mkdirSync(junk);
  fs.writeFileSync(path.join(junk, 'notes.vmdk'), 'remember to back up web01\n');
  fs.writeFileSync(path.join(junk, 'readme.txt'), 'not a disk\n');

  makeArchive(path.join(root, 'archives', 'web01-2024-05-01'), { vm: 'web01', createdAt: '2024-05-01T10:00:00.000Z' });
}

describe('catalog scan of a folder tree', () => {
  const dir = tmpDir();
  const root = path.join(dir, 'tree');
  const dbFile = path.join(dir, 'catalog.db');
  let catalog: Catalog;

  beforeAll(() => {
    buildTree(root);
    catalog = Catalog.open(dbFile);
  });
  afterAll(() => catalog.close());

  it('finds every disk and archive, and treats extents and archive segments as parts, not disks', async () => {
    const summary = await catalog.scan([root]);
    expect(summary.disks).toEqual({ added: 8, changed: 0, unchanged: 0 });
    expect(summary.archives).toEqual({ added: 1, changed: 0, unchanged: 0 });
    const found = entries(catalog, root);
    expect([...found.keys()].sort()).toEqual(
      [
        'archives/web01-2024-05-01',
        'esx2/a.dsk',
        'esx2/a.dsk.REDO',
        'junk/notes.vmdk',
        'orphan/lonely-flat.vmdk',
        'vms/db/db.vmdk',
        'vms/db/split.vmdk',
        'vms/web01/web01-000001.vmdk',
        'vms/web01/web01.vmdk',
      ].sort(),
    );
    expect(found.get('vms/db/db.vmdk')).toMatchObject({ kind: 'vmfs', capacityBytes: 16 * MiB, sizeBytes: expect.any(Number), status: 'ok' });
    expect(found.get('vms/db/split.vmdk')).toMatchObject({ kind: 'twoGbMaxExtentSparse', capacityBytes: 4 * MiB });
    expect(found.get('esx2/a.dsk')).toMatchObject({ kind: 'raw', capacityBytes: 4 * MiB, allocatedBytes: 4 * MiB });
    expect(found.get('esx2/a.dsk.REDO')).toMatchObject({ kind: 'cowd', allocatedBytes: 512 });
    expect(found.get('orphan/lonely-flat.vmdk')).toMatchObject({ kind: 'raw', capacityBytes: MiB });
    expect(found.get('junk/notes.vmdk')).toMatchObject({ kind: null, status: 'error', error: expect.stringMatching(/not a VMDK descriptor/) });
    expect(summary.errors.map((e) => path.relative(root, e.path))).toEqual(['junk/notes.vmdk']);
  });

  it('records per disk the kind, capacity, geometry, adapter, allocation, size on disk, mtime and chain links', () => {
    const found = entries(catalog, root);
    const base = found.get('vms/web01/web01.vmdk')!;
    const child = found.get('vms/web01/web01-000001.vmdk')!;
    expect(base).toMatchObject({ type: 'disk', kind: 'monolithicSparse', capacityBytes: 8 * MiB, allocatedBytes: 128 * 1024, vmName: 'Web 01' });
    expect(base.sizeBytes).toBe(fs.statSync(base.path).size);
    expect(Date.parse(base.date)).toBe(Math.floor(fs.statSync(base.path).mtimeMs));
    const detail = catalog.show(child.id);
    expect(detail.vmName).toBe('Web 01');
    expect(detail.allocatedBytes).toBe(64 * 1024);
    expect(catalog.show(base.id).disk!.adapterType).toBe('lsilogic');
    expect(detail.disk).toMatchObject({
      createType: 'monolithicSparse',
      adapterType: 'ide', // qemu-img writes its own ddb.adapterType into the child, and the top link's wins
      geometrySource: 'descriptor',
      parentPath: base.path,
      parentId: base.id,
      chain: [child.path, base.path],
    });
    expect(detail.disk!.parentCid).toBe(catalog.show(base.id).disk!.cid);
    expect(detail.files.map((f) => [path.basename(f.path), f.role])).toEqual([
      ['web01-000001.vmdk', 'self'],
      ['web01.vmdk', 'chain'],
    ]);
    expect(catalog.show(base.id).disk!.childIds).toEqual([child.id]);

    const vmfs = catalog.show(found.get('vms/db/db.vmdk')!.id);
    expect(vmfs.disk!.geometry).toEqual({ cylinders: 2, heads: 255, sectors: 63 });
    expect(vmfs.files.map((f) => [path.basename(f.path), f.role])).toEqual([
      ['db.vmdk', 'self'],
      ['db-flat.vmdk', 'extent'],
    ]);
    expect(vmfs.sizeBytes).toBe(fs.statSync(vmfs.path).size + 16 * MiB);

    const redo = catalog.show(found.get('esx2/a.dsk.REDO')!.id);
    expect(redo.disk).toMatchObject({ parentPath: path.join(root, 'esx2', 'a.dsk'), chain: [redo.path, path.join(root, 'esx2', 'a.dsk')] });
  });

  it('records an archive with its manifest, files and disks', () => {
    const archive = entries(catalog, root).get('archives/web01-2024-05-01')!;
    expect(archive).toMatchObject({ type: 'archive', kind: 'archive', vmName: 'web01', capacityBytes: 4 * MiB, date: '2024-05-01T10:00:00.000Z' });
    const detail = catalog.show(archive.id);
    expect(detail.archive!.files.map((f) => f.name)).toEqual(['web01.vmx', 'web01.vmdk', 'web01-s001.vmdk']); // manifest order
    expect(detail.archive!.disks).toEqual([
      expect.objectContaining({ name: 'web01', kind: 'vmfs', capacityBytes: 4 * MiB, adapterType: 'lsilogic', sourcePath: '/vmfs/volumes/datastore1/web01/web01.vmdk' }),
    ]);
    expect(detail.archive!.manifest).toMatchObject({ format: 'diskchain-archive', version: 1, host: 'test-host' });
    expect(detail.archive).toMatchObject({ sourceKind: 'vmx', tool: 'diskchain 0.1.0', lastVerify: null });
    const onDisk = ['manifest.json', 'web01.vmx', 'web01.vmdk', 'web01-s001.vmdk'].reduce((s, f) => s + fs.statSync(path.join(archive.path, f)).size, 0);
    expect(archive.sizeBytes).toBe(onDisk);
  });

  it('a rescan reads nothing that did not change', async () => {
    const summary = await catalog.scan([root]);
    expect(summary.disks).toEqual({ added: 0, changed: 0, unchanged: 8 });
    expect(summary.archives).toEqual({ added: 0, changed: 0, unchanged: 1 });
    expect(summary.missing).toBe(0);
  });

  it('a change to a parent re-reads the child too (its chain is part of what it was read from)', async () => {
    qemuFill(path.join(root, 'vms/web01/web01.vmdk'), 4 * MiB, 64 * 1024, 0x33);
    const summary = await catalog.scan([path.join(root, 'vms')]);
    expect(summary.disks).toEqual({ added: 0, changed: 2, unchanged: 2 });
    expect(entries(catalog, root).get('vms/web01/web01.vmdk')!.allocatedBytes).toBe(192 * 1024);
  });

  it('marks vanished files missing (not deleted), only under the roots scanned, and back when they return', async () => {
    const redo = path.join(root, 'esx2', 'a.dsk.REDO');
    const saved = fs.readFileSync(redo);
    fs.rmSync(redo);
    // A scan of another folder does not look here, so it cannot call anything here missing.
    expect((await catalog.scan([path.join(root, 'vms')])).missing).toBe(0);
    expect(entries(catalog, root).get('esx2/a.dsk.REDO')!.status).toBe('ok');

    const summary = await catalog.scan([root]);
    expect(summary.missing).toBe(1);
    const gone = entries(catalog, root).get('esx2/a.dsk.REDO')!;
    expect(gone).toMatchObject({ status: 'missing', kind: 'cowd' });
    expect(gone.missingSince).not.toBeNull();
    expect(catalog.search({ status: 'missing' }).entries.map((e) => e.id)).toEqual([gone.id]);
    expect((await catalog.scan([root])).missing).toBe(0); // already missing: not counted twice

    fs.writeFileSync(redo, saved);
    const back = await catalog.scan([root]);
    expect(back.reappeared).toBe(1);
    expect(entries(catalog, root).get('esx2/a.dsk.REDO')).toMatchObject({ id: gone.id, status: 'ok', missingSince: null });
  });

  it('a whole archive that vanished is missing too', async () => {
    const archive = path.join(root, 'archives', 'web01-2024-05-01');
    const moved = path.join(dir, 'moved-archive');
    fs.renameSync(archive, moved);
    expect((await catalog.scan([root])).missing).toBe(1);
    expect(entries(catalog, root).get('archives/web01-2024-05-01')!.status).toBe('missing');
    fs.renameSync(moved, archive);
    expect((await catalog.scan([root])).reappeared).toBe(1);
  });

  it('an extent that gains its descriptor stops being a disk of its own', async () => {
    const orphan = path.join(root, 'orphan');
    writeDescriptor(path.join(orphan, 'lonely.vmdk'), { createType: 'vmfs', extents: ['RW 2048 VMFS "lonely-flat.vmdk"'] });
    await catalog.scan([root]);
    const found = entries(catalog, root);
    expect(found.has('orphan/lonely-flat.vmdk')).toBe(false);
    expect(found.get('orphan/lonely.vmdk')).toMatchObject({ kind: 'vmfs', capacityBytes: MiB, status: 'ok' });
  });

  it('forget removes an entry; a later scan of its folder finds the disk again under a new id', async () => {
    const notes = entries(catalog, root).get('junk/notes.vmdk')!;
    catalog.forget(notes.id);
    expect(() => catalog.show(notes.id)).toThrow(/no entry/);
    expect(() => catalog.forget(notes.id)).toThrow(DiskchainError);
    await catalog.scan([root]);
    expect(entries(catalog, root).get('junk/notes.vmdk')!.id).toBeGreaterThan(notes.id);
  });

  it('refuses a root that does not exist before writing anything', async () => {
    const before = catalog.list({ limit: 1000 });
    await expect(catalog.scan([root, path.join(dir, 'no-such-folder')])).rejects.toMatchObject({ code: 'E_NOTFOUND' });
    expect(catalog.list({ limit: 1000 })).toEqual(before);
  });

  it('a cancelled scan keeps what it read and marks nothing missing', async () => {
    const split = path.join(root, 'vms', 'db', 'split.vmdk');
    const saved = fs.readFileSync(split);
    fs.rmSync(split);
    const controller = new AbortController();
    controller.abort();
    await expect(catalog.scan([root], undefined, { signal: controller.signal })).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(entries(catalog, root).get('vms/db/split.vmdk')!.status).toBe('ok');
    fs.writeFileSync(split, saved);
  });

  it('scans a single file given as a root', async () => {
    const other = Catalog.open(path.join(dir, 'single.db'));
    try {
      const summary = await other.scan([path.join(root, 'vms/web01/web01-000001.vmdk')]);
      expect(summary.disks.added).toBe(1);
      expect(other.list().entries.map((e) => [e.name, e.vmName])).toEqual([['web01-000001.vmdk', 'Web 01']]);
    } finally {
      other.close();
    }
  });
});

describe('incremental scan: unchanged size and mtime means not read again', () => {
  const dir = tmpDir();
  const disk = path.join(dir, 'disk.vmdk');
  const when = new Date('2023-03-04T05:06:07.000Z');

  it('does not notice a content change hidden behind the same size and mtime, and does once the mtime moves', async () => {
    qemuImg('create', '-q', '-f', 'vmdk', disk, '2M');
    setMtime(disk, when);
    const size = fs.statSync(disk).size;
    const catalog = Catalog.open(path.join(dir, 'catalog.db'));
    try {
      await catalog.scan([dir]);
      const first = catalog.list().entries[0]!;
      expect(first).toMatchObject({ kind: 'monolithicSparse', status: 'ok', date: when.toISOString() });

      // Same size, same mtime, different bytes: a scanner that re-read the file would now fail to open it.
      fs.writeFileSync(disk, Buffer.alloc(size, 0x55));
      setMtime(disk, when);
      const quiet = await catalog.scan([dir]);
      expect(quiet.disks).toEqual({ added: 0, changed: 0, unchanged: 1 });
      expect(catalog.list().entries[0]).toMatchObject({ kind: 'monolithicSparse', status: 'ok' });

      setMtime(disk, when.getTime() + 1000);
      const noticed = await catalog.scan([dir]);
      expect(noticed.disks).toEqual({ added: 0, changed: 1, unchanged: 0 });
      expect(catalog.list().entries[0]).toMatchObject({ id: first.id, kind: null, status: 'error' });
    } finally {
      catalog.close();
    }
  });
});

describe('scan at scale', () => {
  const dir = tmpDir();

  it('scans 2,000 small disks in a few seconds and rescans them without reading any', async () => {
    const template = path.join(dir, 'template.vmdk.tmp');
    qemuImg('create', '-q', '-f', 'vmdk', template, '1M');
    const bytes = fs.readFileSync(template);
    for (let d = 0; d < 20; d++) {
      const sub = path.join(dir, 'disks', `d${d}`);
      fs.mkdirSync(sub, { recursive: true });
      for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(sub, `disk${i}.vmdk`), bytes);
    }
    const catalog = Catalog.open(path.join(dir, 'catalog.db'));
    try {
      const progress: number[] = [];
      const started = Date.now();
      const first = await catalog.scan([path.join(dir, 'disks')], (p) => progress.push(p.read));
      expect(first.disks.added).toBe(2000);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(progress.at(-1)).toBe(2000);
      const second = await catalog.scan([path.join(dir, 'disks')]);
      expect(second.disks).toEqual({ added: 0, changed: 0, unchanged: 2000 });
    } finally {
      catalog.close();
    }
  });
});
