import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Policy } from '../policy/schema.js';
import { formatAge, formatUntil, table } from '../present/format.js';
import { formatInZone, nextOccurrence } from './cron-times.js';
import { readLastRun, SCHEDULES_QUEUE } from './schedule-state.js';

export interface ListSchedulesDeps {
  redis: Redis;
  prefix: string;
  policy: Pick<Policy, 'schedules'>;
  /** The schedules queue, when the caller has one open. @defaultValue a queue opened for this call */
  queue?: Queue;
  /** @defaultValue Date.now() */
  now?: number;
}

/**
 * `/runner schedules`: every schedule in the policy with its cron, time zone, command, channel, next run
 * (BullMQ's job scheduler; computed from the cron when no bot has upserted it yet) and last run.
 */
export async function listSchedules(deps: ListSchedulesDeps): Promise<string> {
  const { policy } = deps;
  if (policy.schedules.length === 0) return 'no schedules: add them under "schedules:" in the policy file (name, cron, timezone, command, channel)';
  const now = deps.now ?? Date.now();
  // A Queue of our own gets a connection of its own, closed with it: closing a Queue on a shared
  // connection while the bot uses it can reject the bot's own commands in flight.
  const own = deps.queue ? undefined : deps.redis.duplicate();
  const queue = deps.queue ?? new Queue(SCHEDULES_QUEUE, { connection: own!, prefix: deps.prefix });
  try {
    const rows = [['NAME', 'CRON', 'TIMEZONE', 'COMMAND', 'CHANNEL', 'NEXT RUN', 'LAST RUN']];
    for (const schedule of policy.schedules) {
      let next = 'disabled';
      if (schedule.enabled) {
        const scheduler = await queue.getJobScheduler(schedule.name);
        let at: number | undefined = scheduler?.next;
        if (at === undefined) {
          try {
            at = nextOccurrence(schedule, now);
          } catch {
            at = undefined;
          }
        }
        next = at === undefined ? 'invalid cron' : `${formatInZone(at, schedule.timezone)} (${formatUntil(at - now)})${scheduler ? '' : ', not yet scheduled'}`;
      }
      const lastRun = await readLastRun(deps.redis, deps.prefix, schedule.name);
      const last = lastRun === undefined ? 'never' : `${formatInZone(lastRun, schedule.timezone)} (${formatAge((now - lastRun) / 1000)})`;
      rows.push([schedule.name, schedule.cron, schedule.timezone, schedule.command, schedule.channel, next, last]);
    }
    return table(rows);
  } finally {
    if (!deps.queue) {
      await queue.close();
      await own?.quit().catch(() => undefined);
    }
  }
}
