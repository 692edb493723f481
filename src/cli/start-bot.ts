import { EventEmitter } from 'node:events';
import type { Gitlab } from '@gitbeaker/rest';
import type { Worker } from 'bullmq';
import type { JobData } from '../queue/enqueue.js';
import { createApprovalStore } from '../approvals/approval-store.js';
import { expireOverdue, resumeStranded } from '../approvals/decide-approval.js';
import { createAuditLog } from '../audit/audit-log.js';
import type { BotSettings } from '../config.js';
import type { Logger } from '../logger.js';
import type { GroupMembers } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import { startCommandWatcher } from '../queue/command-watcher.js';
import type { ConsumerCounts } from '../queue/consume-group.js';
import { createQueuePool } from '../queue/queue-pool.js';
import { createGitlabClient } from '../clients/gitlab/create-gitlab-client.js';
import { createStaleFinder } from '../bot/find-stale-for-approval.js';
import { createRedis } from '../queue/redis.js';
import type { BotCore } from '../bot/bot-core.js';
import { onCommandChange } from '../bot/on-command-change.js';
import { startControlWorker } from '../bot/start-control-worker.js';
import { runScheduledCommand } from '../schedule/run-scheduled-command.js';
import { startNoticeRelay } from '../schedule/start-notice-relay.js';
import { startScheduler } from '../schedule/start-scheduler.js';
import { publishWatchSettings } from '../queue/watch-settings.js';
import { checkTokenExpiry } from '../bot/check-token-expiry.js';
import { TOKEN_EXPIRY_SCHEDULE, withTokenExpirySchedule } from '../bot/token-expiry-schedule.js';
import type { Surface } from '../bot/surface.js';
import { createEventSigners, type BotTrust } from '../queue/bot-trust.js';
import { reportSecurity } from '../bot/report-security.js';
import { reportKeyChanges } from '../bot/report-key-changes.js';
import { forgetGoneHosts } from '../queue/host-registry.js';
import { startApi } from '../bot/start-api.js';

export interface BotDeps {
  settings: BotSettings;
  policy: Policy;
  log: Logger;
  /** The bot's signing key, accepted bot keys and pinned host fingerprints (loadBotTrust). */
  trust: BotTrust;
  /** Built from the core once it exists (Slack needs the approval store; the console prints). */
  makeSurface: (core: Omit<BotCore, 'surface' | 'members'>) => Surface;
  members: GroupMembers;
  /** How commands are written back to users. @defaultValue "/runner" */
  commandPrefix?: string;
  /** Audit mirror: a file path, "-" for stdout. @defaultValue none */
  auditFile?: string;
  /** GitLab client override (tests). */
  gitlab?: InstanceType<typeof Gitlab>;
  /** How often pending approvals are checked for expiry. @defaultValue 15 s */
  sweepMs?: number;
}

export interface RunningBot {
  core: BotCore;
  /** The control-plane worker (for metrics). */
  control: Worker<JobData>;
  /** Security refusals by kind (for /metrics). */
  refusals: Map<string, number>;
  /** What the stream consumers of this bot saw go wrong, per stream (for /metrics). */
  streams: () => Array<{ stream: string; counts: Readonly<ConsumerCounts> }>;
  stop: () => Promise<void>;
}

/**
 * Everything `runnerops bot` runs besides the Slack receiver: the control-plane worker, the job-card
 * watcher, the scheduler (policy schedules and the token-expiry check), the relay of workers' notices,
 * the approval sweep (expiry, requests made from a terminal) and recovery of approvals a previous run
 * left half done.
 */
