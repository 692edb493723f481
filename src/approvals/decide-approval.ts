import type { AuditSink } from '../audit/audit-log.js';
import type { GroupMembers } from '../policy/decide.js';
import { mayApprove } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import type { CommandRecord } from '../queue/command-record.js';
import { enqueueCommand, type EnqueueDeps } from '../queue/enqueue.js';
import { listHosts } from '../queue/host-registry.js';
import { isQueueing, planJob } from '../verbs/plan-job.js';
import { commandIdFor, type Approval, type ApprovalStore } from './approval-store.js';

export interface ApprovalDeps extends EnqueueDeps {
  approvals: ApprovalStore;
  policy: Policy;
  members: GroupMembers;
  audit: AuditSink;
}

export type Decided = { ok: true; approval: Approval; command?: CommandRecord } | { ok: false; reason: string; approval?: Approval };

function closedReason(approval: Approval): string {
  switch (approval.state) {
    case 'expired':
      return 'this request has expired; ask again';
    case 'denied':
      return `this request was already denied${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}`;
    default:
      return `this request was already approved${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}`;
  }
}

/** Pending but past its expiry: expire it now (a late click changes nothing else). */
async function expireIfDue(deps: ApprovalDeps, approval: Approval, now: number): Promise<Approval | undefined> {
  if (approval.state !== 'pending' || now < approval.expiresAt) return undefined;
  const { approval: after } = await deps.approvals.transition(approval.id, ['pending'], 'expired');
  if (after?.state === 'expired') await deps.audit.append({ kind: 'approval', actor: 'runnerops', action: approval.text, approvalId: approval.id, outcome: 'expired' });
  return after;
}

/** Queues the approved command; its id is derived from the approval, so a second call adds nothing. */
export async function queueApproved(deps: ApprovalDeps, approval: Approval): Promise<CommandRecord> {
  const request = approval.request;
  if (!isQueueing(request)) throw new Error(`approval ${approval.id} holds a verb that queues nothing`);
  const plan = planJob(request, await listHosts(deps.redis, deps.prefix), deps.policy);
  const commandId = commandIdFor(approval.id);
  const command = await enqueueCommand(deps, {
    verb: request.verb,
    text: approval.text,
    requester: approval.requester,
    id: commandId,
    approvalId: approval.id,
    ...plan,
  });
  await deps.approvals.transition(approval.id, ['approved'], 'running', { commandId });
  return command;
}

/**
 * Approves a pending request as `user`: only an approver who is not the requester, before expiry, and
 * only once (the store's atomic transition decides between concurrent clicks).
 */
export async function approveRequest(deps: ApprovalDeps, approvalId: string, user: string, now = Date.now()): Promise<Decided> {
  const approval = await deps.approvals.get(approvalId);
  if (!approval) return { ok: false, reason: 'no such approval request (it may be older than 30 days)' };
  const expired = await expireIfDue(deps, approval, now);
  if (expired) return { ok: false, reason: closedReason(expired), approval: expired };
  if (approval.state !== 'pending') return { ok: false, reason: closedReason(approval), approval };
  const allowed = await mayApprove(deps.policy, approval.request.verb, user, approval.requester.user, deps.members);
  if (!allowed.ok) {
    await deps.audit.append({ kind: 'refused', actor: user, action: `approve ${approval.text}`, approvalId, outcome: allowed.reason });
    return { ok: false, reason: allowed.reason, approval };
  }
  const { changed, approval: after } = await deps.approvals.transition(approvalId, ['pending'], 'approved', { decidedBy: user, decidedAt: now });
  if (!changed || !after) return { ok: false, reason: after ? closedReason(after) : 'no such approval request', ...(after ? { approval: after } : {}) };
  await deps.audit.append({ kind: 'approval', actor: user, action: approval.text, approvalId, outcome: 'approved' });
  try {
    const command = await queueApproved(deps, after);
    return { ok: true, approval: { ...after, state: 'running', commandId: command.id }, command };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    await deps.approvals.transition(approvalId, ['approved'], 'failed', { outcome: `could not queue: ${reason}` });
    return { ok: false, reason: `approved, but the job could not be queued: ${reason}` };
  }
}

/** Denies a pending request: approvers may deny, and requesters may withdraw their own. */
export async function denyRequest(deps: ApprovalDeps, approvalId: string, user: string, reason: string | undefined, now = Date.now()): Promise<Decided> {
  const approval = await deps.approvals.get(approvalId);
  if (!approval) return { ok: false, reason: 'no such approval request' };
  const expired = await expireIfDue(deps, approval, now);
  if (expired) return { ok: false, reason: closedReason(expired), approval: expired };
  if (approval.state !== 'pending') return { ok: false, reason: closedReason(approval), approval };
  if (user !== approval.requester.user) {
    const allowed = await mayApprove(deps.policy, approval.request.verb, user, approval.requester.user, deps.members);
    if (!allowed.ok) return { ok: false, reason: allowed.reason.replace('approving', 'denying'), approval };
  }
  const why = reason?.trim() ? reason.trim().slice(0, 300) : user === approval.requester.user ? 'withdrawn by the requester' : 'no reason given';
  const { changed, approval: after } = await deps.approvals.transition(approvalId, ['pending'], 'denied', { decidedBy: user, decidedAt: now, reason: why });
  if (!changed || !after) return { ok: false, reason: after ? closedReason(after) : 'no such approval request' };
  await deps.audit.append({ kind: 'approval', actor: user, action: approval.text, approvalId, outcome: `denied: ${why}` });
  return { ok: true, approval: after };
}

/** Expires every overdue pending approval; returns the ones this call expired (to update their messages). */
export async function expireOverdue(deps: ApprovalDeps, now = Date.now()): Promise<Approval[]> {
  const expired: Approval[] = [];
  for (const id of await deps.approvals.overdue(now)) {
    const approval = await deps.approvals.get(id);
    if (!approval) continue;
    const after = await expireIfDue(deps, approval, now);
    if (after?.state === 'expired') expired.push(after);
  }
  return expired;
}

/**
 * After a restart: queue approvals that were approved but not yet queued. Only those approved more than
 * `graceMs` ago: a younger one is probably being queued by a live replica right now (and would be
 * harmless anyway: the command id is derived from the approval, so BullMQ adds its job once).
 */
export async function resumeStranded(deps: ApprovalDeps, now = Date.now(), graceMs = 30_000): Promise<CommandRecord[]> {
  const resumed: CommandRecord[] = [];
  for (const approval of await deps.approvals.stranded()) {
    if (now - (approval.decidedAt ?? 0) < graceMs) continue;
    resumed.push(await queueApproved(deps, approval));
  }
  return resumed;
}
