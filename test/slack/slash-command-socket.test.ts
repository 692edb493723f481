import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishEnrolledHost } from '../helpers/test-trust.js';
import { newTriggerId, slashCommandPayload } from '../helpers/slack-requests.js';
import { DENY_CALLBACK } from '../../src/present/deny-modal.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ mode: 'socket', hosts: ['sock-1'] });
});
afterAll(async () => stack?.stop());

describe('/runner over Socket Mode', () => {
  it('acks the envelope and runs a ping end to end', async () => {
    // sendEnvelope resolves with the ack's payload and rejects when no ack comes within Slack's 3 s.
    await stack.slack.sendEnvelope('slash_commands', slashCommandPayload({ text: 'ping sock-1', channel_id: 'C0SOCK' }), { envelopeId: 'env-ping-sock-1' });
    const ack = stack.slack.socketAcks.find((a) => a.envelope_id === 'env-ping-sock-1');
    expect(ack?.latencyMs).toBeLessThan(3000);
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

describe('a Deny submission over Socket Mode', () => {
  it('is refused in the envelope ack with response_action errors', async () => {
    const payload = {
      type: 'view_submission',
      team: { id: 'T0RUNNEROPS', domain: 'runnerops-test' },
      user: { id: 'U0SOCKDENY', username: 'sockdeny', name: 'sockdeny', team_id: 'T0RUNNEROPS' },
      api_app_id: 'A0RUNNEROPS',
      trigger_id: newTriggerId(),
      view: {
        id: 'V0SOCKDENY',
        type: 'modal',
        callback_id: DENY_CALLBACK,
        private_metadata: JSON.stringify({ approvalId: 'feedfeedfeed' }),
        state: { values: { reason: { reason: { type: 'plain_text_input', value: 'no' } } } },
      },
      response_urls: [],
      is_enterprise_install: false,
    };
    const ack = await stack.slack.sendEnvelope('interactive', payload);
    expect(ack).toEqual({ response_action: 'errors', errors: { reason: 'no such approval request' } });
  });
});
