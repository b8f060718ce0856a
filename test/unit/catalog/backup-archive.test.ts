import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../../main/catalog/catalog.js';
import { diskchain } from '../../helpers/cli.js';
import { qemuFill, qemuImg } from '../../helpers/qemu.js';
import { tmpDir } from '../../helpers/tmp.js';
import { MiB } from './fixtures.js';

/** Archives written by the real `diskchain backup`, then catalogued and verified. */
describe('catalog of archives made by diskchain backup', () => {
  const dir = tmpDir();
  const vmDir = path.join(dir, 'vms', 'web');
  const archives = path.join(dir, 'nas');
  let catalog: Catalog;

  beforeAll(() => {
    fs.mkdirSync(vmDir, { recursive: true });
    qemuImg('create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic', path.join(vmDir, 'web.vmdk'), '16M');
    qemuFill(path.join(vmDir, 'web.vmdk'), MiB, 256 * 1024, 0x17);
    qemuImg('create', '-q', '-f', 'vmdk', '-b', 'web.vmdk', '-F', 'vmdk', path.join(vmDir, 'web-000001.vmdk'));
    qemuFill(path.join(vmDir, 'web-000001.vmdk'), 4 * MiB, 64 * 1024, 0x29);
    fs.writeFileSync(path.join(vmDir, 'web.vmx'), 'displayName = "Web Server"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "web-000001.vmdk"\n');
    for (const [name, extra] of [['web-flat', []], ['web-chain', ['--keep-chain']]] as const) {
      const r = diskchain(['backup', ...extra, path.join(vmDir, 'web.vmx'), path.join(archives, name)]);
      expect(r.status, r.stderr).toBe(0);
    }
    catalog = Catalog.open(path.join(dir, 'catalog.db'));
  });
  afterAll(() => catalog.close());

  it('finds both archives and the VM they came from, and none of their files as loose disks', async () => {
    const summary = await catalog.scan([archives, path.join(dir, 'vms')]);
    expect(summary.archives.added).toBe(2);
    expect(summary.disks.added).toBe(2); // the source's two links, not the archives' descriptors or segments
    const found = catalog.search({ vm: 'web server' }).entries;
    expect(found.map((e) => [e.type, e.name]).sort()).toEqual(
      [
        ['archive', 'web-chain'],
        ['archive', 'web-flat'],
        ['disk', 'web-000001.vmdk'],
        ['disk', 'web.vmdk'],
      ].sort(),
    );
    const flat = catalog.show(found.find((e) => e.name === 'web-flat')!.id);
    expect(flat).toMatchObject({ kind: 'archive', capacityBytes: 16 * MiB, status: 'unverified' });
    expect(flat.archive!.disks).toEqual([expect.objectContaining({ sourcePath: path.join(vmDir, 'web-000001.vmdk'), capacityBytes: 16 * MiB, kind: 'monolithicSparse' })]);
    expect(flat.archive!.files.map((f) => f.name)).toContain('web.vmx');
    expect(catalog.search({ text: 'web-000001', type: 'archive' }).entries.map((e) => e.name).sort()).toEqual(['web-chain', 'web-flat']);
  });

  it('verify passes on the fresh archives and names a corrupted segment and a deleted file', async () => {
    const id = catalog.search({ text: 'web-chain', type: 'archive' }).entries[0]!.id;
    expect((await catalog.verify(id)).ok).toBe(true);
    const detail = catalog.show(id);
    const segments = detail.archive!.files.filter((f) => f.name.endsWith('.vmdk') && f.bytes > 4096);
    expect(segments.length).toBeGreaterThanOrEqual(2);
    const [corrupt, gone] = [segments[0]!.name, segments[1]!.name];
    const fd = fs.openSync(path.join(detail.path, corrupt), 'r+');
    fs.writeSync(fd, Buffer.from('oops'), 0, 4, segments[0]!.bytes - 100);
    fs.closeSync(fd);
    fs.rmSync(path.join(detail.path, gone));
    const report = await catalog.verify(id);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.name, p.problem]).sort()).toEqual([
      [corrupt, 'changed'],
      [gone, 'missing'],
    ].sort());

    const cli = diskchain(['catalog', '--db', catalog.path, 'verify', '--all']);
    expect(cli.status).toBe(1);
    expect(cli.text).toMatch(new RegExp(`changed\\s+${corrupt.replace(/\./g, '\\.')}: its content changed`));
    expect(cli.text).toMatch(new RegExp(`missing\\s+${gone.replace(/\./g, '\\.')}: the file is missing`));
    expect(cli.text).toMatch(/web-flat: \d+ files hashed, .*: ok/);
  });
});
