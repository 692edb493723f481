import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The reliability suite (`npm run test:reliability`): scenarios run one after another (they load two
 * cores on their own), cheap ones first, and the secret search last because it reads what all the
 * others left behind.
 */
const ORDER = ['bad-input', 'load', 'fan-out', 'worker-killed', 'redis-restart', 'redis-cluster', 'redis-sentinel', 'faults', 'no-secret-anywhere'];

function rank(spec: TestSpecification): number {
  const base = path.basename(spec.moduleId).replace(/\.rel\.ts$/, '');
  const index = ORDER.indexOf(base);
  return index === -1 ? ORDER.length - 1.5 : index;
}

class ScenarioOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  root: path.resolve(import.meta.dirname, '../..'),
  test: {
    include: ['test/reliability/**/*.rel.ts'],
    globalSetup: ['test/reliability/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    minWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 240_000,
    sequence: { sequencer: ScenarioOrder },
    reporters: ['default'],
  },
});
