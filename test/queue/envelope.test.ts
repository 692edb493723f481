import { describe, expect, it } from 'vitest';
import { issueEnvelope, verifyEnvelope, type EnvelopeBody } from '../../src/queue/envelope.js';
import { generateSigner, ringOf } from '../../src/queue/signing-keys.js';

const body = (overrides: Partial<EnvelopeBody> = {}): Omit<EnvelopeBody, 'id'> => ({
  job: 'ping',
  queue: 'host.ci-1',
  host: 'ci-1',
  jobId: 'c1@ci-1',
  commandId: 'c1',
  payload: { sentAt: 1 },
  requester: { via: 'slack', user: 'U0OPS' },
  issuedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
  ...overrides,
});
const expect_ = { queue: 'host.ci-1', host: 'ci-1', jobName: 'ping', jobId: 'c1@ci-1', now: Date.now() };

describe('verifyEnvelope', () => {
  it('accepts the old and the new bot key during a rotation, and only the new one after it', () => {
    const old = generateSigner();
    const next = generateSigner();
    const during = ringOf(old.publicKey, next.publicKey);
    expect(verifyEnvelope(issueEnvelope(old, body()), during, expect_).host).toBe('ci-1');
    expect(verifyEnvelope(issueEnvelope(next, body()), during, expect_).host).toBe('ci-1');
    expect(() => verifyEnvelope(issueEnvelope(old, body()), ringOf(next.publicKey), expect_)).toThrow(/signed by unknown key/);
  });

  it('refuses a job issued more than the allowed clock skew in the future', () => {
    const signer = generateSigner();
    const future = issueEnvelope(signer, body({ issuedAt: Date.now() + 10 * 60_000, expiresAt: Date.now() + 20 * 60_000 }));
    expect(() => verifyEnvelope(future, ringOf(signer.publicKey), expect_)).toThrow('job issued in the future');
  });

  it('refuses a revival or rotation without an approval whoever signed it', () => {
    const signer = generateSigner();
    for (const job of ['rotate-token', 'revive-runner-token']) {
      const envelope = issueEnvelope(signer, body({ job }));
      expect(() => verifyEnvelope(envelope, ringOf(signer.publicKey), { ...expect_, jobName: job })).toThrow(`${job} without an approval`);
    }
  });

  it('refuses a host removing a runner without an approval, even with dryRun in its payload', () => {
    const signer = generateSigner();
    const envelope = issueEnvelope(signer, body({ job: 'remove-runner', payload: { runnerId: 7, runner: 'nix', dryRun: true } }));
    expect(() => verifyEnvelope(envelope, ringOf(signer.publicKey), { ...expect_, jobName: 'remove-runner' })).toThrow('remove-runner without an approval');
  });

  it('refuses an unregistration or stale cleanup without an approval, and lets their dry runs through', () => {
    const signer = generateSigner();
    const control = { ...expect_, queue: 'control', host: undefined };
    for (const [job, payload] of [
      ['unregister-runner', { host: 'ci-1', runnerId: 7, runner: 'nix' }],
      ['cleanup-stale-runners', { cutoff: 1 }],
    ] as const) {
      const real = issueEnvelope(signer, body({ job, queue: 'control', payload: { ...payload, dryRun: false } }));
      expect(() => verifyEnvelope(real, ringOf(signer.publicKey), { ...control, jobName: job })).toThrow(`${job} without an approval`);
      const dry = issueEnvelope(signer, body({ job, queue: 'control', payload: { ...payload, dryRun: true } }));
      expect(verifyEnvelope(dry, ringOf(signer.publicKey), { ...control, jobName: job }).job).toBe(job);
      const approved = issueEnvelope(
        signer,
        body({ job, queue: 'control', payload: { ...payload, dryRun: false }, approval: { id: 'a1', requestHash: '0'.repeat(64), approvedBy: ['alice'] } }),
      );
      expect(verifyEnvelope(approved, ringOf(signer.publicKey), { ...control, jobName: job }).job).toBe(job);
    }
  });
});
