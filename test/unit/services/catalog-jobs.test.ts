/**
 * The catalog:* and backup/restore paths of the services, end to end in Node: real disks built
 * with qemu-img, real job workers (from dist/, so `npm run build` first), a real SQLite catalog.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Event, JobDoneEvent, Payload } from '../../../shared/ipc/contract.js';
import { ScriptedDialogs } from '../../../main/services/dialogs.js';
import { createServices } from '../../../main/services/index.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';

const MiB = 1024 * 1024;

describe('backup, catalog and restore through the services', () => {
  const dir = tmpDir('diskchain-svc-');
  const vmDir = path.join(dir, 'vm');
  const archives = path.join(dir, 'archives');
  const restored = path.join(dir, 'restored');
  for (const d of [vmDir, archives, restored]) fs.mkdirSync(d);
  const disk = path.join(vmDir, 'web01.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', disk, '32M');
  qemuFill(disk, 0, 2 * MiB, 0x61);
  qemuFill(disk, 20 * MiB, MiB, 0x62);
  const loose = path.join(archives, 'loose.vmdk');
  qemuImg('create', '-q', '-f', 'vmdk', loose, '8M');

  const done: JobDoneEvent[] = [];
  const emit = <E extends Event>(event: E, payload: Payload<E>): void => {
    if (event === 'jobs:done') done.push(payload as JobDoneEvent);
  };
  const dialogs = new ScriptedDialogs();
  const services = createServices({ mode: 'host', version: 'test', dialogs, emit, stateDir: path.join(dir, 'state'), catalogDb: path.join(dir, 'catalog.db') });
  const h = services.handlers;
  afterAll(() => services.dispose());

  const finished = async (jobId: string): Promise<JobDoneEvent> => {
    for (let i = 0; i < 600 && !done.some((d) => d.jobId === jobId); i++) await new Promise((r) => setTimeout(r, 100));
    return done.find((d) => d.jobId === jobId)!;
  };

  let archiveDir = '';
  let archiveId = 0;

  it('backs a disk up into a new archive folder inside the chosen folder', async () => {
    const [ref] = await services.disks.open([disk], 'dialog');
    dialogs.script({ folder: [archives] });
    const folder = (await h['targets:chooseFolder']({}))!;
    const preflight = await h['jobs:preflight']({ request: { kind: 'backup', source: { diskId: ref!.diskId }, targetId: folder.targetId } });
    expect(preflight.requiredBytes).toBeGreaterThanOrEqual(3 * MiB);
    const { jobId } = await h['jobs:start']({ request: { kind: 'backup', source: { diskId: ref!.diskId }, targetId: folder.targetId } });
    const end = await finished(jobId);
    expect(end.error).toBeNull();
    expect(end.status).toBe('done');
    archiveDir = fs.readdirSync(archives).map((n) => path.join(archives, n)).find((p) => fs.statSync(p).isDirectory())!;
    expect(path.basename(archiveDir)).toMatch(/^web01-\d{8}-\d{6}$/);
    expect(fs.existsSync(path.join(archiveDir, 'manifest.json'))).toBe(true);
  });

  it('scans the folder into the catalog; lists with a total, sorts, searches, shows', async () => {
    dialogs.script({ folder: [archives] });
    const folder = (await h['targets:chooseFolder']({}))!;
    const scan = await h['catalog:scan']({ folderTargetIds: [folder.targetId] });
    expect(scan.added).toBeGreaterThanOrEqual(2);
    const all = await h['catalog:list']({ offset: 0, limit: 200 });
    expect(all.total).toBe(all.rows.length);
    const archive = all.rows.find((r) => r.type === 'archive')!;
    archiveId = archive.id;
    expect(archive.path).toBe(fs.realpathSync(archiveDir));
    const bySize = await h['catalog:list']({ sort: { column: 'capacityBytes', dir: 'desc' }, offset: 0, limit: 1 });
    expect(bySize.total).toBe(all.total);
    expect(bySize.rows).toHaveLength(1);
    expect(bySize.rows[0]!.capacityBytes).toBe(Math.max(...all.rows.map((r) => r.capacityBytes ?? 0)));
    const found = await h['catalog:search']({ query: 'loose', offset: 0, limit: 50 });
    expect(found.rows.map((r) => r.name)).toEqual(['loose.vmdk']);
    const detail = await h['catalog:show']({ id: archiveId });
    expect(detail.segments.length).toBeGreaterThan(0);
    expect(detail.disks.map((d) => d.id)).toEqual(detail.disks.map((_, i) => -(i + 1)));
    const opened = await h['catalog:openDisk']({ id: found.rows[0]!.id });
    expect(opened.name).toBe('loose.vmdk');
    await expect(Promise.resolve().then(() => h['catalog:openDisk']({ id: archiveId }))).rejects.toMatchObject({ code: 'E_USAGE' });
  });

  it('indexes the files of the catalog as a job, on the app catalog, one index at a time', async () => {
    const record = await h['jobs:start']({ request: { kind: 'indexFiles' } });
    expect(record).toMatchObject({ kind: 'indexFiles', status: 'running', title: 'index the files of every catalogued archive and disk' });
    // A second index of the same catalog would drop the first one's half-written rows.
    await expect(h['jobs:start']({ request: { kind: 'indexFiles', ids: [archiveId] } })).rejects.toMatchObject({ code: 'E_BUSY' });
    const end = await finished(record.jobId);
    expect(end.error).toBeNull();
    expect(end.status).toBe('done');
    // Neither disk holds a file system: both are indexed with the reason, and the job ran on main's database.
    expect(end.result!.index).toMatchObject({ indexed: 2, failed: 0 });
    expect(end.result!.outputs).toEqual([path.join(dir, 'catalog.db')]);
    expect(end.result!.index!.entries.flatMap((e) => e.volumes.map((v) => v.error))).toEqual(['no partition table and no file system found', 'no partition table and no file system found']);
    const again = await h['jobs:start']({ request: { kind: 'indexFiles', ids: [archiveId] } });
    expect((await finished(again.jobId)).result!.summary).toBe('indexed 0 entries (0 files), 1 unchanged');
  });

  it('restores the archive from the catalog, equal to the source', async () => {
    dialogs.script({ folder: [restored] });
    const folder = (await h['targets:chooseFolder']({}))!;
    const { jobId } = await h['jobs:start']({ request: { kind: 'restore', source: { catalogId: archiveId }, targetId: folder.targetId } });
    const end = await finished(jobId);
    expect(end.error).toBeNull();
    const out = end.result!.outputs.find((o) => o.endsWith('.vmdk'))!;
    execFileSync('qemu-img', ['compare', '-q', disk, out]);
  });

  it('verifies the archive, then names a corrupted segment', async () => {
    expect((await h['catalog:verify']({ id: archiveId })).ok).toBe(true);
    const detail = await h['catalog:show']({ id: archiveId });
    const segment = detail.segments.find((s) => !s.path.endsWith('manifest.json') && (s.sizeBytes ?? 0) > 1024)!;
    const fd = fs.openSync(segment.path, 'r+');
    fs.writeSync(fd, Buffer.from('garbage'), 0, 7, 600);
    fs.closeSync(fd);
    const report = await h['catalog:verify']({ id: archiveId });
    expect(report.ok).toBe(false);
    expect(report.files.filter((f) => f.status !== 'ok').map((f) => f.path)).toEqual([segment.path]);
  });

  it('forgets an entry', async () => {
    await h['catalog:forget']({ id: archiveId });
    await expect(Promise.resolve().then(() => h['catalog:show']({ id: archiveId }))).rejects.toMatchObject({ code: 'E_NOTFOUND' });
  });
});
