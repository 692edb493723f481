import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { handleDecision } from '../../src/bot/handle-decision.js';
import { handleCommandLine } from '../../src/bot/handle-command-line.js';
import { policySchema } from '../../src/policy/schema.js';
import { hostQueueName } from '../../src/queue/names.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { defined } from '../helpers/defined.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0REQ', 'U0APP', 'U0ALICE', 'cli:alice'] }, approvers: { users: ['U0APP', 'U0ALICE'] } },
  verbs: { rotate: { request: ['operators'], approve: ['approvers'] } },
  people: { alice: { identities: ['U0ALICE', 'cli:alice'] } },
  channels: { approvals: 'C0APPROVALS', security: 'C0SEC' },
});

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['bind-1'], policy });
});
afterAll(async () => stack?.stop());

async function request(text: string, user: string): Promise<string> {
  const reply = await handleCommandLine(stack.bot.bot.core, text, { via: user.startsWith('cli:') ? 'cli' : 'slack', user, channel: 'C0OPS' });
  if (reply.kind !== 'approval') throw new Error(`expected an approval request, got ${JSON.stringify(reply)}`);
  return reply.approval.id;
}

async function jobsOnHost(host: string): Promise<number> {
  const queue = new Queue(hostQueueName(host), { connection: stack.redis, prefix: stack.prefix });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

describe('an approval runs exactly what was requested', () => {
  it('refuses a request changed in Redis after it was posted: audited, a security notice, and nothing queued', async () => {
    const id = await request('rotate bind-1 --runner nix', 'U0REQ');
    const key = `${stack.prefix}:approval:${id}`;
    const stored = JSON.parse((await stack.redis.get(key))!) as { frozen: string };
    const frozen = JSON.parse(stored.frozen) as { text: string; request: { runner: string }; plan: { payloads: Record<string, { runner: string }> } };
    // What an attacker with a Redis connection would do: the message still says "--runner nix".
    frozen.request.runner = '101';
    defined(frozen.plan.payloads['bind-1'], 'the payload of bind-1').runner = '101';
    await stack.redis.set(key, JSON.stringify({ ...stored, frozen: JSON.stringify(frozen) }), 'KEEPTTL');
    const before = await jobsOnHost('bind-1');
    const decided = await handleDecision(stack.bot.bot.core, 'approve', id, 'U0APP', 'C0APPROVALS');
    expect(decided.ok).toBe(false);
    expect(!decided.ok && decided.reason).toMatch(/^refused: this request was changed after it was made/);
    expect(await jobsOnHost('bind-1')).toBe(before);
    expect((await stack.bot.bot.core.approvals.get(id))!.state).toBe('failed');
    const audit = await stack.bot.bot.core.audit.read(5);
    expect(audit.some((e) => e.kind === 'security' && e.approvalId === id)).toBe(true);
    const notice = await stack.slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0SEC');
    expect(String(notice.params.text)).toContain(`approval ${id}`);
  });

  it('queues the frozen plan with the request hash and the approver in the signed envelope', async () => {
    const id = await request('rotate bind-1 --runner nix', 'U0REQ');
    const decided = await handleDecision(stack.bot.bot.core, 'approve', id, 'U0APP', 'C0APPROVALS');
    expect(decided.ok).toBe(true);
    const queue = new Queue(hostQueueName('bind-1'), { connection: stack.redis, prefix: stack.prefix });
    const job = (await queue.getJob(`ap-${id}@bind-1`))!;
    await queue.close();
    const body = job.data.envelope.body;
    expect(body).toMatchObject({
      job: 'rotate-token',
      host: 'bind-1',
      payload: { runner: 'nix', requestId: `ap-${id}` },
      approval: { id, approvedBy: ['U0APP'] },
    });
    expect(body.approval.requestHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('compares people, not identities: a request from cli:alice cannot be approved by alice in Slack', async () => {
    const id = await request('rotate bind-1 --runner nix', 'cli:alice');
    const decided = await handleDecision(stack.bot.bot.core, 'approve', id, 'U0ALICE', 'C0APPROVALS');
    expect(decided).toMatchObject({ ok: false, reason: 'you asked for this yourself; someone else must approve it' });
    expect((await handleDecision(stack.bot.bot.core, 'approve', id, 'U0APP', 'C0APPROVALS')).ok).toBe(true);
  });
});
