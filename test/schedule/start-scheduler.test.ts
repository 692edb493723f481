import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { UserError } from '../../src/errors.js';
import { scheduleSchema } from '../../src/policy/schema.js';
import { createRedis } from '../../src/queue/redis.js';
import { formatInZone } from '../../src/schedule/cron-times.js';
import { lastRunKey, SCHEDULES_QUEUE } from '../../src/schedule/schedule-state.js';
import { startScheduler, type OccurrenceInfo, type RunningScheduler, type Schedule } from '../../src/schedule/start-scheduler.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { until } from '../helpers/until.js';

const log = pino({ level: 'silent' });
const { redisUrl } = testRedisSettings();
const redis = testRedis(redisUrl);
const prefixes: string[] = [];
const connections: ReturnType<typeof createRedis>[] = [];

afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
  await redis.quit();
});

function freshPrefix(): string {
  const { prefix } = testRedisSettings();
  prefixes.push(prefix);
  return prefix;
}

function schedule(fields: Partial<Schedule> & { name: string }): Schedule {
  return scheduleSchema.parse({ cron: '*/1 * * * * *', command: 'hosts', channel: 'C0REPORTS', ...fields });
}

interface Run extends OccurrenceInfo {
  replica: string;
  name: string;
}

/** One bot replica's scheduler on its own connections, recording what it runs. */
async function startReplica(
  prefix: string,
  replica: string,
  schedules: Schedule[],
  runs: Run[],
  extra: { now?: () => number; stopGraceMs?: number; hang?: boolean } = {},
): Promise<RunningScheduler> {
  const { hang, ...options } = extra;
  const own = createRedis({ redisUrl });
  const blocking = createRedis({ redisUrl }, { blocking: true });
  connections.push(own, blocking);
  return startScheduler({
    redis: own,
    blocking,
    prefix,
    policy: { schedules },
    log,
    runScheduled: async (s, info) => {
      runs.push({ replica, name: s.name, ...info });
      if (hang) await new Promise(() => undefined);
    },
    ...options,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A barrier: no occurrence is waiting or running on the schedules queue (the next ones are only delayed). */
async function noScheduledWorkLeft(prefix: string): Promise<void> {
  const queue = new Queue(SCHEDULES_QUEUE, { connection: redis, prefix });
  try {
    await until(
      async () => {
        const counts = await queue.getJobCounts('wait', 'active', 'prioritized');
        return counts.wait === 0 && counts.active === 0 && counts.prioritized === 0;
      },
      10_000,
      'no scheduled work waiting or running',
    );
  } finally {
    await queue.close();
  }
}

async function schedulerIds(prefix: string): Promise<string[]> {
  const queue = new Queue(SCHEDULES_QUEUE, { connection: redis, prefix });
  try {
    return (await queue.getJobSchedulers(0, -1, true)).map((s) => s.key).sort();
  } finally {
    await queue.close();
  }
}

describe('startScheduler', () => {
  it('runs an every-second schedule once per occurrence with two replicas on one Redis', async () => {
    const prefix = freshPrefix();
    const runs: Run[] = [];
    const every = [schedule({ name: 'tick' })];
    const a = await startReplica(prefix, 'a', every, runs);
    const b = await startReplica(prefix, 'b', every, runs);
    await until(async () => runs.length >= 3, 10_000, 'three occurrences run');
    await Promise.all([a.stop(), b.stop()]);
    const times = runs.map((r) => r.scheduledFor);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(times).size).toBe(times.length);
    expect(times.every((t) => t % 1000 === 0)).toBe(true);
    expect(runs.every((r) => !r.late)).toBe(true);
  });

  it('upserts one job scheduler per enabled schedule and removes those no longer in the policy', async () => {
    const prefix = freshPrefix();
    const runs: Run[] = [];
    const nightly = { cron: '0 3 * * *', timezone: 'Europe/Berlin' };
    const first = await startReplica(
      prefix,
      'a',
      [schedule({ name: 'keep', ...nightly }), schedule({ name: 'drop', ...nightly }), schedule({ name: 'off', ...nightly })],
      runs,
    );
    await first.stop();
    expect(await schedulerIds(prefix)).toEqual(['drop', 'keep', 'off']);
    const second = await startReplica(prefix, 'a', [schedule({ name: 'keep', ...nightly }), schedule({ name: 'off', ...nightly, enabled: false })], runs);
    await second.stop();
    expect(await schedulerIds(prefix)).toEqual(['keep']);
    const queue = new Queue(SCHEDULES_QUEUE, { connection: redis, prefix });
    const kept = await queue.getJobScheduler('keep');
    await queue.close();
    expect(kept).toMatchObject({ pattern: '0 3 * * *', tz: 'Europe/Berlin' });
    expect(formatInZone(kept!.next!, 'Europe/Berlin')).toMatch(/ 03:00 Europe\/Berlin$/);
  });

  it('runs the most recent missed occurrence once, late, when two replicas come back', async () => {
    const prefix = freshPrefix();
    const runs: Run[] = [];
    // The bot was down from 2030-01-13 to 2030-01-15 10:00 UTC; the nightly run is 03:00 in Berlin (02:00 UTC).
    const now = Date.UTC(2030, 0, 15, 10, 0, 0);
    await redis.set(lastRunKey(prefix, 'nightly'), String(Date.UTC(2030, 0, 13, 2, 0, 0)));
    const nightly = [schedule({ name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin' })];
    const [a, b] = await Promise.all([
      startReplica(prefix, 'a', nightly, runs, { now: () => now }),
      startReplica(prefix, 'b', nightly, runs, { now: () => now }),
    ]);
    await until(async () => runs.length >= 1, 10_000, 'the missed occurrence run');
    await noScheduledWorkLeft(prefix);
    await Promise.all([a.stop(), b.stop()]);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: 'nightly', late: true, scheduledFor: Date.UTC(2030, 0, 15, 2, 0, 0) });
    expect(await redis.get(lastRunKey(prefix, 'nightly'))).toBe(String(Date.UTC(2030, 0, 15, 2, 0, 0)));
  });

  it('does not run past occurrences of a schedule it sees for the first time', async () => {
    const prefix = freshPrefix();
    const runs: Run[] = [];
    const scheduler = await startReplica(prefix, 'a', [schedule({ name: 'new', cron: '0 3 * * *' })], runs, { now: () => Date.UTC(2030, 0, 15, 10) });
    const queue = new Queue(SCHEDULES_QUEUE, { connection: redis, prefix });
    const queued = await queue.getJobs(['wait', 'active', 'completed', 'delayed']);
    await queue.close();
    await scheduler.stop();
    expect(queued.map((j) => j.id)).toEqual([expect.stringMatching(/^repeat:new:\d+$/)]);
    expect(runs).toEqual([]);
  });

  it('runs only the most recent occurrence missed during a real outage, not one per missed second', async () => {
    const prefix = freshPrefix();
    const runs: Run[] = [];
    const every = [schedule({ name: 'tick' })];
    const before = await startReplica(prefix, 'a', every, runs);
    await until(async () => runs.length >= 1, 10_000, 'a first run');
    await before.stop();
    const stoppedAt = Date.now();
    const ranBefore = runs.length;
    // The outage itself: three occurrences pass while no replica runs.
    await sleep(3000);
    const restartedAt = Date.now();
    const after = await startReplica(prefix, 'a', every, runs);
    await until(async () => runs.slice(ranBefore).some((r) => r.scheduledFor > stoppedAt), 10_000, 'a run after the outage');
    await noScheduledWorkLeft(prefix);
    await after.stop();
    const afterOutage = runs.slice(ranBefore).filter((r) => r.scheduledFor > stoppedAt);
    expect(afterOutage.length).toBeGreaterThanOrEqual(1);
    // The first run after the outage is for the latest occurrence, not for the ones in between.
    expect(afterOutage[0]?.scheduledFor).toBeGreaterThanOrEqual(Math.floor(restartedAt / 1000) * 1000);
    expect(afterOutage.filter((r) => r.scheduledFor < Math.floor(restartedAt / 1000) * 1000)).toEqual([]);
  });

  it('stops within its grace period while a scheduled command still runs', async () => {
    const prefix = freshPrefix();
    const runs: Run[] = [];
    const scheduler = await startReplica(prefix, 'a', [schedule({ name: 'stuck' })], runs, { stopGraceMs: 300, hang: true });
    await until(async () => runs.length >= 1, 10_000, 'the stuck command started');
    const started = Date.now();
    await scheduler.stop();
    expect(runs).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a schedule with a bad cron, naming the schedule', async () => {
    const prefix = freshPrefix();
    await expect(startReplica(prefix, 'a', [schedule({ name: 'broken', cron: '61 * * * *' })], [])).rejects.toThrow(UserError);
    await expect(startReplica(prefix, 'a', [schedule({ name: 'broken', cron: '61 * * * *' })], [])).rejects.toThrow(
      'schedule "broken": cron "61 * * * *" is not valid',
    );
  });
});
