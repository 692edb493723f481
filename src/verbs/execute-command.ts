import type { Redis } from 'ioredis';
import type { ApprovalStore, Approval } from '../approvals/approval-store.js';
import type { AuditSink } from '../audit/audit-log.js';
import { parseCommand } from '../commands/parse.js';
import type { Request } from '../commands/requests.js';
import { parseDuration } from '../commands/duration.js';
import { describeError, UserError } from '../errors.js';
import { decide, type GroupMembers } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import { auditText } from '../present/audit.js';
import { helpText } from '../present/help.js';
import { hostsText } from '../present/hosts.js';
import { recentCommandsText } from '../present/commands.js';
import { cardAsText } from '../present/command-card.js';
import { cardFor } from './card-for.js';
import type { CommandRecord, Requester } from '../queue/command-record.js';
import { readCommand, readRows, recentCommandIds } from '../queue/command-record.js';
import { enqueueCommand } from '../queue/enqueue.js';
import { listTrustedHosts, type BotTrust } from '../queue/bot-trust.js';
import type { Signer } from '../queue/signing-keys.js';
import type { QueuePool } from '../queue/queue-pool.js';
import { freezePlan, isQueueing, planEnrolment, planJob, type PlanContext, type QueueingRequest } from './plan-job.js';
import type { StaleRunner } from '../clients/gitlab/stale-runners.js';
import { commandIdFor } from '../approvals/approval-store.js';
import { sealApproval } from '../approvals/approval-seal.js';

export interface ExecuteDeps {
  redis: Redis;
  prefix: string;
  queues: QueuePool;
  /** The bot's signing key and what it trusts: jobs are signed, hosts must be enrolled. */
  trust: BotTrust;
  signer: Signer;
  policy: Policy;
  audit: AuditSink;
  approvals: ApprovalStore;
  members: GroupMembers;
  /** How commands are written back to the user: "/runner" in Slack, "runnerops" in a terminal. */
  commandPrefix: string;
  /** Lists schedules with their next run (the bot's scheduler); absent where there is none. */
  listSchedules?: () => Promise<string>;
  /**
   * The runners `cleanup-stale` would delete (GitLab with the bot's token), read when it is requested so
   * the approval freezes that list; absent where the bot has no GitLab access.
   */
  findStaleRunners?: (cutoff: number) => Promise<StaleRunner[]>;
}

/** Runner ids an approval's text lists at most (the frozen plan holds them all, the card shows them all). */
const LISTED_IDS = 60;

/** `cleanup-stale ...: deletes 3 runners: #4, #9, #12` as the approver reads it. */
function cleanupText(text: string, stale: StaleRunner[]): string {
  const ids = stale.slice(0, LISTED_IDS).map((r) => `#${r.id}`).join(', ');
  const more = stale.length > LISTED_IDS ? ` and ${stale.length - LISTED_IDS} more (the dry run lists them all)` : '';
  return `${text}: deletes ${stale.length} runner${stale.length === 1 ? '' : 's'}: ${ids}${more}`;
}

/** A dry run changes nothing: one that would otherwise wait for an approval runs at once (decide). */
function isDryRun(request: Request): boolean {
  return (request.verb === 'unregister' || request.verb === 'cleanup-stale') && request.dryRun;
}

export type Reply =
  | { kind: 'text'; text: string; error?: boolean }
  | { kind: 'queued'; command: CommandRecord }
  | { kind: 'approval'; approval: Approval };

