import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The compiled engine in dist/main, rebuilt by tsc when any source under main/ or shared/ is newer
 * than the file asked for, and the command line's bundle in dist/cli (what bin/diskchain.js runs),
 * rebuilt by rolldown the same way: tests that run the engine in a child process or a worker thread
 * (plain Node, no TypeScript) never run stale code and never skip.
 */
export function builtEngine(relative: string): string {
  const built = path.join(ROOT, 'dist/main', relative);
  const sources = Math.max(newestSource(path.join(ROOT, 'main')), newestSource(path.join(ROOT, 'shared')));
  if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < sources) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.node.json')], { stdio: 'inherit' });
  }
  const bundle = path.join(ROOT, 'dist/cli/diskchain.cjs');
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < sources) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/rolldown/bin/cli.mjs'), '-c', path.join(ROOT, 'rolldown.config.js')], { cwd: ROOT, stdio: 'ignore' });
  }
  return built;
}
