import type { AuditSink } from '../audit/audit-log.js';
import type { GroupMembers } from '../policy/decide.js';
import { mayApprove, personOf } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import type { CommandRecord } from '../queue/command-record.js';
import { enqueueCommand, type EnqueueDeps } from '../queue/enqueue.js';
import type { BotTrust } from '../queue/bot-trust.js';
import { writeEnrolment } from '../queue/enrolment.js';
import { SignatureError } from '../queue/signed.js';
import { sealDecision, verifyApproval, verifyDecision } from './approval-seal.js';
import { commandIdFor, type Approval, type ApprovalStore } from './approval-store.js';

export interface ApprovalDeps extends EnqueueDeps {
  trust: BotTrust;
  /** Told when a stored approval does not match its seal (a security notice). */
  onTampered?: (approval: Approval, reason: string) => Promise<void>;
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
  if (after?.state === 'expired')
    await deps.audit.append({ kind: 'approval', actor: 'runnerops', action: approval.text, approvalId: approval.id, outcome: 'expired' });
  return after;
}

/**
 * Runs what an approved request froze, exactly: queues its jobs (the command id is derived from the
 * approval, so a second call adds nothing) with the request hash and approver in every envelope, or
 * writes the enrolment it names. The approval's seal and decision are checked first: a record someone
 * changed in Redis runs nothing. Returns the command, or undefined for an enrolment.
 */
export async function queueApproved(deps: ApprovalDeps, approval: Approval): Promise<CommandRecord | undefined> {
  const { decidedBy, requestHash } = verifyDecision(approval, deps.trust.ring);
  const plan = approval.plan;
  if (plan.kind === 'enrol') {
    await writeEnrolment(deps.redis, deps.prefix, deps.signer, {
      host: plan.host,
      fingerprint: plan.fingerprint,
      by: decidedBy,
      at: Date.now(),
      approvalId: approval.id,
    });
    await deps.audit.append({
      kind: 'enrolment',
      actor: decidedBy,
      action: approval.text,
      approvalId: approval.id,
      outcome: `${plan.host} enrolled with ${plan.fingerprint}`,
    });
    await deps.approvals.transition(approval.id, ['approved'], 'done', { outcome: `${plan.host} is enrolled (${plan.fingerprint})` });
    return undefined;
  }
  const commandId = commandIdFor(approval.id);
  const command = await enqueueCommand(deps, {
    verb: approval.request.verb,
    text: approval.text,
    requester: approval.requester,
    id: commandId,
    approvalId: approval.id,
    approval: { id: approval.id, requestHash, approvedBy: [personOf(deps.policy, decidedBy)] },
    job: plan.job,
    hosts: plan.hosts,
    control: plan.control,
    payloadFor: (host) => plan.payloads[host],
  });
  await deps.approvals.transition(approval.id, ['approved'], 'running', { commandId });
  return command;
}

/** A stored approval that does not match its seal: refused, marked failed and reported. */
async function refuseTampered(deps: ApprovalDeps, approval: Approval, err: SignatureError): Promise<Decided> {
  await deps.approvals.transition(approval.id, ['pending', 'approved'], 'failed', { outcome: 'refused: the stored request does not match what was approved' });
  await deps.audit.append({
    kind: 'security',
    actor: 'runnerops',
    action: `approve ${approval.id}`,
    approvalId: approval.id,
    outcome: `refused: ${err.message}`,
  });
  await deps.onTampered?.(approval, err.message);
  return { ok: false, reason: `refused: this request was changed after it was made (${err.message}); nothing ran, ask again` };
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
  try {
    verifyApproval(approval, deps.trust.ring);
  } catch (err) {
    if (err instanceof SignatureError) return refuseTampered(deps, approval, err);
    throw err;
  }
  const allowed = await mayApprove(deps.policy, approval.request.verb, user, approval.requester.user, deps.members);
  if (!allowed.ok) {
    await deps.audit.append({ kind: 'refused', actor: user, action: `approve ${approval.text}`, approvalId, outcome: allowed.reason });
    return { ok: false, reason: allowed.reason, approval };
  }
  const decisionSeal = sealDecision(deps.signer, approval, user, now);
  const { changed, approval: after } = await deps.approvals.transition(approvalId, ['pending'], 'approved', { decidedBy: user, decidedAt: now, decisionSeal });
  if (!changed || !after) return { ok: false, reason: after ? closedReason(after) : 'no such approval request', ...(after ? { approval: after } : {}) };
  await deps.audit.append({ kind: 'approval', actor: user, action: approval.text, approvalId, outcome: 'approved' });
  try {
    const command = await queueApproved(deps, after);
    if (!command) return { ok: true, approval: (await deps.approvals.get(approvalId)) ?? { ...after, state: 'done' } };
    return { ok: true, approval: { ...after, state: 'running', commandId: command.id }, command };
  } catch (err) {
    if (err instanceof SignatureError) return refuseTampered(deps, after, err);
    const reason = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
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
  if (personOf(deps.policy, user) !== personOf(deps.policy, approval.requester.user)) {
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
    try {
      const command = await queueApproved(deps, approval);
      if (command) resumed.push(command);
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      await refuseTampered(deps, approval, err);
    }
  }
  return resumed;
}
