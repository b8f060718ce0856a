/**
 * Smoke test of the desktop app itself (Playwright `_electron`), against the unpackaged build in
 * out/ (a fused installer refuses Playwright's --inspect, electron.md §6). It runs only where the
 * Electron binary is installed: `npm install` skips its download here (package.json allowScripts),
 * so on such machines it is skipped and says so. On a networked machine: `node
 * node_modules/electron/install.js`, then `npm run test:e2e:electron` (under xvfb-run on Linux
 * without a display).
 */
import { _electron } from '@playwright/test';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { buildEsx2Chain } from './disks';
import { expect, ROOT, test } from './fixtures';

function electronBinary(): { path: string | null; why: string } {
  try {
    const found = createRequire(import.meta.url)('electron') as unknown;
    if (typeof found === 'string' && fs.existsSync(found)) return { path: found, why: '' };
    return { path: null, why: `the electron package names ${String(found)}, which does not exist` };
  } catch (e) {
    return { path: null, why: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

const electron = electronBinary();
const mainEntry = path.join(ROOT, 'out', 'main', 'index.js');
const skipReason =
  electron.path === null
    ? `SKIPPED: the Electron binary is not installed here (${electron.why}); run \`node node_modules/electron/install.js\` on a machine with network access to run this test`
    : !fs.existsSync(mainEntry)
      ? `SKIPPED: ${mainEntry} is missing; run npm run build first`
      : '';
if (skipReason !== '') console.warn(`[electron] ${skipReason}`);

test.describe('desktop app (Electron)', () => {
  test.skip(skipReason !== '', skipReason);

  test('opens one window with the UI, a disk from its command line, and a preload that exposes only invoke/on', async ({ work }) => {
    const top = buildEsx2Chain(work);
    const app = await _electron.launch({
      executablePath: electron.path!,
      args: [mainEntry, top],
      env: { ...process.env, XDG_CONFIG_HOME: path.join(work, 'config'), XDG_DATA_HOME: path.join(work, 'data') },
    });
    try {
      const window = await app.firstWindow();
      await expect(window.getByRole('navigation', { name: 'Screens' })).toBeVisible();
      await expect(window.getByRole('list', { name: 'Chain links, base first' }).getByRole('listitem')).toHaveCount(3);
      await expect(window).toHaveTitle('a.dsk.REDO.REDO — Diskchain');
      expect(window.url()).toMatch(/^app:\/\/app\//);
      const exposed = await window.evaluate(() => {
        const g = globalThis as unknown as { diskchain?: Record<string, unknown>; require?: unknown; process?: unknown };
        return { keys: Object.keys(g.diskchain ?? {}).sort(), require: typeof g.require, process: typeof g.process };
      });
      expect(exposed).toEqual({ keys: ['invoke', 'on'], require: 'undefined', process: 'undefined' });
      await window.screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', 'electron-chain.png') });
    } finally {
      await app.close();
    }
  });
});
