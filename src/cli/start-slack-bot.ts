import type { WebClient } from '@slack/web-api';
import type { BotTrust } from '../queue/bot-trust.js';
import { startBot, type RunningBot } from './start-bot.js';
import type { BotSettings } from '../config.js';
import type { Logger } from '../logger.js';
import { classifyApiError } from '../ops/classify-api-error.js';
import type { Metrics } from '../ops/create-metrics.js';
import { startBotOps } from '../ops/start-process-ops.js';
import type { Policy } from '../policy/schema.js';
import { createSlackApp } from '../slack/create-slack-app.js';
import { createSlackWiring } from '../slack/create-slack-wiring.js';
import { cachedGroupMembers } from '../slack/group-members.js';
import { registerHandlers } from '../slack/register-handlers.js';

export interface SlackBotDeps {
  settings: BotSettings;
  mode: 'socket' | 'http';
  policy: Policy;
  log: Logger;
  trust: BotTrust;
  /** How often expired approvals are swept. @defaultValue startBot's (15 s) */
  sweepMs?: number;
}

export interface RunningSlackBot {
  bot: RunningBot;
  /** This process's metrics (served on /metrics when RUNNEROPS_METRICS_PORT is set). */
  metrics: Metrics;
  /** Stops Home refreshes, Slack, the bot core and /metrics, in that order. */
  stop: () => Promise<void>;
}

/**
 * The bot with Slack in front of it, as `runnerops bot` and `runnerops dev` (with Slack credentials)
 * both run it: the Bolt app, the wiring (paced calls, Home refreshes, the surface with the reports
 * channel), the bot core, the handlers, and /metrics counting every failed Slack call.
 */
export async function startSlackBot(deps: SlackBotDeps): Promise<RunningSlackBot> {
  const { settings, mode, policy, log } = deps;
  const slack = createSlackApp(settings, mode, log);
  const client = slack.app.client as WebClient;
  // Slack calls made before /metrics exists (none today) are not counted; the counter is set right below.
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
    trust: deps.trust,
    members,
    ...(settings.auditFile ? { auditFile: settings.auditFile } : {}),
    ...(deps.sweepMs ? { sweepMs: deps.sweepMs } : {}),
    makeSurface: wiring.makeSurface,
  });
  const home = wiring.home();
  registerHandlers(slack.app, bot.core, { pacer: wiring.pacer, ...(home ? { home } : {}) });
  home?.start();
  const ops = await startBotOps({
    settings,
    log,
    controlWorker: bot.control,
    refusals: bot.refusals,
    streamFailures: bot.streams,
    pendingApprovals: async () => (await bot.core.approvals.pending()).length,
  });
  countSlackError = (err) => ops.metrics.countApiError('slack', classifyApiError(err));
  await slack.start();
  return {
    bot,
    metrics: ops.metrics,
    stop: async () => {
      home?.stop();
      await slack.stop().catch(() => undefined);
      await bot.stop();
      wiring.pacer.close();
      await ops.stop();
    },
  };
}
