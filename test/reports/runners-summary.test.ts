import { afterAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/queue/names.js';
import { readRunnersSummary, saveRunnersSummary } from '../../src/reports/runners-summary.js';
import type { RunnersView } from '../../src/reports/runner-view.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('readRunnersSummary', () => {
  it('reads back the summary of the last fleet-wide view', async () => {
    const view = {
      at: 1000,
      scope: 'all',
      counts: { online: 2, offline: 1, stale: 0, never_contacted: 0 },
      paused: 1,
      mismatches: [{}],
    } as unknown as RunnersView;
    await saveRunnersSummary(redis, prefix, view);
    expect(await readRunnersSummary(redis, prefix)).toEqual({ at: 1000, scope: 'all', counts: view.counts, paused: 1, mismatches: 1 });
  });

  it('shows nothing for a value of another shape, since anyone who can write Redis can write it', async () => {
    for (const raw of ['not json', '{}', JSON.stringify({ at: 1, scope: 'all', counts: { online: '<!here>' }, paused: 0, mismatches: 0 })]) {
      await redis.set(keys.runnersSummary(prefix), raw);
      expect(await readRunnersSummary(redis, prefix)).toBeUndefined();
    }
  });
});