export async function startBot(deps: BotDeps): Promise<RunningBot> {
  const { settings, log } = deps;
  const redis = createRedis(settings);
  const workerConnection = createRedis(settings, { blocking: true });
  const watcherConnection = createRedis(settings, { blocking: true });
  const queues = createQueuePool(redis, settings.prefix);
  const gitlab =
    deps.gitlab ?? (settings.gitlabUrl && settings.gitlabToken ? createGitlabClient({ url: settings.gitlabUrl, token: settings.gitlabToken }) : undefined);
  const base = {
    redis,
    prefix: settings.prefix,
    queues,
    trust: deps.trust,
    signer: deps.trust.signer,
    policy: deps.policy,
    log,
    audit: createAuditLog(redis, settings.prefix, deps.auditFile ? { file: deps.auditFile } : {}),
    approvals: createApprovalStore(redis, settings.prefix),
    commandPrefix: deps.commandPrefix ?? '/runner',
    retentionSeconds: settings.retentionSeconds,
    ...(gitlab && settings.gitlabUrl ? { findStaleRunners: createStaleFinder(gitlab, settings.gitlabUrl) } : {}),
  };
  const core: BotCore = { ...base, members: deps.members, surface: deps.makeSurface(base) };
  const refusals = new Map<string, number>();
  const rowEvents = new EventEmitter().setMaxListeners(0);
  core.rowsChanged = (commandId, timeoutMs) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        rowEvents.off(commandId, done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      rowEvents.on(commandId, done);
    });
  const security = { audit: core.audit, surface: core.surface, policy: deps.policy, log, refusals };
  core.onTampered = (approval, reason) => reportSecurity(security, 'tampered-approval', `approval ${approval.id} ("${approval.text}") was refused: ${reason}`);
  const signers = createEventSigners(redis, settings.prefix, deps.trust);
  const control = startControlWorker({
    redis,
    blocking: workerConnection,
    prefix: settings.prefix,
    queues,
    log,
    trust: deps.trust,
    signers,
    onRefused: (refusal) =>
      reportSecurity(security, 'refused-control-job', `the control plane refused a ${refusal.job} job (${refusal.reason}); it did not run`),
    gitlabUrl: settings.gitlabUrl,
    gitlabToken: settings.gitlabToken,
    ...(gitlab ? { gitlab } : {}),
  });
  await control.waitUntilReady();
  const watcher = startCommandWatcher({
    redis,
    blocking: watcherConnection,
    prefix: settings.prefix,
    log,
    signers,
    onRefused: (reason) => reportSecurity(security, 'refused-event', reason),
    onApplied: (ids) => ids.forEach((id) => rowEvents.emit(id)),
    onChange: (commandId) => onCommandChange(core, commandId),
    retentionSeconds: settings.retentionSeconds,
  });
  const schedulerConnection = createRedis(settings, { blocking: true });
  const noticeConnection = createRedis(settings, { blocking: true });
  await publishWatchSettings(redis, settings.prefix, deps.trust.signer, deps.policy);
  const scheduler = await startScheduler({
    redis,
    blocking: schedulerConnection,
    prefix: settings.prefix,
    policy: withTokenExpirySchedule(deps.policy),
    log: log.child({ part: 'scheduler' }),
    runScheduled: async (schedule, info) => {
      if (schedule.name === TOKEN_EXPIRY_SCHEDULE) await checkTokenExpiry(core);
      else await runScheduledCommand(core, schedule, info);
    },
  });
  core.listSchedules = scheduler.listSchedules;
  const relay = startNoticeRelay({
    redis,
    blocking: noticeConnection,
    prefix: settings.prefix,
    surface: core.surface,
    channel: deps.policy.channels.reports,
    securityChannel: deps.policy.channels.security,
    signers,
    onRefusal: (what) => refusals.set(what, (refusals.get(what) ?? 0) + 1),
    log,
    audit: core.audit,
  });
  const sweep = async () => {
    await reportKeyChanges(core, security);
    await forgetGoneHosts(redis, settings.prefix);
    for (const approval of await expireOverdue(core))
      await core.surface.updateApproval(approval).catch((err: unknown) => log.warn({ err }, 'could not mark an approval expired'));
  };
  const sweeper = setInterval(() => void sweep().catch((err: unknown) => log.warn({ err }, 'approval sweep failed')), deps.sweepMs ?? 15_000);
  for (const command of await resumeStranded(core)) log.info({ commandId: command.id }, 'queued an approved command a previous run had not queued');
  await sweep();
  const api = await startApi(core, settings.apiSocket, security).catch((err: unknown) => {
    log.warn(
      { err, socket: settings.apiSocket },
      `the terminal API could not listen on ${settings.apiSocket}; "runnerops <verb>" will not reach this bot (set RUNNEROPS_API_SOCKET)`,
    );
    return undefined;
  });
  return {
    core,
    control,
    refusals,
    streams: () => [
      { stream: 'events', counts: watcher.counts },
      { stream: 'notices', counts: relay.counts },
    ],
    stop: async () => {
      clearInterval(sweeper);
      await api?.stop();
      await relay.stop();
      await scheduler.stop();
      await watcher.stop();
      await control.close();
      await queues.close();
      await Promise.all([redis.quit(), workerConnection.quit(), schedulerConnection.quit()].map((p) => p.catch(() => undefined)));
    },
  };
}
