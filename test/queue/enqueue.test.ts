import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY } from '../../src/queue/payloads/retry.js';
import { enqueueCommand, jobTimeoutMs } from '../../src/queue/enqueue.js';
import { hostQueueName, jobIdFor, keys } from '../../src/queue/names.js';
import { createQueuePool } from '../../src/queue/queue-pool.js';
import { FINISHED_JOBS_PER_QUEUE } from '../../src/queue/retention.js';
import { testBotSigner } from '../helpers/test-trust.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

describe('jobTimeoutMs', () => {
  it('gives a job ten minutes unless it says otherwise', () => {
    expect(jobTimeoutMs('ping')).toBe(600_000);
  });

  it('waits long enough for a drain that may take its whole --timeout before it restarts', () => {
    expect(jobTimeoutMs('restart-drained', { host: 'ci-1', runnerIds: [1], timeoutSeconds: 1800 })).toBe(1800 * 2000 + 60_000);
  });
});

describe('enqueueCommand', () => {
  const { redisUrl, prefix } = testRedisSettings();
  const redis = testRedis(redisUrl);
  afterAll(async () => {
    await deletePrefix(redis, prefix);
    await redis.quit();
  });

  it('keeps the command, its rows and its finished jobs for the retention after the timeout, and at most 100 finished jobs per host', async () => {
    const queues = createQueuePool(redis, prefix);
    try {
      const retentionSeconds = 2 * 3600;
      const record = await enqueueCommand(
        { redis, prefix, queues, signer: testBotSigner, retentionSeconds },
        {
          verb: 'ping',
          text: 'ping r-1 r-2',
          job: 'ping',
          hosts: ['r-1', 'r-2'],
          payloadFor: () => ({ sentAt: Date.now() }),
          requester: { via: 'cli', user: 'cli:test' },
        },
      );
      const expected = retentionSeconds + record.timeoutMs! / 1000;
      for (const key of [keys.command(prefix, record.id), keys.commandRows(prefix, record.id)]) {
        const ttl = await redis.ttl(key);
        expect(ttl).toBeGreaterThan(expected - 5);
        expect(ttl).toBeLessThanOrEqual(expected);
      }
      const job = await queues.get(hostQueueName('r-1')).getJob(jobIdFor(record.id, 'r-1'));
      expect(job!.opts.removeOnComplete).toEqual({ age: retentionSeconds, count: FINISHED_JOBS_PER_QUEUE });
      expect(job!.opts.removeOnFail).toEqual({ age: retentionSeconds, count: FINISHED_JOBS_PER_QUEUE });
      expect(FINISHED_JOBS_PER_QUEUE).toBe(100);
    } finally {
      await queues.close();
    }
  });

  it('gives a job the default retries with backoff, and one that must never run twice a single attempt', async () => {
    const queues = createQueuePool(redis, prefix);
    try {
      const deps = { redis, prefix, queues, signer: testBotSigner };
      const requester = { via: 'cli', user: 'cli:test' } as const;
      const ping = await enqueueCommand(deps, {
        verb: 'ping',
        text: 'ping r-1',
        job: 'ping',
        hosts: ['r-1'],
        payloadFor: () => ({ sentAt: Date.now() }),
        requester,
      });
      const restart = await enqueueCommand(deps, {
        verb: 'restart-daemon',
        text: 'restart-daemon r-1',
        job: 'restart-nix-daemon',
        hosts: ['r-1'],
        payloadFor: () => ({}),
        requester,
      });
      const pingJob = await queues.get(hostQueueName('r-1')).getJob(jobIdFor(ping.id, 'r-1'));
      const restartJob = await queues.get(hostQueueName('r-1')).getJob(jobIdFor(restart.id, 'r-1'));
      expect(pingJob!.opts).toMatchObject({ attempts: DEFAULT_RETRY.attempts, backoff: { type: 'exponential', delay: DEFAULT_RETRY.backoffMs } });
      expect(restartJob!.opts.attempts).toBe(1);
      expect(restartJob!.opts.backoff).toBeUndefined();
    } finally {
      await queues.close();
    }
  });
});
