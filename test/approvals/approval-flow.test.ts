import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { APPROVE_ACTION, DENY_ACTION } from '../../src/present/approval-blocks.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { createAuditLog } from '../../src/audit/audit-log.js';
import { policySchema } from '../../src/policy/schema.js';
import { hostQueueName } from '../../src/queue/names.js';
import type { FakeMessage } from '../fakes/slack/state.js';
import { blockActionsBody, signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';
import { defined } from '../helpers/defined.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0REQ', 'U0APP'] }, approvers: { users: ['U0APP', 'U0APP2'] } },
  verbs: { rotate: { request: ['operators'], approve: ['approvers'] } },
  channels: { approvals: 'C0APPROVALS' },
  approvals: { expiry: '3s' },
});

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['ap-1'], policy, sweepMs: 500 });
});
afterAll(async () => stack?.stop());

async function requestRotation(user = 'U0REQ'): Promise<{ id: string; message: FakeMessage }> {
  const before = stack.slack.messages.length;
  await signedPost(stack.eventsUrl, slashCommandBody({ text: 'rotate ap-1 --runner nix', user_id: user, channel_id: 'C0OPS' }), {
    secret: stack.signingSecret,
  });
  await stack.slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0APPROVALS' && stack.slack.messages.length > before);
  const message = stack.slack.messages.filter((m) => m.channel === 'C0APPROVALS').at(-1)!;
  const id = defined(/"value":"([0-9a-f]{12})"/.exec(JSON.stringify(message.blocks))?.[1], 'an approval id in the message');
  approvalIds.set(message.ts, id);
  return { id, message };
}

/** A click on the approval's button as first posted (the message object follows later updates). */
function click(action: string, user: string, message: FakeMessage, url = stack.eventsUrl): Promise<Response> {
  const value = approvalIds.get(message.ts)!;
  return signedPost(url, blockActionsBody({ action_id: action, user_id: user, channel_id: 'C0APPROVALS', message, value, block_id: `approval-${value}` }), {
    secret: stack.signingSecret,
  });
}

const approvalIds = new Map<string, string>();

/** A view_submission of the deny modal, as Slack sends it when the user presses "Deny" in it. */
function submitDenyReason(view: Record<string, unknown>, user: string, reason: string): Promise<Response> {
  const payload = {
    type: 'view_submission',
    team: { id: 'T0RUNNEROPS', domain: 'runnerops-test' },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0RUNNEROPS' },
    api_app_id: 'A0RUNNEROPS',
    token: 'verification-token-unused',
    trigger_id: '6208112345999.1000000002.1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
    view: { ...view, id: 'V0DENY', state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } } },
    response_urls: [],
    is_enterprise_install: false,
  };
  return signedPost(stack.eventsUrl, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { secret: stack.signingSecret });
}

