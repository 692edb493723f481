import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import blockActionsFixture from '../../fixtures/slack/block-actions.json' with { type: 'json' };
import { silentLogger } from './fake-client.js';
import { startFakeSlack, type FakeSlack } from './server.js';

const { WebClient, ErrorCode } = webApi;

let fake: FakeSlack;
let client: InstanceType<typeof WebClient>;

/** A WebClient as the bot builds it, but failing fast: no retries unless a test asks. */
function clientFor(token: string | undefined, options: ConstructorParameters<typeof WebClient>[1] = {}): InstanceType<typeof WebClient> {
  return new WebClient(token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: silentLogger, ...options });
}

async function slackError(call: Promise<unknown>): Promise<{ code: string; error?: string; data?: Record<string, unknown> }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code: string; data?: { error?: string } & Record<string, unknown> };
    return { code: e.code, error: e.data?.error, data: e.data };
  }
  throw new Error('expected the call to fail');
}

function section(text: string): { type: 'section'; text: { type: 'mrkdwn'; text: string } } {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

beforeAll(async () => {
  fake = await startFakeSlack({
    users: [{ id: 'U0OPERATOR1', name: 'grace', real_name: 'Grace Hopper' }],
    channels: [{ id: 'C0OPSCHAN01', name: 'ops' }],
    usergroups: { S0APPROVERS: ['U0APPROVER1', 'U0APPROVER2'] },
  });
  client = clientFor(fake.botToken);
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
});

describe('startFakeSlack', () => {
  it('listens on 127.0.0.1 and hands out an api URL ending in /api/', () => {
    expect(fake.apiUrl).toBe(`http://127.0.0.1:${fake.port}/api/`);
    expect(fake.botToken.startsWith('xoxb-')).toBe(true);
    expect(fake.appToken.startsWith('xapp-')).toBe(true);
  });

  it('answers unknown methods with unknown_method', async () => {
    const failure = await slackError(client.apiCall('chat.sendTelegram', { channel: 'C0OPSCHAN01' }));
    expect(failure.error).toBe('unknown_method');
  });
});

describe('auth.test', () => {
  it('describes the bot for the bot token', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({ ok: true, team_id: fake.teamId, user_id: fake.botUserId, bot_id: fake.botId });
  });

  it('refuses a wrong token with invalid_auth', async () => {
    const failure = await slackError(clientFor('xoxb-0-0-wrong').auth.test());
    expect(failure).toMatchObject({ code: ErrorCode.PlatformError, error: 'invalid_auth' });
  });

  it('refuses a call without a token with not_authed', async () => {
    const failure = await slackError(clientFor(undefined).auth.test());
    expect(failure.error).toBe('not_authed');
  });

  it('refuses the app-level token on a bot method with not_allowed_token_type', async () => {
    const failure = await slackError(clientFor(fake.appToken).chat.postMessage({ channel: 'C0OPSCHAN01', text: 'hi' }));
    expect(failure.error).toBe('not_allowed_token_type');
  });
});

describe('calls', () => {
  it('records method, arguments without the token, and the token kind', async () => {
    await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'hello' });
    const [call] = fake.calls('chat.postMessage');
    expect(call).toMatchObject({ method: 'chat.postMessage', tokenKind: 'bot', ok: true, status: 200 });
    expect(call?.params).toMatchObject({ channel: 'C0OPSCHAN01', text: 'hello' });
    expect(JSON.stringify(fake.calls())).not.toContain(fake.botToken);
  });

  it('records form-encoded blocks parsed, ready to assert on', async () => {
    await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'card', blocks: [section('*card*')] });
    expect(fake.calls('chat.postMessage')[0]?.params.blocks).toEqual([section('*card*')]);
  });

  it('accepts a JSON body with the token in the Authorization header', async () => {
    const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${fake.botToken}` },
      body: JSON.stringify({ channel: 'C0OPSCHAN01', text: 'from json', blocks: [section('*json*')] }),
    });
    const body = (await response.json()) as { ok: boolean; ts: string };
    expect(body.ok).toBe(true);
    expect(fake.message('C0OPSCHAN01', body.ts)?.blocks).toEqual([section('*json*')]);
  });

  it('ignores a token inside a JSON body, as Slack does', async () => {
    const response = await fetch(`${fake.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: fake.botToken }),
    });
    expect(await response.json()).toEqual({ ok: false, error: 'not_authed' });
  });
});

