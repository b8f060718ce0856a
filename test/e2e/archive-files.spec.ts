import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { changeNginx, makeGuestVm, NGINX_AFTER, NGINX_BEFORE } from '../helpers/archive-vm';
import { cli } from './disks';
import { expect, screenshot, test } from './fixtures';

/** Every file of a folder with its bytes' SHA-256 and mtime: the archive must read as untouched. */
function state(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    out[name] = `${fs.statSync(p).mtimeMs} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
  }
  return out;
}

test.describe('files of an archive', () => {
  test('opens an archived disk from the Catalog on the Files tab: browses ext4 and NTFS, previews a file as each archived link had it', async ({ page, work, openApp }) => {
    const vm = makeGuestVm(path.join(work));
    changeNginx(vm);
    const archives = path.join(work, 'nas', 'archives');
    const archive = path.join(archives, 'web01-backup');
    cli('backup', '--progress', 'none', '--keep-chain', vm.vmx, archive);
    const before = state(archive);

    const served = await openApp();
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Catalog' }).click();
    await served.script({ folder: [archives] });
    await page.getByRole('toolbar', { name: 'Catalog actions' }).getByRole('button', { name: 'Scan folder…' }).click();
    const rows = page.getByRole('table', { name: 'Catalog' }).getByRole('rowgroup').nth(1).getByRole('row');
    await expect(rows).toHaveCount(1);
    await rows.first().click();
    const disks = page.getByRole('table', { name: 'Archived disks' });
    await expect(disks).toContainText('sys-000001');
    await screenshot(page, 'archive-files-catalog');
    await disks.getByRole('button', { name: 'Open files of sys-000001' }).click();

    // The Files tab of the archived disk: its ext4 volume, read through the archive.
    await expect(page.getByRole('tab', { name: 'Files' })).toHaveAttribute('aria-selected', 'true');
    const volumes = page.getByRole('list', { name: 'Volumes' });
    await expect(volumes.getByRole('button', { name: /ext4/ })).toHaveAttribute('aria-pressed', 'true');
    const table = page.getByRole('table', { name: 'Files' });
    await expect(table.getByRole('row', { name: /^var / })).toBeVisible();
    await page.getByRole('tree', { name: 'Folders' }).getByRole('button', { name: 'etc', exact: true }).click();
    await table.getByRole('row', { name: /^nginx / }).dblclick();
    await table.getByRole('row', { name: /nginx\.conf/ }).click();
    const preview = page.getByRole('complementary', { name: 'Preview' });
    await expect(preview.getByLabel('Text preview')).toHaveText(NGINX_AFTER);
    await screenshot(page, 'archive-files-preview');

    // What the newer backup's top link changed over the link below it.
    await page.getByRole('button', { name: 'Changed in this snapshot' }).click();
    const changes = page.getByRole('region', { name: 'Changed in this snapshot' });
    await expect(changes.getByRole('listitem').filter({ hasText: '/etc/nginx/nginx.conf' })).toContainText('Changed');

    // Link 1 of the archive: the file as it was before.
    await page.getByLabel('Read the guest at link').selectOption('1');
    await page.getByRole('tree', { name: 'Folders' }).getByRole('button', { name: 'etc', exact: true }).click();
    await table.getByRole('row', { name: /^nginx / }).dblclick();
    await table.getByRole('row', { name: /nginx\.conf/ }).click();
    await expect(preview.getByLabel('Text preview')).toHaveText(NGINX_BEFORE);

    // The other disk of the archive: an NTFS volume.
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Catalog' }).click();
    await rows.first().click();
    await page.getByRole('table', { name: 'Archived disks' }).getByRole('button', { name: 'Open files of data' }).click();
    await expect(page.getByRole('tab', { name: 'Files' })).toHaveAttribute('aria-selected', 'true');
    await expect(volumes.getByRole('button', { name: /ntfs/ })).toHaveAttribute('aria-pressed', 'true');
    await table.getByRole('row', { name: /report\.txt/ }).click();
    await expect(preview.getByLabel('Text preview')).toHaveText('quarterly numbers\n');
    await expect(table.getByRole('row', { name: /big\.dat/ })).toContainText('3.0 MiB');

    // Extract… from the archive: a job, the bytes of the source file.
    const out = path.join(work, 'extracted');
    fs.mkdirSync(out);
    await table.getByRole('row', { name: /big\.dat/ }).click();
    await served.script({ folder: [out] });
    await page.getByRole('button', { name: 'Extract…' }).click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    await expect(job).toContainText('extracted 1 file');
    expect(fs.readFileSync(path.join(out, 'big.dat')).equals(fs.readFileSync(path.join(vm.ntfsFiles, 'big.dat')))).toBe(true);
    await screenshot(page, 'archive-files-extract');

    expect(state(archive)).toEqual(before);
  });
});
