import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBot } from '../../src/cli/run-bot.js';
import { handleCommandLine } from '../../src/bot/handle-command-line.js';
import { handleDecision } from '../../src/bot/handle-decision.js';
import { readWorkerSettings } from '../../src/config.js';
import { freePort, startRedis, type RunningRedis } from '../../src/dev/start-redis.js';
import { policySchema } from '../../src/policy/schema.js';
import { issueEnvelope } from '../../src/queue/envelope.js';
import { listTrustedHosts } from '../../src/queue/bot-trust.js';
import { publishHost, readHost } from '../../src/queue/host-registry.js';
import { CONTROL_QUEUE, hostQueueName, jobIdFor, keys } from '../../src/queue/names.js';
import { aclLine } from '../../src/queue/redis-acl.js';
import { signDocument } from '../../src/queue/signed.js';
import { generateSigner } from '../../src/queue/signing-keys.js';
import { loadHostKeys, type HostKeys } from '../../src/secrets/host-keys.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker.js';
import { startFakeGitlab, type FakeGitlab } from '../fakes/gitlab/start-fake-gitlab.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';
import { silentLog } from '../helpers/test-stack.js';
import { testBotKeyEnv, TEST_BOT_KEYS } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';

/**
 * An attacker who holds what every runner host holds: a Redis credential (here the ACL user of host
 * atk-1, whose CI jobs run untrusted code). Real redis-server with the ACLs `runnerops acl` prints,
 * a real bot and real workers connected with their own credentials, the fake GitLab and Slack.
 */
const PREFIX = '{atk}';
const policy = policySchema.parse({
  roles: { ops: { users: ['U0OPS'] }, approvers: { users: ['U0APP'] } },
  verbs: {
    ping: { run: ['ops'] },
    prune: { run: ['ops'] },
    register: { run: ['ops'] },
    rotate: { request: ['ops'], approve: ['approvers'] },
  },
  channels: { approvals: 'C0APPROVALS', security: 'C0SEC', reports: 'C0REPORTS' },
});

let redis: RunningRedis;
let admin: Redis;
let attacker: Redis;
let slack: FakeSlack;
let gitlab: FakeGitlab;
let dir: string;
let bot: Awaited<ReturnType<typeof runBot>>;
const workers = new Map<string, { worker: RunningWorker; keys: HostKeys; config: string; settings: ReturnType<typeof readWorkerSettings> }>();
const passwords = { bot: randomBytes(12).toString('hex'), 'atk-1': randomBytes(12).toString('hex'), 'atk-2': randomBytes(12).toString('hex') };

const urlFor = (user: string, password: string) => `redis://${user}:${password}@127.0.0.1:${redis.port}`;

async function startHost(host: 'atk-1' | 'atk-2'): Promise<void> {
  const state = path.join(dir, host);
  await mkdir(path.join(state, 'gitlab-runner'), { recursive: true });
  const config = path.join(state, 'gitlab-runner', 'config.toml');
  const seed = gitlab.addRunner({ description: 'nix' });
  await writeFile(
    config,
    `concurrent = 1\n\n[[runners]]\n  name = "nix"\n  url = "${gitlab.url}"\n  id = ${seed.id}\n  token = "${seed.token}"\n  executor = "docker"\n`,
    { mode: 0o600 },
  );
  const settings = readWorkerSettings({
    REDIS_URL: urlFor(`runnerops-worker-${host}`, passwords[host]),
    RUNNEROPS_PREFIX: PREFIX,
    RUNNEROPS_HOST: host,
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
    RUNNEROPS_STATE_DIR: state,
    RUNNEROPS_HEARTBEAT_SECONDS: '1',
    GITLAB_URL: gitlab.url,
    GITLAB_RUNNER_CONFIG: config,
    RUNNEROPS_RELOAD_COMMAND: 'true',
  });
  const hostKeys = await loadHostKeys(state);
  workers.set(host, { worker: await startWorker({ settings, log: silentLog, keys: hostKeys }), keys: hostKeys, config, settings });
}

const core = () => bot.bot.core;
const say = (text: string, user = 'U0OPS') => handleCommandLine(core(), text, { via: 'slack', user, channel: 'C0OPS' });

/** Everything an attack could have changed: config.toml bytes, GitLab's runners and tokens, the registry. */
async function snapshot(): Promise<string> {
  const configs = await Promise.all([...workers.values()].map((w) => readFile(w.config, 'utf8')));
  const runners = gitlab.runners().map((r) => `${r.id}:${r.token}:${r.paused}`);
  const hosts = (await listTrustedHosts(admin, PREFIX, core().trust)).map((h) => `${h.name}:${h.fingerprint}:${h.trust}`);
  return JSON.stringify({ configs, runners, hosts });
}

