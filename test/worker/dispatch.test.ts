import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentJobError, TransientJobError } from '../../src/errors.js';
import type { JobData } from '../../src/queue/enqueue.js';
import { verifyEvent } from '../../src/queue/events.js';
import { keys } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';
import { createProcessor, reportStalledFailure, type Refusal } from '../../src/worker/dispatch.js';
import { createExclusiveLocks } from '../../src/worker/exclusive.js';
import { createFileReplayGuard } from '../../src/worker/replay-guard.js';
import { silentLog } from '../helpers/test-stack.js';
import { signedHostJob, TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { defined } from '../helpers/defined.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-dispatch-'));
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

const hostSigner = generateSigner();

/** A BullMQ job as the processor sees it (what BullMQ hands over, nothing more). */
function jobOf(signed: { jobId: string; data: JobData }, stalledCounter = 0): Job<JobData> {
  return {
    id: signed.jobId,
    name: 'count',
    data: signed.data,
    opts: { attempts: 1 },
    attemptsMade: 0,
    stalledCounter,
    updateProgress: async () => undefined,
  } as unknown as Job<JobData>;
}

async function eventsFor(commandId: string): Promise<string[]> {
  const entries = (await redis.xrange(keys.events(prefix), '-', '+')) as [string, string[]][];
  const events = await Promise.all(entries.map(([, f]) => verifyEvent(f[1], async () => ringOf(hostSigner.publicKey))));
  return events.filter((e) => e.commandId === commandId).map((e) => e.type);
}

describe('createProcessor', () => {
  it('repeats the recorded answer of a job handed back after it ended, refuses any other second arrival, and runs it once', async () => {
    let runs = 0;
    const refusals: Refusal[] = [];
    const module = { name: 'count', payloadSchema: z.object({}), run: async () => ({ runs: ++runs }), summarize: (r: { runs: number }) => `ran ${r.runs}` };
    const process = createProcessor({
      redis,
      prefix,
      log: silentLog,
      queue: 'host.d-1',
      host: 'd-1',
      ring: ringOf(TEST_BOT_KEYS),
      signer: hostSigner,
      replay: await createFileReplayGuard(path.join(dir, 'done.json')),
      findJob: (name) => (name === 'count' ? module : undefined),
      contextFor: () => ({}),
      runExclusive: createExclusiveLocks(),
      onRefused: async (refusal) => void refusals.push(refusal),
    });
    const signed = signedHostJob('d-1', 'count', {}, { commandId: 'c-once' });
    expect(await process(jobOf(signed))).toEqual({ runs: 1 });
    // The worker died before BullMQ heard the job ended; BullMQ hands it back (stalled).
    expect(await process(jobOf(signed, 1))).toEqual({ runs: 1 });
    await expect(process(jobOf(signed))).rejects.toThrow(/^refused: replayed job/);
    expect(runs).toBe(1);
    expect(refusals.map((r) => r.reason)).toEqual([expect.stringMatching(/^replayed job/)]);
    expect(await eventsFor('c-once')).toEqual(['started', 'completed', 'completed']);
  });
});

