import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-results/**'] },
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
  {
    files: ['main/formats/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/jobs/**', '**/cli/**', '**/catalog/**', '**/disk/**'] }] },
  },
  {
    files: ['main/disk/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/jobs/**', '**/cli/**', '**/catalog/**'] }] },
  },
);