describe('waitFor', () => {
  it('resolves with a call that arrives later', async () => {
    const waiting = fake.waitFor('chat.postMessage', (c) => c.params.text === 'later', 2000);
    await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'sooner' });
    await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'later' });
    expect((await waiting).params.text).toBe('later');
  });

  it('rejects after the timeout and names the calls it saw', async () => {
    await client.auth.test();
    await expect(fake.waitFor('chat.update', () => true, 100)).rejects.toThrow(/no chat.update call.*within 100 ms.*auth.test x1/);
  });
});

describe('chat.postMessage', () => {
  it('returns ts, channel and message and keeps the message', async () => {
    const blocks = [section('job *42* queued')];
    const result = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'job 42 queued', blocks });
    expect(result).toMatchObject({ ok: true, channel: 'C0OPSCHAN01', message: { text: 'job 42 queued', bot_id: fake.botId } });
    expect(result.ts).toMatch(/^\d+\.\d{6}$/);
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]).toMatchObject({ channel: 'C0OPSCHAN01', ts: result.ts, text: 'job 42 queued', blocks });
  });

  it('gives every message its own increasing ts', async () => {
    const first = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'one' });
    const second = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'two' });
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
  });

  it('resolves a #name and a user id (the app DM) to conversation ids', async () => {
    const byName = await client.chat.postMessage({ channel: '#ops', text: 'by name' });
    const toUser = await client.chat.postMessage({ channel: 'U0OPERATOR1', text: 'dm' });
    expect(byName.channel).toBe('C0OPSCHAN01');
    expect(toUser.channel).toBe('D0OPERATOR1');
  });

  it('keeps thread_ts on replies', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'card' });
    await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'reply', thread_ts: parent.ts });
    expect(fake.messages[1]?.thread_ts).toBe(parent.ts);
  });

  it('answers channel_not_found without a channel or for an unknown name', async () => {
    expect((await slackError(client.apiCall('chat.postMessage', { text: 'x' }))).error).toBe('channel_not_found');
    expect((await slackError(client.chat.postMessage({ channel: '#nowhere', text: 'x' }))).error).toBe('channel_not_found');
  });

  it('answers no_text without text, blocks or attachments', async () => {
    expect((await slackError(client.apiCall('chat.postMessage', { channel: 'C0OPSCHAN01' }))).error).toBe('no_text');
  });

  it('refuses more than 50 blocks with invalid_blocks', async () => {
    const blocks = Array.from({ length: 51 }, (_, i) => section(`line ${i}`));
    const failure = await slackError(client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x', blocks }));
    expect(failure.error).toBe('invalid_blocks');
    expect(fake.messages).toHaveLength(0);
  });

  it('refuses section text over 3000 characters with invalid_blocks naming the field', async () => {
    const failure = await slackError(client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x', blocks: [section('a'.repeat(3001))] }));
    expect(failure.error).toBe('invalid_blocks');
    expect(failure.data?.errors).toEqual(['must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);
  });

  it("accepts the approval card from Slack's block_actions example", async () => {
    const { blocks, text } = blockActionsFixture.message;
    const result = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text, blocks: blocks as never });
    expect(result.ok).toBe(true);
  });

  it('accepts section text of exactly 3000 characters', async () => {
    const result = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x', blocks: [section('a'.repeat(3000))] });
    expect(result.ok).toBe(true);
  });

  it('refuses button text over 75 characters with invalid_blocks', async () => {
    const button = { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'b'.repeat(76) }, value: 'apr_1' } as const;
    const failure = await slackError(
      client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x', blocks: [{ type: 'actions', elements: [button] as const }] }),
    );
    expect(failure.error).toBe('invalid_blocks');
    expect(failure.data?.errors).toEqual(['must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]']);
  });

  it('refuses duplicate block_ids and unknown block types', async () => {
    const duplicate = [
      { ...section('a'), block_id: 'same' },
      { ...section('b'), block_id: 'same' },
    ];
    expect((await slackError(client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x', blocks: duplicate }))).error).toBe('invalid_blocks');
    const unknown = [{ type: 'carousel' }];
    expect((await slackError(client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x', blocks: unknown as never }))).error).toBe('invalid_blocks');
  });

  it('answers invalid_blocks_format for blocks that are not a JSON array', async () => {
    const failure = await slackError(client.apiCall('chat.postMessage', { channel: 'C0OPSCHAN01', text: 'x', blocks: '{"type":' }));
    expect(failure.error).toBe('invalid_blocks_format');
  });

  it('cuts text longer than 40,000 characters, as Slack does', async () => {
    await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'z'.repeat(40_010) });
    expect(fake.messages[0]?.text).toHaveLength(40_000);
    expect(fake.messages[0]?.truncated).toBe(true);
  });

  it('refuses unknown channel ids when knownIdsOnly is set', async () => {
    const strict = await startFakeSlack({ knownIdsOnly: true, channels: [{ id: 'C0KNOWN0001', name: 'known' }] });
    try {
      const strictClient = new WebClient(strict.botToken, { slackApiUrl: strict.apiUrl, retryConfig: { retries: 0 }, logger: silentLogger });
      expect((await slackError(strictClient.chat.postMessage({ channel: 'C0UNKNOWN01', text: 'x' }))).error).toBe('channel_not_found');
      expect((await strictClient.chat.postMessage({ channel: 'C0KNOWN0001', text: 'x' })).ok).toBe(true);
    } finally {
      await strict.close();
    }
  });
});

describe('chat.update', () => {
  it('replaces text and blocks and keeps the update history', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'queued', blocks: [section('queued')] });
    await client.chat.update({ channel: 'C0OPSCHAN01', ts: posted.ts!, text: 'running', blocks: [section('running')] });
    const result = await client.chat.update({ channel: 'C0OPSCHAN01', ts: posted.ts!, text: 'done', blocks: [section('done')] });
    expect(result).toMatchObject({ ok: true, channel: 'C0OPSCHAN01', ts: posted.ts, text: 'done' });
    const message = fake.message('C0OPSCHAN01', posted.ts!);
    expect(message?.blocks).toEqual([section('done')]);
    expect(message?.updates.map((u) => u.text)).toEqual(['running', 'done']);
  });

  it('drops the old blocks when only text is sent, as documented', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'card', blocks: [section('card')] });
    await client.chat.update({ channel: 'C0OPSCHAN01', ts: posted.ts!, text: 'plain now' });
    expect(fake.message('C0OPSCHAN01', posted.ts!)?.blocks).toBeUndefined();
  });

  it('answers message_not_found for an unknown ts', async () => {
    const failure = await slackError(client.chat.update({ channel: 'C0OPSCHAN01', ts: '1700000000.000001', text: 'x' }));
    expect(failure.error).toBe('message_not_found');
  });

  it("answers cant_update_message for someone else's message", async () => {
    const seeded = fake.seedMessage({ channel: 'C0OPSCHAN01', text: 'a person wrote this', user: 'U0OPERATOR1' });
    const failure = await slackError(client.chat.update({ channel: 'C0OPSCHAN01', ts: seeded.ts, text: 'x' }));
    expect(failure.error).toBe('cant_update_message');
  });

  it('answers no_text when neither text nor blocks are sent', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'card' });
    const failure = await slackError(client.apiCall('chat.update', { channel: 'C0OPSCHAN01', ts: posted.ts }));
    expect(failure.error).toBe('no_text');
  });
});

