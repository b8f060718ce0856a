import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { buildDatastore } from '../helpers/vmfs-datastore';
import { BIN, expect, screenshot, test } from './fixtures';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

test.describe('a VMFS volume image', () => {
  test('opens as a tree of VMs; a disk in it shows its chain and its files, and converts to a host file', async ({ page, work, openApp }) => {
    const ds = buildDatastore(work);
    const served = await openApp({ disks: [ds.image] });

    // The image is a volume: its VM folders with their .vmx and disks, not a disk of its own.
    const folders = page.getByRole('list', { name: 'VM folders' });
    await expect(page.getByRole('heading', { name: /VMFS volume ds-lun · VMFS-5\.\d+/ })).toBeVisible();
    await expect(folders.getByRole('heading', { name: '/web01' })).toBeVisible();
    const web01 = page.getByRole('list', { name: 'Disks in /web01' });
    await expect(web01.getByRole('listitem')).toHaveCount(3);
    await expect(web01.getByRole('listitem').filter({ hasText: 'web01-000002.vmdk' })).toBeVisible();
    await expect(page.getByRole('list', { name: 'Disks in /db01' }).getByRole('listitem')).toHaveText([/db01\.vmdk/]);
    await expect(page.getByRole('tab', { name: 'Chain' })).toHaveCount(0);
    await screenshot(page, 'vmfs-volume');

    // Opening the top snapshot: the 3-link chain read through the image.
    await web01.getByRole('button', { name: 'Open web01-000002.vmdk' }).click();
    await expect(page.locator('.main-header h1')).toHaveText('web01-000002.vmdk');
    await expect(page.locator('.main-header .path')).toHaveText(`${ds.image}:/web01/web01-000002.vmdk`);
    await expect(page.locator('.summary-strip')).toContainText('3');
    await expect(page.locator('.summary-strip')).toContainText('vmfsSparse');
    const actions = page.getByRole('toolbar', { name: 'Disk actions' });
    for (const name of ['Commit…', 'Snapshot…', 'Extend…']) {
      await expect(actions.getByRole('button', { name })).toBeDisabled();
      await expect(actions.getByRole('button', { name })).toHaveAttribute('title', /^Read-only: the disk is inside a VMFS volume image/);
    }
    await screenshot(page, 'vmfs-disk-chain');

    // Convert it to a host file: a job that reads from the image.
    const out = path.join(work, 'out.vmdk');
    await served.script({ save: [out] });
    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Convert…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Convert web01-000002.vmdk' });
    await dialog.getByLabel('Output kind').selectOption('monolithicSparse');
    await dialog.getByRole('button', { name: 'Choose file…' }).click();
    await expect(dialog.getByLabel('Output file')).toHaveValue(out);
    await dialog.getByRole('button', { name: 'Start convert' }).click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    expect(md5(execFileSync(process.execPath, [BIN, 'cat', out], { maxBuffer: 64 * 1024 * 1024 }))).toBe(md5(ds.chainBytes));

    // Back to the volume, then guest01's Files tab: ext4 inside a disk inside the image.
    await page.getByRole('button', { name: /^lun\.img/ }).first().click();
    await page.getByRole('list', { name: 'Disks in /guest01' }).getByRole('button', { name: 'Open guest01.vmdk' }).click();
    await expect(page.locator('.main-header .path')).toHaveText(`${ds.image}:/guest01/guest01.vmdk`);
    await page.getByRole('tab', { name: 'Files' }).click();
    const table = page.getByRole('table', { name: 'Files' });
    await expect(table.getByRole('row', { name: /etc/ })).toBeVisible();
    await page.getByRole('tree', { name: 'Folders' }).getByRole('button', { name: 'etc', exact: true }).click();
    await table.getByRole('row', { name: /hostname/ }).click();
    await expect(page.getByRole('complementary', { name: 'Preview' }).getByLabel('Text preview')).toHaveText('guest01\n');
    await screenshot(page, 'vmfs-disk-files');
  });
});
