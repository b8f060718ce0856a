/**
 * The `diskchain` command as a bundle in dist/cli: one module graph in a few chunks loads several
 * times faster than tsc's hundreds of files (a third of `diskchain info`'s run time was module
 * loading). CommonJS, because Node 20 starts its ES module loader for an ES entry (another 10 ms
 * before the first line runs); bin/ is a CommonJS folder for the same reason. Worker entries sit beside the chunks, where main/io/worker-url.ts looks for them, and
 * dist/cli is two folders below the package, where main/io/holes.ts finds the native addon.
 * npm packages stay outside: they load from node_modules only when a command needs them; but
 * better-sqlite3's few CommonJS files come inside, so `catalog find` does not pay for Node's
 * CommonJS-from-ESM translation (main/catalog/sqlite-addon.ts finds its native addon).
 */
import { builtinModules } from 'node:module';
import { defineConfig } from 'rolldown';
import pkg from './package.json' with { type: 'json' };

const packages = Object.keys(pkg.dependencies).filter((p) => p !== 'better-sqlite3');

export default defineConfig({
  input: {
    diskchain: 'main/cli/index.ts',
    worker: 'main/jobs/worker.ts',
    'deflate-worker': 'main/convert/deflate-worker.ts',
    'worker/query-worker': 'main/services/worker/query-worker.ts',
  },
  platform: 'node',
  logLevel: 'warn',
  external: (id) => id.startsWith('node:') || builtinModules.includes(id) || packages.some((p) => id === p || id.startsWith(`${p}/`)),
  output: {
    dir: 'dist/cli',
    format: 'cjs',
    entryFileNames: '[name].cjs',
    chunkFileNames: '[name]-[hash].cjs',
    sourcemap: true,
    cleanDir: true,
  },
});
