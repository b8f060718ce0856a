import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildQemuSparse, cli, MiB } from './disks';
import { expect, screenshot, test } from './fixtures';

test.describe('a chain whose parent was renamed', () => {
  test('shows the child link itself and "Locate parent…"; choosing the renamed parent fixes the chain', async ({ page, work, openApp }) => {
    const base = buildQemuSparse(work, 'web01.vmdk', 16 * MiB, [{ offset: 2 * MiB, length: 2 * MiB, byte: 0x33 }]);
    const child = path.join(work, 'web01-000001.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', 'web01.vmdk', '-F', 'vmdk', child]);
    execFileSync('qemu-io', ['-f', 'vmdk', '-c', `write -P 0x77 ${8 * MiB} ${MiB}`, child], { stdio: 'ignore' });
    const expected = path.join(work, 'expected.raw');
    execFileSync('qemu-img', ['convert', '-O', 'raw', child, expected]);
    const renamed = path.join(work, 'web01-old.vmdk');
    fs.renameSync(base, renamed);

    const served = await openApp({ disks: [child] });
    await served.script({ open: [[renamed]] });

    // The child itself: one link, its header, what it holds.
    const note = page.getByRole('note', { name: 'Missing parent' });
    await expect(note).toContainText('web01-000001.vmdk names its parent web01.vmdk, which is not there');
    const links = page.getByRole('list', { name: 'Chain links, base first' }).getByRole('listitem');
    await expect(links).toHaveCount(1);
    await links.first().getByRole('button').click();
    const detail = page.getByRole('region', { name: 'web01-000001.vmdk' });
    await expect(detail.getByRole('table', { name: 'Header fields' })).toBeVisible();
    await expect(detail.getByLabel('Descriptor text')).toContainText('parentFileNameHint="web01.vmdk"');
    // Said once, in the app's words; the actions wait for the parent (the disk's data is not whole without it).
    await expect(page.getByText('diskchain reparent')).toHaveCount(0);
    await expect(page.getByRole('list', { name: 'Problems found while opening' })).toHaveCount(0);
    const actions = page.getByRole('toolbar', { name: 'Disk actions' });
    await expect(actions.getByRole('button', { name: 'Convert…' })).toBeDisabled();
    await expect(actions.getByRole('button', { name: 'Snapshot…' })).toBeDisabled();
    await screenshot(page, 'missing-parent');

    await note.getByRole('button', { name: 'Locate parent…' }).click();
    await expect(page.getByRole('note', { name: 'Missing parent' })).toHaveCount(0);
    await expect(links).toHaveCount(2);
    await expect(actions.getByRole('button', { name: 'Convert…' })).toBeEnabled();
    await expect(links.nth(0).getByRole('button')).toHaveAccessibleName(/^web01-old\.vmdk, base/);
    await screenshot(page, 'reparented');

    // The files: the child names the renamed parent, the old descriptor is kept, and the chain reads as before.
    expect(fs.existsSync(`${child}.descriptor.bak`)).toBe(true);
    expect(cli('info', child)).toContain('web01-old.vmdk');
    execFileSync('qemu-img', ['compare', '-q', '-f', 'vmdk', '-F', 'raw', child, expected]);
  });

  test('a cancelled dialog changes nothing', async ({ page, work, openApp }) => {
    buildQemuSparse(work, 'base.vmdk', 8 * MiB, []);
    const child = path.join(work, 'child.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', child]);
    fs.renameSync(path.join(work, 'base.vmdk'), path.join(work, 'moved.vmdk'));
    const before = fs.readFileSync(child);
    await openApp({ disks: [child] });

    const note = page.getByRole('note', { name: 'Missing parent' });
    await note.getByRole('button', { name: 'Locate parent…' }).click();
    await expect(note).toContainText('No file was chosen.');
    expect(fs.readFileSync(child).equals(before)).toBe(true);
  });
});
