import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeStoreTrend, readStoreHistory, recordStoreReport, storeHistoryKey, type StoreHistoryEntry } from '../../src/reports/store-history.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const settings = testRedisSettings();
let redis: Redis;
beforeAll(() => {
  redis = testRedis(settings.redisUrl);
});
afterAll(async () => {
  await deletePrefix(redis, settings.prefix);
  await redis.quit();
});

const entry = (day: number, narBytes: number, garbageBytes = 0): StoreHistoryEntry => ({
  at: Date.UTC(2026, 10, day),
  paths: 1000 + day,
  narBytes,
  garbagePaths: day,
  garbageBytes,
  freeBytes: 500 - narBytes,
  totalBytes: 1000,
});

describe('storeHistoryKey', () => {
  it("keeps each host's reports under the prefix", () => {
    expect(storeHistoryKey('{runnerops}', 'ci-3')).toBe('{runnerops}:store-history:ci-3');
  });
});

describe('recordStoreReport', () => {
  it('returns nothing for the first report and the previous one after that', async () => {
    expect(await recordStoreReport(redis, settings.prefix, 'first', entry(1, 100))).toBeUndefined();
    expect(await recordStoreReport(redis, settings.prefix, 'first', entry(2, 150))).toEqual(entry(1, 100));
  });

  it('keeps at most the limit, dropping the oldest, and lets a silent host expire', async () => {
    for (let day = 1; day <= 5; day++) await recordStoreReport(redis, settings.prefix, 'bounded', entry(day, day * 10), 3);
    const key = storeHistoryKey(settings.prefix, 'bounded');
    expect(await redis.llen(key)).toBe(3);
    expect((await readStoreHistory(redis, settings.prefix, 'bounded')).map((e) => e.narBytes)).toEqual([30, 40, 50]);
    expect(await redis.pttl(key)).toBeGreaterThan(300 * 24 * 3600 * 1000);
  });
});

describe('readStoreHistory', () => {
  it('returns reports oldest first, up to the limit, skipping entries that are not reports', async () => {
    for (let day = 1; day <= 4; day++) await recordStoreReport(redis, settings.prefix, 'read', entry(day, day * 100));
    await redis.lpush(storeHistoryKey(settings.prefix, 'read'), 'not json', JSON.stringify({ at: 'yesterday' }));
    const all = await readStoreHistory(redis, settings.prefix, 'read');
    expect(all.map((e) => e.narBytes)).toEqual([100, 200, 300, 400]);
    expect((await readStoreHistory(redis, settings.prefix, 'read', 4)).map((e) => e.narBytes)).toEqual([300, 400]);
  });

  it('returns nothing for a host that never reported', async () => {
    expect(await readStoreHistory(redis, settings.prefix, 'never')).toEqual([]);
  });
});

describe('computeStoreTrend', () => {
  it('is null for the first report', () => {
    expect(computeStoreTrend(undefined, entry(1, 100))).toBeNull();
  });

  it('gives the change in store size, garbage and free space since the previous report', () => {
    expect(computeStoreTrend(entry(1, 100, 10), entry(8, 160, 40))).toEqual({
      previousAt: Date.UTC(2026, 10, 1),
      sinceMs: 7 * 24 * 3600 * 1000,
      pathsChange: 7,
      narBytesChange: 60,
      garbagePathsChange: 7,
      garbageBytesChange: 30,
      freeBytesChange: -60,
    });
  });
});
