import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { readWorkerSettings } from '../../src/config.js';
import { readHost } from '../../src/queue/host-registry.js';
import { hostQueueName } from '../../src/queue/names.js';
import { startWorker } from '../../src/worker/start-worker.js';
import { silentLog } from '../helpers/test-stack.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadHostKeys } from '../../src/secrets/host-keys.js';
import { signedHostJob, TEST_BOT_KEYS, testBotSigner } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';
import { startSlowEngineProxy } from '../helpers/slow-engine-proxy.js';
import fc from 'fast-check';
import { generateSigner, parsePublicKey } from '../../src/queue/signing-keys.js';
import { verifyEnvelope } from '../../src/queue/envelope.js';
import { SignatureError } from '../../src/queue/signed.js';
import { noticesKey } from '../../src/queue/notices.js';
import { randomBytes } from 'node:crypto';
import { IMAGE_USE_FILE, readImageUseFile } from '../../src/clients/docker/image-use-log.js';
import { ensureDockerEngine } from '../setup/docker-engine.js';
import { importFilesImage } from '../setup/docker-images.js';
import { defined } from '../helpers/defined.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const stateRoot = await mkdtemp(path.join(os.tmpdir(), 'runnerops-start-worker-'));
const settings = (host: string) =>
  readWorkerSettings({
    REDIS_URL: redisUrl,
    RUNNEROPS_PREFIX: prefix,
    RUNNEROPS_HOST: host,
    RUNNEROPS_HEARTBEAT_SECONDS: '1',
    RUNNEROPS_LABELS: 'rack=a',
    RUNNEROPS_STATE_DIR: path.join(stateRoot, host),
    GITLAB_RUNNER_CONFIG: path.join(stateRoot, host, 'config.toml'),
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
  });
const start = async (host: string) => {
  const s = settings(host);
  return startWorker({ settings: s, log: silentLog, keys: await loadHostKeys(s.stateDir) });
};

