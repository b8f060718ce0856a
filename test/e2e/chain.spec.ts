/** The chain cards (issue 16): aligned, and in a long chain the opened top link in view with the rest counted. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { buildEsx2Chain, MiB } from './disks';
import { expect, screenshot, test } from './fixtures';

test.describe('the chain view', () => {
  test('cards of a chain line up: same top and the same height', async ({ page, work, openApp }) => {
    await openApp({ disks: [buildEsx2Chain(work, 64 * MiB)] });
    const cards = page.getByRole('list', { name: 'Chain links, base first' }).getByRole('button');
    await expect(cards).toHaveCount(3);
    const boxes = await Promise.all([0, 1, 2].map(async (i) => (await cards.nth(i).boundingBox())!));
    expect(new Set(boxes.map((b) => Math.round(b.y))).size).toBe(1);
    expect(new Set(boxes.map((b) => Math.round(b.height))).size).toBe(1);
  });

  test('a long chain opens scrolled to the top link, and says how many links are out of view', async ({ page, work, openApp }) => {
    const names = ['vm.vmdk', ...Array.from({ length: 9 }, (_, i) => `vm-00000${i + 1}.vmdk`)];
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', path.join(work, names[0]!), '64M']);
    for (let i = 1; i < names.length; i++) {
      execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', names[i - 1]!, '-F', 'vmdk', path.join(work, names[i]!)], { cwd: work });
    }
    await openApp({ disks: [path.join(work, names[names.length - 1]!)] });
    const chain = page.getByRole('list', { name: 'Chain links, base first' });
    await expect(chain.getByRole('listitem')).toHaveCount(10);
    await expect(chain.getByRole('button', { name: 'vm-000009.vmdk, snapshot' })).toBeInViewport({ ratio: 0.9 });
    await expect(chain.getByRole('button', { name: /^vm\.vmdk, base/ })).not.toBeInViewport();
    const more = page.getByRole('button', { name: /^Show \d+ more links toward the base$/ });
    await expect(more).toBeVisible();
    await screenshot(page, 'chain-long');
    await more.click();
    await expect(page.getByRole('button', { name: /more links? toward the top$/ })).toBeVisible();
  });
});
