import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildBigRaw, buildEsx2Chain, listFiles, MiB, qemuCheck } from './disks';
import { expect, screenshot, test } from './fixtures';

test.describe('jobs', () => {
  test('export runs as a job whose progress reaches 100 %, and its output passes qemu-img check', async ({ page, work, openApp }) => {
    const top = buildEsx2Chain(work, 256 * MiB);
    const out = path.join(work, 'exported');
    fs.mkdirSync(out);
    const served = await openApp({ disks: [top] });
    await served.script({ folder: [out] });

    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Export…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Export a.dsk.REDO.REDO' });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Choose folder…' }).click();
    await expect(dialog.getByLabel('Output folder')).toHaveValue(out);
    await expect(dialog.getByRole('status').filter({ hasText: 'Enough space' })).toBeVisible();
    await screenshot(page, 'export-dialog');
    await dialog.getByRole('button', { name: 'Start export' }).click();
    await expect(dialog).toBeHidden();

    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    const progress = job.getByRole('progressbar');
    const seen: string[] = [];
    await expect(async () => {
      seen.push((await job.locator('.percent').textContent()) ?? '');
      await expect(job.getByText('done', { exact: true })).toBeVisible({ timeout: 100 });
    }).toPass({ timeout: 60_000, intervals: [50] });
    await expect(job.locator('.percent')).toHaveText('100 %');
    const max = Number(await progress.getAttribute('max'));
    expect(max).toBeGreaterThan(0);
    await expect(progress).toHaveAttribute('value', String(max));
    expect(seen.length).toBeGreaterThan(0);
    await screenshot(page, 'jobs-export-done');

    const descriptor = path.join(out, 'a.vmdk');
    expect(fs.existsSync(descriptor)).toBe(true);
    const check = qemuCheck(descriptor);
    expect(check.output).toContain('No errors were found');
    expect(check.status).toBe(0);

    // The same export again: the dialog says the output exists before Start, with what to do.
    await served.script({ folder: [out] });
    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Export…' }).click();
    await dialog.getByRole('button', { name: 'Choose folder…' }).click();
    await expect(dialog.getByLabel('Output folder')).toHaveValue(out);
    const exists = dialog.getByRole('alert', { name: 'Output exists' });
    await expect(exists).toContainText('Already there: a.vmdk');
    await expect(exists).toContainText('Replace existing files');
    await expect(dialog.getByRole('button', { name: 'Start export' })).toBeDisabled();
    await screenshot(page, 'jobs-error');
  });

  test('cancelling a long job stops it and leaves no output behind', async ({ page, work, openApp }) => {
    const src = buildBigRaw(work, 'big.dsk', 768 * MiB);
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    const served = await openApp({ disks: [src] });
    await served.script({ save: [path.join(out, 'big.vmdk')] });

    await page.getByRole('toolbar', { name: 'Disk actions' }).getByRole('button', { name: 'Convert…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Convert big.dsk' });
    await dialog.getByLabel('Output kind').selectOption('streamOptimized');
    await dialog.getByLabel('Compression level').fill('9');
    await dialog.getByRole('button', { name: 'Choose file…' }).click();
    await expect(dialog.getByLabel('Output file')).toHaveValue(path.join(out, 'big.vmdk'));
    await expect(dialog.getByRole('status').filter({ hasText: 'Enough space' })).toBeVisible();
    await dialog.getByRole('button', { name: 'Start convert' }).click();

    const job = page.getByRole('list', { name: 'Jobs' }).getByRole('listitem').first();
    await expect(job.getByText('running', { exact: true })).toBeVisible();
    // Wait until it has really written something, then cancel.
    await expect(async () => {
      expect(Number(await job.getByRole('progressbar').getAttribute('value'))).toBeGreaterThan(0);
    }).toPass({ timeout: 30_000, intervals: [100] });
    await expect(job).toContainText(/ETA/);
    await screenshot(page, 'jobs-running');
    await job.getByRole('button', { name: /^Cancel/ }).click();

    await expect(job.getByText('cancelled', { exact: true })).toBeVisible({ timeout: 30_000 });
    await expect(job).toContainText('partial output was removed');
    await expect.poll(() => listFiles(out), { timeout: 10_000 }).toEqual([]);
    expect(fs.statSync(src).size).toBe(768 * MiB);
  });
});
