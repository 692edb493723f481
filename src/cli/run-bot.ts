import type { WebClient } from '@slack/web-api';
import { startBot, type RunningBot } from '../bot/start-bot.js';
import { readBotSettings, slackMode } from '../config.js';
import { UserError } from '../errors.js';
import { createLogger } from '../logger.js';
import { loadPolicy } from '../policy/load-policy.js';
import type { Policy } from '../policy/schema.js';
import { checkRedis } from '../queue/check-redis.js';
import { startBotOps } from '../ops/start-process-ops.js';
import { classifyApiError } from '../ops/classify-api-error.js';
import { createRedis } from '../queue/redis.js';
import { createSlackApp } from '../slack/create-slack-app.js';
import { cachedGroupMembers } from '../slack/group-members.js';
import { registerHandlers } from '../slack/register-handlers.js';
import { createSlackWiring } from '../slack/create-slack-wiring.js';
import { loadBotTrust } from '../bot/load-bot-trust.js';

/** `runnerops bot`: the Bolt app (Socket Mode or HTTP) on top of the bot core. */
export async function runBot(env: Record<string, string | undefined>, options: { policy?: Policy; sweepMs?: number } = {}): Promise<{ bot: RunningBot; stop: () => Promise<void> }> {
  const settings = readBotSettings(env);
  const mode = slackMode(settings);
  if (mode === 'console') {
    throw new UserError('no Slack credentials: set SLACK_BOT_TOKEN plus SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP); to try runnerops without Slack run "runnerops dev"');
  }
  const trust = await loadBotTrust(settings);
  const log = createLogger({ name: 'runnerops-bot', level: settings.logLevel });
  const policy = options.policy ?? (await loadPolicy(settings.policyPath));
  if (!settings.policyPath && !options.policy) log.warn('no RUNNEROPS_POLICY: read-only verbs for everyone, mutating verbs for nobody (see docs/policy.md)');
  const probe = createRedis(settings);
  await checkRedis(probe, settings.redisUrl).finally(() => probe.disconnect());
  const slack = createSlackApp(settings, mode, log);
  const client = slack.app.client as WebClient;
  let countSlackError: (err: unknown) => void = () => undefined;
  const members = cachedGroupMembers(client);
  const wiring = createSlackWiring({
    client,
    members,
    log,
    onApiError: (err) => countSlackError(err),
    ...(policy.channels.reports ? { reportsChannel: policy.channels.reports } : {}),
  });
  const bot = await startBot({
    settings,
    policy,
    log,
    trust,
    members,
    ...(settings.auditFile ? { auditFile: settings.auditFile } : {}),
    ...(options.sweepMs ? { sweepMs: options.sweepMs } : {}),
    makeSurface: wiring.makeSurface,
  });
  const home = wiring.home();
  registerHandlers(slack.app, bot.core, { pacer: wiring.pacer, ...(home ? { home } : {}) });
  home?.start();
  const ops = await startBotOps({ settings, log, controlWorker: bot.control, refusals: bot.refusals, pendingApprovals: async () => (await bot.core.approvals.pending()).length });
  countSlackError = (err) => ops.metrics.countApiError('slack', classifyApiError(err));
  await slack.start();
  log.info({ mode, port: mode === 'http' ? settings.port : undefined }, 'bot started');
  return {
    bot,
    stop: async () => {
      home?.stop();
      await slack.stop().catch(() => undefined);
      await bot.stop();
      wiring.pacer.close();
      await ops.stop();
    },
  };
}
