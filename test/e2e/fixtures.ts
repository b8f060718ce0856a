/**
 * Fixtures of the end-to-end tests: a `diskchain serve` per test (its own state folder and catalog),
 * disks built at test time with the project's builders and qemu, and screenshots under
 * test-results/screenshots/.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin', 'diskchain.js');
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

export interface DialogScript {
  reset?: boolean;
  open?: string[][];
  save?: string[];
  folder?: string[];
  saveDir?: string;
}

export interface Served {
  /** http://127.0.0.1:PORT/?token=… as printed on the first stdout line */
  url: string;
  origin: string;
  token: string;
  /** Queues answers of the host's scripted dialogs (Open…, Save…, folder choosers). */
  script(dialogs: DialogScript): Promise<void>;
  /** What the server wrote to stderr so far (for failure messages). */
  stderr(): string;
}

export interface ServeOptions {
  disks?: string[];
  args?: string[];
}

interface Fixtures {
  /** A fresh folder for this test's disks and outputs, removed afterwards. */
  work: string;
  /** Starts `node bin/diskchain.js serve …` and waits for its address. */
  serve: (options?: ServeOptions) => Promise<Served>;
  /** Starts a server and opens its address in the page. */
  openApp: (options?: ServeOptions) => Promise<Served>;
}

function startServe(work: string, options: ServeOptions, children: ChildProcess[]): Promise<Served> {
  const state = fs.mkdtempSync(path.join(work, 'state-'));
  const args = [BIN, 'serve', '--test-control', '--state-dir', state, '--db', path.join(state, 'catalog.db'), ...(options.args ?? []), ...(options.disks ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<Served>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`diskchain serve printed no address in 20 s; stderr:\n${stderr}`)), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`diskchain serve exited with ${code} before printing its address; stderr:\n${stderr}`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const url = new URL(line.trim());
      const token = url.searchParams.get('token') ?? '';
      resolve({
        url: line.trim(),
        origin: url.origin,
        token,
        async script(dialogs) {
          const res = await fetch(`${url.origin}/__test/dialogs?token=${encodeURIComponent(token)}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(dialogs),
          });
          if (res.status !== 204) throw new Error(`scripting the dialogs failed: ${res.status} ${await res.text()}`);
        },
        stderr: () => stderr,
      });
    });
  });
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  work: async ({}, use) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-e2e-'));
    await use(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  },
  serve: async ({ work }, use) => {
    const children: ChildProcess[] = [];
    await use((options = {}) => startServe(work, options, children));
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  },
  openApp: async ({ serve, page }, use) => {
    await use(async (options = {}) => {
      const served = await serve(options);
      await page.goto(served.url);
      await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible();
      return served;
    });
  },
});

export { expect };

/** A full-window screenshot under test-results/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}