/** Waits until the bot has audited a security refusal whose text matches. */
async function securityAudit(match: RegExp): Promise<void> {
  await until(
    async () => (await core().audit.read(200)).some((e) => e.kind === 'security' && match.test(`${e.action} ${e.outcome ?? ''}`)),
    15_000,
    `a security audit entry matching ${match}`,
  );
}

async function aclDenials(): Promise<string[]> {
  const log = (await admin.call('ACL', 'LOG', '128')) as Array<Array<string | number>>;
  return log.map((entry) => String(entry[entry.indexOf('object') + 1]));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-attack-'));
  [redis, slack, gitlab] = await Promise.all([startRedis(), startFakeSlack(), startFakeGitlab()]);
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const lines = [
    aclLine(PREFIX, { role: 'bot' }, 'runnerops-bot', passwords.bot),
    aclLine(PREFIX, { role: 'worker', host: 'atk-1' }, 'runnerops-worker-atk-1', passwords['atk-1']),
    aclLine(PREFIX, { role: 'worker', host: 'atk-2' }, 'runnerops-worker-atk-2', passwords['atk-2']),
  ];
  for (const line of lines) {
    const [, user, ...rules] = splitAcl(line);
    await admin.call('ACL', 'SETUSER', user!, ...rules);
  }
  const admins = gitlab.createUserToken({ scopes: ['create_runner', 'manage_runner'], admin: true });
  await startHost('atk-1');
  await startHost('atk-2');
  const pinned = [...workers.entries()].map(([h, w]) => `${h}=${w.keys.hostFingerprint}`).join(',');
  bot = await runBot(
    {
      REDIS_URL: urlFor('runnerops-bot', passwords.bot),
      RUNNEROPS_PREFIX: PREFIX,
      LOG_LEVEL: 'silent',
      ...testBotKeyEnv,
      RUNNEROPS_ENROLLED_HOSTS: pinned,
      RUNNEROPS_API_SOCKET: path.join(dir, 'api.sock'),
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: 'secret',
      SLACK_API_URL: slack.apiUrl,
      PORT: String(await freePort()),
      GITLAB_URL: gitlab.url,
      GITLAB_TOKEN: admins.token,
    },
    { policy, sweepMs: 300 },
  );
  attacker = new Redis(urlFor('runnerops-worker-atk-1', passwords['atk-1']), { maxRetriesPerRequest: 1 });
}, 120_000);