describe('chat.postEphemeral', () => {
  it('records the ephemeral for one user and keeps it out of the channel', async () => {
    const result = await client.chat.postEphemeral({ channel: 'C0OPSCHAN01', user: 'U0OPERATOR1', text: 'only you' });
    expect(result.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(fake.ephemerals).toMatchObject([{ channel: 'C0OPSCHAN01', user: 'U0OPERATOR1', text: 'only you' }]);
    expect(fake.messages).toHaveLength(0);
  });

  it('answers user_not_found without a user', async () => {
    const failure = await slackError(client.apiCall('chat.postEphemeral', { channel: 'C0OPSCHAN01', text: 'x' }));
    expect(failure.error).toBe('user_not_found');
  });
});

describe('views.publish', () => {
  it("stores the user's App Home", async () => {
    const blocks = [section('*ci-1* healthy')];
    const result = await client.views.publish({ user_id: 'U0OPERATOR1', view: { type: 'home', blocks } });
    expect(result.view).toMatchObject({ type: 'home', blocks });
    expect(fake.homeViews.get('U0OPERATOR1')).toMatchObject({ blocks, publishCount: 1 });
  });

  it('refuses a view that is not a home tab with invalid_arguments', async () => {
    const failure = await slackError(client.views.publish({ user_id: 'U0OPERATOR1', view: { type: 'modal', blocks: [] } as never }));
    expect(failure.error).toBe('invalid_arguments');
  });

  it('refuses more than 100 blocks', async () => {
    const blocks = Array.from({ length: 101 }, () => ({ type: 'divider' }));
    const failure = await slackError(client.views.publish({ user_id: 'U0OPERATOR1', view: { type: 'home', blocks } }));
    expect(failure.error).toBe('invalid_arguments');
  });

  it('answers hash_conflict for a stale hash', async () => {
    await client.views.publish({ user_id: 'U0OPERATOR1', view: { type: 'home', blocks: [] } });
    const failure = await slackError(client.views.publish({ user_id: 'U0OPERATOR1', hash: '1.stale', view: { type: 'home', blocks: [] } }));
    expect(failure.error).toBe('hash_conflict');
  });
});

describe('usergroups.users.list', () => {
  it('lists the members of a defined group', async () => {
    const result = await client.usergroups.users.list({ usergroup: 'S0APPROVERS' });
    expect(result.users).toEqual(['U0APPROVER1', 'U0APPROVER2']);
  });

  it('follows groups changed with setUsergroup', async () => {
    fake.setUsergroup('S0ONCALL001', ['U0OPERATOR1']);
    expect((await client.usergroups.users.list({ usergroup: 'S0ONCALL001' })).users).toEqual(['U0OPERATOR1']);
  });

  it('answers no_such_subteam for an unknown group', async () => {
    expect((await slackError(client.usergroups.users.list({ usergroup: 'S0NOTHING01' }))).error).toBe('no_such_subteam');
  });
});

describe('users.info and conversations.info', () => {
  it('describe declared users and channels', async () => {
    const user = await client.users.info({ user: 'U0OPERATOR1' });
    const channel = await client.conversations.info({ channel: 'C0OPSCHAN01' });
    expect(user.user).toMatchObject({ id: 'U0OPERATOR1', name: 'grace', real_name: 'Grace Hopper' });
    expect(channel.channel).toMatchObject({ id: 'C0OPSCHAN01', name: 'ops', is_channel: true });
  });

  it('answer user_not_found and channel_not_found for malformed ids', async () => {
    expect((await slackError(client.users.info({ user: 'nobody' }))).error).toBe('user_not_found');
    expect((await slackError(client.conversations.info({ channel: 'ops' }))).error).toBe('channel_not_found');
  });
});

describe('apps.connections.open', () => {
  it('returns a WebSocket URL on the fake for the app token', async () => {
    const result = await clientFor(fake.appToken).apps.connections.open();
    expect(result.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${fake.port}/socket\\?ticket=[0-9a-f]+&app_id=${fake.appId}$`));
    expect(fake.calls('apps.connections.open')[0]?.tokenKind).toBe('app');
  });

  it('refuses the bot token with not_allowed_token_type', async () => {
    expect((await slackError(client.apps.connections.open())).error).toBe('not_allowed_token_type');
  });

  it('refuses the app token passed as an argument instead of the header', async () => {
    const response = await fetch(`${fake.apiUrl}apps.connections.open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: fake.appToken }).toString(),
    });
    expect(await response.json()).toEqual({ ok: false, error: 'not_authed' });
  });
});

