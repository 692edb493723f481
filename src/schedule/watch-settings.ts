import type { Redis } from 'ioredis';
import type { Policy } from '../policy/schema.js';

/** What a worker's disk-pressure watch needs from the policy: the `watch` section and the prune defaults. */
export type WatchSettings = Policy['watch'] & { prune: Policy['prune'] };

/** String: JSON WatchSettings, written by the bot at start so workers need no policy file. */
export function watchSettingsKey(prefix: string): string {
  return `${prefix}:policy:watch`;
}

/** Publishes the policy's watch section (plus its prune defaults: protect label, named volumes) for workers. */
export async function publishWatchSettings(redis: Redis, prefix: string, policy: Pick<Policy, 'watch' | 'prune'>): Promise<void> {
  const settings: WatchSettings = { ...policy.watch, prune: policy.prune };
  await redis.set(watchSettingsKey(prefix), JSON.stringify(settings));
}

/** The watch settings the bot published; undefined before any bot started. */
export async function readWatchSettings(redis: Redis, prefix: string): Promise<WatchSettings | undefined> {
  const raw = await redis.get(watchSettingsKey(prefix));
  return raw === null ? undefined : (JSON.parse(raw) as WatchSettings);
}
