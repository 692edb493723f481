import type { TestProject } from 'vitest/node';
import { startRedis } from '../../src/dev/start-redis.js';

/**
 * One real redis-server for the whole run; each test file uses its own random key prefix
 * (see test/setup/redis.ts). Docker-backed suites check the engine themselves.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
