import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildQemuSparse, MiB, qemuCheck } from './disks';
import { expect, test } from './fixtures';

test.describe('recover and rebuild', () => {
  test('a damaged disk says what it lost, Recover to… writes a disk that opens', async ({ page, work, openApp }) => {
    const src = buildQemuSparse(work, 'damaged.vmdk', 16 * MiB, [{ offset: 0, length: 8 * MiB, byte: 0x5a }]);
    fs.truncateSync(src, fs.statSync(src).size - 2 * MiB);
    const out = path.join(work, 'damaged-recovered.vmdk');
    const served = await openApp({ disks: [src] });
    await served.script({ save: [out] });

    const note = page.getByRole('note', { name: 'Damaged disk' });
    await expect(note).toContainText('cannot be read');
    await expect(note.getByRole('list', { name: 'Lost ranges' })).toContainText('LBA');
    await note.getByRole('button', { name: 'Recover to…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Recover damaged.vmdk' });
    await dialog.getByRole('button', { name: 'Choose file…' }).click();
    await expect(dialog.getByRole('textbox', { name: 'Output file' })).toHaveValue(/damaged-recovered\.vmdk$/);
    await dialog.getByRole('button', { name: 'Start recover' }).click();

    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 30_000 });
    await expect(job.getByLabel('Recovery report')).toContainText('lost');
    expect(qemuCheck(out).status).toBe(0);
    await job.getByRole('button', { name: /^Open the output/ }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'damaged-recovered.vmdk' })).toBeVisible();
    await expect(page.getByRole('note', { name: 'Damaged disk' })).toHaveCount(0);
  });

  test('an orphan -flat.vmdk offers Rebuild descriptor, which writes and opens the disk', async ({ page, work, openApp }) => {
    const flat = path.join(work, 'web01-flat.vmdk');
    fs.writeFileSync(flat, Buffer.alloc(8 * MiB, 3));
    await openApp({ disks: [flat] });

    const note = page.getByRole('note', { name: 'Orphan extent' });
    await expect(note).toContainText('web01.vmdk');
    await note.getByRole('button', { name: 'Rebuild descriptor' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'web01.vmdk' })).toBeVisible();
    expect(fs.existsSync(path.join(work, 'web01.vmdk'))).toBe(true);
    await expect(page.getByRole('definition').filter({ hasText: /^vmfs$/ }).first()).toBeVisible();
  });
});
