import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVE_ACTION, DENY_ACTION } from '../../src/present/approval-blocks.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { policySchema } from '../../src/policy/schema.js';
import { keys } from '../../src/queue/names.js';
import { isBroadcast, isLabelledLink } from '../fakes/slack/mrkdwn-syntax.js';
import type { FakeResponse } from '../fakes/slack/server.js';
import { blockActionsPayload, newTriggerId, signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';
import { defined } from '../helpers/defined.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0REQ', 'U0OPS'] }, approvers: { groups: ['S0APPROVERS'] } },
  verbs: { ping: { run: ['operators'] }, prune: { run: ['operators'] }, rotate: { request: ['operators'], approve: ['approvers'] } },
});
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['rh-1'], policy });
  stack.slack.setUsergroup('S0APPROVERS', ['U0APPROVER']);
  stack.slack.addChannel({ id: 'C0NOTJOINED', name: 'not-joined', is_member: false });
  stack.slack.addChannel({ id: 'D0TWOPEOPLE', name: 'dm', is_im: true, user: 'U0OPS', is_member: false });
});
afterAll(async () => stack?.stop());

/** Runs `/runner <text>` and resolves with the answer posted to its response_url. */
async function command(text: string, options: { user?: string; channel?: string } = {}): Promise<FakeResponse> {
  const url = stack.slack.responseUrl();
  await signedPost(stack.eventsUrl, slashCommandBody({ text, user_id: options.user ?? 'U0OPS', channel_id: options.channel ?? 'C0OPS', response_url: url }), {
    secret: stack.signingSecret,
  });
  await until(async () => stack.slack.responses.some((r) => r.url === url), 10_000, `an answer to "${text}"`);
  return stack.slack.responses.find((r) => r.url === url)!;
}

function post(payload: Record<string, unknown>): Promise<Response> {
  return signedPost(stack.eventsUrl, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { secret: stack.signingSecret });
}

/** A rotation request; resolves with its approval id. */
async function requestRotation(runner = 'nix'): Promise<string> {
  const answer = await command(`rotate rh-1 --runner ${runner}`, { user: 'U0REQ' });
  return defined(/request ([0-9a-f]{12})/.exec(String(answer.body.text))?.[1], 'a request id in the answer');
}

function blocksOf(response: FakeResponse): Array<{ text?: { text: string } }> {
  return (response.body.blocks as Array<{ text?: { text: string } }>) ?? [];
}

describe('replies', () => {
  it('answer a slash command through its response_url, also where the bot has not joined', async () => {
    const ephemerals = stack.slack.calls('chat.postEphemeral').length;
    const answer = await command('hosts', { channel: 'C0NOTJOINED' });
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.body.blocks)).toContain('rh-1');
    expect(stack.slack.calls('chat.postEphemeral').length).toBe(ephemerals);
  });

  it('say in one line what to invite when the bot cannot post the job card, and the job still runs', async () => {
    const before = await stack.redis.llen(keys.commands(stack.prefix));
    const url = stack.slack.responseUrl();
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'ping rh-1', user_id: 'U0OPS', channel_id: 'C0NOTJOINED', response_url: url }), {
      secret: stack.signingSecret,
    });
    await until(async () => stack.slack.responses.some((r) => r.url === url && String(r.body.text).includes('invite me')), 10_000, 'the one-line answer');
    const answer = stack.slack.responses.find((r) => r.url === url)!;
    expect(JSON.stringify(answer.body.blocks)).toMatch(
      /I cannot post the card of job [0-9a-f]+ .* in this channel: invite me there \(\/invite @runnerops\), or add the chat:write\.public scope/,
    );
    expect(stack.slack.calls('chat.postMessage').at(-1)!.error).toBe('not_in_channel');
    expect(await stack.redis.llen(keys.commands(stack.prefix))).toBe(before + 1);
  });

  it('say that a direct message between people cannot hold the card', async () => {
    const url = stack.slack.responseUrl();
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'ping rh-1', user_id: 'U0OPS', channel_id: 'D0TWOPEOPLE', response_url: url }), {
      secret: stack.signingSecret,
    });
    await until(async () => stack.slack.responses.some((r) => r.url === url), 10_000, 'the one-line answer');
    expect(String(stack.slack.responses.find((r) => r.url === url)!.body.text)).toContain('in a direct message I am not part of');
  });
});

