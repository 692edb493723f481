import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { BotTrust } from '../../src/queue/bot-trust.js';
import { writeEnrolment } from '../../src/queue/enrolment.js';
import { hostFingerprint } from '../../src/queue/host-fingerprint.js';
import { publishHost, type HostEntry } from '../../src/queue/host-registry.js';
import { generateSigner, loadOrCreateSigner, ringOf, type Signer } from '../../src/queue/signing-keys.js';
import type { HostKeys } from '../../src/secrets/host-keys.js';
import { issueEnvelope, type EnvelopeApproval } from '../../src/queue/envelope.js';
import type { JobData } from '../../src/queue/enqueue.js';
import { hostQueueName, jobIdFor } from '../../src/queue/names.js';
import type { Approval, ApprovalStore } from '../../src/approvals/approval-store.js';
import { sealApproval, type FrozenPlan } from '../../src/approvals/approval-seal.js';

/** This test process's bot key: a file for RUNNEROPS_SIGNING_KEY and its public key for RUNNEROPS_BOT_KEYS. */
export const TEST_BOT_KEY_FILE = path.join(os.tmpdir(), `runnerops-test-bot-key-${process.pid}-${randomBytes(4).toString('hex')}`);
export const testBotSigner: Signer = (await loadOrCreateSigner(TEST_BOT_KEY_FILE)).signer;
export const TEST_BOT_KEYS = testBotSigner.publicKey;

/** What a bot trusts in tests: the test bot key, and fingerprints pinned there (none by default). */
export function testTrust(pinned: Record<string, string> = {}): BotTrust {
  return { signer: testBotSigner, ring: ringOf(testBotSigner.publicKey), pinned: new Map(Object.entries(pinned)) };
}

/** Environment a test bot needs for its key. */
export const testBotKeyEnv = { RUNNEROPS_SIGNING_KEY: TEST_BOT_KEY_FILE, RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS };

/** Enrols a host whose keys are known (a worker's HostKeys), as an approved `enroll` would. */
export async function enrollKeys(redis: Redis, prefix: string, host: string, keys: Pick<HostKeys, 'hostFingerprint'>): Promise<void> {
  await writeEnrolment(redis, prefix, testBotSigner, { host, fingerprint: keys.hostFingerprint, by: 'test', at: Date.now() });
}

/**
 * Publishes a host entry signed by a fresh host key and enrols that key, as a started and enrolled
 * worker would have done; returns the host's signer.
 */
export async function publishEnrolledHost(redis: Redis, prefix: string, entry: HostEntry, options: { enroll?: boolean } = {}): Promise<Signer> {
  const signer = generateSigner();
  const boxKey = entry.publicKey ?? randomBytes(32).toString('base64');
  await publishHost(redis, prefix, signer, { ...entry, publicKey: boxKey });
  if (options.enroll !== false) {
    await writeEnrolment(redis, prefix, testBotSigner, {
      host: entry.name,
      fingerprint: hostFingerprint(signer.publicKey, boxKey),
      by: 'test',
      at: Date.now(),
    });
  }
  return signer;
}

/** Stores a pending request as the bot would: with its frozen plan and sealed with the test bot key. */
export async function createSealedApproval(
  store: ApprovalStore,
  input: Omit<Approval, 'id' | 'state' | 'createdAt' | 'seal' | 'plan'> & { plan?: FrozenPlan },
): Promise<Approval> {
  const id = store.newId();
  const plan: FrozenPlan = input.plan ?? { kind: 'jobs', job: 'rotate-token', control: false, hosts: ['a'], payloads: { a: { requestId: `ap-${id}` } } };
  return store.create({ ...input, id, plan }, (unsealed) => sealApproval(testBotSigner, unsealed));
}

/** A job as the bot queues it: signed envelope for `host`'s queue, and the job id it must carry. */
export function signedHostJob(
  host: string,
  job: string,
  payload: unknown,
  options: { commandId?: string; signer?: Signer; approval?: EnvelopeApproval; ttlMs?: number; now?: number } = {},
): { jobId: string; data: JobData } {
  const commandId = options.commandId ?? `c-${randomBytes(4).toString('hex')}`;
  const jobId = jobIdFor(commandId, host);
  const now = options.now ?? Date.now();
  const envelope = issueEnvelope(options.signer ?? testBotSigner, {
    job,
    queue: hostQueueName(host),
    host,
    jobId,
    commandId,
    payload,
    requester: { via: 'cli', user: 'cli:test' },
    ...(options.approval ? { approval: options.approval } : {}),
    issuedAt: now,
    expiresAt: now + (options.ttlMs ?? 10 * 60_000),
  });
  return { jobId, data: { commandId, envelope } };
}
