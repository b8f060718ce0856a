import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

const MAIN_FOLDERS = ['io', 'formats', 'disk', 'guest', 'vmfs', 'convert', 'mutate', 'backup', 'catalog', 'jobs', 'services', 'ipc', 'host', 'cli', 'electron'];

/** One no-restricted-imports block per main/ folder: every other main/ folder is off limits. */
function layers(allowed) {
  return Object.entries(allowed).map(([folder, may]) => ({
    files: [`main/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: MAIN_FOLDERS.filter((f) => f !== folder && !may.includes(f)).map((f) => ({
            group: [`../${f}/*`, `../../${f}/*`, `**/main/${f}/*`],
            message: `main/${folder}/ may import only ${may.length ? may.map((m) => `main/${m}/`).join(', ') : 'shared/'} (layering, README)`,
          })),
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'build/**', 'node_modules/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The layering of style.md §1: shared/ runs anywhere, formats/ knows nothing of jobs or the CLI.
  {
    files: ['shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['node:*', '../main/*', '**/main/**', 'electron'] }] },
  },
  // renderer/ is a sandboxed web page: no Node, no Electron, nothing of main/; it reaches main only through shared/ipc.
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'renderer/ runs in a browser page: no Node modules' })),
          patterns: [
            { group: ['node:*'], message: 'renderer/ runs in a browser page: no Node modules' },
            { group: ['electron', 'electron/*'], message: 'renderer/ talks to main through shared/ipc (window.diskchain), not electron' },
            { group: ['**/main/**', '../main', '../../main'], message: 'renderer/ may not import main/: use shared/ types and the IPC contract' },
          ],
        },
      ],
    },
  },
  // The engine's layers, lowest first (README "Architecture"): a folder imports only the folders it lists.
  ...layers({
    io: [],
    formats: ['io'],
    disk: ['formats', 'io'],
    guest: ['disk', 'io'],
    vmfs: ['guest', 'disk', 'io'],
    convert: ['disk', 'formats', 'io'],
    mutate: ['disk', 'formats', 'io'],
    backup: ['convert', 'disk', 'formats', 'io'],
    catalog: ['backup', 'guest', 'disk', 'formats', 'io'],
    // catalog: the index-files job runs the catalog's indexer (catalog imports no jobs/).
    jobs: ['catalog', 'backup', 'convert', 'mutate', 'vmfs', 'guest', 'disk', 'formats', 'io'],
    services: ['jobs', 'catalog', 'backup', 'convert', 'mutate', 'vmfs', 'guest', 'disk', 'formats', 'io'],
    ipc: ['services'],
    host: ['ipc', 'services', 'catalog', 'io'],
    cli: ['host', 'services', 'jobs', 'catalog', 'backup', 'convert', 'mutate', 'vmfs', 'guest', 'disk', 'formats', 'io'],
  }),
  // The desktop shell answers the window (Electron's main thread, the browser host's event loop): nothing
  // there may block on the file system. Engine work goes to the query worker (services/worker/, exempt:
  // it runs off the main thread), everything else to node:fs/promises.
  {
    files: ['main/services/**/*.ts', 'main/ipc/**/*.ts', 'main/host/**/*.ts', 'main/electron/**/*.ts'],
    ignores: ['main/services/worker/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name=/Sync$/]',
          message: 'no synchronous calls in the desktop shell (services/, ipc/, host/, electron/): use node:fs/promises, or the query worker for engine work',
        },
        {
          selector: "ImportDeclaration[source.value=/^(node:)?fs(\\/promises)?$/] > ImportSpecifier[imported.name=/Sync$/]",
          message: 'no synchronous fs functions in the desktop shell (services/, ipc/, host/, electron/): use node:fs/promises',
        },
      ],
    },
  },
  // bin/ is a CommonJS folder (bin/package.json): the command starts without Node's ES module loader.
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
