import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, fakeClient } from './fake-client.js';
import { startFakeSlack, type FakeSlack } from './server.js';

let fake: FakeSlack;
let withPublic: FakeSlack;
const channels = [
  { id: 'C0JOINED001', name: 'joined' },
  { id: 'C0OUTSIDE01', name: 'outside', is_member: false },
  { id: 'G0SECRET001', name: 'secret', is_private: true, is_member: false },
  { id: 'D0TWOPEOPLE', name: 'dm', is_im: true, user: 'U0ALICE', is_member: false },
  { id: 'C0SMALL0001', name: 'small', members: ['U0INSIDE'] },
];

beforeAll(async () => {
  fake = await startFakeSlack({ channels });
  withPublic = await startFakeSlack({ channels, scopes: ['chat:write', 'chat:write.public'] });
});
afterAll(async () => {
  await fake.close();
  await withPublic.close();
});

describe('channel membership', () => {
  it('refuses a post in a public channel the bot has not joined with not_in_channel', async () => {
    expect(await errorOf(fakeClient(fake).chat.postMessage({ channel: 'C0OUTSIDE01', text: 'hi' }))).toBe('not_in_channel');
  });

  it('lets chat:write.public post in a public channel but not send ephemerals there', async () => {
    await expect(fakeClient(withPublic).chat.postMessage({ channel: 'C0OUTSIDE01', text: 'hi' })).resolves.toMatchObject({ ok: true });
    expect(await errorOf(fakeClient(withPublic).chat.postEphemeral({ channel: 'C0OUTSIDE01', user: 'U0ANYONE', text: 'hi' }))).toBe('not_in_channel');
  });

  it('answers channel_not_found for private channels and DMs the bot is not part of', async () => {
    expect(await errorOf(fakeClient(withPublic).chat.postMessage({ channel: 'G0SECRET001', text: 'hi' }))).toBe('channel_not_found');
    expect(await errorOf(fakeClient(fake).chat.postEphemeral({ channel: 'D0TWOPEOPLE', user: 'U0ALICE', text: 'hi' }))).toBe('channel_not_found');
  });

  it('refuses an ephemeral for someone who is not in the channel', async () => {
    expect(await errorOf(fakeClient(fake).chat.postEphemeral({ channel: 'C0SMALL0001', user: 'U0OUTSIDER', text: 'hi' }))).toBe('user_not_in_channel');
    await expect(fakeClient(fake).chat.postEphemeral({ channel: 'C0SMALL0001', user: 'U0INSIDE', text: 'hi' })).resolves.toMatchObject({ ok: true });
  });
});

describe('rendered control sequences', () => {
  it('records the mentions and links Slack would render, and none for escaped text', async () => {
    const client = fakeClient(fake);
    const raw = await client.chat.postMessage({
      channel: 'C0JOINED001',
      text: 'hey <!channel>',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'see <https://evil.example|docs>' } }],
    });
    const escaped = await client.chat.postMessage({
      channel: 'C0JOINED001',
      text: 'hey &lt;!channel&gt;',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '&lt;https://evil.example|docs&gt;' } }],
    });
    expect(fake.message('C0JOINED001', raw.ts!)!.sequences).toEqual(['<!channel>', '<https://evil.example|docs>']);
    expect(fake.message('C0JOINED001', escaped.ts!)!.sequences).toEqual([]);
  });

  it('counts a section text by what was sent, escapes included', async () => {
    const text = '&amp;'.repeat(601); // 3,005 characters as sent, 601 as shown
    expect(
      await errorOf(fakeClient(fake).chat.postMessage({ channel: 'C0JOINED001', text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] })),
    ).toBe('invalid_blocks');
  });
});
