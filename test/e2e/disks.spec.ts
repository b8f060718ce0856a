import { buildCidMismatch, buildEsx2Chain } from './disks';
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
    await screenshot(page, 'chain-dark');

    // Keyboard: Up/Down move between open disks, Enter shows one.
    const open = page.getByRole('list', { name: 'Open disks' });
    await open.getByRole('button', { name: /child\.vmdk/ }).first().focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await expect(page).toHaveTitle('a.dsk.REDO.REDO — Diskchain');

    await page.getByRole('button', { name: 'Close a.dsk.REDO.REDO' }).click();
    await expect(open.getByRole('listitem')).toHaveCount(1);
    await expect(page.getByRole('list', { name: 'Recent' })).toContainText('a.dsk.REDO.REDO');
  });
});