describe('text from people', () => {
  it('never turns a typed <!channel>, <!here> or disguised link into a ping or link', async () => {
    const answer = await command('ping "<!channel> <!here> <https://evil.example|docs>"');
    expect(answer.status).toBe(200);
    expect(answer.sequences).toEqual([]);
    expect(String(answer.body.text)).toContain('&lt;!channel&gt;');
  });

  it('keeps audit within Slack limits after a dozen refused commands full of & and <', async () => {
    for (let i = 0; i < 12; i++) await command(`prune ${'&<'.repeat(60)} --until <!here>${'&'.repeat(100)}`, { user: 'U0STRANGER' });
    const answer = await command('audit 100');
    expect(answer.status).toBe(200);
    expect(answer.sequences.filter((s) => isBroadcast(s) || isLabelledLink(s))).toEqual([]);
    for (const block of blocksOf(answer)) expect(block.text!.text.length).toBeLessThanOrEqual(3000);
    expect(JSON.stringify(answer.body.blocks)).toContain('&amp;&lt;&amp;&lt;');
  });
});

describe('Deny', () => {
  it('opens the modal before any lookup, then names the refusal in it', async () => {
    const id = await requestRotation();
    const calls = stack.slack.calls().length;
    const payload = blockActionsPayload({ action_id: DENY_ACTION, user_id: 'U0NOBODY', channel_id: 'C0OPS', value: id, block_id: `approval-${id}` });
    await post(payload);
    const refused = await stack.slack.waitFor('views.update', (c) => JSON.stringify(c.params.view).includes('denying rotate needs the role'));
    const methods = stack.slack
      .calls()
      .slice(calls)
      .map((c) => c.method);
    expect(methods[0]).toBe('views.open');
    expect(refused.ok).toBe(true);
    expect((await createApprovalStore(stack.redis, stack.prefix).get(id))?.state).toBe('pending');
  });

  it('says to click again when Slack no longer opens the dialog for that trigger', async () => {
    const id = await requestRotation();
    const url = stack.slack.responseUrl();
    await post(
      blockActionsPayload({
        action_id: DENY_ACTION,
        user_id: 'U0APPROVER',
        channel_id: 'C0OPS',
        value: id,
        block_id: `approval-${id}`,
        trigger_id: 'expired',
        response_url: url,
      }),
    );
    await until(async () => stack.slack.responses.some((r) => r.url === url), 10_000, 'the note');
    expect(stack.slack.responses.find((r) => r.url === url)!.body.text).toBe('Slack did not open the Deny dialog in time; click Deny again');
    expect(stack.slack.calls('views.open').at(-1)!.error).toBe('invalid_trigger_id');
  });

  it('answers a refused submission with response_action errors under the reason field', async () => {
    const id = await requestRotation();
    const payload = blockActionsPayload({ action_id: DENY_ACTION, user_id: 'U0APPROVER', channel_id: 'C0OPS', value: id, block_id: `approval-${id}` });
    await post(payload);
    const opened = await stack.slack.waitFor('views.open', (c) => JSON.stringify(c.params.view).includes(id));
    const view = opened.params.view as Record<string, unknown>;
    const submission = (user: string) => ({
      type: 'view_submission',
      team: { id: 'T0RUNNEROPS', domain: 'runnerops-test' },
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0RUNNEROPS' },
      api_app_id: 'A0RUNNEROPS',
      token: 'verification-token-unused',
      trigger_id: newTriggerId(),
      view: { ...view, id: 'V0DENY', state: { values: { reason: { reason: { type: 'plain_text_input', value: 'no' } } } } },
      response_urls: [],
      is_enterprise_install: false,
    });
    const refused = await post(submission('U0NOBODY'));
    expect(await refused.json()).toEqual({ response_action: 'errors', errors: { reason: 'denying rotate needs the role "approvers"' } });
    const accepted = await post(submission('U0APPROVER'));
    expect(await accepted.text()).toBe('');
    await until(async () => (await createApprovalStore(stack.redis, stack.prefix).get(id))?.state === 'denied');
  });
});

describe('App Home clicks', () => {
  it('show a refusal on the clicker’s Home tab, which has no channel to answer in', async () => {
    const id = await requestRotation();
    const base = blockActionsPayload({ action_id: APPROVE_ACTION, user_id: 'U0REQ', value: id, block_id: `approval-${id}` });
    const { channel: _channel, message: _message, response_url: _url, ...rest } = base;
    await post({ ...rest, container: { type: 'view', view_id: 'V0HOME' }, view: { id: 'V0HOME', type: 'home', blocks: [] } });
    const home = await stack.slack.waitFor(
      'views.publish',
      (c) => c.params.user_id === 'U0REQ' && JSON.stringify(c.params.view).includes('someone else must approve'),
    );
    expect(home.ok).toBe(true);
    expect((await createApprovalStore(stack.redis, stack.prefix).get(id))?.state).toBe('pending');
  });
});
