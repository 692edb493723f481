import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { listHosts } from '../queue/host-registry.js';
import { CONTROL_QUEUE, hostQueueName } from '../queue/names.js';
import type { QueuePool } from '../queue/queue-pool.js';
import type { HeartbeatAge, JobOutcome, Metrics, QueueDepth } from './create-metrics.js';

/** BullMQ states reported as queue depth. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/** The control queue plus the queue of every host in the registry (what the bot scrapes). */
export async function listKnownQueues(redis: Redis, prefix: string): Promise<string[]> {
  const hosts = await listHosts(redis, prefix);
  return [CONTROL_QUEUE, ...hosts.map((h) => hostQueueName(h.name))];
}

/**
 * A `queueDepths` source: job counts per state of the given queues, read in parallel. The bot passes
 * `() => listKnownQueues(redis, prefix)`; a worker passes `[hostQueueName(host)]`.
 */
export function readQueueDepths(pool: QueuePool, names: string[] | (() => Promise<string[]>)): () => Promise<QueueDepth[]> {
  return async () => {
    const queues = typeof names === 'function' ? await names() : names;
    const counts = await Promise.all(queues.map(async (queue) => [queue, await pool.get(queue).getJobCounts(...QUEUE_STATES)] as const));
    return counts.flatMap(([queue, byState]) => QUEUE_STATES.map((state) => ({ queue, state, count: byState[state] ?? 0 })));
  };
}

/** A `heartbeatAges` source: every registered host's heartbeat age. */
export function readHeartbeatAges(redis: Redis, prefix: string, now: () => number = Date.now): () => Promise<HeartbeatAge[]> {
  return async () => (await listHosts(redis, prefix, now())).map((h) => ({ host: h.name, ageSeconds: h.ageSeconds }));
}

/**
 * Records every finished attempt of a BullMQ worker (the host worker, or the bot's control-plane
 * worker): duration from `processedOn`, outcome `completed`, `retrying` (another attempt is queued)
 * or `failed`. Attach once, right after creating the worker.
 */
export function recordJobMetrics(worker: Pick<Worker, 'on'>, metrics: Pick<Metrics, 'observeJob'>, now: () => number = Date.now): void {
  const seconds = (job: Job) => (job.processedOn ? ((job.finishedOn ?? now()) - job.processedOn) / 1000 : 0);
  worker.on('completed', (job: Job) => metrics.observeJob(job.name, 'completed', seconds(job)));
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const outcome: JobOutcome = err.name !== 'UnrecoverableError' && job.attemptsMade < attempts ? 'retrying' : 'failed';
    metrics.observeJob(job.name, outcome, seconds(job));
  });
}
