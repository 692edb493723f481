import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { createSlackSurface } from '../../src/slack/slack-surface.js';
import { isBroadcast } from '../fakes/slack/mrkdwn-syntax.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { silentLog } from '../helpers/test-stack.js';
import { useSlackAndRedis } from './use-slack-and-redis.js';
import { createPacer } from '../../src/slack/pace-calls.js';
import { withReplyRoute } from '../../src/slack/reply-route.js';

const { redis, prefix, slack: fake } = useSlackAndRedis();
let slack: FakeSlack;
beforeAll(() => {
  slack = fake();
});

function surface() {
  const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 } });
  return createSlackSurface({ client, redis, prefix, approvals: createApprovalStore(redis, prefix), log: silentLog });
}

describe('createSlackSurface', () => {
  it('sends a long private answer as several messages instead of cutting it', async () => {
    const text = Array.from({ length: 6000 }, (_, i) => `host-${i}  just now  runnerops 0.1.0`).join('\n');
    await surface().tell('U0LONG', 'C0LONG', text);
    const parts = slack.calls('chat.postEphemeral').filter((c) => c.params.user === 'U0LONG');
    expect(parts.length).toBeGreaterThan(1);
    const all = parts.map((c) => JSON.stringify(c.params.blocks)).join('');
    expect(all).toContain('host-0 ');
    expect(all).toContain('host-5999 ');
    expect(parts.every((c) => c.ok)).toBe(true);
  });

  it('waits out a 429 with Retry-After and still updates the card', async () => {
    const s = surface();
    const card = { title: 'ping all [job 0123456789]', lines: ['✓ a: pong'], footer: 'finished: 1 done in 3 ms', finished: true };
    const location = await s.postCard(
      { id: '0123456789', verb: 'ping', text: 'ping all', job: 'ping', hosts: ['a'], requester: { via: 'slack', user: 'U0' }, createdAt: Date.now() },
      card,
      'C0RATE',
    );
    slack.injectFault('chat.update', { kind: 'rate_limited', retryAfterSeconds: 1 }, 1);
    const started = Date.now();
    await s.updateCard(
      {
        id: '0123456789',
        verb: 'ping',
        text: 'ping all',
        job: 'ping',
        hosts: ['a'],
        requester: { via: 'slack', user: 'U0' },
        createdAt: Date.now(),
        card: location!,
      },
      card,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const updates = slack.calls('chat.update');
    expect(updates.map((c) => c.status)).toEqual([429, 200]);
  });

  it('puts card rows that do not fit one message into the thread when the job finishes', async () => {
    const s = surface();
    const lines = Array.from({ length: 3000 }, (_, i) => `✓ host-${String(i).padStart(4, '0')} (3 ms): pong after 2 ms in the queue`);
    const command = {
      id: 'big0000000',
      verb: 'ping',
      text: 'ping all',
      job: 'ping',
      hosts: [],
      requester: { via: 'slack' as const, user: 'U0' },
      createdAt: Date.now(),
    };
    const location = await s.postCard(command, { title: 'ping all', lines: [], footer: 'running', finished: false }, 'C0BIG');
    await s.updateCard({ ...command, card: location! }, { title: 'ping all', lines, footer: 'finished: 3000 done', finished: true });
    const thread = slack.calls('chat.postMessage').filter((c) => c.params.thread_ts === location!.ts);
    expect(thread.length).toBeGreaterThan(0);
    const everything = JSON.stringify(slack.calls('chat.update').at(-1)!.params.blocks) + thread.map((c) => JSON.stringify(c.params.blocks)).join('');
    expect(everything).toContain('host-0000');
    expect(everything).toContain('host-2999');
  });

  it("puts the part of a job's total that does not fit the card into the thread when the job finishes", async () => {
    const s = surface();
    const total = Array.from({ length: 300 }, (_, i) => `  ${i} MiB  /nix/store/${'b'.repeat(32)}-closure-${i} <!here> & more`).join('\n');
    const command = {
      id: 'store00000',
      verb: 'store',
      text: 'store ci-1 --top 100',
      job: 'store-usage',
      hosts: ['ci-1'],
      requester: { via: 'slack' as const, user: 'U0' },
      createdAt: Date.now(),
    };
    const location = await s.postCard(command, { title: 'store ci-1 --top 100', lines: [], footer: 'running', finished: false }, 'C0STORE');
    await s.updateCard(
      { ...command, card: location! },
      { title: 'store ci-1 --top 100', lines: ['✓ ci-1 (2 s): ci-1: 9 paths'], footer: 'finished: 1 done', finished: true, total },
    );
    const thread = slack.calls('chat.postMessage').filter((c) => c.params.thread_ts === location!.ts);
    expect(thread.length).toBeGreaterThan(0);
    const everything = JSON.stringify(slack.calls('chat.update').at(-1)!.params.blocks) + thread.map((c) => JSON.stringify(c.params.blocks)).join('');
    for (const i of [0, 150, 299]) expect(everything).toContain(`-closure-${i} `);
    expect(everything).not.toContain('<!here>');
    for (const call of thread) expect(isBroadcast(String(call.params.text))).toBe(false);
  });

  it('sends a report with a chart as a file whose comment is the escaped report', async () => {
    const text = 'STORE  <!channel>\nci-1   12 GiB & growing';
    await surface().post('C0REPORTS', text, { filename: 'chart.png', bytes: Buffer.from('png'), title: 'store' });
    const upload = slack.uploads.at(-1)!;
    expect(upload.initial_comment).toBe('STORE  &lt;!channel&gt;\nci-1   12 GiB &amp; growing');
    expect(upload.sequences).toEqual([]);
  });

  it('puts report text longer than a file comment into the file itself', async () => {
    const text = Array.from({ length: 1500 }, (_, i) => `host-${i} <!here> & more text to make it long`).join('\n');
    await surface().post('C0REPORTS', text, { filename: 'chart.png', bytes: Buffer.from('png'), title: 'store' });
    const names = slack.uploads.slice(-2).map((u) => u.filename);
    expect(names).toEqual(['report.txt', 'chart.png']);
    expect(slack.uploads.at(-1)!.initial_comment!.length).toBeLessThanOrEqual(300);
    expect(slack.uploads.at(-1)!.sequences.filter(isBroadcast)).toEqual([]);
  });

  it('answers through a response_url in at most four posts, the last saying how much did not fit', async () => {
    const url = slack.responseUrl();
    const text = Array.from({ length: 20_000 }, (_, i) => `host-${i}  just now  runnerops 0.1.0 & more`).join('\n');
    await withReplyRoute({ kind: 'response-url', user: 'U0LONGER', url }, () => surface().tell('U0LONGER', 'C0LONG', text));
    const posts = slack.responses.filter((r) => r.url === url);
    expect(posts.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(JSON.stringify(posts.at(-1)!.body.blocks)).toMatch(/…and \d+ more parts of 50 blocks each; ask for fewer lines/);
  });

  it('sends only the newest content of a card whose updates pile up while waiting for a slot', async () => {
    const s = createSlackSurface({
      client: new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl }),
      redis,
      prefix,
      approvals: createApprovalStore(redis, prefix),
      log: silentLog,
      pacer: createPacer({ redis, prefix }),
    });
    const command = {
      id: 'pile000000',
      verb: 'ping',
      text: 'ping all',
      job: 'ping',
      hosts: ['a'],
      requester: { via: 'slack' as const, user: 'U0' },
      createdAt: Date.now(),
    };
    const location = (await s.postCard(command, { title: 'ping all', lines: [], footer: 'queued', finished: false }, 'C0PILE'))!;
    const before = slack.calls('chat.update').length;
    await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        s.updateCard({ ...command, card: location }, { title: 'ping all', lines: [`row ${n}`], footer: `update ${n}`, finished: n === 5 }),
      ),
    );
    expect(slack.calls('chat.update').length - before).toBe(1);
    expect(JSON.stringify(slack.message(location.channel, location.ts)!.blocks)).toContain('update 5');
  });

  it('logs what to invite instead of failing when a report channel does not have the bot', async () => {
    slack.addChannel({ id: 'C0NOBOT0001', name: 'no-bot', is_member: false });
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const s = createSlackSurface({
      client: new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl }),
      redis,
      prefix,
      approvals: createApprovalStore(redis, prefix),
      log,
    });
    await s.post('C0NOBOT0001', 'nightly prune: 3 hosts');
    await s.postExpiryWarning('C0NOBOT0001', [{ host: 'ci-1', runner: 'nix', expiresAt: Date.now(), expired: true }], Date.now());
    expect(warnings).toEqual([
      'I cannot post a report in channel C0NOBOT0001: invite me there (/invite @runnerops), or add the chat:write.public scope to the app so I can post in public channels without joining.',
      'I cannot post the token expiry warning in channel C0NOBOT0001: invite me there (/invite @runnerops), or add the chat:write.public scope to the app so I can post in public channels without joining.',
    ]);
  });
});
