import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Redis } from 'ioredis';
import { runBot } from '../../src/cli/run-bot.js';
import { readWorkerSettings } from '../../src/config.js';
import { freePort } from '../../src/dev/start-redis.js';
import type { Policy } from '../../src/policy/schema.js';
import { loadHostKeys, type HostKeys } from '../../src/secrets/host-keys.js';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { enrollKeys, testBotKeyEnv, TEST_BOT_KEYS } from './test-trust.js';

export const silentLog = pino({ level: 'silent' });

export interface TestStack {
  slack: FakeSlack;
  redis: Redis;
  prefix: string;
  redisUrl: string;
  /** HTTP mode: the URL Slack would POST to. */
  eventsUrl: string;
  signingSecret: string;
  workers: Map<string, RunningWorker>;
  /** Each started host's keys (to sign registry writes as that host would). */
  hostKeys: Map<string, HostKeys>;
  bot: Awaited<ReturnType<typeof runBot>>;
  /** Starts another bot process on the same Redis and Slack (HTTP mode: on its own port). */
  startAnotherBot: () => Promise<{ bot: Awaited<ReturnType<typeof runBot>>; eventsUrl: string }>;
  /** Bot settings as environment. */
  botEnv: Record<string, string>;
  /** Environment a CLI run would have against this stack. */
  env: Record<string, string>;
  startHost: (host: string, extraEnv?: Record<string, string>) => Promise<RunningWorker>;
  stop: () => Promise<void>;
}

/**
 * A whole runnerops stack against the run's real Redis (own prefix), a fake Slack, and real workers:
 * the bot in HTTP or Socket Mode, plus one worker per host name.
 */
export async function startTestStack(options: {
  mode: 'http' | 'socket';
  hosts?: string[];
  policy?: Policy;
  botEnv?: Record<string, string>;
  sweepMs?: number;
  enroll?: boolean;
}): Promise<TestStack> {
  const { redisUrl, prefix } = testRedisSettings();
  const redis = testRedis(redisUrl);
  const slack = await startFakeSlack();
  const signingSecret = randomBytes(16).toString('hex');
  const port = await freePort();
  const stateRoot = await mkdtemp(path.join(os.tmpdir(), 'runnerops-stack-'));
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    RUNNEROPS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    RUNNEROPS_API_SOCKET: path.join(stateRoot, 'api.sock'),
  };
  const botEnv: Record<string, string> = {
    ...env,
    ...testBotKeyEnv,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_API_URL: slack.apiUrl,
    PORT: String(port),
    ...(options.mode === 'http' ? { SLACK_SIGNING_SECRET: signingSecret } : { SLACK_APP_TOKEN: slack.appToken }),
    ...options.botEnv,
  };
  const workers = new Map<string, RunningWorker>();
  const hostKeys = new Map<string, HostKeys>();
  const startHost = async (host: string, extraEnv: Record<string, string> = {}) => {
    // Each host has one runner "nix" in its config.toml, as a registered host would.
    const configDir = path.join(stateRoot, host, 'gitlab-runner');
    await mkdir(configDir, { recursive: true });
    const token = `glrt-${randomBytes(12).toString('hex')}`;
    await writeFile(
      path.join(configDir, 'config.toml'),
      `concurrent = 1\n\n[[runners]]\n  name = "nix"\n  url = "http://127.0.0.1:9"\n  id = 101\n  token = "${token}"\n  executor = "docker"\n`,
      { mode: 0o600 },
    );
    const settings = readWorkerSettings({
      ...env,
      RUNNEROPS_HOST: host,
      RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
      RUNNEROPS_HEARTBEAT_SECONDS: '1',
      RUNNEROPS_STATE_DIR: path.join(stateRoot, host),
      GITLAB_RUNNER_CONFIG: path.join(stateRoot, host, 'gitlab-runner', 'config.toml'),
      ...extraEnv,
    });
    const keys = await loadHostKeys(settings.stateDir);
    // Enrolled as an operator would after comparing the fingerprint (tests of enrolment itself enrol by hand).
    if (options.enroll !== false) await enrollKeys(redis, prefix, host, keys);
    hostKeys.set(host, keys);
    const worker = await startWorker({ settings, log: silentLog, keys });
    workers.set(host, worker);
    return worker;
  };
  for (const host of options.hosts ?? []) await startHost(host);
  const botOptions = { ...(options.policy ? { policy: options.policy } : {}), ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}) };
  const startBot = () => runBot(botEnv, botOptions);
  const bot = await startBot();
  if (options.mode === 'socket') await slack.waitForSocket();
  const stack: TestStack = {
    slack,
    redis,
    prefix,
    redisUrl,
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret,
    workers,
    hostKeys,
    bot,
    botEnv,
    startAnotherBot: async () => {
      const otherPort = await freePort();
      const other = await runBot({ ...botEnv, PORT: String(otherPort), RUNNEROPS_API_SOCKET: path.join(stateRoot, `api-${otherPort}.sock`) }, botOptions);
      return { bot: other, eventsUrl: `http://127.0.0.1:${otherPort}/slack/events` };
    },
    env,
    startHost,
    stop: async () => {
      await stack.bot.stop();
      await Promise.all([...workers.values()].map((w) => w.stop(2000)));
      await slack.close();
      await deletePrefix(redis, prefix);
      await redis.quit();
      await rm(stateRoot, { recursive: true, force: true });
    },
  };
  return stack;
}
