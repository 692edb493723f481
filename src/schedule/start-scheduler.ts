import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Policy } from '../policy/schema.js';
import { checkCron, latestOccurrence } from './cron-times.js';
import { listSchedules } from './list-schedules.js';
import { claimOccurrence, forgetSchedule, missedSince, SCHEDULES_QUEUE } from './schedule-state.js';
import { JOB_LOCK } from '../queue/job-lock.js';

export type Schedule = Policy['schedules'][number];

/** What a run of a schedule is told about its occurrence. */
export interface OccurrenceInfo {
  /** The occurrence started more than `lateAfterMs` after its time (the bot was down, or busy). */
  late: boolean;
  /** The occurrence's time (ms since epoch). */
  scheduledFor: number;
}

/** What each job on the schedules queue carries: the schedule as the policy had it when it was upserted. */
export interface ScheduleJobData {
  schedule: Schedule;
  /** Set on catch-up jobs for a missed occurrence; scheduler jobs carry it in their id. */
  scheduledFor?: number;
}

export interface SchedulerDeps {
  redis: Redis;
  /** A dedicated connection for the schedules Worker (BullMQ blocks on it). */
  blocking: Redis;
  prefix: string;
  policy: Pick<Policy, 'schedules'>;
  log: Logger;
  /** Runs one occurrence (the bot passes runScheduledCommand). */
  runScheduled: (schedule: Schedule, info: OccurrenceInfo) => Promise<void>;
  /** Clock for missed-occurrence checks and lateness. @defaultValue Date.now */
  now?: () => number;
  /** An occurrence that starts this long after its time says it is late. @defaultValue 60000 */
  lateAfterMs?: number;
  /** Scheduled commands that may run at once on this replica. @defaultValue 4 */
  concurrency?: number;
  /** How long stop() waits for running scheduled commands before leaving them. @defaultValue 10000 */
  stopGraceMs?: number;
}

export interface RunningScheduler {
  /** Plain text for `/runner schedules`. */
  listSchedules: () => Promise<string>;
  stop: () => Promise<void>;
}

const JOB_NAME = 'schedule';
const KEEP = { removeOnComplete: { age: 14 * 86400, count: 500 }, removeOnFail: { age: 14 * 86400, count: 500 } };

/** Scheduler job ids are `repeat:<scheduler id>:<ms>`; the last part is the occurrence. */
function occurrenceFromJobId(id: string | undefined): number | undefined {
  const millis = Number(id?.split(':').pop());
  return Number.isFinite(millis) && millis > 0 ? millis : undefined;
}

/**
 * Makes the queue's job schedulers match the enabled schedules: upserts new or changed ones (pattern,
 * time zone, command, channel), leaves unchanged ones alone (so an occurrence already due stays queued),
 * and removes schedulers no longer in the policy together with their last-run record.
 */
async function syncSchedulers(queue: Queue<ScheduleJobData>, redis: Redis, prefix: string, enabled: Schedule[], log: Logger): Promise<void> {
  const wanted = new Set(enabled.map((s) => s.name));
  for (const existing of await queue.getJobSchedulers(0, -1, true)) {
    if (wanted.has(existing.key)) continue;
    await queue.removeJobScheduler(existing.key);
    await forgetSchedule(redis, prefix, existing.key);
    log.info({ schedule: existing.key }, 'removed a schedule that is no longer in the policy');
  }
  for (const schedule of enabled) {
    const data: ScheduleJobData = { schedule };
    const current = await queue.getJobScheduler(schedule.name);
    const same =
      current?.pattern === schedule.cron && (current.tz ?? 'UTC') === schedule.timezone && JSON.stringify(current.template?.data) === JSON.stringify(data);
    if (same) continue;
    await queue.upsertJobScheduler(schedule.name, { pattern: schedule.cron, tz: schedule.timezone }, { name: JOB_NAME, data, opts: KEEP });
    log.info({ schedule: schedule.name, cron: schedule.cron, timezone: schedule.timezone }, current ? 'updated a schedule' : 'added a schedule');
  }
}

/**
 * Queues one catch-up job per schedule whose latest occurrence came after its last run (the bot was
 * down at the time). Only the most recent missed occurrence runs; a schedule seen for the first time
 * starts counting from now.
 */
