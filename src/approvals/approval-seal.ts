import { createHash } from 'node:crypto';
import { canonicalJson } from '../queue/canonical-json.js';
import { SignatureError, signDocument, verifyDocument, type Signed } from '../queue/signed.js';
import type { KeyRing, Signer } from '../queue/signing-keys.js';
import type { Approval } from './approval-store.js';

export type { FrozenPlan } from './approval-store.js';

/** The parts of an approval a person saw and decided on; any change to them changes the hash. */
function boundFields(approval: Pick<Approval, 'id' | 'text' | 'request' | 'requester' | 'approvers' | 'plan' | 'createdAt' | 'expiresAt'>) {
  const { id, text, request, requester, approvers, plan, createdAt, expiresAt } = approval;
  return { id, text, request, requester, approvers, plan, createdAt, expiresAt };
}

export function requestHashOf(approval: Parameters<typeof boundFields>[0]): string {
  return createHash('sha256')
    .update(canonicalJson(boundFields(approval)))
    .digest('hex');
}

/** Signed at request time: binds the approval id to the hash of what was asked. */
export function sealApproval(signer: Signer, approval: Parameters<typeof boundFields>[0]): Signed<{ id: string; requestHash: string }> {
  return signDocument(signer, 'approval', { id: approval.id, requestHash: requestHashOf(approval) });
}

/** Signed when a person approved: who, when, for which request. */
export function sealDecision(
  signer: Signer,
  approval: Approval,
  decidedBy: string,
  decidedAt: number,
): Signed<{ id: string; requestHash: string; decidedBy: string; decidedAt: number }> {
  return signDocument(signer, 'decision', { id: approval.id, requestHash: requestHashOf(approval), decidedBy, decidedAt });
}

/**
 * Checks an approval read from Redis against its seal: the request, plan, requester, approvers and
 * expiry are what the bot sealed. Returns the request hash; throws SignatureError when anything changed.
 */
export function verifyApproval(approval: Approval, ring: KeyRing): string {
  const { body } = verifyDocument<{ id: string; requestHash: string }>(approval.seal, 'approval', ring);
  const hash = requestHashOf(approval);
  if (body.id !== approval.id || body.requestHash !== hash) throw new SignatureError(`approval ${approval.id} was changed after it was requested`);
  return hash;
}

/** Checks the recorded decision (after a restart, the approver is read back from Redis). */
export function verifyDecision(approval: Approval, ring: KeyRing): { decidedBy: string; requestHash: string } {
  const requestHash = verifyApproval(approval, ring);
  const { body } = verifyDocument<{ id: string; requestHash: string; decidedBy: string; decidedAt: number }>(approval.decisionSeal, 'decision', ring);
  if (body.id !== approval.id || body.requestHash !== requestHash || body.decidedBy !== approval.decidedBy) {
    throw new SignatureError(`the decision on approval ${approval.id} was changed after it was made`);
  }
  return { decidedBy: body.decidedBy, requestHash };
}
