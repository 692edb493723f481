import { afterAll, describe, expect, it } from 'vitest';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { resumeStranded } from '../../src/approvals/decide-approval.js';
import { createAuditLog } from '../../src/audit/audit-log.js';
import { DEV_POLICY } from '../../src/dev/dev-policy.js';
import { createQueuePool } from '../../src/queue/queue-pool.js';
import { readCommand } from '../../src/queue/command-record.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { createSealedApproval, publishEnrolledHost, testBotSigner, testTrust } from '../helpers/test-trust.js';
import { sealDecision } from '../../src/approvals/approval-seal.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const queues = createQueuePool(redis, prefix);
const approvals = createApprovalStore(redis, prefix);
const deps = {
  redis,
  prefix,
  queues,
  approvals,
  policy: DEV_POLICY,
  members: async () => [],
  audit: createAuditLog(redis, prefix),
  trust: testTrust(),
  signer: testBotSigner,
};

afterAll(async () => {
  await queues.close();
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('resumeStranded', () => {
  it('queues an approval a stopped bot approved but never queued, once, and leaves fresh ones to their replica', async () => {
    const now = Date.now();
    await publishEnrolledHost(redis, prefix, {
      name: 'st-1',
      versions: { runnerops: '0' },
      labels: {},
      publicKey: null,
      startedAt: now,
      lastHeartbeat: now,
      heartbeatSeconds: 5,
    });
    const make = async () =>
      createSealedApproval(approvals, {
        text: 'rotate st-1',
        request: { verb: 'rotate', host: 'st-1' },
        requester: { via: 'console', user: 'dev' },
        approvers: ['approvers'],
        expiresAt: now + 60_000,
        plan: { kind: 'jobs', job: 'rotate-token', control: false, hosts: ['st-1'], payloads: { 'st-1': {} } },
      });
    const old = await make();
    const fresh = await make();
    await approvals.transition(old.id, ['pending'], 'approved', {
      decidedBy: 'alice',
      decidedAt: now - 60_000,
      decisionSeal: sealDecision(testBotSigner, old, 'alice', now - 60_000),
    });
    await approvals.transition(fresh.id, ['pending'], 'approved', {
      decidedBy: 'bob',
      decidedAt: now - 1000,
      decisionSeal: sealDecision(testBotSigner, fresh, 'bob', now - 1000),
    });
    const resumed = await resumeStranded(deps, now);
    expect(resumed.map((c) => c.approvalId)).toEqual([old.id]);
    expect((await approvals.get(old.id))!.state).toBe('running');
    expect((await approvals.get(fresh.id))!.state).toBe('approved');
    expect(await readCommand(redis, prefix, `ap-${old.id}`)).toMatchObject({ job: 'rotate-token', hosts: ['st-1'] });
    expect(await resumeStranded(deps, now)).toEqual([]);
  });
});
