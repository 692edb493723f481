import { Redis, type RedisOptions } from 'ioredis';
import type { CommonSettings } from '../config.js';

/**
 * A Redis connection for BullMQ and our own keys. `blocking` connections (workers, event readers)
 * must not give up on a command while Redis restarts, so they retry forever.
 */
export function createRedis(settings: Pick<CommonSettings, 'redisUrl'>, options: { blocking?: boolean } = {}): Redis {
  const base: RedisOptions = {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const redis = new Redis(settings.redisUrl, base);
  // Connection errors surface through the commands that fail (and ioredis reconnects by itself);
  // without a listener ioredis would print every failed reconnect attempt.
  redis.on('error', () => undefined);
  return redis;
}
