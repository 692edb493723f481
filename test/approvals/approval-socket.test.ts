import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { policySchema } from '../../src/policy/schema.js';
import { APPROVE_ACTION } from '../../src/present/approval-blocks.js';
import { blockActionsPayload, slashCommandPayload } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';

const policy = policySchema.parse({
  roles: { ops: { users: ['U0SREQ'] }, approvers: { groups: ['S0APPROVERS'] } },
  verbs: { rotate: { request: ['ops'], approve: ['approvers'] } },
});
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'socket', hosts: ['sa-1'], policy });
  stack.slack.setUsergroup('S0APPROVERS', ['U0SAPP']);
});
afterAll(async () => stack?.stop());

describe('approvals over Socket Mode', () => {
  it('approves through an interactive envelope by a member of the approvers user group', async () => {
    await stack.slack.sendEnvelope('slash_commands', slashCommandPayload({ text: 'rotate sa-1', user_id: 'U0SREQ', channel_id: 'C0SOPS' }));
    await stack.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.params.blocks).includes(APPROVE_ACTION));
    const [approval] = await createApprovalStore(stack.redis, stack.prefix).pending();
    const message = stack.slack.messages.find((m) => JSON.stringify(m.blocks).includes(approval!.id))!;
    await stack.slack.sendEnvelope(
      'interactive',
      blockActionsPayload({
        action_id: APPROVE_ACTION,
        user_id: 'U0SAPP',
        channel_id: message.channel,
        message,
        value: approval!.id,
        block_id: `approval-${approval!.id}`,
      }),
    );
    const store = createApprovalStore(stack.redis, stack.prefix);
    await until(async () => ['running', 'done', 'failed'].includes((await store.get(approval!.id))!.state), 8000, 'approval queued');
    expect(stack.slack.calls('usergroups.users.list').map((c) => c.params.usergroup)).toContain('S0APPROVERS');
  });
});
