import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../src/queue/names.js';
import { forgedSignature, futureTimestamp, signedPost, slashCommandBody, sslCheckBody, staleTimestamp } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { startNixDaemonContainer, type NixDaemonContainer } from '../helpers/nix-daemon-container.js';
import { ensureDockerEngine } from '../setup/docker-engine.js';
import { policySchema } from '../../src/policy/schema.js';
import { until } from '../helpers/until.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['ci-1', 'ci-2'] });
});
afterAll(async () => stack?.stop());

async function commandCount(): Promise<number> {
  return stack.redis.llen(keys.commands(stack.prefix));
}

let markers = 0;
/**
 * A barrier instead of a pause: sends a valid `help` as a marker user and waits for its answer. The
 * requests sent before it have then been answered and handled as far as they ever will be.
 */
async function afterEarlierRequests(): Promise<void> {
  const user = `U0MARK${++markers}`;
  const response = await signedPost(stack.eventsUrl, slashCommandBody({ text: 'help', user_id: user }), { secret: stack.signingSecret });
  expect(response.status).toBe(200);
  await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === user);
}

describe('/runner over signed HTTP requests', () => {
  it('acks a ping at once, posts a job card and updates it with every host answer', async () => {
    const response = await signedPost(stack.eventsUrl, slashCommandBody({ text: 'ping all', channel_id: 'C0OPS' }), { secret: stack.signingSecret });
    expect(response.status).toBe(200);
    const posted = await stack.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.params).includes('ping all'));
    expect(posted.params.channel).toBe('C0OPS');
    const update = await stack.slack.waitFor('chat.update', (c) => JSON.stringify(c.params.blocks).includes('finished'), 10_000);
    const text = JSON.stringify(update.params.blocks);
    expect(text).toContain('ci-1');
    expect(text).toContain('ci-2');
    expect(text).toContain('2 done');
  });

  it('lists the registered hosts with their heartbeat age in a private reply', async () => {
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'hosts', user_id: 'U0HOSTS' }), { secret: stack.signingSecret });
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0HOSTS');
    const text = JSON.stringify(reply.params.blocks);
    expect(text).toMatch(/ci-1\s+(just now|\ds ago)/);
    expect(text).toContain('2 hosts, 2 alive');
  });

  it('answers an unknown verb with a one-line suggestion and queues nothing', async () => {
    const before = await commandCount();
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'prnue ci-1', user_id: 'U0TYPO' }), { secret: stack.signingSecret });
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0TYPO');
    expect(reply.params.text).toBe('unknown verb "prnue" — did you mean "prune"?');
    expect(await commandCount()).toBe(before);
  });

  it('names the known hosts when the host is unknown', async () => {
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'ping ci-9', user_id: 'U0UNKNOWN' }), { secret: stack.signingSecret });
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0UNKNOWN');
    expect(reply.params.text).toBe('unknown host "ci-9"; known: ci-1, ci-2');
  });

  it('refuses a mutating verb without a policy and says how to allow it', async () => {
    const before = await commandCount();
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'prune ci-1 --dry-run', user_id: 'U0NOPOLICY' }), { secret: stack.signingSecret });
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0NOPOLICY');
    expect(reply.params.text).toContain('RUNNEROPS_POLICY');
    expect(await commandCount()).toBe(before);
  });
});