describe('files upload v2', () => {
  it('records the bytes, filename and channel of filesUploadV2', async () => {
    const content = 'line 1\nline 2\n'.repeat(100);
    const result = await client.filesUploadV2({
      channel_id: 'C0OPSCHAN01',
      filename: 'prune-ci-1.log',
      content,
      initial_comment: 'full output',
    });
    expect(result.ok).toBe(true);
    expect(fake.calls().map((c) => c.method)).toEqual(['files.getUploadURLExternal', 'files.completeUploadExternal']);
    expect(fake.uploads).toHaveLength(1);
    const [upload] = fake.uploads;
    expect(upload).toMatchObject({ filename: 'prune-ci-1.log', channel_id: 'C0OPSCHAN01', initial_comment: 'full output', length: content.length });
    expect(upload?.bytes?.toString('utf8')).toBe(content);
  });

  it('answers file_not_found when completing a file whose bytes never arrived', async () => {
    const { file_id } = await client.files.getUploadURLExternal({ filename: 'a.txt', length: 3 });
    const failure = await slackError(client.files.completeUploadExternal({ files: [{ id: file_id! }] }));
    expect(failure.error).toBe('file_not_found');
    expect(fake.uploads).toHaveLength(0);
  });
});

describe('injectFault', () => {
  it('answers 429 with Retry-After the given number of times, then normally', async () => {
    fake.injectFault('chat.postMessage', { kind: 'rate_limited', retryAfterSeconds: 1 }, 1);
    const started = Date.now();
    const patient = clientFor(fake.botToken, { retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 0 } });
    const result = await patient.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'eventually' });
    expect(result.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fake.calls('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
  });

  it('tells a client that rejects rate-limited calls how long to wait', async () => {
    fake.injectFault('chat.update', { kind: 'rate_limited', retryAfterSeconds: 7 }, 2);
    const impatient = clientFor(fake.botToken, { rejectRateLimitedCalls: true });
    const first = await slackError(impatient.chat.update({ channel: 'C0OPSCHAN01', ts: '1.2', text: 'x' }));
    const second = await slackError(impatient.chat.update({ channel: 'C0OPSCHAN01', ts: '1.2', text: 'x' }));
    const third = await slackError(impatient.chat.update({ channel: 'C0OPSCHAN01', ts: '1.2', text: 'x' }));
    expect([first.code, second.code]).toEqual([ErrorCode.RateLimitedError, ErrorCode.RateLimitedError]);
    expect(third.error).toBe('message_not_found');
  });

  it('plays invalid_auth once, as for a revoked token', async () => {
    fake.injectFault('auth.test', { kind: 'error', error: 'invalid_auth' });
    expect((await slackError(client.auth.test())).error).toBe('invalid_auth');
    expect((await client.auth.test()).ok).toBe(true);
  });

  it('answers a bare 500 that WebClient reports as an HTTP error', async () => {
    fake.injectFault('chat.postMessage', { kind: 'http_status', status: 500 });
    const failure = await slackError(client.chat.postMessage({ channel: 'C0OPSCHAN01', text: 'x' }));
    expect(failure.code).toBe(ErrorCode.HTTPError);
    expect(fake.messages).toHaveLength(0);
  });
});

