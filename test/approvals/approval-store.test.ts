import { afterAll, describe, expect, it } from 'vitest';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { createSealedApproval } from '../helpers/test-trust.js';

const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const store = createApprovalStore(redis, prefix);
const input = () => ({
  text: 'rotate a',
  request: { verb: 'rotate' as const, host: 'a' },
  requester: { via: 'console' as const, user: 'dev' },
  approvers: ['approvers'],
  expiresAt: Date.now() + 60_000,
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('createApprovalStore', () => {
  it('lets exactly one of many concurrent transitions win', async () => {
    const approval = await createSealedApproval(store, input());
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.transition(approval.id, ['pending'], 'approved', { decidedBy: `U${i}` })));
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect((await store.get(approval.id))!.state).toBe('approved');
  });

  it('records the message location without undoing a decision taken meanwhile', async () => {
    const approval = await createSealedApproval(store, input());
    await store.transition(approval.id, ['pending'], 'denied', { decidedBy: 'U1' });
    await store.setMessage(approval.id, { channel: 'C1', ts: '1.2' });
    const after = (await store.get(approval.id))!;
    expect(after.state).toBe('denied');
    expect(after.message).toEqual({ channel: 'C1', ts: '1.2' });
  });

  it('lists a pending approval until it is decided', async () => {
    const approval = await createSealedApproval(store, input());
    expect((await store.pending()).map((a) => a.id)).toContain(approval.id);
    await store.transition(approval.id, ['pending'], 'expired');
    expect((await store.pending()).map((a) => a.id)).not.toContain(approval.id);
  });

  it('ignores ids that are not approval ids', async () => {
    expect(await store.get('../../etc')).toBeUndefined();
    expect(await store.transition('x*', ['pending'], 'approved')).toEqual({ changed: false });
  });
});
