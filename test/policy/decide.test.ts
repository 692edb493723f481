import { describe, expect, it } from 'vitest';
import { decide, mayApprove } from '../../src/policy/decide.js';
import { EMPTY_POLICY } from '../../src/policy/load-policy.js';
import { policySchema } from '../../src/policy/schema.js';

const policy = policySchema.parse({
  roles: {
    operators: { users: ['U0OP'], groups: ['S0OPS'] },
    approvers: { users: ['U0AP', 'U0OP'] },
  },
  verbs: {
    prune: { run: ['operators'], channels: ['C0OPS'] },
    rotate: { request: ['operators'], approve: ['approvers'] },
    register: { run: ['operators'], approve: ['approvers'] },
  },
});
const groups: Record<string, string[]> = { S0OPS: ['U0GROUPMEMBER'] };
const members = async (id: string) => groups[id] ?? [];

describe('decide', () => {
  it('always asks for an approval to unregister or clean up runners, but not for their dry runs', async () => {
    const runners = policySchema.parse({
      roles: policy.roles,
      verbs: { unregister: { request: ['operators'], approve: ['approvers'] }, 'cleanup-stale': { run: ['operators'] } },
    });
    expect(await decide(runners, 'unregister', 'U0OP', 'C0OPS', members)).toEqual({ outcome: 'request', approvers: ['approvers'] });
    expect(await decide(runners, 'unregister', 'U0OP', 'C0OPS', members, { dryRun: true })).toEqual({ outcome: 'run' });
    expect(await decide(runners, 'cleanup-stale', 'U0OP', 'C0OPS', members)).toMatchObject({
      outcome: 'deny',
      reason: 'cleanup-stale needs an approval but the policy names no approver role (add verbs.cleanup-stale.approve)',
    });
    expect(await decide(runners, 'cleanup-stale', 'U0OP', 'C0OPS', members, { dryRun: true })).toEqual({ outcome: 'run' });
    expect(await decide(runners, 'unregister', 'U0NOBODY', 'C0OPS', members, { dryRun: true })).toMatchObject({ outcome: 'deny' });
  });

  it('lets everyone run read-only verbs without a policy', async () => {
    expect(await decide(EMPTY_POLICY, 'hosts', 'U0ANY', 'C0ANY', members)).toEqual({ outcome: 'run' });
  });

  it('lets nobody run mutating verbs without a policy and says how to allow them', async () => {
    const decision = await decide(EMPTY_POLICY, 'prune', 'U0ANY', 'C0ANY', members);
    expect(decision).toEqual({ outcome: 'deny', reason: expect.stringContaining('RUNNEROPS_POLICY') });
  });

  it('treats gc as prune: nobody without a grant, a second person when the policy says approve', async () => {
    expect(await decide(EMPTY_POLICY, 'gc', 'U0ANY', 'C0ANY', members)).toEqual({ outcome: 'deny', reason: expect.stringContaining('verbs.gc.run') });
    const gated = policySchema.parse({ roles: policy.roles, verbs: { gc: { run: ['operators'], approve: ['approvers'] } } });
    expect(await decide(gated, 'gc', 'U0OP', undefined, members)).toEqual({ outcome: 'request', approvers: ['approvers'] });
  });

  it('grants a verb through a user group', async () => {
    expect(await decide(policy, 'prune', 'U0GROUPMEMBER', 'C0OPS', members)).toEqual({ outcome: 'run' });
  });

  it('names the role that would be needed', async () => {
    expect(await decide(policy, 'prune', 'U0STRANGER', 'C0OPS', members)).toEqual({
      outcome: 'deny',
      reason: 'you may not run prune: it needs the role "operators"',
    });
  });

  it('refuses a verb outside its channels', async () => {
    expect(await decide(policy, 'prune', 'U0OP', 'C0OTHER', members)).toMatchObject({
      outcome: 'deny',
      reason: expect.stringContaining('not allowed in this channel'),
    });
  });

  it('turns a rotation into an approval request', async () => {
    expect(await decide(policy, 'rotate', 'U0OP', 'C0ANY', members)).toEqual({ outcome: 'request', approvers: ['approvers'] });
  });

  it('requires an approval for any verb the policy marks', async () => {
    expect(await decide(policy, 'register', 'U0OP', 'C0ANY', members)).toEqual({ outcome: 'request', approvers: ['approvers'] });
  });
});

describe('mayApprove', () => {
  it('refuses an approval from the requester even when they are an approver', async () => {
    expect(await mayApprove(policy, 'rotate', 'U0OP', 'U0OP', members)).toEqual({
      ok: false,
      reason: 'you asked for this yourself; someone else must approve it',
    });
  });

  it('refuses someone without the approver role', async () => {
    expect(await mayApprove(policy, 'rotate', 'U0GROUPMEMBER', 'U0OP', members)).toEqual({ ok: false, reason: 'approving rotate needs the role "approvers"' });
  });

  it('accepts an approver who is not the requester', async () => {
    expect(await mayApprove(policy, 'rotate', 'U0AP', 'U0OP', members)).toEqual({ ok: true });
  });
});
