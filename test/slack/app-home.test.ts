import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/policy/schema.js';
import { publishHost, readHost } from '../../src/queue/host-registry.js';
import { until } from '../helpers/until.js';
import { saveRunnersSummary } from '../../src/reports/runners-summary.js';
import { appHomeOpenedEvent, eventBody, signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0REQ'] }, approvers: { users: ['U0APPROVER'] } },
  verbs: { rotate: { request: ['operators'], approve: ['approvers'] } },
});
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['home-1'], policy });
});
afterAll(async () => stack?.stop());

async function openHome(user: string): Promise<string> {
  await signedPost(stack.eventsUrl, eventBody(appHomeOpenedEvent({ user, tab: 'home' })), { secret: stack.signingSecret });
  const call = await stack.slack.waitFor('views.publish', (c) => c.params.user_id === user);
  return JSON.stringify(call.params.view);
}

describe('App Home', () => {
  it('shows hosts with disk, store and daemon health, runner tokens soonest first with expired ones marked, recent jobs and approvals the viewer may act on', async () => {
    // The worker reports its facts once at start; let that land first so it cannot overwrite ours.
    await until(async () => ((await readHost(stack.redis, stack.prefix, 'home-1'))?.runners ?? []).length > 0, 15_000, 'host facts of home-1');
    const entry = (await readHost(stack.redis, stack.prefix, 'home-1'))!;
    await publishHost(stack.redis, stack.prefix, stack.hostKeys.get('home-1')!.signer, {
      ...entry,
      disk: { dockerFreeBytes: 5 * 1024 ** 3, nixFreeBytes: 7 * 1024 ** 3 },
      store: { totalNarBytes: 40 * 1024 ** 3, garbageBytes: 12 * 1024 ** 3, at: Date.now() },
      daemon: { healthy: true, at: Date.now() },
      runners: [
        { name: 'later', id: 2, tokenExpiresAt: '2099-01-01T00:00:00Z' },
        { name: 'gone', id: 1, tokenExpiresAt: '2020-01-01T00:00:00Z' },
      ],
    });
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'rotate home-1 --runner gone', user_id: 'U0REQ', channel_id: 'C0OPS' }), {
      secret: stack.signingSecret,
    });
    await stack.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.params.blocks).includes('rotate home-1 --runner gone'));
    const view = await openHome('U0APPROVER');
    expect(view).toContain('home-1');
    expect(view).toContain('docker free 5.0 GiB, nix free 7.0 GiB, store 40 GiB (12 GiB garbage), nix-daemon healthy');
    expect(view.indexOf('gone #1: *EXPIRED*')).toBeGreaterThan(-1);
    expect(view.indexOf('gone #1')).toBeLessThan(view.indexOf('later #2'));
    expect(view).toContain('Waiting for your approval');
    expect(view).toContain('runnerops.approve');
  });

  it('does not offer approvals to someone who may not approve them', async () => {
    const view = await openHome('U0REQ');
    expect(view).not.toContain('runnerops.approve');
    expect(view).toContain('Nothing waits for you.');
  });

  it('shows the last runners view: counts by status and mismatches, or how to read it', async () => {
    expect(await openHome('U0NEW')).toContain('Runners in GitLab: not read yet; `/runner runners all` reads them');
    await saveRunnersSummary(stack.redis, stack.prefix, {
      at: Date.now(),
      scope: 'all',
      counts: { online: 4, offline: 1, stale: 2, never_contacted: 0 },
      paused: 1,
      runners: [],
      mismatches: [{ kind: 'on-no-host', id: 9, description: 'x', status: 'stale' }],
    });
    expect(await openHome('U0NEW2')).toContain('4 online, 1 offline, 2 stale, 0 never contacted; 1 paused; 1 mismatch :warning:');
  });
});
