import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { destination } from 'pino';
import { startBot } from './start-bot.js';
import { readBotSettings, readWorkerSettings, slackMode } from '../config.js';
import { createConsoleSurface } from '../dev/console-surface.js';
import { runConsole } from '../dev/console.js';
import { DEMO_RUNNER, writeDemoRunnerConfig } from '../dev/demo-runner-config.js';
import { DEV_POLICY } from '../dev/dev-policy.js';
import { startRedis, type RunningRedis } from '../dev/start-redis.js';
import type { StandInGitlab } from '../dev/stand-in-gitlab.js';
import type { DemoNixDaemon } from '../dev/demo-nix-daemon.js';
import { describeError } from '../errors.js';
import type { ErrorSink } from './install-error-sink.js';
import { createLogger } from '../logger.js';
import { loadPolicy } from '../policy/load-policy.js';
import { loadHostKeys } from '../secrets/host-keys.js';
import { startSlackBot } from './start-slack-bot.js';
import { dockerFromSettings, startWorker } from '../worker/start-worker.js';
import { loadBotTrust } from '../bot/load-bot-trust.js';
import { loadOrCreateSigner } from '../queue/signing-keys.js';

export interface DevIo {
  input: NodeJS.ReadableStream;
  write: (line: string) => void;
  /** The process's error sink; it logs to the dev log file once that is open. @defaultValue none */
  errorSink?: ErrorSink;
}

/**
 * `runnerops dev`: the whole stack on one machine. Starts redis-server (when REDIS_URL is unset), a
 * local stand-in for GitLab with a demo runner in a temporary config.toml (when GITLAB_URL is unset),
 * a worker for this machine and the bot; without Slack credentials the bot is a console on stdin.
 * Logs go to a file; the console shows replies only. State lives under $TMPDIR/runnerops-dev.
 */
