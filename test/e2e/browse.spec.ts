/**
 * The browser host's own file browser (issue 16) and the dialogs' safety lines: a disk opened by
 * typing its path, an output folder chosen by clicking through folders, a relative path refused,
 * a locked disk's dialog naming the lock and the VM, an existing output warned of before Start.
 * No dialog answers are scripted here: the app's own browser answers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeVmfsDisk } from '../fixtures/descriptor-builder.js';
import { buildEsx2Chain, MiB, pattern } from './disks';
import { expect, screenshot, test } from './fixtures';

test.describe('the file browser', () => {
  test('opens a disk by typing its path: Enter lists a folder with disks first, sizes and dates, then opens the file', async ({ page, work, openApp }) => {
    const vms = path.join(work, 'vms');
    fs.mkdirSync(path.join(vms, 'old'), { recursive: true });
    fs.writeFileSync(path.join(vms, 'notes.txt'), 'not a disk');
    const top = buildEsx2Chain(vms, 64 * MiB);
    await openApp();

    await page.getByRole('complementary').getByRole('button', { name: 'Open disk…' }).click();
    const browser = page.getByRole('dialog', { name: 'Open a disk' });
    await expect(browser).toBeVisible();
    const field = browser.getByLabel('Path');
    await expect(field).toBeFocused();

    // A relative path is refused in the page, before anything is asked of the host.
    await field.fill('vms/a.dsk');
    await field.press('Enter');
    await expect(browser.getByRole('alert')).toContainText('starting with /');
    await screenshot(page, 'file-browser-relative-refused');

    await field.fill(vms);
    await field.press('Enter');
    const listing = browser.getByRole('table', { name: `Contents of ${vms}` });
    await expect(listing).toBeVisible();
    const names = await listing.locator('tbody tr td:first-child').allInnerTexts();
    expect(names.map((n) => n.replace(/\s*\(folder\)$/, '').trim())).toEqual(['a.dsk', 'a.dsk.REDO', 'a.dsk.REDO.REDO', 'old', 'notes.txt']);
    const base = listing.locator('tbody tr').first();
    await expect(base).toContainText('64 MiB');
    await expect(base).toContainText(/\d{4}-\d\d-\d\d \d\d:\d\d/);
    await expect(field).toHaveValue(`${vms}/`);
    await screenshot(page, 'file-browser-open');

    await field.fill(top);
    await field.press('Enter');
    await expect(browser).toBeHidden();
    await expect(page.getByRole('heading', { name: 'a.dsk.REDO.REDO' })).toBeVisible();

    // The folder is remembered: the next time it is one click away, and the parent folder goes up.
    await page.getByRole('complementary').getByRole('button', { name: 'Open disk…' }).click();
    await browser.getByRole('navigation', { name: 'Recent folders' }).getByRole('button', { name: vms }).click();
    await expect(listing).toBeVisible();
    await browser.getByRole('button', { name: '↑ Parent folder' }).click();
    await expect(browser.getByRole('table', { name: `Contents of ${work}` })).toBeVisible();
    await browser.getByRole('button', { name: 'Cancel' }).click();
    await expect(browser).toBeHidden();
  });

  test('chooses an output folder by clicking through folders, and the job row names that folder', async ({ page, work, openApp }) => {
    const top = buildEsx2Chain(work, 64 * MiB);
    const out = path.join(work, 'exports', 'web');
    fs.mkdirSync(out, { recursive: true });
    await openApp({ disks: [top] });

    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Export…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Export a.dsk.REDO.REDO' });
    await dialog.getByRole('button', { name: 'Choose folder…' }).click();
    const browser = page.getByRole('dialog', { name: 'Export: choose the output folder' });
    await browser.getByLabel('Path').fill(work);
    await browser.getByLabel('Path').press('Enter');
    await browser.getByRole('button', { name: 'exports (folder)' }).click();
    await browser.getByRole('button', { name: 'web (folder)' }).click();
    await expect(browser.getByRole('table', { name: `Contents of ${out}` })).toBeVisible();
    await screenshot(page, 'file-browser-folder');
    await browser.getByRole('button', { name: 'Choose this folder' }).click();
    await expect(browser).toBeHidden();
    await expect(dialog.getByLabel('Output folder')).toHaveValue(fs.realpathSync(out));
    await expect(dialog.getByRole('status').filter({ hasText: 'Enough space' })).toBeVisible();
    await dialog.getByRole('button', { name: 'Start export' }).click();
    await expect(dialog).toBeHidden();

    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job).toContainText(`export a.dsk.REDO.REDO → ${path.join(fs.realpathSync(out), 'a.vmdk')}`);
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    expect(fs.existsSync(path.join(out, 'a.vmdk'))).toBe(true);
    await screenshot(page, 'jobs-destination-folder');
  });

  test('the convert dialog warns of an existing output before Start, and Replace lets it go ahead', async ({ page, work, openApp }) => {
    const top = buildEsx2Chain(work, 64 * MiB);
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'a.vmdk'), 'an older disk');
    await openApp({ disks: [top] });

    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Convert…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Convert a.dsk.REDO.REDO' });
    await dialog.getByRole('button', { name: 'Choose file…' }).click();
    const browser = page.getByRole('dialog', { name: 'Convert: choose the output file' });
    await browser.getByLabel('Path').fill(out);
    await browser.getByLabel('Path').press('Enter');
    // In a save dialog the suggested name follows into the folder listed.
    await expect(browser.getByLabel('Path')).toHaveValue(path.join(out, 'a.vmdk'));
    await browser.getByRole('button', { name: 'Save' }).click();
    await expect(browser).toBeHidden();

    const exists = dialog.getByRole('alert', { name: 'Output exists' });
    await expect(exists).toContainText('Already there: a.vmdk');
    await expect(exists).toContainText('tick “Replace existing files”');
    const start = dialog.getByRole('button', { name: 'Start convert' });
    await expect(start).toBeDisabled();
    await screenshot(page, 'convert-output-exists');
    await dialog.getByLabel('Replace existing files').check();
    await expect(exists).toContainText('It will be replaced');
    await expect(start).toBeEnabled();
    await start.click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    expect(fs.statSync(path.join(out, 'a.vmdk')).size).toBeGreaterThan(1024);
  });

  test('a locked disk\'s snapshot dialog names the lock and the VM, and goes ahead only when told to', async ({ page, work, openApp }) => {
    const disk = writeVmfsDisk(work, 'web01', 8 * MiB, pattern(MiB, 7));
    fs.writeFileSync(path.join(work, 'web01.vmx'), 'config.version = "8"\ndisplayName = "Web 01"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "web01.vmdk"\n');
    fs.mkdirSync(path.join(work, 'web01.vmx.lck'));
    await openApp({ disks: [disk] });

    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Snapshot…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Snapshot web01.vmdk' });
    await expect(dialog.getByRole('status', { name: 'VM' })).toContainText('Used by the VM Web 01 (web01.vmx). Its .vmx will be pointed at the new child');
    const inUse = dialog.getByRole('alert', { name: 'In use' });
    await expect(inUse).toContainText('The disk looks in use.');
    await expect(inUse).toContainText('web01.vmx.lck');
    await expect(dialog.getByText(/--force|--ignore-cid/)).toHaveCount(0);
    const start = dialog.getByRole('button', { name: 'Start snapshot' });
    await expect(start).toBeDisabled();
    await screenshot(page, 'snapshot-in-use');
    await dialog.getByLabel('Go ahead anyway, although the disk looks in use').check();
    await expect(start).toBeEnabled();
    await expect(inUse).toContainText('You chose to go ahead anyway');
    await start.click();
    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 60_000 });
    expect(fs.readFileSync(path.join(work, 'web01.vmx'), 'utf8')).toContain('web01-000001.vmdk');

    // The new child is what the VM uses now: its Commit dialog names the VM and the lock too.
    await page.getByRole('complementary').getByRole('button', { name: 'Open disk…' }).click();
    const browser = page.getByRole('dialog', { name: 'Open a disk' });
    await browser.getByLabel('Path').fill(path.join(work, 'web01-000001.vmdk'));
    await browser.getByLabel('Path').press('Enter');
    await expect(page.getByRole('heading', { name: 'web01-000001.vmdk' })).toBeVisible();
    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Commit…' }).click();
    const commit = page.getByRole('dialog', { name: 'Commit web01-000001.vmdk' });
    await expect(commit.getByRole('status', { name: 'VM' })).toContainText('Used by the VM Web 01 (web01.vmx). A .vmx entry naming this link will be pointed at its parent');
    await expect(commit.getByRole('alert', { name: 'In use' })).toContainText('web01.vmx.lck');
    await expect(commit.getByRole('button', { name: 'Start commit' })).toBeDisabled();
    await expect(commit.getByLabel('Go ahead anyway, although the disk looks in use')).toBeVisible();
    await screenshot(page, 'commit-in-use');
  });

  test('Scan folder… in the catalog takes its folder from the file browser', async ({ page, work, openApp }) => {
    const vms = path.join(work, 'vms');
    fs.mkdirSync(vms);
    buildEsx2Chain(vms, 64 * MiB);
    await openApp();
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Catalog' }).click();
    await page.getByRole('button', { name: 'Scan folder…' }).first().click();
    const browser = page.getByRole('dialog', { name: 'Choose a folder to scan for disks and archives' });
    await browser.getByLabel('Path').fill(vms);
    await browser.getByLabel('Path').press('Enter');
    await expect(browser.getByRole('table', { name: `Contents of ${vms}` })).toBeVisible();
    // Enter again on the folder listed chooses it.
    await browser.getByLabel('Path').press('Enter');
    await expect(browser).toBeHidden();
    await expect(page.getByRole('main')).toContainText('a.dsk.REDO.REDO');
  });
});