describe('createProcessor on a real BullMQ queue', () => {
  /** A worker on its own queue that runs `run` as job "count"; returns what it needs to follow the job. */
  async function startQueue(run: () => Promise<unknown>) {
    const host = `d-${Math.random().toString(36).slice(2, 8)}`;
    const name = `host.${host}`;
    const queue = new Queue(name, { connection: redis, prefix });
    const queueEvents = new QueueEvents(name, { connection: createRedis({ redisUrl }, { blocking: true }), prefix });
    await queueEvents.waitUntilReady();
    const module = { name: 'count', payloadSchema: z.object({}), run, summarize: () => 'done' };
    const processor = createProcessor({
      redis,
      prefix,
      log: silentLog,
      queue: name,
      host,
      ring: ringOf(TEST_BOT_KEYS),
      signer: hostSigner,
      replay: await createFileReplayGuard(path.join(dir, `${host}.json`)),
      findJob: (job) => (job === 'count' ? module : undefined),
      contextFor: () => ({}),
      runExclusive: createExclusiveLocks(),
      onRefused: async () => undefined,
    });
    const worker = new Worker(name, processor, { connection: createRedis({ redisUrl }, { blocking: true }), prefix });
    const add = (commandId: string) => {
      const signed = signedHostJob(host, 'count', {}, { commandId });
      return queue.add('count', signed.data, { jobId: signed.jobId, attempts: 3, backoff: { type: 'exponential', delay: 200 } });
    };
    const close = async () => {
      await worker.close();
      await queueEvents.close();
      await queue.close();
    };
    return { add, queueEvents, close };
  }

  it('gives a transient failure back to the queue, which runs it again after the backoff', async () => {
    const runs: number[] = [];
    let failedAt = 0;
    const { add, queueEvents, close } = await startQueue(async () => {
      runs.push(Date.now());
      if (runs.length === 1) {
        failedAt = Date.now();
        throw new TransientJobError('Docker Engine answered 409 while restarting container "gitlabnix": conflict');
      }
      return { ok: true };
    });
    try {
      const job = await add('c-transient');
      expect(await job.waitUntilFinished(queueEvents, 20_000)).toEqual({ ok: true });
      expect(runs).toHaveLength(2);
      // BullMQ held the job back for the backoff (200 ms) before the second attempt.
      expect(defined(runs[1], 'a second run') - failedAt).toBeGreaterThanOrEqual(200);
      expect(await eventsFor('c-transient')).toEqual(['started', 'retrying', 'started', 'completed']);
    } finally {
      await close();
    }
  });

  it('fails a permanent failure at once, whatever attempts are left', async () => {
    let runs = 0;
    const { add, queueEvents, close } = await startQueue(async () => {
      runs++;
      throw new PermanentJobError('container gitlabnix not found');
    });
    try {
      const job = await add('c-permanent');
      await expect(job.waitUntilFinished(queueEvents, 20_000)).rejects.toThrow('container gitlabnix not found');
      expect(runs).toBe(1);
      expect(await eventsFor('c-permanent')).toEqual(['started', 'failed']);
    } finally {
      await close();
    }
  });

  it('fails an unclassified error at once as an internal error that carries its message', async () => {
    let runs = 0;
    const { add, queueEvents, close } = await startQueue(async () => {
      runs++;
      throw new TypeError("Cannot read properties of undefined (reading 'Id')");
    });
    try {
      const job = await add('c-internal');
      await expect(job.waitUntilFinished(queueEvents, 20_000)).rejects.toThrow(
        "internal error: Cannot read properties of undefined (reading 'Id'); see the process log for details",
      );
      expect(runs).toBe(1);
      expect(await eventsFor('c-internal')).toEqual(['started', 'failed']);
    } finally {
      await close();
    }
  });
});

describe('reportStalledFailure', () => {
  const deps = { redis, prefix, signer: hostSigner, ring: ringOf(TEST_BOT_KEYS), queue: 'host.d-1', host: 'd-1' };

  it('tells the card that the worker stopped more than once while running the job', async () => {
    const signed = signedHostJob('d-1', 'count', {}, { commandId: 'c-stalled' });
    await reportStalledFailure(deps, jobOf(signed), new Error('job stalled more than allowable limit'));
    expect(await eventsFor('c-stalled')).toEqual(['failed']);
    const entries = (await redis.xrange(keys.events(prefix), '-', '+')) as [string, string[]][];
    const events = await Promise.all(entries.map(([, f]) => verifyEvent(f[1], async () => ringOf(hostSigner.publicKey))));
    expect(events.find((e) => e.commandId === 'c-stalled')?.summary).toBe(
      'the worker on d-1 stopped while running count, more than once; check its logs, then run the command again',
    );
  });

  it('says nothing about another failure, a job BullMQ no longer has, or a job whose envelope does not verify', async () => {
    const signed = signedHostJob('d-1', 'count', {}, { commandId: 'c-not-stalled' });
    await reportStalledFailure(deps, jobOf(signed), new Error('container gitlabnix not found'));
    await reportStalledFailure(deps, undefined, new Error('job stalled more than allowable limit'));
    const forged = signedHostJob('d-1', 'count', {}, { commandId: 'c-forged', signer: generateSigner() });
    await reportStalledFailure(deps, jobOf(forged), new Error('job stalled more than allowable limit'));
    expect(await eventsFor('c-not-stalled')).toEqual([]);
    expect(await eventsFor('c-forged')).toEqual([]);
  });
});
