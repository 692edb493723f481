import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/queue/redis.js';
import { createQueuePool, type QueuePool } from '../../src/queue/queue-pool.js';
import type { HostEntry } from '../../src/queue/host-registry.js';
import { publishEnrolledHost } from '../helpers/test-trust.js';
import { createMetrics } from '../../src/ops/create-metrics.js';
import { listKnownQueues, readHeartbeatAges, readQueueDepths, recordJobMetrics } from '../../src/ops/metric-sources.js';
import { deletePrefix, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
let redis: Redis;
let pool: QueuePool;

function entry(name: string, lastHeartbeat: number): HostEntry {
  return { name, versions: { runnerops: 'test' }, labels: {}, publicKey: null, startedAt: lastHeartbeat, lastHeartbeat, heartbeatSeconds: 5 };
}

beforeAll(() => {
  redis = createRedis({ redisUrl });
  pool = createQueuePool(redis, prefix);
});
afterAll(async () => {
  await pool.close();
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('listKnownQueues', () => {
  it('lists the control queue and one queue per registered host', async () => {
    await publishEnrolledHost(redis, prefix, entry('ci-1', Date.now()));
    await publishEnrolledHost(redis, prefix, entry('ci-2', Date.now()));
    expect(await listKnownQueues(redis, prefix)).toEqual(['control', 'host.ci-1', 'host.ci-2']);
  });
});

describe('readQueueDepths', () => {
  it('counts real BullMQ jobs per queue and state', async () => {
    await pool.get('host.ci-1').add('ping', {});
    await pool.get('host.ci-1').add('ping', {});
    await pool.get('host.ci-1').add('ping', {}, { delay: 60_000 });
    const rows = await readQueueDepths(pool, ['host.ci-1', 'host.ci-2'])();
    expect(rows).toContainEqual({ queue: 'host.ci-1', state: 'waiting', count: 2 });
    expect(rows).toContainEqual({ queue: 'host.ci-1', state: 'delayed', count: 1 });
    expect(rows).toContainEqual({ queue: 'host.ci-2', state: 'waiting', count: 0 });
    const metrics = createMetrics({ processMetrics: false, sources: { queueDepths: readQueueDepths(pool, () => listKnownQueues(redis, prefix)) } });
    expect(await metrics.registry.metrics()).toContain('runnerops_queue_depth{queue="host.ci-1",state="waiting"} 2');
  });
});

describe('readHeartbeatAges', () => {
  it('reports each registered host with its heartbeat age', async () => {
    const now = Date.now();
    await publishEnrolledHost(redis, prefix, entry('ci-1', now - 3000));
    const ages = await readHeartbeatAges(redis, prefix, () => now)();
    expect(ages.find((a) => a.host === 'ci-1')?.ageSeconds).toBe(3);
  });
});

describe('recordJobMetrics', () => {
  it('records completed, retrying and failed attempts of a real BullMQ worker', async () => {
    const name = 'host.metrics-test';
    const queue = new Queue(name, { connection: redis, prefix });
    const events = new QueueEvents(name, { connection: createRedis({ redisUrl }, { blocking: true }), prefix });
    await events.waitUntilReady();
    const worker = new Worker(
      name,
      async (job) => {
        if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('try again');
        if (job.name === 'denied') throw new UnrecoverableError('403 from GitLab');
        await new Promise((r) => setTimeout(r, 20));
        return 'ok';
      },
      { connection: createRedis({ redisUrl }, { blocking: true }), prefix },
    );
    const metrics = createMetrics({ processMetrics: false });
    recordJobMetrics(worker, metrics);
    try {
      const flaky = await queue.add('flaky', {}, { attempts: 2 });
      const denied = await queue.add('denied', {}, { attempts: 3 });
      await flaky.waitUntilFinished(events, 10_000);
      await expect(denied.waitUntilFinished(events, 10_000)).rejects.toThrow('403');
      const text = await metrics.registry.metrics();
      expect(text).toContain('runnerops_jobs_total{job="flaky",outcome="retrying"} 1');
      expect(text).toContain('runnerops_jobs_total{job="flaky",outcome="completed"} 1');
      expect(text).toContain('runnerops_jobs_total{job="denied",outcome="failed"} 1');
      expect(text).toMatch(/runnerops_job_duration_seconds_count\{job="flaky"\} 2/);
      const sum = Number(/runnerops_job_duration_seconds_sum\{job="flaky"\} ([\d.e-]+)/.exec(text)?.[1]);
      expect(sum).toBeGreaterThan(0.015);
      expect(sum).toBeLessThan(5);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
