import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/queue/redis.js';

/** The run's shared redis-server and a fresh prefix, so test files never see each other's keys. */
export function testRedisSettings(): { redisUrl: string; prefix: string } {
  return { redisUrl: inject('redisUrl'), prefix: `{test-${randomUUID().slice(0, 8)}}` };
}

/** Deletes every key under a prefix (tests clean up after themselves). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await redis.del(...found);
  } while (cursor !== '0');
}

export function testRedis(url: string): Redis {
  return createRedis({ redisUrl: url });
}
