import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { WebClient } from '@slack/web-api';
import { startBot } from '../bot/start-bot.js';
import { readBotSettings, readWorkerSettings, slackMode } from '../config.js';
import { createConsoleSurface } from '../dev/console-surface.js';
import { runConsole } from '../dev/console.js';
import { DEV_POLICY } from '../dev/dev-policy.js';
import { startRedis, type RunningRedis } from '../dev/start-redis.js';
import { createLogger } from '../logger.js';
import { loadPolicy } from '../policy/load-policy.js';
import { loadHostKeys } from '../secrets/host-keys.js';
import { createSlackApp } from '../slack/create-slack-app.js';
import { cachedGroupMembers } from '../slack/group-members.js';
import { registerHandlers } from '../slack/register-handlers.js';
import { createSlackSurface } from '../slack/slack-surface.js';
import { startWorker } from '../worker/start-worker.js';
import { loadBotTrust } from '../bot/load-bot-trust.js';
import { loadOrCreateSigner } from '../queue/signing-keys.js';

export interface DevIo {
  input: NodeJS.ReadableStream;
  write: (line: string) => void;
}

/**
 * `runnerops dev`: the whole stack on one machine. Starts redis-server (when REDIS_URL is unset), a
 * worker for this machine and the bot; without Slack credentials the bot is a console on stdin.
 * Embedded defaults: state under $TMPDIR/runnerops-dev, the DEV_POLICY unless RUNNEROPS_POLICY is set.
 */
export async function runDev(env: Record<string, string | undefined>, io: DevIo): Promise<void> {
  const devDir = path.join(os.tmpdir(), 'runnerops-dev');
  await mkdir(devDir, { recursive: true, mode: 0o700 });
  let redis: RunningRedis | undefined;
  const merged: Record<string, string | undefined> = { ...env };
  if (!env.REDIS_URL) {
    redis = await startRedis();
    merged.REDIS_URL = redis.url;
    io.write(`started redis-server on ${redis.url} (data in ${redis.dir})`);
  }
  merged.RUNNEROPS_STATE_DIR ??= path.join(devDir, 'state');
  merged.GITLAB_RUNNER_CONFIG ??= path.join(devDir, 'gitlab-runner', 'config.toml');
  merged.RUNNEROPS_ENV_FILE ??= path.join(devDir, 'gitlab-runner.env');
  const log = createLogger({ name: 'runnerops-dev', level: env.LOG_LEVEL ?? 'warn' });
  // Dev trusts itself: a bot key of its own, given to its worker, and that worker's fingerprint pinned.
  merged.RUNNEROPS_SIGNING_KEY ??= path.join(devDir, 'bot-signing-key');
  const { signer } = await loadOrCreateSigner(merged.RUNNEROPS_SIGNING_KEY);
  merged.RUNNEROPS_BOT_KEYS ??= signer.publicKey;
  merged.RUNNEROPS_API_SOCKET ??= path.join(devDir, 'api.sock');
  const workerSettings = readWorkerSettings(merged);
  const keys = await loadHostKeys(workerSettings.stateDir);
  merged.RUNNEROPS_ENROLLED_HOSTS ??= `${workerSettings.host}=${keys.hostFingerprint}`;
  const worker = await startWorker({ settings: workerSettings, log, keys });
  io.write(`worker for host "${workerSettings.host}" is running (key ${keys.hostFingerprint}, enrolled for this dev stack)`);
  const botSettings = readBotSettings(merged);
  const trust = await loadBotTrust(botSettings);
  const mode = slackMode(botSettings);
  const policy = botSettings.policyPath ? await loadPolicy(botSettings.policyPath) : DEV_POLICY;
  const stopAll = async (extra?: () => Promise<void>) => {
    await extra?.();
    await worker.stop(5000);
    await redis?.stop();
  };
  if (mode === 'console') {
    const bot = await startBot({ settings: botSettings, policy, log, trust, commandPrefix: '/runner', members: async () => [], makeSurface: () => createConsoleSurface(io.write) });
    await runConsole(bot.core, io.input, io.write);
    await stopAll(() => bot.stop());
    return;
  }
  const slack = createSlackApp(botSettings, mode, log);
  const client = slack.app.client as WebClient;
  const bot = await startBot({
    settings: botSettings,
    policy,
    log,
    trust,
    members: cachedGroupMembers(client),
    makeSurface: (core) => createSlackSurface({ client, redis: core.redis, prefix: core.prefix, approvals: core.approvals, log }),
  });
  registerHandlers(slack.app, bot.core);
  await slack.start();
  io.write(`bot connected to Slack (${mode} mode); Ctrl-C stops everything`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stopAll(async () => {
    await slack.stop();
    await bot.stop();
  });
}
