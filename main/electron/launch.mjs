#!/usr/bin/env node
// `npm start`: the desktop app where the Electron binary exists (electron-vite preview builds and
// starts it); elsewhere a clear word on how to run the same app in a browser instead.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let binary = null;
try {
  binary = require('electron'); // the binary's path, or a throw when it was never downloaded
} catch (e) {
  process.stderr.write(
    [
      `npm start: the Electron binary is not installed here (${String(e instanceof Error ? e.message : e).split('\n')[0]}).`,
      'Run the same app in a browser on this machine instead:',
      '',
      '    npx diskchain serve [DISK...]      # prints http://127.0.0.1:PORT/?token=... to open',
      '',
      'With network access, `node node_modules/electron/install.js` downloads Electron; then npm start again.',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
process.stderr.write(`npm start: Electron at ${binary}\n`);
const result = spawnSync('npx', ['electron-vite', 'preview', '--', ...process.argv.slice(2)], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
