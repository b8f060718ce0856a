import * as fs from 'node:fs';
import * as path from 'node:path';
import { guestFiles, twoBackups } from '../helpers/file-catalog';
import { expect, screenshot, test } from './fixtures';

test.describe('catalog files', () => {
  test('index two real backups, type a file name, see both versions and its timeline, restore the older one', async ({ page, work, openApp }) => {
    // A VM with ext4 and NTFS volumes backed up twice by diskchain backup; nginx.conf changed in between.
    const { nas } = twoBackups(work);
    const restored = path.join(work, 'restored');
    fs.mkdirSync(restored);

    const served = await openApp();
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Catalog' }).click();
    await served.script({ folder: [nas] });
    await page.getByRole('toolbar', { name: 'Catalog actions' }).getByRole('button', { name: 'Scan folder…' }).click();
    await expect(page.getByRole('status').filter({ hasText: '2 entries' })).toBeVisible();

    await page.getByRole('tablist', { name: 'Catalog views' }).getByRole('tab', { name: 'Files' }).click();
    // Nothing is indexed yet: the search finds nothing.
    const search = page.getByRole('searchbox', { name: 'Find files in backups' });
    await search.pressSequentially('ngi', { delay: 40 });
    await expect(page.getByText('No such file indexed')).toBeVisible();

    // Index files is a job: its row in the jobs panel counts the archives and disks and the files listed.
    await page.getByRole('button', { name: 'Index files' }).click();
    const indexJob = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').filter({ hasText: 'index the files of every catalogued archive and disk' });
    await expect(indexJob).toBeVisible();
    await expect(indexJob.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    await expect(indexJob).toContainText('2 of 2 archives and disks');
    const files = /indexed 2 entries \((\d+) files\), 0 unchanged/.exec((await indexJob.textContent()) ?? '')?.[1];
    expect(Number(files)).toBeGreaterThan(10);
    await expect(indexJob).toContainText(`${files} files`);
    await expect(page.getByText(new RegExp(`^Indexed 2 entries \\(${files} files\\) in`))).toBeVisible();

    // When the job ends the search runs again: "ngi" now finds the folder and the file; the full name leaves the file alone.
    const list = page.getByRole('list', { name: 'File versions' });
    await expect(list).toContainText('/etc/nginx/nginx.conf');
    await search.press('End');
    await search.pressSequentially('nx.conf', { delay: 20 });
    await expect(page.getByRole('status').filter({ hasText: '2 versions of 1 file' })).toBeVisible();
    const versions = list.getByRole('listitem').filter({ hasText: 'Restore file…' });
    await expect(versions).toHaveCount(2);
    const size = (v: 1 | 2): number => guestFiles(v).ext['/etc/nginx/nginx.conf']!.length;
    // Newest first; the newer is marked as changed.
    await expect(versions.nth(0)).toContainText('web-2');
    await expect(versions.nth(0)).toContainText('changed');
    await expect(versions.nth(0)).toContainText(`${size(2)} B`);
    await expect(versions.nth(1)).toContainText('web-1');
    await expect(versions.nth(1)).toContainText(`${size(1)} B`);
    const timeline = page.getByRole('region', { name: 'Timeline of /etc/nginx/nginx.conf' });
    await expect(timeline.getByRole('listitem')).toHaveCount(2);
    await expect(timeline.getByRole('listitem').nth(1)).toContainText('(changed)');
    await screenshot(page, 'catalog-files');

    // Restore the older version as a job, into a chosen folder; the bytes are the guest's.
    await served.script({ folder: [restored] });
    await versions.nth(1).getByRole('button', { name: /^Restore \/etc\/nginx\/nginx\.conf from web-1/ }).click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job).toContainText('restore /etc/nginx/nginx.conf from web-1');
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    expect(fs.readFileSync(path.join(restored, 'nginx.conf'))).toEqual(guestFiles(1).ext['/etc/nginx/nginx.conf']);
  });
});