beforeAll(async () => deletePrefix(redis, prefix));
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('startWorker', () => {
  it('records when each image was last used in its state directory, and keeps it when it stops', async () => {
    const docker = await ensureDockerEngine();
    const image = await importFilesImage(docker, { marker: randomBytes(16) }, { changes: ['CMD ["/marker"]'] });
    const worker = await start('w-images');
    const file = path.join(settings('w-images').stateDir, IMAGE_USE_FILE);
    try {
      const container = await docker.createContainer({ Image: image, HostConfig: { NetworkMode: 'none' } });
      await container.remove();
      await until(async () => (await readImageUseFile(file)).images.has(image), 10_000, 'the image use in the state file');
    } finally {
      await worker.stop(1000);
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    }
    expect((await readImageUseFile(file)).images.get(image)).toBeGreaterThan(0);
  });

  it('publishes the host with versions and labels and keeps its heartbeat fresh', async () => {
    const worker = await start('w-1');
    try {
      const first = await readHost(redis, prefix, 'w-1');
      expect(first).toMatchObject({
        name: 'w-1',
        labels: { rack: 'a' },
        heartbeatSeconds: 1,
        versions: { runnerops: expect.any(String), docker: expect.any(String) },
      });
      await until(async () => ((await readHost(redis, prefix, 'w-1'))?.lastHeartbeat ?? 0) > first!.lastHeartbeat, 10_000, 'a later heartbeat');
      const later = await readHost(redis, prefix, 'w-1');
      expect(later!.lastHeartbeat).toBeGreaterThan(first!.lastHeartbeat);
    } finally {
      await worker.stop(1000);
    }
  });

  it('publishes its runners before it takes its first job, and again when config.toml changes', async () => {
    const s = settings('w-facts');
    await mkdir(path.dirname(s.runnerConfigPath), { recursive: true });
    await writeFile(
      s.runnerConfigPath,
      '[[runners]]\n  name = "nix"\n  id = 7\n  url = "https://gitlab.example.com"\n  token = "glrt-0123456789abcdefghij"\n  executor = "docker"\n',
      { mode: 0o600 },
    );
    const worker = await startWorker({ settings: s, log: silentLog, keys: await loadHostKeys(s.stateDir) });
    try {
      // Already there when startWorker returns, that is before the queue is consumed.
      expect((await readHost(redis, prefix, 'w-facts'))?.runners?.map((r) => r.name)).toEqual(['nix']);
      await writeFile(
        s.runnerConfigPath,
        `${await readFile(s.runnerConfigPath, 'utf8')}\n[[runners]]\n  name = "added"\n  id = 8\n  url = "https://gitlab.example.com"\n  token = "glrt-abcdefghij0123456789"\n  executor = "docker"\n`,
      );
      await until(
        async () => ((await readHost(redis, prefix, 'w-facts'))?.runners ?? []).some((r) => r.name === 'added'),
        10_000,
        'the added runner in the registry',
      );
    } finally {
      await worker.stop(1000);
    }
  });

  it('removes itself from the registry when stopped', async () => {
    const worker = await start('w-2');
    await worker.stop(1000);
    expect(await readHost(redis, prefix, 'w-2')).toBeUndefined();
  });

  it('starts and runs its jobs when Docker never opens its event stream, ranking images by creation time', async () => {
    const engine = await startSlowEngineProxy({ holdEvents: true });
    const s = settings('w-wedged');
    const worker = await startWorker({ settings: s, log: silentLog, keys: await loadHostKeys(s.stateDir), docker: engine.docker, dockerEventsWaitMs: 200 });
    const queue = new Queue(hostQueueName('w-wedged'), { connection: redis, prefix });
    try {
      expect(engine.eventRequests()).toBe(1);
      const signed = signedHostJob('w-wedged', 'ping', { sentAt: Date.now() }, { commandId: 'c-wedged' });
      const job = await queue.add('ping', signed.data, { jobId: signed.jobId });
      await until(async () => (await job.getState()) === 'completed', 10_000, 'the ping to complete');
    } finally {
      await worker.stop(1000);
      await queue.close();
      await engine.close();
    }
  });

  it('finishes the running job before it stops', async () => {
    // A dry-run prune whose Docker call is held: the job is running, and stays so, until released.
    const engine = await startSlowEngineProxy();
    const s = settings('w-3');
    const worker = await startWorker({ settings: s, log: silentLog, keys: await loadHostKeys(s.stateDir), docker: engine.docker });
    const queue = new Queue(hostQueueName('w-3'), { connection: redis, prefix });
    try {
      const signed = signedHostJob('w-3', 'prune-docker', { dryRun: true }, { commandId: 'c-graceful' });
      const job = await queue.add('prune-docker', signed.data, { jobId: signed.jobId });
      await engine.volumesAsked;
      expect(await job.getState()).toBe('active');
      let stopped = false;
      const stopping = worker.stop(30_000).then(() => (stopped = true));
      // The stop waits for the job: the worker stopped taking jobs, the job is still active.
      await until(async () => (await queue.getWorkers()).length === 0 || (await job.getState()) !== 'active', 10_000, 'the worker to stop taking jobs');
      expect(stopped).toBe(false);
      expect(await job.getState()).toBe('active');
      engine.release();
      await stopping;
      expect(await job.getState()).toBe('completed');
    } finally {
      engine.release();
      await queue.close();
      await engine.close();
    }
  });

  it('fails a job with a bad payload at once with a message naming the field', async () => {
    const worker = await start('w-4');
    const queue = new Queue(hostQueueName('w-4'), { connection: redis, prefix });
    try {
      const signed = signedHostJob('w-4', 'ping', { sentAt: 'yesterday' }, { commandId: 'c-bad' });
      const job = await queue.add('ping', signed.data, { jobId: signed.jobId, attempts: 3 });
      await until(() => job.isFailed(), 10_000, 'the job failed');
      const failed = await queue.getJob(job.id!);
      expect(failed!.failedReason).toBe('bad payload for ping: sentAt: Expected number, received string');
      expect(failed!.attemptsMade).toBe(1);
    } finally {
      await queue.close();
      await worker.stop(1000);
    }
  });
});

