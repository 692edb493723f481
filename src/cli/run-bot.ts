import { readBotSettings, slackMode } from '../config.js';
import { UserError } from '../errors.js';
import type { ErrorSink } from './install-error-sink.js';
import { createLogger } from '../logger.js';
import { loadPolicy } from '../policy/load-policy.js';
import type { Policy } from '../policy/schema.js';
import { checkRedis } from '../queue/check-redis.js';
import { createRedis } from '../queue/redis.js';
import { startSlackBot, type RunningSlackBot } from './start-slack-bot.js';
import { loadBotTrust } from '../bot/load-bot-trust.js';

/** `runnerops bot`: the Bolt app (Socket Mode or HTTP) on top of the bot core. */
export async function runBot(
  env: Record<string, string | undefined>,
  options: { policy?: Policy; sweepMs?: number; errorSink?: ErrorSink } = {},
): Promise<RunningSlackBot> {
  const settings = readBotSettings(env);
  const mode = slackMode(settings);
  if (mode === 'console') {
    throw new UserError(
      'no Slack credentials: set SLACK_BOT_TOKEN plus SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP); to try runnerops without Slack run "runnerops dev"',
    );
  }
  const trust = await loadBotTrust(settings);
  const log = createLogger({ name: 'runnerops-bot', level: settings.logLevel });
  options.errorSink?.attach(log);
  const policy = options.policy ?? (await loadPolicy(settings.policyPath));
  if (!settings.policyPath && !options.policy) log.warn('no RUNNEROPS_POLICY: read-only verbs for everyone, mutating verbs for nobody (see docs/policy.md)');
  const probe = createRedis(settings);
  await checkRedis(probe, settings.redisUrl).finally(() => probe.disconnect());
  const running = await startSlackBot({ settings, mode, policy, log, trust, ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}) });
  options.errorSink?.attach(log, (kind) => running.metrics.countProcessError(kind));
  log.info({ mode, port: mode === 'http' ? settings.port : undefined }, 'bot started');
  return running;
}
