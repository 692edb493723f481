import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'deploy/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules: a promise nobody awaits, a promise where a callback's void is expected, a switch
    // that misses a case of a union. Fire-and-forget is written `void` where it is intended and safe.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // src/queue/ is the bot<->worker contract: job names and payload schemas, envelopes, signing and
    // verification, every Redis key. Both sides import it; it imports neither.
    files: ['src/queue/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/jobs/**', '**/jobs/*'], message: 'src/queue is the contract: it may not import the host side (jobs/).' },
            { group: ['../worker/*', '../bot/*', '../slack/*', '../verbs/*', '../commands/*', '../cli/*', '../dev/*', '../approvals/*', '../schedule/*', '../present/*'], message: 'src/queue is the contract: it may not import the bot or worker side.' },
          ],
        },
      ],
    },
  },
);
