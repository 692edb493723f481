import type { Redis } from 'ioredis';
import { keys } from '../queue/names.js';

/** The BullMQ queue that holds one job scheduler per policy schedule. */
export const SCHEDULES_QUEUE = 'schedules';

/** String: ms since epoch of the last occurrence a replica claimed. Occurrences at or before it never run again. */
export function lastRunKey(prefix: string, name: string): string {
  return keys.scheduleLastRun(prefix, name);
}

/** String: ms since epoch when a bot first saw the schedule; occurrences before it are not "missed". */
function firstSeenKey(prefix: string, name: string): string {
  return keys.scheduleFirstSeen(prefix, name);
}

const CLAIM = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > last then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

/**
 * Claims one occurrence of a schedule for this replica: true only for the first claim of an occurrence
 * later than every earlier claim, so an occurrence runs once however many replicas or paths reach it.
 */
export async function claimOccurrence(redis: Redis, prefix: string, name: string, scheduledFor: number): Promise<boolean> {
  return (await redis.eval(CLAIM, 1, lastRunKey(prefix, name), String(scheduledFor))) === 1;
}

/** The occurrence the schedule last ran for; undefined when it never ran. */
export async function readLastRun(redis: Redis, prefix: string, name: string): Promise<number | undefined> {
  const raw = await redis.get(lastRunKey(prefix, name));
  return raw === null ? undefined : Number(raw);
}

/**
 * Since when an occurrence that did not run counts as missed: the last run, or else when a bot first saw
 * the schedule (recorded as `now` on the first call), so a new schedule does not fire for its past.
 */
export async function missedSince(redis: Redis, prefix: string, name: string, now: number): Promise<number> {
  const lastRun = await readLastRun(redis, prefix, name);
  if (lastRun !== undefined) return lastRun;
  await redis.set(firstSeenKey(prefix, name), String(now), 'NX');
  return Number((await redis.get(firstSeenKey(prefix, name))) ?? now);
}

/** Drops what Redis remembers of a schedule that left the policy (re-adding it starts afresh). */
export async function forgetSchedule(redis: Redis, prefix: string, name: string): Promise<void> {
  await redis.del(lastRunKey(prefix, name), firstSeenKey(prefix, name));
}
