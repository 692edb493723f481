/**
 * `npm run bench worker-recovery`: a worker process is SIGKILLed while a job is active (its Redis
 * traffic held by a proxy from the moment the job started, so the job is locked), a new worker for the
 * same host is started at once (as systemd's Restart= does), and the time from the kill until BullMQ
 * hands the job back (its `stalled` event) and until the job completed is measured. Ours is the built
 * binary; the baseline is the same worker with BullMQ's default lock (30 s) and stalled check (30 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { startRedis } from '../../src/dev/start-redis.js';
import { readHost } from '../../src/queue/host-registry.js';
import { hostQueueName } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import { handBackWithinMs, JOB_LOCK, type JobLockOptions } from '../../src/queue/job-lock.js';
import { startRedisProxy } from '../reliability/support/redis-proxy.js';
import { signedHostJob, TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';
import type { BenchLine, BenchSuite } from './report.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(REPO, 'dist/src/cli.js');
const SAMPLES = 3;
const BULLMQ_DEFAULTS: JobLockOptions = { lockDuration: 30_000, stalledInterval: 30_000, maxStalledCount: 1 };

// The baseline: the same worker code (dist), with the lock it would have without JOB_LOCK.
const BASELINE_SCRIPT = `
const [base, lock] = JSON.parse(process.argv[1]);
const { readWorkerSettings } = await import(base + '/src/config.js');
const { loadHostKeys } = await import(base + '/src/secrets/host-keys.js');
const { startWorker } = await import(base + '/src/worker/start-worker.js');
const { createLogger } = await import(base + '/src/logger.js');
const settings = readWorkerSettings(process.env);
await startWorker({ settings, log: createLogger({ level: 'silent', name: 'worker' }), keys: await loadHostKeys(settings.stateDir), lock });
`;

interface Sample {
  handedBackMs: number;
  completedMs: number;
}

async function recoverOnce(redis: Redis, redisUrl: string, prefix: string, stateRoot: string, host: string, lock: JobLockOptions | undefined): Promise<Sample> {
  const proxy = await startRedisProxy({ host: '127.0.0.1', port: Number(new URL(redisUrl).port) });
  const queue = new Queue(hostQueueName(host), { connection: redis.duplicate(), prefix });
  const events = new QueueEvents(hostQueueName(host), { connection: createRedis({ redisUrl }, { blocking: true }), prefix });
  const children: ChildProcess[] = [];
  const start = async (url: string) => {
    const since = Date.now();
    const env = {
      PATH: process.env.PATH!,
      HOME: os.tmpdir(),
      REDIS_URL: url,
      RUNNEROPS_PREFIX: prefix,
      RUNNEROPS_HOST: host,
      RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
      RUNNEROPS_HEARTBEAT_SECONDS: '1',
      RUNNEROPS_STATE_DIR: path.join(stateRoot, host),
      GITLAB_RUNNER_CONFIG: path.join(stateRoot, host, 'config.toml'),
      LOG_LEVEL: 'silent',
    };
    const args = lock ? ['--input-type=module', '-e', BASELINE_SCRIPT, JSON.stringify([path.join(REPO, 'dist'), lock])] : [CLI, 'worker'];
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    children.push(child);
    await until(async () => ((await readHost(redis, prefix, host))?.lastHeartbeat ?? 0) >= since, 30_000, `${host} registered`);
    return child;
  };
  try {
    await events.waitUntilReady();
    const first = await start(proxy.url);
    const held = proxy.holdWhen('"type":"started"', '"job":"ping"');
    const { jobId, data } = signedHostJob(host, 'ping', { sentAt: Date.now() });
    const stalled = new Promise<number>((resolve) => events.on('stalled', ({ jobId: id }) => id === jobId && resolve(performance.now())));
    const completed = new Promise<number>((resolve) => events.on('completed', ({ jobId: id }) => id === jobId && resolve(performance.now())));
    await queue.add('ping', data, { jobId });
    await held;
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    const killedAt = performance.now();
    await exited;
    await start(redisUrl);
    const [handedBack, done] = await Promise.all([stalled, completed]);
    return { handedBackMs: handedBack - killedAt, completedMs: done - killedAt };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await events.close();
    await queue.close();
    await proxy.close();
  }
}

const seconds = (valueMs: number) => `${(valueMs / 1000).toFixed(1)} s`;

async function runSuite(): Promise<BenchLine[]> {
  const redis = await startRedis();
  const admin = createRedis({ redisUrl: redis.url });
  const stateRoot = await mkdtemp(path.join(os.tmpdir(), 'runnerops-bench-recovery-'));
  const prefix = '{bench}';
  try {
    const ours: Sample[] = [];
    for (let i = 0; i < SAMPLES; i++) ours.push(await recoverOnce(admin, redis.url, prefix, stateRoot, `rec-${i}`, undefined));
    const baseline = await recoverOnce(admin, redis.url, prefix, stateRoot, 'rec-default', BULLMQ_DEFAULTS);
    const worst = Math.max(...ours.map((s) => s.handedBackMs));
    const worstDone = Math.max(...ours.map((s) => s.completedMs));
    return [
      {
        name: `SIGKILLed worker: kill to job handed back (worst of ${SAMPLES}; lock ${JOB_LOCK.lockDuration / 1000} s, check every ${JOB_LOCK.stalledInterval / 1000} s: ${seconds(handBackWithinMs())} after the restarted worker runs)`,
        ours: `${seconds(worst)} (${ours.map((s) => seconds(s.handedBackMs)).join(', ')})`,
        baseline: `${seconds(baseline.handedBackMs)} (BullMQ defaults)`,
        ratio: worst / baseline.handedBackMs,
        goal: '<= 15 s',
        met: worst <= 15_000,
      },
      {
        name: 'SIGKILLed worker: kill to job completed by the restarted worker',
        ours: seconds(worstDone),
        baseline: `${seconds(baseline.completedMs)} (BullMQ defaults)`,
        ratio: worstDone / baseline.completedMs,
      },
    ];
  } finally {
    await admin.quit();
    await redis.stop();
    await rm(stateRoot, { recursive: true, force: true });
  }
}

export const suite: BenchSuite = { name: 'worker-recovery', run: runSuite };