describe('responseUrl', () => {
  async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  }

  it('records what is posted to it', async () => {
    const url = fake.responseUrl();
    expect(url.startsWith(`${fake.url}/commands/${fake.teamId}/`)).toBe(true);
    expect(await post(url, { response_type: 'ephemeral', text: 'usage: /runner help' })).toEqual({ status: 200, body: { ok: true } });
    expect(fake.responses).toMatchObject([{ url, status: 200, body: { response_type: 'ephemeral', text: 'usage: /runner help' } }]);
  });

  it('refuses a sixth use with used_url, as Slack allows five', async () => {
    const url = fake.responseUrl();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await post(url, { text: `update ${i}` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    expect(fake.responses.at(-1)?.error).toBe('used_url');
  });

  it('refuses an expired URL with expired_url', async () => {
    const url = fake.responseUrl({ ttlMs: 0 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await post(url, { text: 'late' })).toEqual({ status: 404, body: { ok: false, error: 'expired_url' } });
  });

  it('refuses a body without text or blocks with no_text', async () => {
    expect((await post(fake.responseUrl(), { response_type: 'in_channel' })).status).toBe(400);
    expect(fake.responses[0]?.error).toBe('no_text');
  });

  it('refuses a URL it never issued', async () => {
    expect((await post(`${fake.url}/commands/T0RUNNEROPS/1/forged`, { text: 'x' })).status).toBe(404);
  });
});
