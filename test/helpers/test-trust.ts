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
    await writeEnrolment(redis, prefix, testBotSigner, { host: entry.name, fingerprint: hostFingerprint(signer.publicKey, boxKey), by: 'test', at: Date.now() });
  }
  return signer;
}
