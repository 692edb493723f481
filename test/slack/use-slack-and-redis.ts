import { afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions } from '../fakes/slack/server.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

/** For one test file: the run's Redis under a fresh prefix and a fake Slack, both cleaned up after. */
export function useSlackAndRedis(options: FakeSlackOptions = {}): { redis: Redis; prefix: string; slack: () => FakeSlack } {
  const { redisUrl, prefix } = testRedisSettings();
  const redis = testRedis(redisUrl);
  let slack: FakeSlack | undefined;
  beforeAll(async () => {
    slack = await startFakeSlack(options);
  });
  afterAll(async () => {
    await slack?.close();
    await deletePrefix(redis, prefix);
    await redis.quit();
  });
  return { redis, prefix, slack: () => slack! };
}