async function queueMissed(queue: Queue<ScheduleJobData>, redis: Redis, prefix: string, enabled: Schedule[], now: number, log: Logger): Promise<void> {
  for (const schedule of enabled) {
    const since = await missedSince(redis, prefix, schedule.name, now);
    const due = latestOccurrence(schedule, now);
    if (due <= since) continue;
    await queue.add(JOB_NAME, { schedule, scheduledFor: due }, { jobId: `missed-${schedule.name}-${due}`, ...KEEP });
    log.info({ schedule: schedule.name, scheduledFor: new Date(due).toISOString() }, 'queued a missed occurrence');
  }
}

/**
 * Keeps the policy's schedules as BullMQ job schedulers on the `schedules` queue and runs their
 * occurrences. Every bot replica calls it: BullMQ hands each occurrence to one Worker, and a last-run
 * claim in Redis makes sure an occurrence runs once even when a catch-up job and the scheduler's own
 * job both reach it.
 */
export async function startScheduler(deps: SchedulerDeps): Promise<RunningScheduler> {
  const { redis, prefix, log } = deps;
  const clock = deps.now ?? Date.now;
  const lateAfterMs = deps.lateAfterMs ?? 60_000;
  const enabled = deps.policy.schedules.filter((s) => s.enabled);
  for (const schedule of enabled) checkCron(schedule);

  // The schedulers' Queue has a connection of its own, closed with it (see listSchedules).
  const queueConnection = redis.duplicate();
  const queue = new Queue<ScheduleJobData>(SCHEDULES_QUEUE, { connection: queueConnection, prefix });
  queue.on('error', (err) => log.error({ err }, 'schedules queue error'));
  await syncSchedulers(queue, redis, prefix, enabled, log);
  await queueMissed(queue, redis, prefix, enabled, clock(), log);

  const active = new Set<Promise<void>>();
  const processJob = async (job: Job<ScheduleJobData>): Promise<'ran' | 'skipped'> => {
    const { schedule } = job.data;
    const now = clock();
    const due = job.data.scheduledFor ?? occurrenceFromJobId(job.id) ?? now;
    // A job left over from a long outage stands for the most recent occurrence, not the oldest.
    const scheduledFor = Math.max(due, latestOccurrence(schedule, now));
    const child = log.child({ schedule: schedule.name, scheduledFor: new Date(scheduledFor).toISOString() });
    if (!(await claimOccurrence(redis, prefix, schedule.name, scheduledFor))) {
      child.info('occurrence already ran; skipping');
      return 'skipped';
    }
    const late = now - scheduledFor > lateAfterMs;
    child.info({ late }, 'running a scheduled command');
    const run = deps.runScheduled(schedule, { late, scheduledFor });
    active.add(run);
    try {
      await run;
    } finally {
      active.delete(run);
    }
    return 'ran';
  };
  const worker = new Worker<ScheduleJobData>(SCHEDULES_QUEUE, processJob, {
    connection: deps.blocking,
    prefix,
    concurrency: deps.concurrency ?? 4,
    ...JOB_LOCK,
  });
  worker.on('error', (err) => log.error({ err }, 'schedules worker error'));
  // Closing a Worker that is still connecting leaves a rejected command nobody handles.
  await worker.waitUntilReady();
  worker.on('failed', (job, err) => log.error({ err, schedule: job?.data.schedule.name }, 'a scheduled run failed'));

  return {
    listSchedules: () => listSchedules({ queue, redis, prefix, policy: deps.policy, now: clock() }),
    stop: async () => {
      // close() takes no new runs and waits for the running ones, up to the grace period. A run still
      // following its hosts then is left behind: its occurrence stays claimed, so no replica repeats it.
      const closing = worker.close();
      const inTime = await Promise.race([
        closing.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), deps.stopGraceMs ?? 10_000).unref()),
      ]);
      if (!inTime) {
        log.warn('scheduled commands still running at stop; leaving them');
        closing.catch(() => undefined);
      }
      await queue.close();
      await queueConnection.quit().catch(() => undefined);
    },
  };
}
