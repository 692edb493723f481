/**
 * How long finished work stays in Redis. Command records, their rows (one per host) and the "settled"
 * marker expire `retentionSeconds` after the latest the command could finish; BullMQ keeps a host's
 * finished jobs for the same time, and never more than `FINISHED_JOBS_PER_QUEUE` of them (BullMQ trims by
 * age only when a later job of that queue finishes, so the count is what bounds an idle host).
 */
export const DEFAULT_RETENTION_SECONDS = 14 * 86400;

/** Completed (and, apart, failed) BullMQ jobs kept per queue at most. */
export const FINISHED_JOBS_PER_QUEUE = 100;

/** Seconds a command's keys live: the retention, counted from the end of the command's timeout. */
export function commandTtlSeconds(retentionSeconds: number, timeoutMs: number): number {
  return retentionSeconds + Math.ceil(timeoutMs / 1000);
}
