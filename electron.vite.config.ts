/**
 * Three builds into out/ (electron.md §8): main (Electron main, its job workers), preload (CommonJS,
 * sandboxed) and the renderer (renderer/, React). The CLI and `diskchain serve` are built by tsc into
 * dist/ instead; serve finds the renderer in out/renderer.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const root = import.meta.dirname;
const version = (JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * main/io/version.ts reads ../../../package.json relative to itself, which is right in dist/ but
 * not in a bundle under out/main: there the version is fixed at build time instead.
 */
function bakedVersion(): Plugin {
  const id = '\0diskchain-version';
  return {
    name: 'diskchain-baked-version',
    enforce: 'pre',
    resolveId: (source, importer) => {
      const target = importer === undefined ? source : resolve(importer, '..', source);
      return target === resolve(root, 'main/io/version.js') || target === resolve(root, 'main/io/version.ts') ? id : null;
    },
    load: (loaded) => (loaded === id ? `export const VERSION = ${JSON.stringify(version)};` : null),
  };
}

export default defineConfig({
  main: {
    plugins: [bakedVersion()],
    build: {
      outDir: 'out/main',
      rollupOptions: {
        // The job engine finds its workers beside its own module (main/io/worker-url.ts), so every
        // chunk and worker entry lands flat in out/main.
        input: {
          index: resolve(root, 'main/electron/index.ts'),
          worker: resolve(root, 'main/jobs/worker.ts'),
          'deflate-worker': resolve(root, 'main/convert/deflate-worker.ts'),
          // The services' query worker (main/services/query-client.ts asks for worker/query-worker.js beside itself).
          'worker/query-worker': resolve(root, 'main/services/worker/query-worker.ts'),
        },
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(root, 'main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      rollupOptions: { input: { index: resolve(root, 'renderer/index.html') } },
    },
  },
});
