import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fatChain, fatStates, hostTree as tree } from '../helpers/fat-states';
import { expect, screenshot, test } from './fixtures';

test.describe('the Files tab', () => {
  test('browses an MBR + FAT32 VMDK, previews text, extracts a folder as mtools copies it, and lists what a snapshot changed', async ({ page, work, openApp }) => {
    const states = fatStates(work);
    const { top } = fatChain(work, 'web01', states);
    const out = path.join(work, 'extracted');
    fs.mkdirSync(out);
    const served = await openApp({ disks: [top] });

    await page.getByRole('tab', { name: 'Files' }).click();
    const volumes = page.getByRole('list', { name: 'Volumes' });
    await expect(volumes.getByRole('button', { name: /fat32/ })).toHaveAttribute('aria-pressed', 'true');
    const table = page.getByRole('table', { name: 'Files' });
    await expect(table.getByRole('row', { name: /logs/ })).toBeVisible();
    await expect(table.getByRole('row', { name: /readme\.txt/ })).toContainText('19 B');

    // Into /etc through the folder tree, then the breadcrumb shows where we are.
    await page.getByRole('tree', { name: 'Folders' }).getByRole('button', { name: 'etc', exact: true }).click();
    await expect(page.getByRole('navigation', { name: 'Breadcrumb' })).toContainText('etc');
    await table.getByRole('row', { name: /hosts/ }).click();
    const preview = page.getByRole('complementary', { name: 'Preview' });
    await expect(preview.getByLabel('Text preview')).toHaveText('127.0.0.1 localhost\n');
    await expect(preview).toContainText('UTF-8');
    await screenshot(page, 'files-preview');

    // The quick filter, then back to the root by the breadcrumb.
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('button', { name: 'Volume 1' }).click();
    await page.getByLabel('Quick filter').fill('read');
    await expect(table.getByRole('row')).toHaveCount(2);
    await table.getByRole('row', { name: /readme/ }).click();
    await expect(preview.getByLabel('Text preview')).toHaveText('Grüße aus der VM\n');
    await page.getByLabel('Quick filter').fill('');

    // Extract /logs: a job that reaches 100 %, with the bytes mtools copies.
    await table.getByRole('row', { name: /logs/ }).click();
    await served.script({ folder: [out] });
    await page.getByRole('button', { name: 'Extract…' }).click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    await expect(job.locator('.percent')).toHaveText('100 %');
    await expect(job).toContainText('extracted 3 files, 1 folder (300.0 KiB)');
    await expect(job).toContainText('300 KiB of 300 KiB');
    await screenshot(page, 'files-extract-done');
    const oracle = fs.mkdtempSync(path.join(work, 'mcopy-'));
    execFileSync('mcopy', ['-s', '-n', '-m', '-i', states.after, '::/logs', oracle], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    expect(Object.keys(tree(out)).sort()).toEqual(['logs/a.log', 'logs/b.log', 'logs/big.bin']);
    expect(tree(out)).toEqual(tree(oracle));
    await page.keyboard.press('Escape');

    // Changed in this snapshot: link 0 against its parent.
    await page.getByRole('button', { name: 'Changed in this snapshot' }).click();
    const changes = page.getByRole('region', { name: 'Changed in this snapshot' });
    await expect(changes.getByRole('listitem').filter({ hasText: '/etc/app.conf' })).toContainText('Changed');
    await expect(changes.getByRole('listitem').filter({ hasText: '/etc/app.conf' })).toContainText('size 8 B → 20 B');
    await expect(changes.getByRole('listitem').filter({ hasText: '/logs/b.log' })).toContainText('Added');
    await expect(changes.getByRole('listitem').filter({ hasText: '/old/one.txt' })).toContainText('Removed');
    await expect(changes.getByRole('listitem')).toHaveCount(8);
    await screenshot(page, 'files-changed');

    // The parent link as the guest had it: /old is there, b.log is not.
    await page.getByLabel('Read the guest at link').selectOption('1');
    await expect(table.getByRole('row', { name: /^old / })).toBeVisible();
    await expect(table.getByRole('row', { name: /^new / })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Changed in this snapshot' })).toBeDisabled();
  });
});
