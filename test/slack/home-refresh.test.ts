import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { WebClient } from '@slack/web-api';
import { publishHost, readHost } from '../../src/queue/host-registry.js';
import { policySchema } from '../../src/policy/schema.js';
import { createHomeRefresher } from '../../src/slack/home-refresh.js';
import { homeBlocks } from '../../src/slack/app-home.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { createPacer } from '../../src/slack/pace-calls.js';
import { isBroadcast, isLabelledLink } from '../fakes/slack/mrkdwn-syntax.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { appHomeOpenedEvent, eventBody, signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { silentLog, startTestStack, type TestStack } from '../helpers/test-stack.js';
import { publishEnrolledHost, testTrust } from '../helpers/test-trust.js';
import { useSlackAndRedis } from './use-slack-and-redis.js';
import { until } from '../helpers/until.js';
import { defined } from '../helpers/defined.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0REQ'] }, approvers: { users: ['U0VIEWER'] } },
  verbs: { rotate: { request: ['operators'], approve: ['approvers'] } },
});

describe('App Home in a running bot', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ mode: 'http', hosts: ['hr-1'], policy });
  });
  afterAll(async () => stack?.stop());

  it('is republished for a recent viewer when an approval is requested, without opening it again', async () => {
    await signedPost(stack.eventsUrl, eventBody(appHomeOpenedEvent({ user: 'U0VIEWER', tab: 'home' })), { secret: stack.signingSecret });
    await stack.slack.waitFor('views.publish', (c) => c.params.user_id === 'U0VIEWER');
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'rotate hr-1 --runner nix', user_id: 'U0REQ', channel_id: 'C0OPS' }), {
      secret: stack.signingSecret,
    });
    const refreshed = await stack.slack.waitFor(
      'views.publish',
      (c) => c.params.user_id === 'U0VIEWER' && JSON.stringify(c.params.view).includes('runnerops.approve'),
      15_000,
    );
    expect(refreshed.ok).toBe(true);
    expect(stack.slack.calls().filter((c) => c.method === 'views.publish' && c.params.user_id === 'U0VIEWER').length).toBeGreaterThanOrEqual(2);
  });

  it('is republished for a recent viewer when a job finishes', async () => {
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'ping hr-1', user_id: 'U0REQ', channel_id: 'C0OPS' }), { secret: stack.signingSecret });
    const card = await stack.slack.waitFor('chat.postMessage', (c) => String(c.params.text).startsWith('ping hr-1 [job '));
    const id = defined(/\[job ([0-9a-f]+)\]/.exec(String(card.params.text))?.[1], 'a job id on the card');
    const refreshed = await stack.slack.waitFor(
      'views.publish',
      (c) => c.params.user_id === 'U0VIEWER' && new RegExp(`${id}.*ping hr-1: finished`).test(JSON.stringify(c.params.view)),
      15_000,
    );
    expect(refreshed.ok).toBe(true);
  });
});

describe('createHomeRefresher', () => {
  const { redis, prefix, slack: fake } = useSlackAndRedis();
  let slack: FakeSlack;
  beforeAll(() => {
    slack = fake();
  });

  function refresher(p: string) {
    const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const deps = { redis, prefix: p, approvals: createApprovalStore(redis, p), policy, members: async () => [], trust: testTrust() };
    return createHomeRefresher({
      client,
      redis,
      prefix: p,
      pacer: createPacer({ redis, prefix: p }),
      log: silentLog,
      debounceMs: 100,
      hostPollMs: 100,
      blocks: (viewer) => homeBlocks(deps, viewer),
    });
  }

  it('republishes for recent viewers when a host’s facts change, and shows config.toml runner names as text', async () => {
    const p = `${prefix}:${randomUUID()}`;
    const home = refresher(p);
    const now = Date.now();
    const signer = await publishEnrolledHost(redis, p, {
      name: 'hr-2',
      versions: { runnerops: '0.1.0' },
      labels: {},
      publicKey: null,
      startedAt: now,
      lastHeartbeat: now,
      heartbeatSeconds: 3600,
    });
    await home.opened('U0WATCHER');
    home.start();
    try {
      const entry = (await readHost(redis, p, 'hr-2'))!;
      await publishHost(redis, p, signer, {
        ...entry,
        runners: [{ name: '<!channel> <https://evil.example|docs>', id: 7, tokenExpiresAt: '2099-01-01T00:00:00Z' }],
      });
      await until(async () => (slack.homeViews.get('U0WATCHER')?.publishCount ?? 0) >= 2, 10_000, 'a second publish');
      const view = slack.homeViews.get('U0WATCHER')!;
      expect(JSON.stringify(view.blocks)).toContain('&lt;!channel&gt;');
      expect(view.sequences.filter((s) => isBroadcast(s) || isLabelledLink(s))).toEqual([]);
    } finally {
      home.stop();
    }
  });

  it('puts a notice on top of one person’s Home, as text', async () => {
    const p = `${prefix}:${randomUUID()}`;
    await refresher(p).publish('U0CLICKER', 'approving rotate needs the role "approvers" <!here>');
    const view = slack.homeViews.get('U0CLICKER')!;
    expect(JSON.stringify(view.blocks[0])).toContain('approving rotate needs the role');
    expect(view.sequences).toEqual([]);
  });
});
