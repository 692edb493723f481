import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { retry as rotateRetry } from '../../src/queue/payloads/rotate-token.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { isTerminal, readRows, type CommandRow } from '../../src/queue/command-record.js';
import { listHosts } from '../../src/queue/host-registry.js';
import { hostQueueName, CONTROL_QUEUE } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import { APPROVE_ACTION } from '../../src/present/approval-blocks.js';
import { startFakeGitlab, type FakeGitlab, type FakeRunner } from '../fakes/gitlab/start-fake-gitlab.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { blockActionsBody, signedPost } from '../helpers/slack-requests.js';
import { until } from '../helpers/until.js';
import { readSeedConfig } from '../jobs/support/runner-host.js';
import { startPrivateDockerd, type PrivateDockerd } from '../setup/docker-engine.js';
import { errorLines, errorsWithoutMessage, isOneLine } from './support/checks.js';
import { ms, recordFigure } from './support/figures.js';
import { pinHosts, setUpOperator, type OperatorKeys } from './support/operator.js';
import { runRunnerops, type RunnerProcess } from './support/processes.js';
import { waitForReply } from './support/replies.js';
import { recordSecrets } from './support/run-dir.js';
import {
  allCommands,
  botEnv,
  cardOf,
  cardText,
  finishedAt,
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

// Faults outside runnerops: the Docker Engine stopped, GitLab answering 500, 429 with Retry-After or
// not at all in time, Slack answering 429, invalid_auth or 500. Each must end in a clear one-line
// message and a bounded number of tries, with every process still up (no crash loop).
const redisUrl = inject('redisUrl');
const prefix = newPrefix('faults');
const APPROVALS = 'C0FAPPROVALS';
let admin: Redis;
let slack: FakeSlack;
let gitlab: FakeGitlab;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
let dir: string;
let removeDir: () => Promise<void>;
let dockerd: PrivateDockerd;
const workers = new Map<string, RunnerProcess>();
const runners = new Map<string, FakeRunner>();
let timeoutRotation: Promise<string>;
let userSeq = 0;
let operator: OperatorKeys;
let enrolled: string;

function user(): string {
  return `U0FLT${String(userSeq++).padStart(3, '0')}`;
}

function hostDir(host: string): string {
  return path.join(dir, host);
}

/** The environment of a host's worker (with the bot's public key, as every worker has it). */
function hostEnv(host: string, extra: Record<string, string> = {}, withGitlab = true): Record<string, string> {
  return workerEnv({ redisUrl, prefix, host, botKeys: operator.botKeys, dir: hostDir(host), ...(withGitlab ? { gitlabUrl: gitlab.url } : {}), extra });
}

/** Extra settings of the hosts that differ from the rest. */
const HOST_EXTRA: Record<string, () => Record<string, string>> = {
  // A host whose GITLAB_RUNNER_CONFIG points into a directory that does not exist.
  'f-nodir': () => ({ GITLAB_RUNNER_CONFIG: path.join(hostDir('f-nodir'), 'missing', 'config.toml') }),
  'f-docker': () => ({ DOCKER_HOST: dockerd.host }),
  'f-nodocker': () => ({ DOCKER_HOST: 'unix:///run/runnerops-no-such-docker.sock' }),
};

async function writeRunnerConfig(host: string, runner?: FakeRunner): Promise<void> {
  await mkdir(path.join(hostDir(host), 'gitlab-runner'), { recursive: true });
  const text = runner
    ? (await readSeedConfig())
        .replace('@TOKEN_NIX@', runner.token)
        .replace('id = 12354', `id = ${runner.id}`)
        .replace('url = "https://gitlab.com"', `url = "${gitlab.url}"`)
    : '';
  await writeFile(path.join(hostDir(host), 'gitlab-runner', 'config.toml'), text, { mode: 0o600 });
}

/** A command as an operator; a rotation is approved by someone else. Returns the command id. */
async function run(text: string): Promise<string> {
  const from = text.startsWith('rotate ') ? 'U0FOPS' : user();
  expect((await slash(bot.eventsUrl, signingSecret, text, from)).status).toBe(200);
  if (text.startsWith('rotate ')) {
    const posted = await slack.waitFor('chat.postMessage', (c) => c.params.channel === APPROVALS && JSON.stringify(c.params.blocks).includes(`\`${text}\``));
    const id = defined(/"value":"([0-9a-f]{12})"/.exec(JSON.stringify(posted.params.blocks))?.[1], 'an approval id in the message');
    await signedPost(
      bot.eventsUrl,
      blockActionsBody({ action_id: APPROVE_ACTION, user_id: 'U0FAPPROVER', value: id, block_id: `approval-${id}`, channel_id: APPROVALS }),
      { secret: signingSecret },
    );
    await until(async () => (await createApprovalStore(admin, prefix).get(id))?.commandId !== undefined, 20_000, `approval of ${text}`);
    return `ap-${id}`;
  }
  let id = '';
  await until(
    async () => {
      id = (await allCommands(admin, prefix)).find((c) => c.requester.user === from)?.id ?? '';
      return id !== '';
    },
    20_000,
    `command "${text}" queued`,
  );
  return id;
}

async function rowOf(commandId: string): Promise<CommandRow | undefined> {
  return (await readRows(admin, prefix, commandId))[0];
}

/**
 * Waits for the command's row to be final, moving BullMQ's delayed retries forward instead of
 * waiting out their backoff (the retries and their count are BullMQ's own).
 */
async function finalRow(commandId: string, queueName: string, timeoutMs = 60_000): Promise<CommandRow> {
  const queue = new Queue(queueName, { connection: admin, prefix });
  try {
    let final: CommandRow | undefined;
    await until(
      async () => {
        for (const job of await queue.getDelayed()) if (String(job.id).startsWith(commandId)) await job.promote().catch(() => undefined);
        final = await rowOf(commandId);
        return final !== undefined && isTerminal(final.status);
      },
      timeoutMs,
      `row of ${commandId} final`,
    );
    return final!;
  } finally {
    await queue.close();
  }
}

async function attemptsOf(queueName: string, jobId: string): Promise<number> {
  const queue = new Queue(queueName, { connection: admin, prefix });
  try {
    return (await queue.getJob(jobId))?.attemptsMade ?? -1;
  } finally {
    await queue.close();
  }
}

beforeAll(async () => {
  admin = createRedis({ redisUrl });
  ({ slack, signingSecret } = await startSlackSide());
  gitlab = await startFakeGitlab();
  const { token } = gitlab.createUserToken({ scopes: ['api'], admin: true });
  recordSecrets(token);
  ({ dir, remove: removeDir } = await tempDir('faults'));
  operator = await setUpOperator(dir);
  dockerd = await startPrivateDockerd();
  // Every host's fingerprint, read on the host and pinned in the bot's config (f-nodocker starts later).
  const hosts = ['f-rot-timeout', 'f-rot-429', 'f-rot-flood', 'f-rot-drop', 'f-reg', 'f-ok', 'f-nodir', 'f-docker', 'f-nodocker'];
  enrolled = await pinHosts(hosts.map((host) => hostEnv(host, HOST_EXTRA[host]?.())));
  const policyFile = await writePolicy(dir, {
    roles: {
      ops: { users: ['U0FOPS', ...Array.from({ length: 100 }, (_, i) => `U0FLT${String(i).padStart(3, '0')}`)] },
      approvers: { users: ['U0FAPPROVER'] },
    },
    verbs: { prune: { run: ['ops'] }, 'restart-daemon': { run: ['ops'] }, register: { run: ['ops'] }, rotate: { request: ['ops'], approve: ['approvers'] } },
    channels: { approvals: APPROVALS },
  });
  bot = await startBotProcess(
    'faults-bot',
    botEnv({ redisUrl, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled, policyFile, gitlab: { url: gitlab.url, token } }),
  );
  const start = async (host: string) => workers.set(host, await startWorkerProcess(`faults-worker-${host}`, hostEnv(host, HOST_EXTRA[host]?.()), admin));
  for (const host of ['f-rot-timeout', 'f-rot-429', 'f-rot-flood', 'f-rot-drop']) {
    const runner = gitlab.addRunner({ description: host });
    runners.set(host, runner);
    await writeRunnerConfig(host, runner);
    await start(host);
  }
  await writeRunnerConfig('f-reg');
  await start('f-reg');
  await start('f-ok');
  await start('f-nodir');
  await start('f-docker');
  // The slowest fault first: GitLab not answering a verify in time (the client gives up after 30 s).
  gitlab.inject('POST /runners/verify', { delayMs: 31_000 });
  timeoutRotation = run('rotate f-rot-timeout');
  await timeoutRotation;
});

afterAll(async () => {
  for (const p of [bot, ...workers.values()]) await p?.stop();
  recordSecrets(...(gitlab?.issuedTokens() ?? []));
  if (slack) await saveSlackArtifacts('faults', slack);
  if (admin) {
    await saveRedisArtifacts('faults', admin, prefix).catch(() => undefined);
    admin.disconnect();
  }
  await slack?.close();
  await gitlab?.close();
  await dockerd?.stop();
  await removeDir?.();
});

describe('the Docker Engine stopped', () => {
  it('fails prune and restart-daemon with one line naming the engine, once, and the worker stays up', async () => {
    const worker = workers.get('f-docker')!;
    await dockerd.stop();
    for (const [text, job] of [
      ['prune f-docker --dry-run', 'prune-docker'],
      ['restart-daemon f-docker', 'restart-nix-daemon'],
    ] as const) {
      const id = await run(text);
      const final = await finalRow(id, hostQueueName('f-docker'));
      expect(final.status).toBe('failed');
      expect(isOneLine(final.summary ?? ''), final.summary).toBe(true);
      expect(final.summary).toMatch(/Docker Engine does not answer at unix:\/\/.*dockerd is running/);
      expect(await attemptsOf(hostQueueName('f-docker'), `${id}@f-docker`), job).toBeLessThanOrEqual(1);
    }
    expect(worker.alive()).toBe(true);
  });

  it('starts a worker whose Docker Engine is down, instead of crash-looping', async () => {
    const worker = await startWorkerProcess(
      'faults-worker-f-nodocker',
      hostEnv('f-nodocker', defined(HOST_EXTRA['f-nodocker'], 'the settings of f-nodocker')(), false),
      admin,
    );
    workers.set('f-nodocker', worker);
    await new Promise((r) => setTimeout(r, 3000));
    expect(worker.alive()).toBe(true);
    expect((await listHosts(admin, prefix)).find((h) => h.name === 'f-nodocker')?.alive).toBe(true);
  });
});

describe('GitLab failing', () => {
  it('gives up on a GitLab call that does not answer in time and tries it again, within bounds', async () => {
    const id = await timeoutRotation;
    const host = 'f-rot-timeout';
    const token = defined(runners.get(host)?.tokenHistory[0], `the first token of ${host}`);
    const final = await finalRow(id, hostQueueName(host));
    expect(final.status, final.summary).toBe('done');
    const verifies = gitlab.findRequests('POST /runners/verify').filter((r) => r.params.token === token);
    // The first verify got no answer within the client's 30 s; the idempotent retry got one at once.
    expect(verifies).toHaveLength(2);
    expect(defined(verifies[1], 'a second verify').at - defined(verifies[0], 'a first verify').at).toBeGreaterThanOrEqual(29_000);
    recordFigure({
      scenario: 'faults',
      name: 'rotation whose first GitLab call hung for 31 s',
      value: ms(final.finishedAt! - final.startedAt!),
      next: 'client timeout 30 s, then one idempotent retry',
    });
  });

  it('fails a rotation whose GitLab drops every connection after the bounded tries, with one line', async () => {
    const host = 'f-rot-drop';
    const runner = runners.get(host)!;
    const token = runner.token;
    const most = rotateRetry.attempts * 4;
    gitlab.inject('POST /runners/verify', { drop: true, times: most });
    try {
      const id = await run(`rotate ${host}`);
      const final = await finalRow(id, hostQueueName(host), 120_000);
      expect(final.status).toBe('failed');
      expect(isOneLine(final.summary ?? ''), final.summary).toBe(true);
      expect(final.summary).toMatch(/GitLab/);
      const verifies = gitlab.findRequests('POST /runners/verify').filter((r) => r.params.token === token).length;
      recordFigure({
        scenario: 'faults',
        name: 'rotation against a GitLab that drops every connection',
        value: `${await attemptsOf(hostQueueName(host), `${id}@${host}`)} BullMQ attempts, ${verifies} verify requests`,
        next: final.summary?.slice(0, 100),
      });
      expect(verifies).toBeLessThanOrEqual(most);
      expect(gitlab.runner(runner.id)!.token).toBe(token);
    } finally {
      const left = most - gitlab.findRequests('POST /runners/verify').filter((r) => r.params.token === token).length;
      for (let i = 0; i < left; i++)
        await fetch(`${gitlab.url}/api/v4/runners/verify`, { method: 'POST', body: new URLSearchParams({ token: 'glrt-drain' }) }).catch(() => undefined);
    }
  });

  it('fails a registration on 500 with one line, creates nothing and does not retry blindly', async () => {
    gitlab.inject('POST /user/runners', { status: 500, times: 1 });
    const id = await run('register f-reg --type instance --description faulty');
    const final = await finalRow(id, CONTROL_QUEUE);
    expect(final.status).toBe('failed');
    expect(isOneLine(final.summary ?? ''), final.summary).toBe(true);
    expect(final.summary).toMatch(/500/);
    expect(gitlab.requestCount('POST /user/runners')).toBe(1);
    expect(gitlab.runners().filter((r) => r.description === 'faulty')).toEqual([]);
  });

  it('names the missing config.toml directory when a runner cannot be installed, and deletes the runner again', async () => {
    const id = await run('register f-nodir --type instance --description nodir');
    const final = await finalRow(id, CONTROL_QUEUE);
    expect(final.status).toBe('failed');
    expect(isOneLine(final.summary ?? ''), final.summary).toBe(true);
    expect(final.summary).toMatch(/config\.toml|GITLAB_RUNNER_CONFIG/);
    expect(gitlab.runners().filter((r) => r.description === 'nodir')).toEqual([]);
  });

  it('waits out a 429 with Retry-After during a rotation and finishes it, within the bounded tries', async () => {
    const runner = runners.get('f-rot-429')!;
    const before = runner.token;
    gitlab.inject('POST /runners/reset_authentication_token', { status: 429, retryAfter: 1, times: 2 });
    const started = Date.now();
    const id = await run('rotate f-rot-429');
    const final = await finalRow(id, hostQueueName('f-rot-429'));
    recordFigure({ scenario: 'faults', name: 'rotation through two 429s with Retry-After: 1', value: ms(Date.now() - started) });
    expect(final.status, final.summary).toBe('done');
    expect(gitlab.findRequests('POST /runners/reset_authentication_token').filter((r) => r.params.token === before)).toHaveLength(3);
    expect(await readFile(path.join(hostDir('f-rot-429'), 'gitlab-runner', 'config.toml'), 'utf8')).toContain(gitlab.runner(runner.id)!.token);
  });

  it('gives up on a GitLab that answers 429 forever after the bounded tries, changing nothing', async () => {
    const runner = runners.get('f-rot-flood')!;
    const before = runner.token;
    const config = await readFile(path.join(hostDir('f-rot-flood'), 'gitlab-runner', 'config.toml'), 'utf8');
    // Exactly as many 429s as the bounded tries can ask for (the fake keeps unused faults queued).
    const most = rotateRetry.attempts * 3;
    gitlab.inject('POST /runners/reset_authentication_token', { status: 429, retryAfter: 1, times: most });
    try {
      const id = await run('rotate f-rot-flood');
      const final = await finalRow(id, hostQueueName('f-rot-flood'), 120_000);
      expect(final.status).toBe('failed');
      expect(isOneLine(final.summary ?? ''), final.summary).toBe(true);
      expect(final.summary).toMatch(/429|rate/i);
      expect(final.summary).toMatch(/nothing changed/);
      const attempts = await attemptsOf(hostQueueName('f-rot-flood'), `${id}@f-rot-flood`);
      expect(attempts).toBe(rotateRetry.attempts);
      const resets = gitlab.findRequests('POST /runners/reset_authentication_token').filter((r) => r.params.token === before).length;
      recordFigure({
        scenario: 'faults',
        name: 'rotation against a GitLab answering 429 forever',
        value: `${attempts} BullMQ attempts, ${resets} reset requests in all`,
        next: 'then failed, token and config unchanged',
      });
      expect(resets).toBeLessThanOrEqual(most);
      expect(gitlab.runner(runner.id)!.token).toBe(before);
      expect(await readFile(path.join(hostDir('f-rot-flood'), 'gitlab-runner', 'config.toml'), 'utf8')).toBe(config);
    } finally {
      // Whatever the job did not use must not hit later tests.
      const left = most - gitlab.findRequests('POST /runners/reset_authentication_token').filter((r) => r.params.token === before).length;
      for (let i = 0; i < left; i++)
        await fetch(`${gitlab.url}/api/v4/runners/reset_authentication_token`, { method: 'POST', body: new URLSearchParams({ token: 'glrt-drain' }) });
    }
  });
});

describe('Slack failing', () => {
  it('posts the card after 429s with Retry-After, with a bounded number of tries', async () => {
    slack.injectFault('chat.postMessage', { kind: 'rate_limited', retryAfterSeconds: 1 }, 2);
    const id = await run('ping f-ok');
    await until(async () => finishedAt(cardOf(slack, id)) !== undefined, 30_000, 'card finished after the 429s');
    const tries = slack.calls('chat.postMessage').filter((c) => String(c.params.text).includes(`[job ${id}]`));
    expect(tries.map((c) => c.status)).toEqual([429, 429, 200]);
  });

  it('tells the requester when the card cannot be posted (invalid_auth), says why in the log, and keeps running', async () => {
    const before = (await bot.output()).length;
    const requester = user();
    slack.injectFault('chat.postMessage', { kind: 'error', error: 'invalid_auth' }, 1);
    expect((await slash(bot.eventsUrl, signingSecret, 'ping f-ok', requester)).status).toBe(200);
    const reply = await waitForReply(slack, requester);
    expect(isOneLine(reply), reply).toBe(true);
    expect(reply).toMatch(/could not/);
    await new Promise((r) => setTimeout(r, 500));
    const log = (await bot.output()).slice(before);
    expect(log).toMatch(/invalid_auth/);
    expect(errorsWithoutMessage(log)).toEqual([]);
    expect(bot.alive()).toBe(true);
  });

  it('still brings the card to its final state when its updates fail with a 500 for a while', async () => {
    slack.injectFault('chat.update', { kind: 'http_status', status: 500 }, 3);
    const id = await run('ping f-ok');
    await until(async () => finishedAt(cardOf(slack, id)) !== undefined, 20_000, 'card finished despite a failed update').catch(() => undefined);
    const card = cardOf(slack, id);
    expect(card ? cardText(card).split('\n')[0] : 'no card').toMatch(/finished: 1 done/);
  });

  it('stops a bot whose token Slack refuses with one line saying so, instead of retrying forever', async () => {
    const refused = {
      ...botEnv({ redisUrl, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled }),
      RUNNEROPS_API_SOCKET: path.join(dir, 'refused-bot.sock'),
    };
    const result = await runRunnerops(['bot'], { ...refused, SLACK_BOT_TOKEN: 'xoxb-1-2-revokedrevokedrevoked', LOG_LEVEL: 'silent' }, 60_000);
    expect(result.code).toBe(1);
    const out = `${result.stdout}${result.stderr}`.trim();
    expect(isOneLine(out.replace(/^runnerops: /, '')), out).toBe(true);
    expect(out).toMatch(/invalid_auth|SLACK_BOT_TOKEN/);
  });
});

describe('after every fault', () => {
  it('kept every process up, with errors that say what happened', async () => {
    for (const p of [bot, ...workers.values()]) {
      expect(p.alive(), p.name).toBe(true);
      const output = await p.output();
      expect(errorsWithoutMessage(output), p.name).toEqual([]);
      expect(errorLines(output).length, p.name).toBeLessThan(50);
    }
  });
});
