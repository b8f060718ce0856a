import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { buildCidMismatch, buildEsx2Chain, buildQemuSparse, MiB } from './disks';
import { expect, screenshot, test } from './fixtures';

test.describe('disk views', () => {
  test('an ESX 2 disk with two REDO logs shows three links, base first', async ({ page, work, openApp }) => {
    const top = buildEsx2Chain(work);
    await openApp({ disks: [top] });

    await expect(page).toHaveTitle('a.dsk.REDO.REDO — Diskchain');
    const chain = page.getByRole('list', { name: 'Chain links, base first' });
    const links = chain.getByRole('listitem');
    await expect(links).toHaveCount(3);
    await expect(links.nth(0).getByRole('button')).toHaveAccessibleName('a.dsk, base');
    await expect(links.nth(1).getByRole('button')).toHaveAccessibleName('a.dsk.REDO, REDO log');
    await expect(links.nth(2).getByRole('button')).toHaveAccessibleName('a.dsk.REDO.REDO, REDO log');
    await expect(page.getByRole('list', { name: 'Broken links' })).toHaveCount(0);
    await screenshot(page, 'chain');

    // A link's detail: its header fields and extents.
    await links.nth(1).getByRole('button').click();
    const detail = page.getByRole('region', { name: 'a.dsk.REDO' });
    await expect(detail).toBeVisible();
    await expect(detail.getByText('found by the .REDO name').or(detail.getByText('named in the COWD header'))).toBeVisible();
    await expect(detail.getByRole('table', { name: 'Header fields' })).toBeVisible();
    await screenshot(page, 'link-detail');

    // Geometry: a bare .dsk has the adapter's default.
    await page.getByRole('tab', { name: 'Geometry' }).click();
    await expect(page.getByRole('table', { name: 'Geometry' })).toBeVisible();
    await screenshot(page, 'geometry');

    // Allocation map: a canvas with one colour per link, and a legend that names them.
    await page.getByRole('tab', { name: 'Allocation map' }).click();
    const legend = page.getByRole('list', { name: 'Layers' });
    await expect(legend.getByRole('listitem')).toHaveCount(4);
    await expect(legend).toContainText('a.dsk.REDO.REDO');
    const map = page.getByRole('img', { name: /Allocation map from 0 B to 64 MiB/ });
    await expect(map).toBeVisible();
    await screenshot(page, 'allocation-map');
    // Zoom into the first quarter by keyboard, then back out.
    await map.focus();
    await page.keyboard.press('+');
    await expect(page.getByRole('img', { name: /Allocation map from 16 MiB to 48 MiB/ })).toBeVisible();
    await page.keyboard.press('0');
    await expect(page.getByRole('img', { name: /Allocation map from 0 B to 64 MiB/ })).toBeVisible();

    // Check: a clean chain says so.
    await page.getByRole('tab', { name: 'Check' }).click();
    await expect(page.getByText('No problems found in any link of the chain.')).toBeVisible();
    await screenshot(page, 'check');
  });

  test('a chain with a CID mismatch is refused with the reason, then shown with the broken link explained', async ({ page, work, openApp }) => {
    const child = buildCidMismatch(work);
    await openApp({ disks: [child] });

    const refusal = page.getByRole('alert').filter({ hasText: 'Could not open the chain' });
    await expect(refusal).toBeVisible();
    await expect(refusal).toContainText('12345678');
    await expect(refusal).toContainText('0badc0de');
    await expect(refusal).not.toContainText('--ignore-cid'); // the app's own button says it, not a CLI flag
    await screenshot(page, 'chain-cid-refused');

    await refusal.getByRole('button', { name: 'Open anyway (ignore CID)' }).click();
    const links = page.getByRole('list', { name: 'Chain links, base first' }).getByRole('listitem');
    await expect(links).toHaveCount(2);
    await expect(page.getByRole('button', { name: 'child.vmdk, delta (COWD), CID mismatch' })).toBeVisible();
    const explained = page.getByRole('list', { name: 'Broken links' });
    await expect(explained).toContainText('child.vmdk expects its parent to have CID 0badc0de, but base.vmdk has CID 12345678');
    await expect(explained).toContainText('changed after this snapshot was taken');
    await screenshot(page, 'chain-cid-mismatch');
  });

  test('the open dialog opens disks, remembers them as recent, and a dark system gets the dark theme', async ({ page, work, openApp }) => {
    const top = buildEsx2Chain(work);
    const child = buildCidMismatch(work);
    await page.emulateMedia({ colorScheme: 'dark' });
    const served = await openApp();
    await expect(page.getByRole('heading', { name: 'Open a VMware disk' })).toBeVisible();
    await expect(page).toHaveTitle('Diskchain — open a VMware disk');
    await screenshot(page, 'empty-dark');

    await served.script({ open: [[top]] });
    await page.keyboard.press('Control+o');
    await expect(page.getByRole('list', { name: 'Chain links, base first' }).getByRole('listitem')).toHaveCount(3);
    await served.script({ open: [[child]] });
    await page.getByRole('button', { name: 'Open disk…' }).click();
    await expect(page.getByRole('list', { name: 'Open disks' }).getByRole('listitem')).toHaveCount(2);
    await screenshot(page, 'cid-refused-dark');

    // Keyboard: Up/Down move between open disks, Enter shows one.
    const open = page.getByRole('list', { name: 'Open disks' });
    await open.getByRole('button', { name: /child\.vmdk/ }).first().focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await expect(page).toHaveTitle('a.dsk.REDO.REDO — Diskchain');
    await screenshot(page, 'chain-dark');

    await page.getByRole('button', { name: 'Close a.dsk.REDO.REDO' }).click();
    await expect(open.getByRole('listitem')).toHaveCount(1);
    await expect(page.getByRole('list', { name: 'Recent' })).toContainText('a.dsk.REDO.REDO');
  });

  test('the allocation map of a 2 TiB chain draws in moments and zooms by wheel and by dragging a range', async ({ page, work, openApp }) => {
    const TiB = 1024 ** 4;
    const base = buildQemuSparse(work, 'big.vmdk', 2 * TiB, [
      { offset: 0, length: MiB, byte: 1 },
      { offset: TiB, length: 4 * MiB, byte: 2 },
      { offset: 2 * TiB - MiB, length: MiB, byte: 3 },
    ]);
    const child = path.join(work, 'big-000001.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', base, '-F', 'vmdk', child]);
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -P 9 ${TiB / 2} ${8 * MiB}`, child], { stdio: 'ignore' });
    await openApp({ disks: [child] });
    await expect(page.getByRole('list', { name: 'Chain links, base first' }).getByRole('listitem')).toHaveCount(2);

    const started = Date.now();
    await page.getByRole('tab', { name: 'Allocation map' }).click();
    const legend = page.getByRole('list', { name: 'Layers' });
    await expect(page.getByRole('img', { name: /Allocation map from 0 B to 2 TiB: big-000001\.vmdk holds 8 MiB, big\.vmdk holds 6 MiB/ })).toBeVisible({ timeout: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(legend).toContainText('big-000001.vmdk');
    await screenshot(page, 'allocation-map-2tib');

    // Wheel over the middle zooms in around it.
    const canvas = page.getByRole('img', { name: /Allocation map from/ });
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -100);
    await expect(page.getByRole('img', { name: /Allocation map from 205 GiB to 1\.8 TiB/ })).toBeVisible();
    // Drag across the middle fifth (right to left): the map shows just that range, where only the base has data.
    await page.getByRole('button', { name: 'Whole disk' }).click();
    await expect(page.getByRole('img', { name: /Allocation map from 0 B to 2 TiB/ })).toBeVisible();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect(page.getByRole('img', { name: /Allocation map from 8\d\d GiB to 1\.2 TiB: big-000001\.vmdk holds 0 B, big\.vmdk holds 4 MiB/ })).toBeVisible();
    await screenshot(page, 'allocation-map-zoomed');
  });
});

