/**
 * How long a BullMQ job stays locked to the process that runs it, and how often workers look for jobs
 * whose process died. BullMQ's defaults (30 s lock, check every 30 s) hand a killed worker's job back
 * only after 61-91 s; these hand it back within 12 s (lock + one check interval), leaving room for the
 * restarted worker's own start (systemd waits 5 s, then the worker publishes its facts first).
 *
 * A running job renews its lock every quarter to half of `lockDuration`, from a timer: a job that keeps
 * the event loop busy for longer than half the lock (about 5 s) can lose it and be handed back while it runs (the worker then joins the run under way, see dispatch.ts).
 * Jobs therefore never block for long (the store analysis lets timers run between its steps; see docs/reliability.md
 * for the measured longest block).
 */
export interface JobLockOptions {
  /** Milliseconds a job's lock lasts without renewal. @defaultValue 10000 */
  lockDuration: number;
  /** Milliseconds between checks for jobs whose lock lapsed (their process died). @defaultValue 2000 */
  stalledInterval: number;
  /** Times a job may be handed back before BullMQ fails it. @defaultValue 1 */
  maxStalledCount: number;
}

export const JOB_LOCK: JobLockOptions = { lockDuration: 10_000, stalledInterval: 2_000, maxStalledCount: 1 };

/** The longest a killed worker's job waits before another worker may take it, in milliseconds. */
export function handBackWithinMs(lock: JobLockOptions = JOB_LOCK): number {
  return lock.lockDuration + lock.stalledInterval;
}
