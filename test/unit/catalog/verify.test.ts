import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { sha256File } from '../../../main/catalog/verify.js';
import type { VerifyReport } from '../../../main/catalog/types.js';
import { qemuImg } from '../../helpers/qemu.js';
import { patternBytes, tmpDir } from '../../helpers/tmp.js';
import { makeArchive, sha256Of } from './fixtures.js';

describe('catalog verify', () => {
  const dir = tmpDir();
  const root = path.join(dir, 'archives');
  let catalog: Catalog;
  const idOf = (name: string): number => catalog.search({ text: name, type: 'archive' }).entries[0]!.id;

  beforeAll(async () => {
    for (const vm of ['alpha', 'bravo', 'charlie', 'delta', 'echo']) {
      makeArchive(path.join(root, `${vm}-2024-05-01`), { vm, createdAt: '2024-05-01T10:00:00.000Z' });
    }
    qemuImg('create', '-q', '-f', 'vmdk', path.join(dir, 'loose.vmdk'), '1M');
    catalog = Catalog.open(path.join(dir, 'catalog.db'));
    await catalog.scan([root, path.join(dir, 'loose.vmdk')]);
  });
  afterAll(() => catalog.close());

  it('an intact archive verifies clean, every file hashed', async () => {
    const id = idOf('alpha');
    const progress: number[] = [];
    const report = await catalog.verify(id, { onProgress: (p) => progress.push(p.doneBytes) });
    const archive = path.join(root, 'alpha-2024-05-01');
    const bytes = ['alpha.vmx', 'alpha.vmdk', 'alpha-s001.vmdk'].reduce((s, f) => s + fs.statSync(path.join(archive, f)).size, 0);
    expect(report).toMatchObject({ id, path: archive, ok: true, checkedFiles: 3, bytesHashed: bytes, problems: [] });
    expect(progress.at(-1)).toBe(bytes);
    expect(catalog.show(id).archive!.lastVerify).toEqual(report);
  });

  it('names a corrupted segment (same size, different bytes) and a deleted file', async () => {
    const archive = path.join(root, 'bravo-2024-05-01');
    const segment = path.join(archive, 'bravo-s001.vmdk');
    const fd = fs.openSync(segment, 'r+');
    fs.writeSync(fd, Buffer.from([0xde, 0xad]), 0, 2, 70_000);
    fs.closeSync(fd);
    fs.rmSync(path.join(archive, 'bravo.vmx'));
    const report = await catalog.verify(idOf('bravo'));
    expect(report.ok).toBe(false);
    expect(report.checkedFiles).toBe(1);
    expect(report.problems).toEqual([
      { name: 'bravo.vmx', problem: 'missing', message: 'the file is missing' },
      { name: 'bravo-s001.vmdk', problem: 'changed', message: expect.stringMatching(/^its content changed \(sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}\)$/) },
    ]);
    expect(catalog.show(idOf('bravo')).archive!.lastVerify).toMatchObject({ ok: false });
  });

  it('a truncated file is reported changed by its size, without hashing it', async () => {
    const archive = path.join(root, 'charlie-2024-05-01');
    const segment = path.join(archive, 'charlie-s001.vmdk');
    const size = fs.statSync(segment).size;
    fs.truncateSync(segment, size - 512);
    const report = await catalog.verify(idOf('charlie'));
    expect(report.problems).toEqual([{ name: 'charlie-s001.vmdk', problem: 'changed', message: `it has ${size - 512} bytes, the manifest says ${size}` }]);
  });

  it('a rewritten manifest is reported, and files are still checked against the catalogued one', async () => {
    const manifest = path.join(root, 'delta-2024-05-01', 'manifest.json');
    fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace('"host": "test-host"', '"host": "elsewhere"'));
    const report = await catalog.verify(idOf('delta'));
    expect(report.checkedFiles).toBe(3);
    expect(report.problems).toEqual([{ name: 'manifest.json', problem: 'changed', message: expect.stringMatching(/differs from the one catalogued/) }]);
  });

  it('an archive whose folder is gone is reported missing', async () => {
    const id = idOf('echo');
    fs.renameSync(path.join(root, 'echo-2024-05-01'), path.join(dir, 'echo-elsewhere'));
    const report = await catalog.verify(id);
    expect(report).toMatchObject({ ok: false, checkedFiles: 0, problems: [{ name: '', problem: 'missing', message: 'the archive folder is missing' }] });
    fs.renameSync(path.join(dir, 'echo-elsewhere'), path.join(root, 'echo-2024-05-01'));
  });

  it('verify --all goes through every archive in id order', async () => {
    const reports: VerifyReport[] = [];
    for await (const r of catalog.verifyAll()) reports.push(r);
    expect(reports.map((r) => path.basename(r.path))).toEqual(['alpha-2024-05-01', 'bravo-2024-05-01', 'charlie-2024-05-01', 'delta-2024-05-01', 'echo-2024-05-01']);
    expect(reports.map((r) => r.ok)).toEqual([true, false, false, false, true]);
  });

  it('verify of a disk entry or an unknown id is refused clearly', async () => {
    const loose = catalog.search({ type: 'disk' }).entries[0]!;
    await expect(catalog.verify(loose.id)).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/is a disk, not an archive/) });
    await expect(catalog.verify(9999)).rejects.toMatchObject({ code: 'E_NOTFOUND' });
  });
});

describe('sha256File', () => {
  const dir = tmpDir();

  it('streams a file larger than one read and matches a one-shot hash', async () => {
    const file = path.join(dir, 'big.bin');
    fs.writeFileSync(file, patternBytes(3 * 1024 * 1024 + 123, 5));
    let calls = 0;
    expect(await sha256File(file, () => calls++)).toBe(sha256Of(file));
    expect(calls).toBeGreaterThanOrEqual(4);
  });
});