describe('request verification', () => {
  const cases: Array<[string, Parameters<typeof signedPost>[2] extends infer O ? Partial<O> : never]> = [
    ['a forged signature', { signature: forgedSignature() }],
    ['a missing signature', { signature: false }],
    ['a missing timestamp', { timestamp: false }],
    ['a timestamp six minutes old', { timestamp: staleTimestamp() }],
    ['a timestamp six minutes ahead', { timestamp: futureTimestamp() }],
  ];
  for (const [name, overrides] of cases) {
    it(`refuses ${name} and enqueues nothing`, async () => {
      const before = await commandCount();
      const posts = stack.slack.calls('chat.postMessage').length;
      const response = await signedPost(stack.eventsUrl, slashCommandBody({ text: 'ping all' }), { secret: stack.signingSecret, ...overrides });
      expect(response.status).toBe(401);
      await afterEarlierRequests();
      expect(await commandCount()).toBe(before);
      expect(stack.slack.calls('chat.postMessage').length).toBe(posts);
    });
  }

  it('answers an ssl_check without triggering anything', async () => {
    const before = await commandCount();
    const calls = stack.slack.calls().length;
    const response = await signedPost(stack.eventsUrl, sslCheckBody(), { secret: stack.signingSecret, signature: false });
    // Slack's ssl_check wants a 200 and nothing else.
    expect(response.status).toBe(200);
    await afterEarlierRequests();
    expect(await commandCount()).toBe(before);
    // Only the marker's help reply was sent since.
    expect(
      stack.slack
        .calls()
        .slice(calls)
        .map((c) => c.method),
    ).toEqual(['chat.postEphemeral']);
  });
});

describe('replayed requests', () => {
  it('runs a request sent again with the same signature only once', async () => {
    const before = await stack.redis.llen(keys.commands(stack.prefix));
    const body = slashCommandBody({ text: 'ping ci-1', user_id: 'U0REPLAY' });
    const options = { secret: stack.signingSecret, timestamp: Math.floor(Date.now() / 1000) };
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await signedPost(stack.eventsUrl, body, options)).status);
    await until(async () => (await commandCount()) - before >= 1, 10_000, 'the command queued');
    await afterEarlierRequests();
    expect(statuses).toEqual([200, 200, 200]);
    expect((await stack.redis.llen(keys.commands(stack.prefix))) - before).toBe(1);
  });
});

describe('/runner gc and prune --images lru over signed HTTP requests', () => {
  let gcStack: TestStack;
  let daemon: NixDaemonContainer;

  beforeAll(async () => {
    daemon = await startNixDaemonContainer(await ensureDockerEngine());
    const policy = policySchema.parse({ roles: { ops: { users: ['U0OPS'] } }, verbs: { gc: { run: ['ops'] }, prune: { run: ['ops'] } } });
    gcStack = await startTestStack({ mode: 'http', policy });
    await gcStack.startHost('ci-gc', { NIX_DAEMON_CONTAINER: daemon.name });
  });
  afterAll(async () => {
    await gcStack?.stop();
    await daemon?.remove();
  });

  it('runs a GC dry run in the nix-daemon container and shows what would go on the card', async () => {
    const garbage = await daemon.addGarbage('slack garbage');
    await signedPost(gcStack.eventsUrl, slashCommandBody({ text: 'gc ci-gc --dry-run', user_id: 'U0OPS', channel_id: 'C0GC' }), {
      secret: gcStack.signingSecret,
    });
    const shows = (c: { params: Record<string, unknown> }): boolean => JSON.stringify(c.params.blocks ?? '').includes('would delete 1 of 1 dead paths');
    // A fast command's card is posted finished; a slower one is updated when it finishes.
    const done = await Promise.any([gcStack.slack.waitFor('chat.postMessage', shows, 20_000), gcStack.slack.waitFor('chat.update', shows, 20_000)]);
    expect(JSON.stringify(done.params.blocks)).toContain(
      `dry run: Nix GC in container ${daemon.name} would delete 1 of 1 dead paths: 128 B NAR; the store report predicted 128 B in 1 paths`,
    );
    expect(garbage).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/);
  });

  it('answers a bad free-space target with one line and queues nothing', async () => {
    await signedPost(gcStack.eventsUrl, slashCommandBody({ text: 'prune ci-gc --images lru --target-free 200%', user_id: 'U0OPS' }), {
      secret: gcStack.signingSecret,
    });
    const reply = await gcStack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0OPS');
    expect(reply.params.text).toBe('--target-free "200%" is not valid; expected a share from 1% to 95%');
  });
});
