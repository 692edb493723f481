import { parseCommand } from '../commands/parse.js';
import type { Request } from '../commands/requests.js';
import { parseDuration } from '../commands/duration.js';
import { describeError, UserError } from '../errors.js';
import { decide } from '../policy/decide.js';
import { commandIdFor, type Approval } from '../approvals/approval-store.js';
import type { CommandRecord, Requester } from '../queue/command-record.js';
import { enqueueCommand } from '../queue/enqueue.js';
import { listTrustedHosts } from '../queue/bot-trust.js';
import { sealApproval } from '../approvals/approval-seal.js';
import type { ExecuteDeps } from './execute-deps.js';
import { freezePlan, type JobPlan, type PlanContext } from './plan-job.js';
import { grammarOf, rowOf } from './verb-table.js';

export type { ExecuteDeps } from './execute-deps.js';

/**
 * A dry run changes nothing: one of a verb that always needs an approval except for its dry run runs at
 * once (decide).
 */
function isDryRun(request: Request): boolean {
  return grammarOf(request.verb).approval === 'always unless dry run' && 'dryRun' in request && request.dryRun;
}

export type Reply = { kind: 'text'; text: string; error?: boolean } | { kind: 'queued'; command: CommandRecord } | { kind: 'approval'; approval: Approval };

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
    const row = rowOf(request.verb);
    if (row.kind === 'answer') return { kind: 'text', text: await row.answer(deps, request) };
    const hosts = await listTrustedHosts(deps.redis, deps.prefix, deps.trust);
    const now = Date.now();
    const context: PlanContext = { requester: requester.user };
    let approvalText: ((text: string) => string) | undefined;
    if (row.kind === 'jobs' && row.prepare) {
      const prepared = await row.prepare(deps, request, now);
      if (prepared.kind === 'nothing to do') {
        await deps.audit.append({ kind: 'command', ...actor, action: text, outcome: prepared.outcome });
        return { kind: 'text', text: prepared.text };
      }
      Object.assign(context, prepared.context);
      approvalText = prepared.approvalText;
    }
    if (decision.outcome === 'request') {
      // The plan is frozen now and sealed with the request: what the approver sees is what runs.
      const id = deps.approvals.newId();
      const frozen =
        row.kind === 'approval'
          ? row.freeze(request, hosts)
          : freezeJobs(row.plan(request, hosts, deps.policy, now, context), commandIdFor(id), text, approvalText);
      const approval = await deps.approvals.create(
        {
          id,
          text: frozen.text,
          request,
          requester,
          approvers: decision.approvers,
          plan: frozen.plan,
          expiresAt: Date.now() + parseDuration(deps.policy.approvals.expiry, 'approvals.expiry') * 1000,
        },
        (unsealed) => sealApproval(deps.signer, unsealed),
      );
      await deps.audit.append({ kind: 'command', ...actor, action: approval.text, approvalId: approval.id, outcome: 'waiting for approval' });
      return { kind: 'approval', approval };
    }
    if (row.kind !== 'jobs') throw new UserError(`${request.verb} always needs an approval`);
    const plan = row.plan(request, hosts, deps.policy, now, context);
    const command = await enqueueCommand(deps, { verb: request.verb, text, requester, ...plan });
    await deps.audit.append({ kind: 'command', ...actor, action: text, commandId: command.id, outcome: `queued on ${plan.hosts.length} host(s)` });
    return { kind: 'queued', command };
  } catch (err) {
    const message = describeError(err);
    await deps.audit.append({ kind: err instanceof UserError ? 'refused' : 'command', ...actor, action: text, outcome: message }).catch(() => undefined);
    return { kind: 'text', text: message, error: true };
  }
}

/** A job plan as an approval keeps it, with the text the approver reads (what the plan's note adds). */
function freezeJobs(jobs: JobPlan, commandId: string, text: string, approvalText: ((text: string) => string) | undefined) {
  return { plan: freezePlan(jobs, commandId), text: approvalText ? approvalText(text) : jobs.note ? `${text} (${jobs.note})` : text };
}
