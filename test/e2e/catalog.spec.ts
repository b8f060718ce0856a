import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildQemuSparse, cli, listFiles, MiB } from './disks';
import { expect, screenshot, test } from './fixtures';

/** Flips bytes inside a file without changing its size: a segment damaged on the NAS. */
function corrupt(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const buf = Buffer.alloc(512);
    fs.readSync(fd, buf, 0, buf.length, offset);
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! ^ 0xff;
    fs.writeSync(fd, buf, 0, buf.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

test.describe('catalog', () => {
  test('scan a folder, search as you type, verify an archive with a corrupted segment, restore another', async ({ page, work, openApp }) => {
    const nas = path.join(work, 'nas');
    const vms = path.join(nas, 'vms');
    const archives = path.join(nas, 'archives');
    fs.mkdirSync(vms, { recursive: true });
    const web = buildQemuSparse(vms, 'web01.vmdk', 16 * MiB, [{ offset: 0, length: 3 * MiB, byte: 0x57 }]);
    const db = buildQemuSparse(vms, 'db01.vmdk', 8 * MiB, [{ offset: MiB, length: MiB, byte: 0x44 }]);
    cli('backup', '--progress', 'none', web, path.join(archives, 'web01-backup'));
    cli('backup', '--progress', 'none', db, path.join(archives, 'db01-backup'));
    const segment = path.join(archives, 'web01-backup', 'web01-s001.vmdk');
    expect(fs.existsSync(segment)).toBe(true);
    corrupt(segment, fs.statSync(segment).size - 64 * 1024);

    const restored = path.join(work, 'restored');
    fs.mkdirSync(restored);
    const served = await openApp();
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Catalog' }).click();
    await expect(page).toHaveTitle('Catalog — Diskchain');
    await expect(page.getByRole('heading', { name: 'The catalog is empty' })).toBeVisible();
    await screenshot(page, 'catalog-empty');

    await served.script({ folder: [nas] });
    await page.getByRole('toolbar', { name: 'Catalog actions' }).getByRole('button', { name: 'Scan folder…' }).click();
    await expect(page.getByRole('status').filter({ hasText: /Scanned .*nas/ })).toBeVisible();
    const table = page.getByRole('table', { name: 'Catalog' });
    const rows = table.getByRole('rowgroup').nth(1).getByRole('row');
    await expect(rows).toHaveCount(4);
    await expect(page.getByRole('status').filter({ hasText: '4 entries' })).toBeVisible();
    await screenshot(page, 'catalog');

    // Search as you type: only web01's disk and archive are left.
    await page.getByRole('searchbox', { name: 'Search the catalog' }).pressSequentially('web', { delay: 40 });
    await expect(rows).toHaveCount(2);
    await expect(table).not.toContainText('db01');
    // Filter: archives only.
    await page.getByRole('combobox', { name: 'Show' }).selectOption('archive');
    await expect(rows).toHaveCount(1);

    // The archive's detail, then verify: the damaged segment is named.
    await rows.first().click();
    const detail = page.getByRole('region').filter({ has: page.getByRole('table', { name: 'Archive files' }) });
    await expect(detail.getByRole('table', { name: 'Archive files' })).toContainText('web01-s001.vmdk');
    await expect(detail.getByRole('table', { name: 'Archived disks' })).toContainText('web01');
    await detail.getByRole('button', { name: 'Verify', exact: true }).click();
    const verdict = detail.getByRole('alert');
    await expect(verdict).toContainText('do not match the manifest');
    await expect(verdict).toContainText('web01-s001.vmdk (changed)');
    const results = detail.getByRole('table', { name: 'Verify results' });
    await expect(results.getByRole('row').filter({ hasText: 'web01-s001.vmdk' })).toContainText('changed');
    await expect(results.getByRole('row').filter({ hasText: 'manifest.json' }).or(results.getByRole('row').filter({ hasText: 'web01.vmdk' })).first()).toContainText('ok');
    await screenshot(page, 'catalog-verify');

    // Keyboard: clear the search, then move through the table with the arrow keys.
    await page.getByRole('searchbox', { name: 'Search the catalog' }).fill('');
    await page.getByRole('combobox', { name: 'Show' }).selectOption('all');
    await expect(rows).toHaveCount(4);
    await table.getByRole('rowgroup').nth(1).focus();
    await page.keyboard.press('Home');
    await expect(page.getByRole('heading', { name: 'db01-backup' })).toBeVisible();
    await page.keyboard.press('ArrowDown');
    await expect(page.getByRole('heading', { name: 'db01.vmdk' })).toBeVisible();
    await expect(rows.nth(1)).toHaveAttribute('aria-selected', 'true');
    // Sort by capacity, largest first: web01 (16 MiB) comes before db01 (8 MiB).
    await table.getByRole('columnheader', { name: 'Capacity' }).getByRole('button').click();
    await table.getByRole('columnheader', { name: 'Capacity' }).getByRole('button').click();
    await expect(table.getByRole('columnheader', { name: 'Capacity' })).toHaveAttribute('aria-sort', 'descending');
    await expect(rows.first()).toContainText('web01');

    // Restore the intact archive from its detail.
    await page.getByRole('searchbox', { name: 'Search the catalog' }).fill('db01');
    await page.getByRole('combobox', { name: 'Show' }).selectOption('archive');
    await expect(rows).toHaveCount(1);
    await rows.first().click();
    await served.script({ folder: [restored] });
    await page.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog', { name: /^Restore/ });
    await dialog.getByRole('button', { name: 'Choose folder…' }).click();
    await expect(dialog.getByLabel('Output folder')).toHaveValue(restored);
    await dialog.getByRole('button', { name: 'Start restore' }).click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    expect(listFiles(restored).some((f) => f.endsWith('.vmdk'))).toBe(true);
  });
});