/** Normalised command text for cards and the audit log (the words as parsed, one space apart). */
export function commandLine(words: string | string[]): string {
  return (typeof words === 'string' ? words : words.join(' ')).trim().replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * Runs one command line for one person: parse, check the policy, then answer (read-only verbs),
 * queue jobs, or open an approval. Every outcome is audited; every failure is a one-line text reply.
 */
export async function executeCommand(deps: ExecuteDeps, input: string | string[], requester: Requester): Promise<Reply> {
  const text = commandLine(input);
  const actor = { actor: requester.user, ...(requester.channel ? { channel: requester.channel } : {}) };
  let request: Request;
  try {
    request = parseCommand(input);
  } catch (err) {
    const message = describeError(err);
    await deps.audit.append({ kind: 'refused', ...actor, action: text, outcome: `bad command: ${message}` });
    return { kind: 'text', text: message, error: true };
  }
  try {
    const decision = await decide(deps.policy, request.verb, requester.user, requester.channel, deps.members, { dryRun: isDryRun(request) });
    if (decision.outcome === 'deny') {
      await deps.audit.append({ kind: 'refused', ...actor, action: text, outcome: decision.reason });
      return { kind: 'text', text: decision.reason, error: true };
    }
    if (!isQueueing(request) && request.verb !== 'enroll') {
      return { kind: 'text', text: await answer(deps, request) };
    }
    const hosts = await listTrustedHosts(deps.redis, deps.prefix, deps.trust);
    const now = Date.now();
    const context: PlanContext = { requester: requester.user };
    if (request.verb === 'cleanup-stale' && !request.dryRun) {
      if (!deps.findStaleRunners) throw new UserError('the bot has no GitLab access: set GITLAB_URL and GITLAB_TOKEN');
      const cutoff = now - request.olderThanSeconds * 1000;
      context.stale = await deps.findStaleRunners(cutoff);
      if (context.stale.length === 0) {
        await deps.audit.append({ kind: 'command', ...actor, action: text, outcome: 'nothing to clean up' });
        return { kind: 'text', text: `no runner has been without contact since ${new Date(cutoff).toISOString().slice(0, 10)}: nothing to clean up` };
      }
    }
    if (decision.outcome === 'request') {
      // The plan is frozen now and sealed with the request: what the approver sees is what runs.
      const id = deps.approvals.newId();
      const jobs = request.verb === 'enroll' ? undefined : planJob(request, hosts, deps.policy, now, context);
      const plan = request.verb === 'enroll' ? planEnrolment(request, hosts) : freezePlan(jobs!, commandIdFor(id));
      const asked = context.stale ? cleanupText(text, context.stale) : jobs?.note ? `${text} (${jobs.note})` : text;
      const approval = await deps.approvals.create(
        {
          id,
          text: plan.kind === 'enrol' ? `enroll ${plan.host} --fingerprint ${plan.fingerprint}` : asked,
          request,
          requester,
          approvers: decision.approvers,
          plan,
          expiresAt: Date.now() + parseDuration(deps.policy.approvals.expiry, 'approvals.expiry') * 1000,
        },
        (unsealed) => sealApproval(deps.signer, unsealed),
      );
      await deps.audit.append({ kind: 'command', ...actor, action: approval.text, approvalId: approval.id, outcome: 'waiting for approval' });
      return { kind: 'approval', approval };
    }
    if (!isQueueing(request)) throw new UserError(`${request.verb} always needs an approval`);
    const plan = planJob(request, hosts, deps.policy, now, context);
    const command = await enqueueCommand(deps, { verb: request.verb, text, requester, ...plan });
    await deps.audit.append({ kind: 'command', ...actor, action: text, commandId: command.id, outcome: `queued on ${plan.hosts.length} host(s)` });
    return { kind: 'queued', command };
  } catch (err) {
    const message = describeError(err);
    await deps.audit.append({ kind: err instanceof UserError ? 'refused' : 'command', ...actor, action: text, outcome: message }).catch(() => undefined);
    return { kind: 'text', text: message, error: true };
  }
}

async function answer(deps: ExecuteDeps, request: Exclude<Request, QueueingRequest | { verb: 'enroll' }>): Promise<string> {
  switch (request.verb) {
    case 'help':
      return helpText(request.topic, deps.commandPrefix);
    case 'hosts':
      return hostsText(await listTrustedHosts(deps.redis, deps.prefix, deps.trust), {
        ...(request.filter ? { filter: request.filter } : {}),
        ...(request.page ? { page: request.page } : {}),
        commandPrefix: deps.commandPrefix,
        tokenWarnSeconds: parseDuration(deps.policy.tokenExpiry.warnWithin, 'tokenExpiry.warnWithin'),
      });
    case 'jobs': {
      const ids = await recentCommandIds(deps.redis, deps.prefix, request.limit);
      const commands = await Promise.all(ids.map(async (id) => ({ command: await readCommand(deps.redis, deps.prefix, id), rows: await readRows(deps.redis, deps.prefix, id) })));
      return recentCommandsText(commands.filter((c): c is { command: CommandRecord; rows: typeof c.rows } => c.command !== undefined));
    }
    case 'job': {
      const command = await readCommand(deps.redis, deps.prefix, request.id);
      if (!command) throw new UserError(`no job "${request.id}"; "${deps.commandPrefix} jobs" lists recent ones`);
      // With the job's own total (a one-host store report in full, the runners view...), as on the card.
      return cardAsText(cardFor(command, await readRows(deps.redis, deps.prefix, request.id)));
    }
    case 'audit':
      return auditText(await deps.audit.read(request.limit));
    case 'schedules':
      return deps.listSchedules ? deps.listSchedules() : 'no scheduler runs here; schedules are kept by "runnerops bot"';
  }
}