describe('startWorker refuses what the bot did not sign', () => {
  const failedReason = async (host: string, name: string, data: unknown, jobId: string) => {
    const queue = new Queue(hostQueueName(host), { connection: redis, prefix });
    try {
      const job = await queue.add(name, data, { jobId });
      await until(async () => (await job.isFailed()) || (await job.isCompleted()), 10_000, `job ${jobId} to end`);
      return (await queue.getJob(jobId))!.failedReason;
    } finally {
      await queue.close();
    }
  };

  it('refuses unsigned, foreign-signed, misaddressed, expired and replayed jobs, counts them and publishes a signed notice', async () => {
    const worker = await start('w-guard');
    try {
      const unsigned = await failedReason('w-guard', 'ping', { commandId: 'c-u', payload: { sentAt: 1 } }, 'c-u@w-guard');
      expect(unsigned).toBe('refused: unsigned job');
      const foreign = signedHostJob('w-guard', 'ping', { sentAt: 1 }, { signer: generateSigner() });
      expect(await failedReason('w-guard', 'ping', foreign.data, foreign.jobId)).toMatch(/^refused: job signed by unknown key/);
      const elsewhere = signedHostJob('w-other', 'ping', { sentAt: 1 });
      expect(await failedReason('w-guard', 'ping', elsewhere.data, `${elsewhere.data.commandId}@w-guard`)).toMatch(
        /^refused: job signed for queue host.w-other/,
      );
      const expired = signedHostJob('w-guard', 'ping', { sentAt: 1 }, { now: Date.now() - 3_600_000, ttlMs: 60_000 });
      // Signed but too old (the host was down): not run, and not an attack either.
      expect(await failedReason('w-guard', 'ping', expired.data, expired.jobId)).toMatch(/^not run: job expired at /);
      const renamed = signedHostJob('w-guard', 'ping', { sentAt: 1 });
      expect(await failedReason('w-guard', 'rotate-token', renamed.data, renamed.jobId)).toMatch(/^refused: job signed as ping queued as rotate-token/);
      const unapproved = signedHostJob('w-guard', 'rotate-token', {});
      expect(await failedReason('w-guard', 'rotate-token', unapproved.data, unapproved.jobId)).toBe('refused: rotate-token without an approval');
      const once = signedHostJob('w-guard', 'ping', { sentAt: 1 });
      expect(await failedReason('w-guard', 'ping', once.data, once.jobId)).toBeUndefined();
      const queue = new Queue(hostQueueName('w-guard'), { connection: redis, prefix });
      await (await queue.getJob(once.jobId))!.remove();
      await queue.close();
      expect(await failedReason('w-guard', 'ping', once.data, once.jobId)).toMatch(/^refused: replayed job/);
      expect(Object.fromEntries(worker.refusals)).toMatchObject({ unsigned: 1, replayed: 1 });
      const notices = (await redis.xrange(noticesKey(prefix), '-', '+')) as [string, string[]][];
      const refusals = notices
        .map(([, f]) => JSON.parse(defined(f[1], 'the body of a notice')) as { kind: string; body: { source: string; host: string; summary: string } })
        .filter((n) => n.body.host === 'w-guard');
      expect(refusals).toHaveLength(6);
      expect(refusals.every((n) => n.kind === 'notice' && n.body.source === 'job-guard')).toBe(true);
    } finally {
      await worker.stop(1000);
    }
  });

  it('refuses an envelope with any byte changed', async () => {
    const original = signedHostJob('w-bytes', 'ping', { sentAt: 12345 }, { commandId: 'c-bytes' });
    const ring = new Map([[testBotSigner.kid, parsePublicKey(testBotSigner.publicKey, 'test')]]);
    const text = JSON.stringify(original.data.envelope);
    const expect_ = { queue: hostQueueName('w-bytes'), host: 'w-bytes', jobName: 'ping', jobId: original.jobId, now: Date.now() };
    expect(verifyEnvelope(original.data.envelope, ring, expect_).payload).toEqual({ sentAt: 12345 });
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const bytes = Buffer.from(text);
        bytes[at] = (bytes.readUInt8(at) + delta) % 256;
        let changed: unknown;
        try {
          changed = JSON.parse(bytes.toString('utf8'));
        } catch {
          return true; // not JSON any more: nothing to run
        }
        if (JSON.stringify(changed) === text) return true; // a change JSON does not see (e.g. inside whitespace-free escapes)
        expect(() => verifyEnvelope(changed, ring, expect_)).toThrow(SignatureError);
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
