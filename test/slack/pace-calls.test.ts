import { beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { createPacer } from '../../src/slack/pace-calls.js';
import { createSlackSurface } from '../../src/slack/slack-surface.js';
import type { CommandRecord } from '../../src/queue/command-record.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';
import { silentLog } from '../helpers/test-stack.js';
import { useSlackAndRedis } from './use-slack-and-redis.js';

/** A short window keeps the run short; the fake and the pacer use the same one. */
const WINDOW_MS = 3000;
const { redis, prefix, slack: fake } = useSlackAndRedis({ rateLimits: { windowMs: WINDOW_MS } });
let slack: FakeSlack;
beforeAll(() => {
  slack = fake();
});

function client(): WebClient {
  return new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
}

function command(id: string, card: { channel: string; ts: string }): CommandRecord {
  return { id, verb: 'ping', text: 'ping all', job: 'ping', hosts: ['a'], requester: { via: 'slack', user: 'U0' }, createdAt: Date.now(), card };
}

async function sixtyCards(channel: string): Promise<CommandRecord[]> {
  const web = client();
  const commands: CommandRecord[] = [];
  for (let i = 0; i < 60; i++) {
    // Posts go to sixty channels: chat.postMessage is limited per channel, chat.update per workspace.
    const posted = await web.chat.postMessage({ channel: `${channel}${String(i).padStart(3, '0')}`, text: 'card' });
    commands.push(command(`c${i}`, { channel: posted.channel!, ts: posted.ts! }));
  }
  return commands;
}

const card = { title: 'ping all', lines: ['✓ a: pong'], footer: 'finished: 1 done', finished: true };

describe('createPacer', () => {
  it('keeps sixty cards updating at once within the workspace tier for chat.update', async () => {
    const commands = await sixtyCards('C0PACED');
    const pacer = createPacer({ redis, prefix: `${prefix}:${randomUUID()}`, windowMs: WINDOW_MS });
    const surface = createSlackSurface({ client: client(), redis, prefix, approvals: createApprovalStore(redis, prefix), log: silentLog, pacer });
    const before = slack.calls('chat.update').length;
    await Promise.all(commands.map((c) => surface.updateCard(c, card)));
    const updates = slack.calls('chat.update').slice(before);
    expect(updates).toHaveLength(60);
    expect(updates.filter((c) => c.status === 429)).toEqual([]);
  }, 20_000);

  it('is needed: the same burst without it is refused with 429 by the tier', async () => {
    const unpaced = await startFakeSlack({ rateLimits: { windowMs: WINDOW_MS } });
    try {
      const web = new WebClient(unpaced.botToken, { slackApiUrl: unpaced.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
      const commands: CommandRecord[] = [];
      for (let i = 0; i < 60; i++) {
        const posted = await web.chat.postMessage({ channel: `C0UNPACED${String(i).padStart(3, '0')}`, text: 'card' });
        commands.push(command(`u${i}`, { channel: posted.channel!, ts: posted.ts! }));
      }
      const surface = createSlackSurface({ client: web, redis, prefix, approvals: createApprovalStore(redis, prefix), log: silentLog });
      const results = await Promise.allSettled(commands.map((c) => surface.updateCard(c, card)));
      expect(results.filter((r) => r.status === 'rejected').length).toBe(10);
    } finally {
      await unpaced.close();
    }
  });

  it('makes every replica wait out a Retry-After before the next call of that method', async () => {
    const shared = `${prefix}:${randomUUID()}`;
    const one = createPacer({ redis, prefix: shared });
    const other = createPacer({ redis, prefix: shared });
    await one.block('chat.update', 1);
    const blockedUntil = Number(await redis.get(`${shared}:slack-pace:chat.update:blocked`));
    await other.wait('chat.update');
    const [seconds, micros] = await redis.time();
    expect(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)).toBeGreaterThanOrEqual(blockedUntil);
  });

  it('does not pace methods without a tier', async () => {
    const pacer = createPacer({ redis, prefix: `${prefix}:${randomUUID()}` });
    await pacer.wait('auth.test');
    expect(await redis.keys(`${prefix}:*slack-pace:auth.test*`)).toEqual([]);
  });

  it('gives up the calls still waiting for a slot once closed, so a stopped bot holds no timers', async () => {
    const shared = `${prefix}:${randomUUID()}`;
    const pacer = createPacer({ redis, prefix: shared });
    await pacer.block('chat.update', 600);
    const waiting = pacer.wait('chat.update');
    const settled = waiting.then(
      () => 'sent',
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    await expect.poll(() => redis.exists(`${shared}:slack-pace:chat.update`)).toBe(1);
    pacer.close();
    expect(await settled).toBe('the bot stopped before a chat.update slot was free');
    await expect(pacer.wait('chat.update')).rejects.toThrow('the bot stopped before a chat.update slot was free');
  });
});
