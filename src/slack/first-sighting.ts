import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { MAX_SKEW_SECONDS, type FirstSighting } from './create-slack-app.js';

/** Remembers request signatures in Redis for twice the allowed skew, shared by every bot replica. */
export function redisFirstSighting(redis: () => Redis, prefix: string): FirstSighting {
  return async (signature) => {
    const key = `${prefix}:slack-seen:${createHash('sha256').update(signature).digest('hex').slice(0, 32)}`;
    return (await redis().set(key, '1', 'EX', MAX_SKEW_SECONDS * 2, 'NX')) === 'OK';
  };
}