afterAll(async () => {
  await bot?.stop();
  await Promise.all([...workers.values()].map((w) => w.worker.stop(2000)));
  attacker?.disconnect();
  admin?.disconnect();
  await Promise.all([redis?.stop(), slack?.close(), gitlab?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** `user <name> reset on >pw ~a ~b (~c +sadd) ...` -> [user, name, rules...] with each selector one rule. */
function splitAcl(line: string): string[] {
  const out: string[] = [];
  for (const word of line.split(' ')) {
    const last = out[out.length - 1];
    if (last !== undefined && last.startsWith('(') && !last.endsWith(')')) out[out.length - 1] = `${last} ${word}`;
    else out.push(word);
  }
  return out;
}

describe('with the ACL of their own host, an attacker', () => {
  it('leaves every legitimate path working: ping, prune dry run, register with a sealed token, rotation after approval', async () => {
    const ping = await say('ping all');
    if (ping.kind !== 'queued') throw new Error(JSON.stringify(ping));
    await until(
      async () => Object.values(await admin.hgetall(keys.commandRows(PREFIX, ping.command.id))).every((r) => r.includes('"done"')),
      20_000,
      'ping all done',
    );
    const prune = await say('prune atk-2 --dry-run');
    if (prune.kind !== 'queued') throw new Error(JSON.stringify(prune));
    await until(async () => (await admin.hget(keys.commandRows(PREFIX, prune.command.id), 'atk-2'))?.includes('"done"') === true, 30_000, 'prune dry run done');
    const register = await say('register atk-2 --type instance --description extra');
    if (register.kind !== 'queued') throw new Error(JSON.stringify(register));
    await until(
      async () => /"(done|failed)"/.test((await admin.hget(keys.commandRows(PREFIX, register.command.id), 'atk-2')) ?? ''),
      30_000,
      'register finished',
    );
    expect(await admin.hget(keys.commandRows(PREFIX, register.command.id), 'atk-2')).toContain('"done"');
    expect(await readFile(workers.get('atk-2')!.config, 'utf8')).toContain('name = "extra"');
    const rotate = await say('rotate atk-2 --runner nix');
    if (rotate.kind !== 'approval') throw new Error(JSON.stringify(rotate));
    const decided = await handleDecision(core(), 'approve', rotate.approval.id, 'U0APP', 'C0APPROVALS');
    if (!decided.ok || !decided.command) throw new Error(JSON.stringify(decided));
    const commandId = decided.command.id;
    await until(async () => /"(done|failed)"/.test((await admin.hget(keys.commandRows(PREFIX, commandId), 'atk-2')) ?? ''), 30_000, 'rotation finished');
    expect(await admin.hget(keys.commandRows(PREFIX, commandId), 'atk-2')).toContain('"done"');
  });

  it("cannot reach another host's queue, the control queue, approvals, enrolments, command rows, the audit log or the watch settings", async () => {
    const before = await snapshot();
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['atk-2 queue', () => attacker.xadd(`${PREFIX}:${hostQueueName('atk-2')}:events`, '*', 'x', '1')],
      ['atk-2 job', () => attacker.hset(`${PREFIX}:${hostQueueName('atk-2')}:evil`, 'data', '{}')],
      ['control queue', () => attacker.lpush(`${PREFIX}:${CONTROL_QUEUE}:wait`, 'evil')],
      ['approval', () => attacker.set(`${PREFIX}:approval:000000000000`, '{}')],
      ['enrolment', () => attacker.hset(keys.enrolled(PREFIX), 'atk-1', '{}')],
      ['rows', () => attacker.hset(keys.commandRows(PREFIX, 'c1'), 'atk-2', '{"status":"done"}')],
      ['audit', () => attacker.xadd(`${PREFIX}:audit`, '*', 'e', '{}')],
      ['watch settings', () => attacker.set(keys.watchSettings(PREFIX), '{"enabled":true}')],
      ['atk-2 registry', () => attacker.set(keys.hostEntry(PREFIX, 'atk-2'), '{}')],
      ['index removal', () => attacker.srem(keys.hostIndex(PREFIX), 'atk-2')],
      ['events deletion', () => attacker.del(keys.events(PREFIX))],
      ['a script', () => attacker.eval(`return redis.call('SET', KEYS[1], '1')`, 1, `${PREFIX}:approval:x`)],
      ['a script reaching out', () => attacker.eval(`return redis.call('SET', '${PREFIX}:approval:y', '1')`, 0)],
      ['flush', () => attacker.flushall()],
    ];
    for (const [what, attempt] of attempts) await expect(attempt(), what).rejects.toThrow(/NOPERM|can't access at least one of the keys/);
    expect(await aclDenials()).toEqual(
      expect.arrayContaining([`${PREFIX}:${hostQueueName('atk-2')}:events`, keys.enrolled(PREFIX), keys.watchSettings(PREFIX)]),
    );
    expect(await snapshot()).toBe(before);
  });

  it('gets a token of their choosing installed nowhere: unsigned and self-signed install jobs on its own queue are refused, audited and posted', async () => {
    const before = await snapshot();
    const queue = new Queue(hostQueueName('atk-1'), { connection: attacker, prefix: PREFIX });
    const host = workers.get('atk-1')!;
    const payload = {
      sealedToken: await sealToHost(`glrt-${randomBytes(10).toString('hex')}`, host.keys.publicKey),
      sealedTo: host.keys.fingerprint,
      runnerId: 9999,
      name: 'evil',
      gitlabUrl: gitlab.url,
      tokenExpiresAt: null,
    };
    await queue.add('install-runner', { commandId: 'evil1', payload }, { jobId: 'evil1@atk-1' });
    const selfSigned = issueEnvelope(generateSigner(), {
      job: 'install-runner',
      queue: hostQueueName('atk-1'),
      host: 'atk-1',
      jobId: 'evil2@atk-1',
      commandId: 'evil2',
      payload,
      requester: { via: 'slack', user: 'U0OPS' },
      issuedAt: Date.now(),
      expiresAt: Date.now() + 60_000,
    });
    await queue.add('install-runner', { commandId: 'evil2', envelope: selfSigned }, { jobId: 'evil2@atk-1' });
    await queue.add('rotate-token', { commandId: 'evil3', payload: {} }, { jobId: 'evil3@atk-1' });
    await queue.add(
      'prune-docker',
      { commandId: 'evil4', payload: { protectLabel: 'nothing=1', namedVolumes: true, volumes: true } },
      { jobId: 'evil4@atk-1' },
    );
    await queue.add('restart-nix-daemon', { commandId: 'evil5', payload: {} }, { jobId: 'evil5@atk-1' });
    await until(async () => (await queue.getFailedCount()) >= 5, 15_000, 'the five forged jobs refused');
    const failed = await queue.getFailed();
    expect(failed.map((j) => j.failedReason).every((r) => r?.startsWith('refused: '))).toBe(true);
    await queue.close();
    await securityAudit(/atk-1 refused a install-runner job \(unsigned job\)/);
    await securityAudit(/atk-1 refused a install-runner job \(job signed by unknown key/);
    await securityAudit(/atk-1 refused a rotate-token job/);
    await slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0SEC' && JSON.stringify(c.params).includes('refused a prune-docker job'));
    expect(await snapshot()).toBe(before);
  });

  it('cannot make the bot believe a job finished: a forged "completed" event is refused and audited, the row stays as it was', async () => {
    const ping = await say('ping atk-2');
    if (ping.kind !== 'queued') throw new Error(JSON.stringify(ping));
    const forged = { type: 'completed', commandId: ping.command.id, host: 'atk-2', job: 'ping', at: Date.now(), summary: 'forged' };
    await attacker.xadd(keys.events(PREFIX), '*', 'e', JSON.stringify(signDocument(workers.get('atk-1')!.keys.signer, 'event', forged)));
    await attacker.xadd(keys.events(PREFIX), '*', 'e', JSON.stringify({ body: forged }));
    await securityAudit(/refused-event .*event signed by unknown key/);
    await securityAudit(/refused-event .*unsigned event/);
    await until(async () => (await admin.hget(keys.commandRows(PREFIX, ping.command.id), 'atk-2'))?.includes('"done"') === true, 15_000, 'the real answer');
    expect(await admin.hget(keys.commandRows(PREFIX, ping.command.id), 'atk-2')).not.toContain('forged');
  });

  it('cannot get a token sealed to a key of its own: replacing its own registry entry makes the host key-changed, refused and reported', async () => {
    const own = (await readHost(admin, PREFIX, 'atk-1'))!;
    const evil = generateSigner();
    const runnersBefore = gitlab.runners().length;
    // The real worker would take its entry back at its next beat: the attacker waits until it is down.
    const real = workers.get('atk-1')!;
    await real.worker.stop(2000);
    await publishHost(attacker, PREFIX, evil, { ...own, publicKey: randomBytes(32).toString('base64') });
    const reply = await say('register atk-1 --type instance --description stolen');
    expect(reply.kind === 'text' && reply.text).toMatch(/^atk-1 now presents key SHA256:\S+, not the enrolled SHA256:/);
    await securityAudit(/host-key-changed atk-1 now presents key/);
    expect(gitlab.runners().length).toBe(runnersBefore);
    // Back up, the real worker publishes its own entry again.
    workers.set('atk-1', { ...real, worker: await startWorker({ settings: real.settings, log: silentLog, keys: real.keys }) });
    await until(
      async () => (await listTrustedHosts(admin, PREFIX, core().trust)).find((h) => h.name === 'atk-1')?.trust === 'enrolled',
      10_000,
      'atk-1 enrolled again',
    );
  });
});

describe('with a full Redis credential (no ACLs), an attacker', () => {
  it('still cannot enrol a key, run a control job or queue a job the bot did not sign', async () => {
    const before = await snapshot();
    await admin.hset(
      keys.enrolled(PREFIX),
      'atk-9',
      JSON.stringify({ kind: 'enrolment', body: { host: 'atk-9', fingerprint: `SHA256:${'a'.repeat(43)}`, by: 'me', at: 1 }, kid: 'x', sig: 'AA==' }),
    );
    expect((await listTrustedHosts(admin, PREFIX, core().trust)).find((h) => h.name === 'atk-9')).toBeUndefined();
    const control = new Queue(CONTROL_QUEUE, { connection: admin, prefix: PREFIX });
    await control.add(
      'register-runner',
      { commandId: 'evil6', host: 'atk-2', payload: { host: 'atk-2', type: 'instance' } },
      { jobId: jobIdFor('evil6', 'atk-2') },
    );
    await until(async () => (await control.getFailedCount()) >= 1, 15_000, 'the forged control job refused');
    await control.close();
    await securityAudit(/refused-control-job .*register-runner job \(unsigned job\)/);
    expect(await snapshot()).toBe(before);
  });
});
