import { Queue } from 'bullmq';
import { issueEnvelope, verifyEnvelope } from '../../src/queue/envelope.js';
import { hostQueueName, jobIdFor } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';
import { startRedis } from '../../src/dev/start-redis.js';
import type { BenchSuite } from './report.js';
import { elapsedMs, percentile } from './stats.js';
import { defined } from '../helpers/defined.js';

const JOBS = 5000;
const ADDS = 2000;

/** A prune payload as the bot queues it (the largest of the everyday payloads). */
const payload = {
  dryRun: false,
  untilSeconds: 86400,
  volumes: true,
  namedVolumes: false,
  images: 'unused',
  buildCache: true,
  protectLabel: 'runnerops.keep=true',
};

/**
 * Issue 12: what signing a job (bot) and verifying it (worker) cost per job, next to what queueing the
 * same job on a local Redis costs anyway (BullMQ Queue.add, measured in the same run).
 */
export const suite: BenchSuite = {
  name: 'job-signing',
  run: async () => {
    const signer = generateSigner();
    const ring = ringOf(signer.publicKey);
    const envelopes = [];
    const signStart = process.hrtime.bigint();
    for (let i = 0; i < JOBS; i++) {
      const jobId = jobIdFor(`c${i}`, 'ci-1');
      envelopes.push(
        issueEnvelope(signer, {
          job: 'prune-docker',
          queue: hostQueueName('ci-1'),
          host: 'ci-1',
          jobId,
          commandId: `c${i}`,
          payload,
          requester: { via: 'slack', user: 'U0OPS' },
          issuedAt: Date.now(),
          expiresAt: Date.now() + 600_000,
        }),
      );
    }
    const signUs = (elapsedMs(signStart) * 1000) / JOBS;
    const verifyStart = process.hrtime.bigint();
    for (const envelope of envelopes)
      verifyEnvelope(envelope, ring, { queue: hostQueueName('ci-1'), host: 'ci-1', jobName: 'prune-docker', jobId: envelope.body.jobId, now: Date.now() });
    const verifyUs = (elapsedMs(verifyStart) * 1000) / JOBS;

    const redis = await startRedis();
    const conn = createRedis({ redisUrl: redis.url });
    const queue = new Queue(hostQueueName('ci-1'), { connection: conn, prefix: '{bench}' });
    try {
      const adds: number[] = [];
      for (let i = 0; i < ADDS; i++) {
        const envelope = defined(envelopes[i], `envelope ${i}`);
        const start = process.hrtime.bigint();
        await queue.add('prune-docker', { commandId: `c${i}`, envelope }, { jobId: envelope.body.jobId });
        adds.push(elapsedMs(start));
      }
      const addUs = percentile(adds, 50) * 1000;
      const perJob = signUs + verifyUs;
      return [
        { name: `sign one job envelope (mean of ${JOBS})`, ours: `${signUs.toFixed(1)} µs` },
        { name: `verify one job envelope (mean of ${JOBS})`, ours: `${verifyUs.toFixed(1)} µs` },
        {
          name: 'sign + verify per job vs queueing it (BullMQ Queue.add p50 on local Redis)',
          ours: `${perJob.toFixed(1)} µs`,
          baseline: `${addUs.toFixed(1)} µs`,
          ratio: perJob / addUs,
        },
      ];
    } finally {
      await queue.close();
      await conn.quit();
      await redis.stop();
    }
  },
};
