import { execFileSync } from 'node:child_process';
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

  test('statuses tell broken from sound; status, VM, date and size filters; the detail marks the missing file; no column is cut', async ({ page, work, openApp }) => {
    const nas = path.join(work, 'nas');
    const vm = (name: string): string => {
      const dir = path.join(nas, 'vms', name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${name}.vmx`), `displayName = "${name}"\nscsi0:0.fileName = "${name}.vmdk"\n`);
      return dir;
    };
    const web = buildQemuSparse(vm('web01'), 'web01.vmdk', 16 * MiB, [{ offset: 0, length: MiB, byte: 0x57 }]);
    const db = buildQemuSparse(vm('db01'), 'db01.vmdk', 8 * MiB, [{ offset: 0, length: MiB, byte: 0x44 }]);
    fs.utimesSync(db, new Date('2020-01-01T12:00:00Z'), new Date('2020-01-01T12:00:00Z'));
    // Cut inside its grains: the engine's damage verdict says it lost data.
    const cut = buildQemuSparse(vm('cut01'), 'cut01.vmdk', 64 * MiB, [{ offset: 8 * MiB, length: 4 * MiB, byte: 0x31 }]);
    fs.truncateSync(cut, Number(fs.readFileSync(cut).readBigUInt64LE(64)) * 512 + 2 * MiB);
    // A child whose parent is gone.
    const chain = path.join(nas, 'vms', 'chain');
    fs.mkdirSync(chain);
    buildQemuSparse(chain, 'base.vmdk', 8 * MiB, []);
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', path.join(chain, 'child.vmdk')]);
    fs.rmSync(path.join(chain, 'base.vmdk'));
    const archive = path.join(nas, 'archives', 'web01-backup');
    cli('backup', '--progress', 'none', web, archive);
    const lost = listFiles(archive).find((f) => f.endsWith('.vmdk') && !/-s\d{3}\.vmdk$/.test(f))!;
    fs.rmSync(path.join(archive, lost));

    const served = await openApp();
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Catalog' }).click();
    await served.script({ folder: [nas] });
    await page.getByRole('toolbar', { name: 'Catalog actions' }).getByRole('button', { name: 'Scan folder…' }).click();
    const table = page.getByRole('table', { name: 'Catalog' });
    const rows = table.getByRole('rowgroup').nth(1).getByRole('row');
    await expect(rows).toHaveCount(5);
    const row = (name: string) => rows.filter({ hasText: name });
    await expect(table.getByRole('columnheader', { name: 'Status' })).toBeVisible();
    await expect(row('web01.vmdk')).toContainText('✓ ok');
    await expect(row('cut01.vmdk')).toContainText('damaged');
    await expect(row('child.vmdk')).toContainText('chain broken');
    // The scan already sees the manifest's file is gone.
    await expect(row('web01-backup')).toContainText('missing file');
    await expect(row('db01.vmdk')).toContainText('db01');
    await screenshot(page, 'catalog-status');
    await expectNoCutCells(page);

    const status = page.getByRole('combobox', { name: 'Status' });
    await status.selectOption('damaged');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('cut01.vmdk');
    await status.selectOption('chain-broken');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('child.vmdk');
    await status.selectOption('');
    await expect(rows).toHaveCount(5);

    await page.getByRole('searchbox', { name: 'VM' }).fill('db01');
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toContainText('db01.vmdk');
    await page.getByRole('searchbox', { name: 'VM' }).fill('');
    await expect(rows).toHaveCount(5);

    await page.getByLabel('Dated since').fill('2024-01-01');
    await expect(rows).toHaveCount(4);
    await expect(table).not.toContainText('db01.vmdk');
    await page.getByLabel('Capacity at least').fill('12M');
    await expect(rows).toHaveCount(3); // web01.vmdk, its archive, cut01.vmdk (64 MiB)
    await page.getByLabel('Capacity at most').fill('32M');
    await expect(rows).toHaveCount(2);
    await expect(table).not.toContainText('cut01');
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await expect(rows).toHaveCount(5);

    // The archive's detail: never verified yet, the missing file marked; verify records it.
    await row('web01-backup').click();
    const detail = page.getByRole('region').filter({ has: page.getByRole('table', { name: 'Archive files' }) });
    await expect(detail.getByRole('definition').filter({ hasText: 'never' })).toBeVisible();
    const files = detail.getByRole('table', { name: 'Archive files' });
    await expect(files.getByRole('row').filter({ hasText: lost })).toContainText('missing');
    await detail.getByRole('button', { name: 'Verify', exact: true }).click();
    await expect(detail.getByRole('alert')).toContainText(`${lost} (missing)`);
    await expect(detail.getByRole('definition').filter({ hasText: /did not match/ })).toContainText('1 file did not match');
    await expect(detail.getByRole('definition').filter({ hasText: 'missing file' })).toContainText(`missing: ${lost}`);
    await expect(files.getByRole('row').filter({ hasText: lost })).toContainText('missing');
    await expect(files.getByRole('row').filter({ hasText: 'manifest' }).or(files.getByRole('row').filter({ hasText: '-s001.vmdk' })).first()).toContainText('ok');
    await expect(row('web01-backup')).toContainText('missing file');
    await screenshot(page, 'catalog-status-detail');
    await expectNoCutCells(page);
  });
});

/** No cell of the table shows less than its content (the Kind and Modified columns were cut once). */
async function expectNoCutCells(page: import('@playwright/test').Page): Promise<void> {
  const cut = await page.getByRole('table', { name: 'Catalog' }).evaluate((table) =>
    [...table.querySelectorAll('[role="cell"]:not(.name-cell), [role="columnheader"]')]
      .filter((c) => c.scrollWidth > c.clientWidth + 1)
      .map((c) => c.textContent),
  );
  expect(cut).toEqual([]);
}
