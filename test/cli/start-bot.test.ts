import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/policy/schema.js';
import { readHost, touchHost } from '../../src/queue/host-registry.js';
import { until } from '../helpers/until.js';
import { signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

const policy = policySchema.parse({
  channels: { reports: 'C0REPORTS' },
  schedules: [{ name: 'every-second-ping', cron: '*/1 * * * * *', timezone: 'UTC', command: 'ping all', channel: 'C0PINGS' }],
  tokenExpiry: { warnWithin: '7d', cron: '*/1 * * * * *', timezone: 'UTC' },
});
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['sched-1'], policy });
});
afterAll(async () => stack?.stop());

describe('startBot', () => {
  it('runs the policy schedules and posts one summary per run in their channel', async () => {
    const report = await stack.slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0PINGS', 15_000);
    expect(JSON.stringify(report.params)).toContain('sched-1');
  });

  it('lists the schedules with their next run for /runner schedules', async () => {
    await signedPost(stack.eventsUrl, slashCommandBody({ text: 'schedules', user_id: 'U0SCHED' }), { secret: stack.signingSecret });
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0SCHED');
    const text = JSON.stringify(reply.params.blocks);
    expect(text).toContain('every-second-ping');
    expect(text).toContain('token-expiry');
  });

  it('runs the daily token-expiry check on its schedule and warns in the reports channel', async () => {
    // The worker reports its facts once at start; let that land first so it cannot overwrite ours.
    await until(async () => ((await readHost(stack.redis, stack.prefix, 'sched-1'))?.runners ?? []).length > 0, 15_000, 'host facts of sched-1');
    await touchHost(stack.redis, stack.prefix, stack.hostKeys.get('sched-1')!.signer, 'sched-1', {
      runners: [{ name: 'nix', id: 77, tokenExpiresAt: new Date(Date.now() + 86400_000).toISOString() }],
    });
    const warning = await stack.slack.waitFor(
      'chat.postMessage',
      (c) => c.params.channel === 'C0REPORTS' && JSON.stringify(c.params.blocks).includes('#77'),
      15_000,
    );
    expect(JSON.stringify(warning.params.blocks)).toContain('Request rotation');
  });
});