export async function runDev(env: Record<string, string | undefined>, io: DevIo): Promise<void> {
  const devDir = path.join(os.tmpdir(), 'runnerops-dev');
  await mkdir(devDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(devDir, 'runnerops-dev.log');
  const log = createLogger({ name: 'runnerops-dev', level: env.LOG_LEVEL ?? 'info', destination: destination({ dest: logFile, mkdir: true, sync: true }) });
  io.errorSink?.attach(log);
  const merged: Record<string, string | undefined> = { ...env };
  const started: string[] = [];
  let redis: RunningRedis | undefined;
  let gitlab: StandInGitlab | undefined;
  let daemon: DemoNixDaemon | undefined;
  const stopAll = async (extra?: () => Promise<void>) => {
    await extra?.();
    await daemon?.stop();
    await gitlab?.close();
    await redis?.stop();
  };
  try {
    if (!env.REDIS_URL) {
      redis = await startRedis();
      merged.REDIS_URL = redis.url;
      started.push(`Redis: started redis-server on ${redis.url}, data in ${redis.dir} (set REDIS_URL to use yours)`);
    }
    merged.RUNNEROPS_STATE_DIR ??= path.join(devDir, 'state');
    merged.RUNNEROPS_ENV_FILE ??= path.join(devDir, 'gitlab-runner.env');
    const ownConfig = !env.GITLAB_RUNNER_CONFIG;
    merged.GITLAB_RUNNER_CONFIG ??= path.join(devDir, 'gitlab-runner', 'config.toml');
    if (!env.GITLAB_URL) {
      // Loaded only here, so `runnerops bot` and `worker` never load the stand-in.
      const { STAND_IN_LABEL, startStandInGitlab } = await import('../dev/stand-in-gitlab.js');
      gitlab = await startStandInGitlab();
      merged.GITLAB_URL = gitlab.url;
      merged.GITLAB_TOKEN = gitlab.adminToken;
      started.push(
        `GitLab: ${STAND_IN_LABEL} at ${gitlab.url}; set GITLAB_URL and GITLAB_TOKEN (scope create_runner + manage_runner, or api) to use a real one`,
      );
      if (ownConfig) {
        await writeDemoRunnerConfig(merged.GITLAB_RUNNER_CONFIG, { url: gitlab.url, ...gitlab.demoRunner });
        started.push(`demo runner "${DEMO_RUNNER}" in the temporary ${merged.GITLAB_RUNNER_CONFIG} (set GITLAB_RUNNER_CONFIG to use a real config.toml)`);
      }
    } else {
      started.push(`GitLab: ${env.GITLAB_URL}`);
    }
    if (!env.NIX_DAEMON_CONTAINER) {
      const { demoDaemonName, startDemoNixDaemon } = await import('../dev/demo-nix-daemon.js');
      const dockerHost = merged.DOCKER_HOST;
      try {
        daemon = await startDemoNixDaemon(dockerFromSettings({ dockerHost }), dockerHost, demoDaemonName(devDir));
        merged.NIX_DAEMON_CONTAINER = daemon.name;
        started.push(`nix-daemon: a demo container "${daemon.name}" running Debian's nix-daemon, removed at exit (NIX_DAEMON_CONTAINER names your gitlabnix)`);
      } catch (err) {
        log.warn({ err }, 'no demo nix-daemon container');
        started.push(`nix-daemon: none (Docker could not start the demo container: ${describeError(err)}); restart-daemon needs NIX_DAEMON_CONTAINER`);
      }
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  // Dev trusts itself: a bot key of its own, given to its worker, and that worker's fingerprint pinned.
  merged.RUNNEROPS_SIGNING_KEY ??= path.join(devDir, 'bot-signing-key');
  const { signer } = await loadOrCreateSigner(merged.RUNNEROPS_SIGNING_KEY);
  merged.RUNNEROPS_BOT_KEYS ??= signer.publicKey;
  merged.RUNNEROPS_API_SOCKET ??= path.join(devDir, 'api.sock');
  const workerSettings = readWorkerSettings(merged);
  const keys = await loadHostKeys(workerSettings.stateDir);
  merged.RUNNEROPS_ENROLLED_HOSTS ??= `${workerSettings.host}=${keys.hostFingerprint}`;
  const worker = await startWorker({ settings: workerSettings, log, keys });
  started.push(`host key: ${keys.hostFingerprint}, enrolled for this dev stack (a real bot enrols hosts after a person compares the fingerprint)`);
  const botSettings = readBotSettings(merged);
  const trust = await loadBotTrust(botSettings);
  const mode = slackMode(botSettings);
  const policy = botSettings.policyPath ? await loadPolicy(botSettings.policyPath) : DEV_POLICY;
  const stopWorkerToo = async (extra: () => Promise<void>) =>
    stopAll(async () => {
      await extra();
      await worker.stop(5000);
    });
  const host = workerSettings.host;
  io.write(`runnerops dev: a worker for host "${host}" and the bot; logs in ${logFile}`);
  for (const line of started) io.write(`  ${line}`);

  if (mode === 'console') {
    io.write('  Slack: none, this console stands in for it; set SLACK_BOT_TOKEN and SLACK_APP_TOKEN to connect to your workspace (Socket Mode)');
    io.write(
      `  try: hosts | ping ${host} | store ${host} | prune ${host} --dry-run | rotate ${host}, then "as alice approve <id>" | register ${host} --type instance | help`,
    );
    const bot = await startBot({
      settings: botSettings,
      policy,
      log,
      trust,
      commandPrefix: '/runner',
      members: async () => [],
      makeSurface: () => createConsoleSurface(io.write),
    });
    await runConsole(bot.core, io.input, io.write);
    await stopWorkerToo(() => bot.stop());
    return;
  }
  const slack = await startSlackBot({ settings: botSettings, mode, policy, log, trust });
  io.errorSink?.attach(log, (kind) => slack.metrics.countProcessError(kind));
  io.write(`  Slack: connected (${mode} mode); type /runner help there. Ctrl-C stops everything`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stopWorkerToo(() => slack.stop());
}
