import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The reliability suite runs on its own: npm run test:reliability (test/reliability/vitest.config.ts).
    exclude: ['**/node_modules/**', 'test/reliability/**'],
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: Docker- and Nix-heavy files would starve each other if all ran at once.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
