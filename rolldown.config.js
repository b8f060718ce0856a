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
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { defineConfig } from 'rolldown';
import { wrapChunk } from './bin/chunk-wrap.js';
import pkg from './package.json' with { type: 'json' };

/**
 * V8's code cache of each chunk, written beside it (`chunk.cjs.cache`): bin/diskchain.js compiles a
 * chunk with it and skips parsing the whole chunk (15 ms of `ls -R` went to that). The chunk is
 * wrapped as bin/diskchain.js wraps it (bin/chunk-wrap.js); a cache from another Node version is rejected by
 * V8 there and the chunk is compiled as usual.
 * Every function is compiled (--no-lazy), not just the chunk's top level: a function a command calls
 * then needs no parse of its own when first called (2 ms of `info` and of `ls -R`). The flag is set
 * back before the cache is written, whose flags must be the ones a plain `node` runs with.
 */
function codeCache() {
  return {
    name: 'diskchain-code-cache',
    writeBundle(options, bundle) {
      for (const [name, output] of Object.entries(bundle)) {
        if (output.type !== 'chunk') continue;
        const file = path.join(options.dir, name);
        const source = wrapChunk(fs.readFileSync(file, 'utf8'));
        let script;
        v8.setFlagsFromString('--no-lazy');
        try {
          script = new vm.Script(source, { filename: file });
        } finally {
          v8.setFlagsFromString('--lazy');
        }
        fs.writeFileSync(`${file}.cache`, script.createCachedData());
      }
    },
  };
}

const packages = Object.keys(pkg.dependencies).filter((p) => p !== 'better-sqlite3');

export default defineConfig({
  input: {
    diskchain: 'main/cli/index.ts',
    worker: 'main/jobs/worker.ts',
    'deflate-worker': 'main/convert/deflate-worker.ts',
    'worker/query-worker': 'main/services/worker/query-worker.ts',
  },
  platform: 'node',
  plugins: [codeCache()],
  logLevel: 'warn',
  external: (id) => id.startsWith('node:') || builtinModules.includes(id) || packages.some((p) => id === p || id.startsWith(`${p}/`)),
  output: {
    dir: 'dist/cli',
    format: 'cjs',
    entryFileNames: '[name].cjs',
    chunkFileNames: '[name]-[hash].cjs',
    sourcemap: true,
    cleanDir: true,
    // Even for npm packages: a chunk then runs as plain CommonJS (bin/diskchain.js compiles it with its code cache).
    dynamicImportInCjs: false,
  },
});
