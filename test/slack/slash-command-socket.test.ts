import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEnrolledHost } from '../helpers/test-trust.js';
import { slashCommandPayload } from '../helpers/slack-requests.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'socket', hosts: ['sock-1'] });
});
afterAll(async () => stack?.stop());

describe('/runner over Socket Mode', () => {
  it('acks the envelope and runs a ping end to end', async () => {
    const ack = await stack.slack.sendEnvelope('slash_commands', slashCommandPayload({ text: 'ping sock-1', channel_id: 'C0SOCK' }));
    expect(ack).toBeDefined();
    const update = await stack.slack.waitFor('chat.update', (c) => JSON.stringify(c.params.blocks).includes('1 done'), 10_000);
    expect(JSON.stringify(update.params.blocks)).toContain('sock-1');
    expect(update.params.channel).toBe('C0SOCK');
  });

  it('shows help with every verb and an example', async () => {
    await stack.slack.sendEnvelope('slash_commands', slashCommandPayload({ text: 'help', user_id: 'U0HELP' }));
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0HELP');
    const text = JSON.stringify(reply.params.blocks);
    for (const verb of ['hosts', 'ping', 'store', 'prune', 'restart-daemon', 'register', 'rotate', 'jobs', 'job', 'audit', 'schedules']) {
      expect(text).toContain(`/runner ${verb}`);
    }
    expect(text).toContain('e.g. /runner prune ci-3 --until 24h --dry-run');
  });

  it('drops a host that stopped cleanly and marks one whose heartbeat aged as expired', async () => {
    const worker = await stack.startHost('sock-gone');
    await worker.stop(1000);
    stack.workers.delete('sock-gone');
    // A worker that died without saying goodbye leaves its entry behind, and its heartbeat ages.
    await publishEnrolledHost(stack.redis, stack.prefix, {
      name: 'sock-crashed',
      versions: { runnerops: '0.1.0' },
      labels: {},
      publicKey: null,
      startedAt: Date.now() - 120_000,
      lastHeartbeat: Date.now() - 60_000,
      heartbeatSeconds: 5,
    });
    await stack.slack.sendEnvelope('slash_commands', slashCommandPayload({ text: 'hosts', user_id: 'U0HOSTS2' }));
    const reply = await stack.slack.waitFor('chat.postEphemeral', (c) => c.params.user === 'U0HOSTS2');
    const text = JSON.stringify(reply.params.blocks);
    expect(text).not.toContain('sock-gone');
    expect(text).toMatch(/sock-crashed\s+60s ago \(EXPIRED\)/);
    expect(text).toContain('2 hosts, 1 alive, 1 with an expired heartbeat');
  });
});
