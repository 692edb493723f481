import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { readWorkerSettings } from '../../src/config.js';
import { readHost } from '../../src/queue/host-registry.js';
import { hostQueueName } from '../../src/queue/names.js';
import { startWorker } from '../../src/worker/start-worker.js';
import { silentLog } from '../helpers/test-stack.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const settings = (host: string) =>
  readWorkerSettings({ REDIS_URL: redisUrl, RUNNEROPS_PREFIX: prefix, RUNNEROPS_HOST: host, RUNNEROPS_HEARTBEAT_SECONDS: '1', RUNNEROPS_LABELS: 'rack=a', RUNNEROPS_STATE_DIR: '/tmp/runnerops-test-worker' });

beforeAll(async () => deletePrefix(redis, prefix));
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('startWorker', () => {
  it('publishes the host with versions and labels and keeps its heartbeat fresh', async () => {
    const worker = await startWorker({ settings: settings('w-1'), log: silentLog });
    try {
      const first = await readHost(redis, prefix, 'w-1');
      expect(first).toMatchObject({ name: 'w-1', labels: { rack: 'a' }, heartbeatSeconds: 1, versions: { runnerops: expect.any(String), docker: expect.any(String) } });
      await new Promise((r) => setTimeout(r, 1500));
      const later = await readHost(redis, prefix, 'w-1');
      expect(later!.lastHeartbeat).toBeGreaterThan(first!.lastHeartbeat);
    } finally {
      await worker.stop(1000);
    }
  });

  it('removes itself from the registry when stopped', async () => {
    const worker = await startWorker({ settings: settings('w-2'), log: silentLog });
    await worker.stop(1000);
    expect(await readHost(redis, prefix, 'w-2')).toBeUndefined();
  });

  it('finishes the running job before it stops', async () => {
    const worker = await startWorker({ settings: settings('w-3'), log: silentLog });
    const queue = new Queue(hostQueueName('w-3'), { connection: redis, prefix });
    const job = await queue.add('ping', { commandId: 'c-graceful', payload: { sentAt: Date.now() } }, { jobId: 'c-graceful@w-3' });
    await new Promise((r) => setTimeout(r, 50));
    await worker.stop(5000);
    expect(await job.getState()).toBe('completed');
    await queue.close();
  });

  it('fails a job with a bad payload at once with a message naming the field', async () => {
    const worker = await startWorker({ settings: settings('w-4'), log: silentLog });
    const queue = new Queue(hostQueueName('w-4'), { connection: redis, prefix });
    try {
      const job = await queue.add('ping', { commandId: 'c-bad', payload: { sentAt: 'yesterday' } }, { jobId: 'c-bad@w-4', attempts: 3 });
      for (let i = 0; i < 50 && !(await job.isFailed()); i++) await new Promise((r) => setTimeout(r, 100));
      const failed = await queue.getJob(job.id!);
      expect(failed!.failedReason).toBe('bad payload for ping: sentAt: Expected number, received string');
      expect(failed!.attemptsMade).toBe(1);
    } finally {
      await queue.close();
      await worker.stop(1000);
    }
  });
});
