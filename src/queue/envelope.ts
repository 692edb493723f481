import { randomBytes } from 'node:crypto';
import type { Requester } from './command-record.js';
import { SignatureError, signDocument, verifyDocument, type Signed } from './signed.js';
import type { KeyRing, Signer } from './signing-keys.js';

/** An approval as the envelope carries it: which request, its hash, and the people who approved. */
export interface EnvelopeApproval {
  id: string;
  /** sha256 of the canonical approved request (approval-seal.ts). */
  requestHash: string;
  /** The people (policy `people:` names, or user ids) who approved it. */
  approvedBy: string[];
}

/** What the bot signs for every job: everything a worker needs to decide to run it, and nothing else. */
export interface EnvelopeBody {
  /** Unique per issued envelope: a worker runs one envelope to success at most once. */
  id: string;
  job: string;
  /** The queue it was issued for: `control` or `host.<name>`. */
  queue: string;
  /** The host the job is for (a control job's target host). */
  host: string;
  /** The BullMQ job id it must arrive under. */
  jobId: string;
  commandId: string;
  payload: unknown;
  requester: Pick<Requester, 'via' | 'user'>;
  approval?: EnvelopeApproval;
  /** A step of a control-plane command (its completion does not finish the host's row). */
  step?: boolean;
  issuedAt: number;
  expiresAt: number;
}

export type JobEnvelope = Signed<EnvelopeBody>;

/** Jobs a worker never runs without an approval in their envelope, whatever signed them. */
export const JOBS_NEEDING_APPROVAL: ReadonlySet<string> = new Set(['rotate-token', 'revive-runner-token', 'remove-runner']);

/** Jobs that need an approval unless their (signed) payload asks for a dry run, which changes nothing. */
export const JOBS_NEEDING_APPROVAL_UNLESS_DRY_RUN: ReadonlySet<string> = new Set(['unregister-runner', 'cleanup-stale-runners']);

/** Whether the job of `body` may run only with an approval in its envelope. */
export function needsApproval(body: Pick<EnvelopeBody, 'job' | 'payload'>): boolean {
  if (JOBS_NEEDING_APPROVAL.has(body.job)) return true;
  const dryRun = typeof body.payload === 'object' && body.payload !== null && (body.payload as { dryRun?: unknown }).dryRun === true;
  return JOBS_NEEDING_APPROVAL_UNLESS_DRY_RUN.has(body.job) && !dryRun;
}

/** Clocks of bot and hosts may differ this much. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** A job the bot did sign, taken after its expiry (a host that was down for long): not an attack. */
export class EnvelopeExpired extends SignatureError {
  override name = 'EnvelopeExpired';
  constructor(readonly body: EnvelopeBody) {
    super(`job expired at ${new Date(body.expiresAt).toISOString()}`);
  }
}

export function issueEnvelope(signer: Signer, body: Omit<EnvelopeBody, 'id'> & { id?: string }): JobEnvelope {
  return signDocument(signer, 'job', { ...body, id: body.id ?? randomBytes(12).toString('hex') });
}

/** What the receiving side expects of an envelope. */
export interface EnvelopeExpectation {
  queue: string;
  /** This worker's host; undefined for the control queue (any target host). */
  host?: string;
  jobName: string;
  jobId: string | undefined;
  /** Clock for issue and expiry checks; undefined skips them (reporting on a job that already ran). */
  now: number | undefined;
}

/**
 * Verifies an envelope read from a queue (untrusted input): signed by a key in `ring`, for this queue,
 * host, job name and job id, issued not in the future and not expired, and carrying an approval where
 * the job always needs one. Throws SignatureError with a one-line reason.
 */
export function verifyEnvelope(input: unknown, ring: KeyRing, expect: EnvelopeExpectation): EnvelopeBody {
  const { body } = verifyDocument<EnvelopeBody>(input, 'job', ring);
  if (body.queue !== expect.queue) throw new SignatureError(`job signed for queue ${String(body.queue)} arrived on ${expect.queue}`);
  if (expect.host !== undefined && body.host !== expect.host) throw new SignatureError(`job signed for host ${String(body.host)} arrived at ${expect.host}`);
  if (body.job !== expect.jobName) throw new SignatureError(`job signed as ${String(body.job)} queued as ${expect.jobName}`);
  if (body.jobId !== expect.jobId) throw new SignatureError(`job signed as ${String(body.jobId)} queued under id ${String(expect.jobId)}`);
  if (typeof body.issuedAt !== 'number' || typeof body.expiresAt !== 'number') throw new SignatureError('job without issue and expiry times');
  if (expect.now !== undefined && body.issuedAt > expect.now + CLOCK_SKEW_MS) throw new SignatureError('job issued in the future');
  if (expect.now !== undefined && body.expiresAt < expect.now) throw new EnvelopeExpired(body);
  if (needsApproval(body) && !(body.approval && body.approval.approvedBy.length > 0)) throw new SignatureError(`${body.job} without an approval`);
  if (typeof body.id !== 'string' || !/^[0-9a-f]{24}$/.test(body.id)) throw new SignatureError('job without a valid envelope id');
  return body;
}
