import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { JobData } from '../../src/queue/enqueue.js';
import { verifyEvent } from '../../src/queue/events.js';
import { keys } from '../../src/queue/names.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';
import { createProcessor, type Refusal } from '../../src/worker/dispatch.js';
import { createExclusiveLocks } from '../../src/worker/exclusive.js';
import { createFileReplayGuard } from '../../src/worker/replay-guard.js';
import { silentLog } from '../helpers/test-stack.js';
import { signedHostJob, TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

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
  return { id: signed.jobId, name: 'count', data: signed.data, opts: { attempts: 1 }, attemptsMade: 0, stalledCounter, updateProgress: async () => undefined } as unknown as Job<JobData>;
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
