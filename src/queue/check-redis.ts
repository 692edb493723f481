import type { Redis } from 'ioredis';
import { UserError } from '../errors.js';

/** Fails with a one-line message when Redis does not answer a PING within `timeoutMs`. */
export async function checkRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  const safeUrl = url.replace(/\/\/[^@/]*@/, '//***@');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
  } catch {
    throw new UserError(`cannot reach Redis at ${safeUrl}; is it running? (set REDIS_URL)`);
  } finally {
    clearTimeout(timer);
  }
}
