import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Which folder may import which: front ends (cli, dev, slack) -> bot core (schedule, bot, verbs,
 * approvals, ...) -> the contract (src/queue) <- host side (worker, jobs, clients). Each layer imports
 * only the layers before it, never one after it and never another folder of its own layer, so a cycle
 * between folders cannot be written (test/import-cycles.test.ts checks files and folders as well).
 * The files at the top of src/ (config, errors, logger, version) are shared by all; src/queue and
 * src/commands may not import config.ts, which reads its defaults from them.
 */
const LAYERS = [
  ['queue'],
  ['secrets', 'commands'],
  ['audit', 'policy', 'clients', 'ops'],
  ['reports'],
  ['approvals'],
  ['present'],
  ['jobs'],
  ['verbs'],
  ['worker'],
  ['bot'],
  ['schedule', 'slack'],
  ['dev'],
  ['cli'],
];

const WHY = {
  queue: 'src/queue is the bot<->worker contract: both sides import it and it imports neither.',
  jobs: 'jobs/ are run by the worker runtime and the control worker: they import clients, the contract and the shared files, never the runtime or the bot.',
  worker: 'the worker runtime runs jobs; nothing below it (jobs, clients, the contract) may import it.',
};

function importDirection() {
  return LAYERS.flatMap((layer, rank) =>
    layer.flatMap((folder) => {
      const later = LAYERS.slice(rank + 1).flat();
      const sameLayer = layer.filter((other) => other !== folder);
      const forbidden = [...later, ...sameLayer];
      const patterns = [];
      if (forbidden.length > 0) {
        patterns.push({
          group: forbidden.map((name) => `**/${name}/**`),
          message: `${WHY[folder] ?? `src/${folder} may import only the folders of the layers before it (eslint.config.js, LAYERS).`} Move the shared piece down to where both sides can import it.`,
        });
      }
      if (folder === 'queue' || folder === 'commands') {
        patterns.push({
          group: ['**/config.js'],
          message: 'config.ts reads its defaults from this folder; take the settings you need as a parameter instead.',
        });
      }
      if (patterns.length === 0) return [];
      return [
        {
          files: folder === 'jobs' ? ['jobs/**/*.ts'] : [`src/${folder}/**/*.ts`],
          rules: { 'no-restricted-imports': ['error', { patterns }] },
        },
      ];
    }),
  );
}

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
  ...importDirection(),
);
