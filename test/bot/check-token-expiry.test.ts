import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTokenExpiry } from '../../src/bot/check-token-expiry.js';
import { findExpiringTokens } from '../../src/bot/find-expiring-tokens.js';
import { policySchema } from '../../src/policy/schema.js';
import { hostStatus, type HostEntry } from '../../src/queue/host-registry.js';
import { publishEnrolledHost } from '../helpers/test-trust.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { REQUEST_ROTATION_ACTION } from '../../src/present/token-expiry-blocks.js';
import { APPROVE_ACTION } from '../../src/present/approval-blocks.js';
import { readCommand, recentCommandIds } from '../../src/queue/command-record.js';
import { blockActionsBody, signedPost } from '../helpers/slack-requests.js';
import { until } from '../helpers/until.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { defined } from '../helpers/defined.js';

const now = Date.parse('2026-11-27T12:00:00Z');
const entry = (name: string, runners: HostEntry['runners']): HostEntry => ({
  name,
  versions: { runnerops: '0.1.0' },
  labels: {},
  publicKey: null,
  startedAt: now,
  lastHeartbeat: now,
  heartbeatSeconds: 5,
  runners,
});

describe('findExpiringTokens', () => {
  it('lists tokens inside the window, expired ones included, soonest first, and skips tokens that never expire', () => {
    const hosts = [
      hostStatus(
        entry('ci-1', [
          { name: 'nix', id: 11, tokenExpiresAt: '2026-11-30T12:00:00Z' },
          { name: 'forever', id: 12 },
        ]),
        now,
      ),
      hostStatus(
        entry('ci-2', [
          { name: 'old', id: 21, tokenExpiresAt: '2026-11-20T00:00:00Z' },
          { name: 'later', id: 22, tokenExpiresAt: '2027-01-30T00:00:00Z' },
        ]),
        now,
      ),
    ];
    const found = findExpiringTokens(hosts, now, 7 * 86400);
    expect(found.map((t) => `${t.host}/${t.runner}/${t.expired}`)).toEqual(['ci-2/old/true', 'ci-1/nix/false']);
  });
});

describe('checkTokenExpiry', () => {
  const policy = policySchema.parse({
    roles: { operators: { users: ['U0OPS'] }, approvers: { users: ['U0BOSS'] } },
    verbs: { rotate: { request: ['operators'], approve: ['approvers'] } },
    channels: { reports: 'C0REPORTS', approvals: 'C0APPROVALS' },
    tokenExpiry: { warnWithin: '7d' },
  });
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ mode: 'http', policy });
  });
  afterAll(async () => stack?.stop());

  it('posts expiring tokens with a Request rotation button that starts the approval flow', async () => {
    await publishEnrolledHost(stack.redis, stack.prefix, {
      ...entry('exp-1', [{ name: 'nix', id: 31, tokenExpiresAt: new Date(Date.now() + 2 * 86400_000).toISOString() }]),
      lastHeartbeat: Date.now(),
    });
    expect(await checkTokenExpiry(stack.bot.bot.core)).toBe(1);
    const warning = await stack.slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0REPORTS');
    expect(JSON.stringify(warning.params.blocks)).toContain('exp-1 / nix #31: expires in 48h');
    const message = stack.slack.messages.find((m) => m.channel === 'C0REPORTS')!;
    expect(JSON.stringify(message.blocks)).toContain('"value":"rotate exp-1 --runner 31"');
    await signedPost(
      stack.eventsUrl,
      blockActionsBody({ action_id: REQUEST_ROTATION_ACTION, user_id: 'U0OPS', channel_id: 'C0REPORTS', message, value: 'rotate exp-1 --runner 31' }),
      { secret: stack.signingSecret },
    );
    const approvalPost = await stack.slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0APPROVALS');
    expect(JSON.stringify(approvalPost.params.blocks)).toContain('rotate exp-1 --runner 31');
    const pending = await createApprovalStore(stack.redis, stack.prefix).pending();
    expect(pending.map((a) => a.requester.user)).toEqual(['U0OPS']);
  });

  it('turns the Request rotation of an EXPIRED token, once approved, into a revival through the bot instead of a rotation that can only fail', async () => {
    const expiredAt = new Date(Date.now() - 3600_000).toISOString();
    await publishEnrolledHost(stack.redis, stack.prefix, {
      ...entry('exp-2', [{ name: 'nix', id: 41, tokenExpiresAt: expiredAt }]),
      lastHeartbeat: Date.now(),
    });
    await checkTokenExpiry(stack.bot.bot.core);
    const warning = stack.slack.messages.filter((m) => m.channel === 'C0REPORTS').at(-1)!;
    expect(JSON.stringify(warning.blocks)).toContain('exp-2 / nix #41: *EXPIRED*');
    const approvalsBefore = stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').length;
    await signedPost(
      stack.eventsUrl,
      blockActionsBody({ action_id: REQUEST_ROTATION_ACTION, user_id: 'U0OPS', channel_id: 'C0REPORTS', message: warning, value: 'rotate exp-2 --runner 41' }),
      { secret: stack.signingSecret },
    );
    await until(async () => stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').length > approvalsBefore);
    const approvalMessage = stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').at(-1)!;
    const id = defined(/"value":"([0-9a-f]{12})"/.exec(JSON.stringify(approvalMessage.blocks))?.[1], 'an approval id in the message');
    await signedPost(
      stack.eventsUrl,
      blockActionsBody({
        action_id: APPROVE_ACTION,
        user_id: 'U0BOSS',
        channel_id: 'C0APPROVALS',
        message: approvalMessage,
        value: id,
        block_id: `approval-${id}`,
      }),
      {
        secret: stack.signingSecret,
      },
    );
    let job: string | undefined;
    await until(async () => {
      for (const commandId of await recentCommandIds(stack.redis, stack.prefix, 20)) {
        const command = await readCommand(stack.redis, stack.prefix, commandId);
        if (command?.approvalId === id) job = command.job;
      }
      return job !== undefined;
    });
    expect(job).toBe('revive-runner-token');
    const audit = await stack.bot.bot.core.audit.read(50);
    expect(
      audit.some((e) => e.action === 'token expiry check' && String(e.outcome).includes('rotate exp-2 --runner 41 (expired: revived through the bot)')),
    ).toBe(true);
  });

  it('posts nothing when no token is close to expiry', async () => {
    await stack.redis.del(`${stack.prefix}:hosts`, `${stack.prefix}:heartbeats`);
    const before = stack.slack.calls('chat.postMessage').length;
    expect(await checkTokenExpiry(stack.bot.bot.core)).toBe(0);
    expect(stack.slack.calls('chat.postMessage').length).toBe(before);
  });
});
