import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWorkerSettings } from '../../src/config.js';
import { handleCommandLine } from '../../src/bot/handle-command-line.js';
import { handleDecision } from '../../src/bot/handle-decision.js';
import { policySchema } from '../../src/policy/schema.js';
import { listTrustedHosts } from '../../src/queue/bot-trust.js';
import { loadHostKeys } from '../../src/secrets/host-keys.js';
import { startWorker } from '../../src/worker/start-worker.js';
import { silentLog, startTestStack, type TestStack } from '../helpers/test-stack.js';
import { TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';

const policy = policySchema.parse({
  roles: { operators: { users: ['U0OPS'] }, approvers: { users: ['U0APP'] } },
  verbs: { enroll: { request: ['operators'], approve: ['approvers'] }, ping: { run: ['operators'] } },
  channels: { approvals: 'C0APPROVALS', security: 'C0SEC' },
});

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ mode: 'http', hosts: ['en-1'], policy, enroll: false, sweepMs: 300 });
});
afterAll(async () => stack?.stop());

const say = (text: string, user = 'U0OPS') => handleCommandLine(stack.bot.bot.core, text, { via: 'slack', user, channel: 'C0OPS' });
const textOf = (reply: Awaited<ReturnType<typeof say>>) => (reply.kind === 'text' ? reply.text : reply.kind);

describe('host enrolment', () => {
  it('shows a new host as pending with its fingerprint and runs nothing there', async () => {
    const fingerprint = stack.hostKeys.get('en-1')!.hostFingerprint;
    expect(textOf(await say('hosts'))).toContain(`pending enrolment: en-1 presents ${fingerprint}`);
    expect(textOf(await say('ping en-1'))).toBe(
      `en-1 is not enrolled yet (key ${fingerprint}); an operator confirms that fingerprint on the host ("runnerops fingerprint") and enrols it with "enroll en-1"`,
    );
  });

  it('refuses a fingerprint that is not the one the host presents', async () => {
    const wrong = `SHA256:${'x'.repeat(43)}`;
    expect(textOf(await say(`enroll en-1 --fingerprint ${wrong}`))).toMatch(/^en-1 presents SHA256:\S+, not the SHA256:x+ you gave/);
  });

  it('enrols after a second person approves the fingerprint, and then runs jobs there', async () => {
    const fingerprint = stack.hostKeys.get('en-1')!.hostFingerprint;
    const reply = await say(`enroll en-1 --fingerprint ${fingerprint}`);
    if (reply.kind !== 'approval') throw new Error(`expected an approval, got ${textOf(reply)}`);
    expect(reply.approval.text).toBe(`enroll en-1 --fingerprint ${fingerprint}`);
    expect(await handleDecision(stack.bot.bot.core, 'approve', reply.approval.id, 'U0OPS', 'C0APPROVALS')).toMatchObject({ ok: false });
    expect((await handleDecision(stack.bot.bot.core, 'approve', reply.approval.id, 'U0APP', 'C0APPROVALS')).ok).toBe(true);
    expect((await stack.bot.bot.core.approvals.get(reply.approval.id))!.state).toBe('done');
    const hosts = await listTrustedHosts(stack.redis, stack.prefix, stack.bot.bot.core.trust);
    expect(hosts.find((h) => h.name === 'en-1')?.trust).toBe('enrolled');
    const ping = await say('ping en-1');
    expect(ping.kind).toBe('queued');
    if (ping.kind !== 'queued') return;
    await until(
      async () => (await stack.redis.hget(`${stack.prefix}:command:${ping.command.id}:rows`, 'en-1'))?.includes('"done"') === true,
      15_000,
      'ping done',
    );
  });

  it('refuses and reports a second worker that claims the enrolled name with another key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-impostor-'));
    const settings = readWorkerSettings({
      ...stack.env,
      RUNNEROPS_HOST: 'en-1',
      RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
      RUNNEROPS_STATE_DIR: dir,
      GITLAB_RUNNER_CONFIG: path.join(dir, 'config.toml'),
      RUNNEROPS_HEARTBEAT_SECONDS: '60',
    });
    const keys = await loadHostKeys(dir);
    const impostor = await startWorker({ settings, log: silentLog, keys });
    try {
      const notice = await stack.slack.waitFor(
        'chat.postMessage',
        (c) => c.params.channel === 'C0SEC' && String(c.params.text).includes(keys.hostFingerprint),
        15_000,
      );
      expect(JSON.stringify(notice.params.blocks)).toContain(
        `en-1 now presents key ${keys.hostFingerprint}, not the enrolled ${stack.hostKeys.get('en-1')!.hostFingerprint}`,
      );
    } finally {
      await impostor.stop(1000);
      await rm(dir, { recursive: true, force: true });
    }
    await until(
      async () => (await listTrustedHosts(stack.redis, stack.prefix, stack.bot.bot.core.trust)).find((h) => h.name === 'en-1')?.trust === 'enrolled',
      10_000,
      'the real worker back',
    );
  });
});
