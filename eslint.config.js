import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

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
  {
    files: ['main/formats/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/jobs/**', '**/cli/**', '**/catalog/**', '**/disk/**'] }] },
  },
  {
    files: ['main/disk/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/jobs/**', '**/cli/**', '**/catalog/**'] }] },
  },
);