async function jobsOnHost(): Promise<number> {
  const queue = new Queue(hostQueueName('ap-1'), { connection: stack.redis, prefix: stack.prefix });
  const counts = await queue.getJobCounts('wait', 'active', 'completed', 'failed', 'delayed');
  await queue.close();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function stateOf(id: string): Promise<string | undefined> {
  return (await createApprovalStore(stack.redis, stack.prefix).get(id))?.state;
}

describe('approvals in Slack', () => {
  it('posts the request with Approve and Deny buttons and tells the requester privately', async () => {
    const { message } = await requestRotation();
    const blocks = JSON.stringify(message.blocks);
    expect(blocks).toContain('asks to run `rotate ap-1 --runner nix` on *ap-1*');
    expect(blocks).toContain('"style":"primary"');
    expect(blocks).toContain('"confirm"');
    expect(blocks).toContain('Expires');
    const note = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0REQ' && String(c.params.text).includes('waiting for approval'));
    expect(note.params.channel).toBe('C0OPS');
  });

  it('refuses self-approval privately and changes nothing', async () => {
    const { id, message } = await requestRotation();
    const jobs = await jobsOnHost();
    await click(APPROVE_ACTION, 'U0REQ', message);
    await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0REQ' && String(c.params.text).includes('someone else must approve'));
    expect(await stateOf(id)).toBe('pending');
    expect(await jobsOnHost()).toBe(jobs);
  });

  it('refuses a Deny from someone without the approver role in the modal, before asking why', async () => {
    const { id, message } = await requestRotation();
    await click(DENY_ACTION, 'U0NOBODY', message);
    // The modal opens at once (the trigger id lives 3 s); the refusal then replaces its content.
    const refused = await stack.slack.waitFor('views.update', (c) => JSON.stringify(c.params.view).includes('denying rotate needs the role'));
    expect(JSON.stringify(refused.params.view)).not.toContain('"submit"');
    expect(await stateOf(id)).toBe('pending');
  });

  it('refuses a user without the approver role and names the role', async () => {
    const { id, message } = await requestRotation();
    await click(APPROVE_ACTION, 'U0STRANGER', message);
    const note = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0STRANGER');
    expect(note.params.text).toBe('approving rotate needs the role "approvers"');
    expect(await stateOf(id)).toBe('pending');
  });

  it('runs the job exactly once when two approvers click at the same time on two bot replicas', async () => {
    const { id, message } = await requestRotation();
    const jobs = await jobsOnHost();
    const other = await stack.startAnotherBot();
    try {
      await Promise.all([
        click(APPROVE_ACTION, 'U0APP', message),
        click(APPROVE_ACTION, 'U0APP2', message, other.eventsUrl),
        click(APPROVE_ACTION, 'U0APP', message, other.eventsUrl),
      ]);
      await until(async () => ['running', 'done', 'failed'].includes((await stateOf(id)) ?? ''));
      // The other two clicks are answered with a refusal once they lost: then none of them can queue a job.
      const refusals = () => stack.slack.calls('chat.postEphemeral').filter((c) => String(c.params.text).includes('already approved'));
      await until(async () => refusals().length >= 2, 10_000, 'both losing clicks refused');
      expect(await jobsOnHost()).toBe(jobs + 1);
      expect(refusals().length).toBeGreaterThanOrEqual(2);
    } finally {
      await other.bot.stop();
    }
  });

  it('replaces the buttons with the outcome and then the job result', async () => {
    const { id, message } = await requestRotation();
    await click(APPROVE_ACTION, 'U0APP', message);
    await until(async () => ['done', 'failed'].includes((await stateOf(id)) ?? ''), 15_000);
    await until(async () => /approved; (finished|failed)/.test(JSON.stringify(stack.slack.message(message.channel, message.ts)?.blocks)));
    const final = JSON.stringify(stack.slack.message(message.channel, message.ts)!.blocks);
    expect(final).not.toContain(APPROVE_ACTION);
    expect(final).toContain('by <@U0APP>');
    expect(final).toMatch(/approved; (finished|failed)/);
  });

  it('asks why on Deny, records who denied and why, and a later approval does nothing', async () => {
    const { id, message } = await requestRotation();
    await click(DENY_ACTION, 'U0APP2', message);
    const opened = await stack.slack.waitFor('views.open', (c) => JSON.stringify(c.params.view).includes(id));
    expect(opened.ok).toBe(true);
    await submitDenyReason(opened.params.view as Record<string, unknown>, 'U0APP2', 'not during the release');
    await until(async () => (await stateOf(id)) === 'denied');
    await until(async () => JSON.stringify(stack.slack.message(message.channel, message.ts)?.blocks).includes('denied'));
    const jobs = await jobsOnHost();
    await click(APPROVE_ACTION, 'U0APP', message);
    await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0APP' && String(c.params.text).includes('already denied'));
    expect(await jobsOnHost()).toBe(jobs);
    const audit = await createAuditLog(stack.redis, stack.prefix).read(50);
    expect(audit.find((e) => e.approvalId === id && e.kind === 'approval')).toMatchObject({ actor: 'U0APP2', outcome: 'denied: not during the release' });
    expect(JSON.stringify(stack.slack.message(message.channel, message.ts)!.blocks)).toContain('not during the release');
  });

  it('expires an unanswered request: the buttons go and a late click does nothing', async () => {
    const { id, message } = await requestRotation();
    await until(async () => (await stateOf(id)) === 'expired', 10_000);
    await until(async () => JSON.stringify(stack.slack.message(message.channel, message.ts)?.blocks).includes('expired without a decision'));
    const jobs = await jobsOnHost();
    await click(APPROVE_ACTION, 'U0APP', message);
    await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0APP' && String(c.params.text).includes('expired'));
    expect(await jobsOnHost()).toBe(jobs);
    expect(JSON.stringify(stack.slack.message(message.channel, message.ts)!.blocks)).not.toContain(APPROVE_ACTION);
  });

  it('keeps a request across a bot restart and approves it afterwards', async () => {
    const { id, message } = await requestRotation();
    await stack.bot.stop();
    const restarted = await stack.startAnotherBot();
    stack.bot = restarted.bot;
    await click(APPROVE_ACTION, 'U0APP', message, restarted.eventsUrl);
    await until(async () => ['running', 'done', 'failed'].includes((await stateOf(id)) ?? ''));
  });
});
