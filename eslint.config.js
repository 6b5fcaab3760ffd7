import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'demo-out/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // core/ is pure decision logic: no I/O, no toolkit, no clock of its own.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@actions/*'], message: 'core/ is pure: the GitHub toolkit belongs in adapters or main.ts.' },
            { group: ['axios', 'axios-*'], message: 'core/ is pure: HTTP belongs in src/adapters/.' },
            { group: ['@kubernetes/*'], message: 'core/ is pure: the cluster belongs in src/adapters/kubernetes/.' },
            {
              group: [
                'fs',
                'node:fs',
                'fs/*',
                'node:fs/*',
                'child_process',
                'node:child_process',
                'net',
                'node:net',
                'http',
                'node:http',
                'https',
                'node:https',
              ],
              message: 'core/ is pure: no I/O.',
            },
            {
              group: ['../adapters/*', '../commands/*', '../../adapters/*'],
              message: 'core/ must not depend on adapters or commands.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests walk Kubernetes objects as loose JSON.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
