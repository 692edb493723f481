import { describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { createSlackWiring } from '../../src/slack/create-slack-wiring.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { silentLog } from '../helpers/test-stack.js';
import { until } from '../helpers/until.js';
import { useSlackAndRedis } from './use-slack-and-redis.js';

const { redis, prefix, slack } = useSlackAndRedis();

describe('createSlackWiring', () => {
  it('shares a 429’s Retry-After with every replica through Redis', async () => {
    const client = new WebClient(slack().botToken, { slackApiUrl: slack().apiUrl, retryConfig: { retries: 1, factor: 1, minTimeout: 10, maxTimeout: 10 } });
    const wiring = createSlackWiring({ client, members: async () => [], log: silentLog });
    const surface = wiring.makeSurface({ redis, prefix, approvals: createApprovalStore(redis, prefix), log: silentLog } as never);
    const posted = await client.chat.postMessage({ channel: 'C0WIRED', text: 'card' });
    slack().injectFault('chat.update', { kind: 'rate_limited', retryAfterSeconds: 1 }, 1);
    const command = {
      id: 'w1',
      verb: 'ping',
      text: 'ping all',
      job: 'ping',
      hosts: ['a'],
      requester: { via: 'slack' as const, user: 'U0' },
      createdAt: Date.now(),
      card: { channel: posted.channel!, ts: posted.ts! },
    };
    const updating = surface.updateCard(command, { title: 'ping all', lines: ['✓ a'], footer: 'finished', finished: true });
    await until(async () => (await redis.exists(`${prefix}:slack-pace:chat.update:blocked`)) === 1, 5000, 'the shared block');
    await updating;
    expect(
      slack()
        .calls('chat.update')
        .map((c) => c.status),
    ).toEqual([429, 200]);
  });
});
