import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import Docker from 'dockerode';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CONTROL_JOBS } from '../../jobs/control/index.js';
import { HOST_JOBS } from '../../jobs/index.js';
import { createApprovalStore } from '../../src/approvals/approval-store.js';
import { parseRunnerConfig, setEntryToken } from '../../src/clients/runner-config/config-toml.js';
import { recoveryPath } from '../../src/clients/runner-config/rotation-recovery.js';
import { isTerminal, readRows, type CommandRow } from '../../src/queue/command-record.js';
import { enqueueCommand } from '../../src/queue/enqueue.js';
import { readHost } from '../../src/queue/host-registry.js';
import { hostQueueName } from '../../src/queue/names.js';
import { createQueuePool } from '../../src/queue/queue-pool.js';
import { createRedis } from '../../src/queue/redis.js';
import { fingerprintOf } from '../../src/secrets/host-keys.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';
import { APPROVE_ACTION } from '../../src/present/approval-blocks.js';
import { execInContainer } from '../../src/clients/docker/exec-in-container.js';
import { createPruneFixture, listEngine } from '../clients/docker/prune-fixture.js';
import { startFakeGitlab, type FakeGitlab, type FakeRunner } from '../fakes/gitlab/start-fake-gitlab.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { blockActionsBody, signedPost } from '../helpers/slack-requests.js';
import { signedHostJob } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';
import { readSeedConfig } from '../jobs/support/runner-host.js';
import { ensureDockerEngine, startPrivateDockerd, type PrivateDockerd } from '../setup/docker-engine.js';
import { ensureBusyboxImage, ensureNixDaemonImage } from '../setup/docker-images.js';
import { isOneLine } from './support/checks.js';
import { ms, recordFigure } from './support/figures.js';
import { pinHosts, setUpOperator, type OperatorKeys } from './support/operator.js';
import { spawnRunnerops, type RunnerProcess } from './support/processes.js';
import { startRedisProxy, type RedisProxy } from './support/redis-proxy.js';
import { recordSecrets } from './support/run-dir.js';
import { JOB_LOCK } from '../../src/queue/job-lock.js';
import {
  allCommands,
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

// SIGKILL mid-job, for every job kind. Host jobs: the worker process is stopped at an exact point (a
// proxy in front of Redis holds its traffic once a given event or progress passes, so the job sits in
// BullMQ's active list with its lock), killed, and started again: BullMQ's stalled-job check must hand
// the job back (or fail it with a clear message), a token rotation must never be applied twice nor be
// lost. Control-plane jobs: the bot process is killed while GitLab is answering, and started again;
// then, once those jobs are over, killed once more mid-way through four others.
const redisUrl = inject('redisUrl');
const prefix = newPrefix('killed');
const APPROVALS = 'C0KAPPROVALS';
let admin: Redis;
let slack: FakeSlack;
let gitlab: FakeGitlab;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
let botEnvironment: Record<string, string>;
let dir: string;
let removeDir: () => Promise<void>;
let dockerd: PrivateDockerd;
let mainDocker: Docker;
const processes: RunnerProcess[] = [];
const proxies: RedisProxy[] = [];
const containers: string[] = [];
const suffix = randomBytes(3).toString('hex');
const covered = new Set<string>();

/** What the test knows about each killed job: its command, when it was killed, and its setup. */
interface Kill {
  kind: string;
  host: string;
  commandId: string;
  killedAt: number;
  runner?: FakeRunner;
  /** The runner's token before the job, for rotations. */
  tokenBefore?: string;
  /** A Nix GC: store paths nothing refers to, and paths a GC root holds. */
  store?: { garbage: string[]; rooted: string[] };
  /** A stale-runner cleanup: the runners the approval froze, and one that went stale after it. */
  frozen?: FakeRunner[];
  outside?: FakeRunner;
}
const kills = new Map<string, Kill>();
let operator: OperatorKeys;
/** Every host of the scenario, and the extra settings of those that have any. */
const HOSTS = [
  'k-ping',
  'k-twice',
  'k-facts',
  'k-store',
  'k-prune',
  'k-restart',
  'k-rot-during',
  'k-rot-before',
  'k-rot-saved',
  'k-install',
  'k-sysid',
  'k-drain',
  'k-reg',
  'k-revive',
  'k-gc',
  'k-unreg',
];
/** Verbs whose command waits for someone else's approval. */
const APPROVED_VERBS = new Set(['rotate', 'unregister', 'cleanup-stale']);
const DAY_MS = 86_400_000;

function hostDir(host: string): string {
  return path.join(dir, host);
}

function env(host: string, url: string, extra: Record<string, string> = {}): Record<string, string> {
  return workerEnv({ redisUrl: url, prefix, host, botKeys: operator.botKeys, dir: hostDir(host), gitlabUrl: gitlab.url, heartbeatSeconds: 2, extra });
}

/** A worker that talks to Redis through its own proxy, so the test can stop it at an exact point. */
async function proxiedWorker(host: string, extra: Record<string, string> = {}, waitForRegistry = true): Promise<{ proxy: RedisProxy; worker: RunnerProcess }> {
  const proxy = await startRedisProxy({ host: '127.0.0.1', port: Number(new URL(redisUrl).port) });
  proxies.push(proxy);
  const name = `killed-worker-${host}-${proxies.length}`;
  const worker = waitForRegistry
    ? await startWorkerProcess(name, env(host, proxy.url, extra), admin)
    : spawnRunnerops(name, ['worker'], env(host, proxy.url, extra));
  processes.push(worker);
  return { proxy, worker };
}

/** SIGKILL, then the same host's worker again, straight to Redis. */
async function killAndRestart(host: string, worker: RunnerProcess, extra: Record<string, string> = {}): Promise<number> {
  worker.child.kill('SIGKILL');
  await worker.exited;
  const killedAt = Date.now();
  processes.push(await startWorkerProcess(`killed-worker-${host}-again`, env(host, redisUrl, extra), admin));
  return killedAt;
}

async function writeRunnerConfig(host: string, runner?: FakeRunner, expiredAt?: Date): Promise<void> {
  await mkdir(path.join(hostDir(host), 'gitlab-runner'), { recursive: true });
  let text = runner
    ? (await readSeedConfig())
        .replace('@TOKEN_NIX@', runner.token)
        .replace('id = 12354', `id = ${runner.id}`)
        .replace('url = "https://gitlab.com"', `url = "${gitlab.url}"`)
    : '';
  if (runner && expiredAt)
    text = setEntryToken(
      text,
      { id: runner.id },
      { token: runner.token, obtainedAt: new Date(expiredAt.getTime() - 7200_000), expiresAt: expiredAt.toISOString() },
    );
  await writeFile(path.join(hostDir(host), 'gitlab-runner', 'config.toml'), text, { mode: 0o600 });
}

/** The command id of the newest command `user` sent. */
async function commandOf(user: string, timeoutMs = 20_000): Promise<string> {
  let id = '';
  await until(
    async () => {
      id = (await allCommands(admin, prefix)).filter((c) => c.requester.user === user).sort((a, b) => b.createdAt - a.createdAt)[0]?.id ?? '';
      return id !== '';
    },
    timeoutMs,
    `a command from ${user}`,
  );
  return id;
}

/**
 * `/runner <text>` as an operator; for a verb that needs an approval (rotate, unregister, cleanup-stale),
 * approved by someone else, `beforeApproval` running once the request is posted. Returns the command id.
 */
async function run(text: string, user: string, beforeApproval: () => void = () => undefined): Promise<string> {
  expect((await slash(bot.eventsUrl, signingSecret, text, user)).status).toBe(200);
  if (!APPROVED_VERBS.has(text.split(' ')[0] ?? '')) return commandOf(user);
  // A cleanup's request names the runners it deletes after the command: `cleanup-stale: deletes 3 runners: ...`.
  const asks = (blocks: string) => blocks.includes(`\`${text}\``) || blocks.includes(`\`${text}: `);
  const posted = await slack.waitFor('chat.postMessage', (c) => c.params.channel === APPROVALS && asks(JSON.stringify(c.params.blocks)));
  beforeApproval();
  const id = defined(/"value":"([0-9a-f]{12})"/.exec(JSON.stringify(posted.params.blocks))?.[1], 'an approval id in the message');
  const click = await signedPost(
    bot.eventsUrl,
    blockActionsBody({ action_id: APPROVE_ACTION, user_id: 'U0KAPPROVER', value: id, block_id: `approval-${id}`, channel_id: APPROVALS }),
    { secret: signingSecret },
  );
  expect(click.status).toBe(200);
  await until(async () => (await createApprovalStore(admin, prefix).get(id))?.commandId !== undefined, 20_000, `approval ${id} queued`);
  return `ap-${id}`;
}

async function row(commandId: string, host: string): Promise<CommandRow | undefined> {
  return (await readRows(admin, prefix, commandId)).find((r) => r.host === host);
}

/** Waits until the host's row of the command is final; records the time from the kill. */
async function finalRow(kind: string, timeoutMs = 150_000): Promise<CommandRow> {
  const kill = kills.get(kind)!;
  let final: CommandRow | undefined;
  await until(
    async () => {
      final = await row(kill.commandId, kill.host);
      return final !== undefined && isTerminal(final.status);
    },
    timeoutMs,
    `${kind} on ${kill.host} to finish after the kill`,
  );
  recordFigure({
    scenario: 'worker-killed',
    name: `${kind}: SIGKILL -> ${final!.status}`,
    value: ms((final!.finishedAt ?? Date.now()) - kill.killedAt),
    next: `stalled-job check every ${JOB_LOCK.stalledInterval / 1000} s, lock ${JOB_LOCK.lockDuration / 1000} s; ${final!.summary?.split('\n')[0]?.slice(0, 90) ?? ''}`,
  });
  covered.add(kind);
  return final!;
}

async function jobOf(queueName: string, jobId: string) {
  const queue = new Queue(queueName, { connection: admin, prefix });
  try {
    return await queue.getJob(jobId);
  } finally {
    await queue.close();
  }
}

async function startNixDaemon(name: string): Promise<void> {
  const image = await ensureNixDaemonImage();
  const container = await mainDocker.createContainer({ name, Image: image, HostConfig: { NetworkMode: 'none' } });
  containers.push(name);
  await container.start();
}

/** A shell script in a nix-daemon container; its exit code and output. */
function inNixDaemon(container: string, script: string) {
  return execInContainer(mainDocker, container, ['/bin/sh', '-c', script], { timeoutMs: 60_000 });
}

/** Adds a file and one that refers to it to the container's store through its daemon; returns both paths. */
async function addStorePair(container: string, label: string): Promise<[string, string]> {
  const expr = `let a = builtins.toFile "${label}" "${label} ${randomBytes(6).toString('hex')}"; in builtins.toFile "${label}-ref" "uses \${a}"`;
  const ref = (await inNixDaemon(container, `nix-instantiate --store daemon --eval --read-write-mode -E '${expr}'`)).stdout.trim().replace(/"/g, '');
  const leaf = (await inNixDaemon(container, `nix-store --store daemon --query --references ${ref}`)).stdout.trim().split('\n')[0]!;
  if (!ref.startsWith('/nix/store/') || !leaf.startsWith('/nix/store/'))
    throw new Error(`adding ${label} to the store of ${container} printed "${ref}" "${leaf}"`);
  return [leaf, ref];
}

async function isValidPath(container: string, storePath: string): Promise<boolean> {
  return (await inNixDaemon(container, `nix-store --store daemon --check-validity ${storePath}`)).exitCode === 0;
}

/** Whether a command's row is final (an unknown row is not). */
async function isFinished(kind: string): Promise<boolean> {
  const kill = kills.get(kind)!;
  return isTerminal((await row(kill.commandId, kill.host))?.status ?? 'queued');
}

/** Successful deletions of runner `id` GitLab answered (a request the killed bot never read counts too). */
function deletionsOf(id: number): number {
  return gitlab.findRequests('DELETE /runners/:id').filter((r) => r.url.split('?')[0]!.endsWith(`/runners/${id}`) && r.status >= 200 && r.status < 300).length;
}

beforeAll(async () => {
  admin = createRedis({ redisUrl });
  ({ slack, signingSecret } = await startSlackSide());
  gitlab = await startFakeGitlab();
  const { token } = gitlab.createUserToken({ scopes: ['api'], admin: true });
  recordSecrets(token);
  ({ dir, remove: removeDir } = await tempDir('killed'));
  mainDocker = await ensureDockerEngine();
  operator = await setUpOperator(dir);
  // Each host's fingerprint as "runnerops fingerprint" prints it there, pinned in the bot's config.
  const enrolled = await pinHosts(HOSTS.map((host) => env(host, redisUrl)));
  const policyFile = await writePolicy(dir, {
    roles: {
      ops: {
        users: [
          'U0KOPS',
          'U0KOPS2',
          'U0KOPS3',
          'U0KOPS4',
          'U0KOPS5',
          'U0KOPS6',
          'U0KOPS7',
          'U0KOPS8',
          'U0KOPS9',
          'U0KOPS10',
          'U0KOPS11',
          'U0KOPS12',
          'U0KOPS13',
          'U0KOPS14',
        ],
      },
      approvers: { users: ['U0KAPPROVER'] },
    },
    verbs: {
      prune: { run: ['ops'] },
      gc: { run: ['ops'] },
      'restart-daemon': { run: ['ops'] },
      register: { run: ['ops'] },
      rotate: { request: ['ops'], approve: ['approvers'] },
      pause: { run: ['ops'] },
      resume: { run: ['ops'] },
      unregister: { request: ['ops'], approve: ['approvers'] },
      'cleanup-stale': { request: ['ops'], approve: ['approvers'] },
    },
    channels: { approvals: APPROVALS },
    prune: { until: '1s' },
  });
  botEnvironment = botEnv({
    redisUrl,
    prefix,
    slack,
    signingSecret,
    port: await httpPort(),
    operator,
    enrolled,
    policyFile,
    gitlab: { url: gitlab.url, token },
  });
  bot = await startBotProcess('killed-bot', botEnvironment);
  processes.push(bot);

  // --- host jobs: every worker stops at its point, is killed and started again -----------------
  const flows: Array<Promise<void>> = [];

  // ping: stopped as it starts (the job is active, its lock held).
  {
    const { proxy, worker } = await proxiedWorker('k-ping');
    const hold = proxy.holdWhen('"type":"started"', '"job":"ping"');
    const commandId = await run('ping k-ping', 'U0KOPS');
    flows.push(hold.then(async () => void kills.set('ping', { kind: 'ping', host: 'k-ping', commandId, killedAt: await killAndRestart('k-ping', worker) })));
  }

  // ping, killed twice: the second stall makes BullMQ fail the job.
  {
    const { proxy, worker } = await proxiedWorker('k-twice');
    const hold = proxy.holdWhen('"type":"started"', '"job":"ping"');
    const commandId = await run('ping k-twice', 'U0KOPS2');
    flows.push(
      hold.then(async () => {
        worker.child.kill('SIGKILL');
        await worker.exited;
        const again = await proxiedWorker('k-twice');
        await again.proxy.holdWhen('"type":"started"', '"job":"ping"');
        kills.set('ping killed twice', { kind: 'ping killed twice', host: 'k-twice', commandId, killedAt: await killAndRestart('k-twice', again.worker) });
      }),
    );
  }

  // host-facts: a worker refreshes its facts by itself (not through its queue); a bot-signed host-facts
  // job, as a bot queues one to refresh a host now, is stopped as it starts.
  {
    const runner = gitlab.addRunner({ description: 'facts' });
    await writeRunnerConfig('k-facts', runner);
    const { proxy, worker } = await proxiedWorker('k-facts');
    const hold = proxy.holdWhen('"type":"started"', '"job":"host-facts"');
    const { jobId, data } = signedHostJob('k-facts', 'host-facts', {}, { commandId: 'facts-k-facts', signer: operator.botSigner });
    const queue = new Queue(hostQueueName('k-facts'), { connection: admin, prefix });
    await queue.add('host-facts', data, { jobId });
    await queue.close();
    flows.push(
      hold.then(
        async () =>
          void kills.set('host-facts', { kind: 'host-facts', host: 'k-facts', commandId: 'facts-k-facts', killedAt: await killAndRestart('k-facts', worker) }),
      ),
    );
  }

  // store-usage: stopped while it reads the Nix store.
  {
    const { proxy, worker } = await proxiedWorker('k-store');
    const hold = proxy.holdWhen('"phase":"reading the Nix store"');
    const commandId = await run('store k-store', 'U0KOPS3');
    flows.push(
      hold.then(
        async () => void kills.set('store-usage', { kind: 'store-usage', host: 'k-store', commandId, killedAt: await killAndRestart('k-store', worker) }),
      ),
    );
  }

  // prune-docker: killed as removals start, on a private dockerd full of leftovers, a protected
  // container and a stopped nix-daemon container.
  {
    dockerd = await startPrivateDockerd();
    const image = await ensureBusyboxImage(dockerd.host);
    await createPruneFixture(dockerd.docker, { image, exitedContainers: 40, anonymousVolumes: 10, danglingImages: 8 });
    for (const [name, labels] of [
      [`gitlabnix-${suffix}`, {}],
      [`protected-${suffix}`, { 'runnerops.keep': 'true' }],
    ] as const) {
      const c = await dockerd.docker.createContainer({ name, Image: image, Cmd: ['true'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
      await c.start();
      await c.wait();
    }
    await new Promise((r) => setTimeout(r, 1500));
    const extra = { DOCKER_HOST: dockerd.host, NIX_DAEMON_CONTAINER: `gitlabnix-${suffix}` };
    const { proxy, worker } = await proxiedWorker('k-prune', extra);
    const removing = proxy.seen('"phase":"removing"');
    const commandId = await run('prune k-prune --volumes --images unused', 'U0KOPS4');
    flows.push(
      removing.then(
        async () =>
          void kills.set('prune-docker', { kind: 'prune-docker', host: 'k-prune', commandId, killedAt: await killAndRestart('k-prune', worker, extra) }),
      ),
    );
  }

  // restart-nix-daemon: killed as the restart is asked for.
  {
    await startNixDaemon(`rel-gitlabnix-${suffix}`);
    const extra = { NIX_DAEMON_CONTAINER: `rel-gitlabnix-${suffix}` };
    const { proxy, worker } = await proxiedWorker('k-restart', extra);
    const restarting = proxy.seen('"phase":"restarting"');
    const commandId = await run('restart-daemon k-restart --timeout 2m', 'U0KOPS5');
    flows.push(
      restarting.then(
        async () =>
          void kills.set('restart-nix-daemon', {
            kind: 'restart-nix-daemon',
            host: 'k-restart',
            commandId,
            killedAt: await killAndRestart('k-restart', worker, extra),
          }),
      ),
    );
  }

  // rotate-token, three ways: killed while GitLab resets (the reset request is delayed; it takes
  // effect after the kill), before the reset, and after the new token was saved on the host.
  for (const [host, label, stop] of [
    ['k-rot-during', 'rotate-token (killed while GitLab resets)', 'during'],
    ['k-rot-before', 'rotate-token (killed before the reset)', 'before'],
    ['k-rot-saved', 'rotate-token (killed after the reset, new token saved)', 'saved'],
  ] as const) {
    const runner = gitlab.addRunner({ description: host });
    await writeRunnerConfig(host, runner);
    const { proxy, worker } = await proxiedWorker(host);
    const tokenBefore = runner.token;
    let point: Promise<unknown>;
    if (stop === 'saved') point = proxy.holdWhen('"phase":"new token saved on the host"');
    else if (stop === 'before') point = proxy.holdWhen('"phase":"resetting the token"');
    else {
      gitlab.inject('POST /runners/reset_authentication_token', { delayMs: 3000 });
      point = until(
        async () => gitlab.findRequests('POST /runners/reset_authentication_token').some((r) => String(r.params.token) === tokenBefore),
        60_000,
        'reset request sent',
      );
    }
    const commandId = await run(`rotate ${host}`, 'U0KOPS6');
    const flow = point.then(
      async () => void kills.set(label, { kind: label, host, commandId, runner, tokenBefore, killedAt: await killAndRestart(host, worker) }),
    );
    // The delayed reset must be this rotation's, not the next one's.
    if (stop === 'during') await point;
    flows.push(flow);
  }

  // install-runner: killed after writing the token, while it verifies (queued directly, as
  // register-runner queues it).
  {
    await writeRunnerConfig('k-install');
    const { proxy, worker } = await proxiedWorker('k-install');
    const hold = proxy.holdWhen('"phase":"verifying"');
    const entry = (await readHost(admin, prefix, 'k-install'))!;
    const runner = gitlab.addRunner({ description: 'installed' });
    recordSecrets(runner.token);
    const payload = {
      sealedToken: await sealToHost(runner.token, entry.publicKey!),
      sealedTo: fingerprintOf(entry.publicKey!),
      runnerId: runner.id,
      name: 'installed',
      gitlabUrl: gitlab.url,
      tokenExpiresAt: null,
    };
    const queues = createQueuePool(admin, prefix);
    // Signed with the bot's key, as the bot's register-runner step signs it.
    const deps = { redis: admin, prefix, queues, signer: operator.botSigner };
    const command = await enqueueCommand(deps, {
      verb: 'register',
      text: 'register k-install (install step)',
      job: 'install-runner',
      hosts: ['k-install'],
      payloadFor: () => payload,
      requester: { via: 'cli', user: 'cli:reliability' },
    });
    await queues.close();
    flows.push(
      hold.then(
        async () =>
          void kills.set('install-runner', {
            kind: 'install-runner',
            host: 'k-install',
            commandId: command.id,
            runner,
            tokenBefore: runner.token,
            killedAt: await killAndRestart('k-install', worker),
          }),
      ),
    );
  }

  // read-system-id: the first step of a drained restart, killed as it starts; the drain goes on.
  {
    const runner = gitlab.addRunner({ description: 'sysid' });
    await writeRunnerConfig('k-sysid', runner);
    await startNixDaemon(`rel-gitlabnix-sysid-${suffix}`);
    const extra = { NIX_DAEMON_CONTAINER: `rel-gitlabnix-sysid-${suffix}` };
    const { proxy, worker } = await proxiedWorker('k-sysid', extra);
    await until(
      async () => ((await readHost(admin, prefix, 'k-sysid'))?.runners ?? []).some((r) => r.id === runner.id),
      20_000,
      'k-sysid runners in the registry',
    );
    const hold = proxy.holdWhen('"type":"started"', '"job":"read-system-id"');
    const commandId = await run('restart-daemon k-sysid --drain --timeout 2m', 'U0KOPS9');
    flows.push(
      hold.then(
        async () =>
          void kills.set('read-system-id', {
            kind: 'read-system-id',
            host: 'k-sysid',
            commandId,
            runner,
            killedAt: await killAndRestart('k-sysid', worker, extra),
          }),
      ),
    );
  }

  // gc-store: stopped as it starts collecting, in a nix-daemon container's store holding garbage and a
  // path kept by a GC root.
  {
    const daemon = `rel-gitlabnix-gc-${suffix}`;
    await startNixDaemon(daemon);
    await until(
      async () => (await inNixDaemon(daemon, 'nix-store --store daemon --gc --print-roots')).exitCode === 0,
      30_000,
      'the nix daemon of k-gc answering',
    );
    const garbage = await addStorePair(daemon, 'garbage');
    const rooted = await addStorePair(daemon, 'kept');
    const root = await inNixDaemon(daemon, `ln -sfn ${rooted[1]} /nix/var/nix/gcroots/kept-${suffix}`);
    if (root.exitCode !== 0) throw new Error(`adding a GC root failed: ${root.stderr}`);
    const extra = { NIX_DAEMON_CONTAINER: daemon };
    const { proxy, worker } = await proxiedWorker('k-gc', extra);
    const hold = proxy.holdWhen('"phase":"collecting garbage"');
    const commandId = await run('gc k-gc', 'U0KOPS10');
    flows.push(
      hold.then(
        async () =>
          void kills.set('gc-store', {
            kind: 'gc-store',
            host: 'k-gc',
            commandId,
            store: { garbage, rooted },
            killedAt: await killAndRestart('k-gc', worker, extra),
          }),
      ),
    );
  }

  // --- control-plane jobs: the bot is killed while three of them are mid-way ----------------------
  {
    const drained = gitlab.addRunner({ description: 'drained' });
    await writeRunnerConfig('k-drain', drained);
    await startNixDaemon(`rel-gitlabnix-drain-${suffix}`);
    processes.push(
      await startWorkerProcess('killed-worker-k-drain', env('k-drain', redisUrl, { NIX_DAEMON_CONTAINER: `rel-gitlabnix-drain-${suffix}` }), admin),
    );
    await writeRunnerConfig('k-reg');
    processes.push(await startWorkerProcess('killed-worker-k-reg', env('k-reg', redisUrl), admin));
    // A runner whose token expired an hour ago: its rotation is the bot's revive-runner-token.
    const revived = gitlab.addRunner({ description: 'revive' });
    const expiredAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    gitlab.setTokenExpiry(revived.id, expiredAt);
    await writeRunnerConfig('k-revive', revived, expiredAt);
    processes.push(await startWorkerProcess('killed-worker-k-revive', env('k-revive', redisUrl), admin));
    await until(
      async () => ((await readHost(admin, prefix, 'k-revive'))?.runners ?? []).some((r) => r.id === revived.id && r.tokenExpiresAt === expiredAt.toISOString()),
      20_000,
      "k-revive's expired runner in the registry",
    );
    await until(
      async () => ((await readHost(admin, prefix, 'k-drain'))?.runners ?? []).some((r) => r.id === drained.id),
      20_000,
      'k-drain runners in the registry',
    );
    gitlab.setRunningJobs(drained.id, 1);
    const drainId = await run('restart-daemon k-drain --drain --timeout 2m', 'U0KOPS7');
    await until(async () => (await row(drainId, 'k-drain'))?.phase === 'waiting for running jobs', 30_000, 'drain waiting for running jobs');
    // The reset by id is answered after the kill: its new token only ever reaches the killed bot.
    gitlab.inject('POST /runners/:id/reset_authentication_token', { delayMs: 8000 });
    const reviveId = await run('rotate k-revive', 'U0KOPS6');
    await until(async () => gitlab.findRequests('POST /runners/:id/reset_authentication_token').length > 0, 20_000, 'reset of the expired token sent');
    gitlab.inject('POST /user/runners', { delayMs: 3000 });
    const regId = await run('register k-reg --type instance --description rel-orphan', 'U0KOPS8');
    await until(async () => gitlab.findRequests('POST /user/runners').length > 0, 20_000, 'runner creation sent');
    bot.child.kill('SIGKILL');
    await bot.exited;
    const killedAt = Date.now();
    gitlab.setRunningJobs(drained.id, 0);
    kills.set('restart-drained', { kind: 'restart-drained', host: 'k-drain', commandId: drainId, runner: drained, killedAt });
    kills.set('register-runner', { kind: 'register-runner', host: 'k-reg', commandId: regId, killedAt });
    kills.set('revive-runner-token', {
      kind: 'revive-runner-token',
      host: 'k-revive',
      commandId: reviveId,
      runner: revived,
      tokenBefore: revived.token,
      killedAt,
    });
    bot = await startBotProcess('killed-bot-again', botEnvironment);
    processes.push(bot);
  }

  await Promise.all(flows);

  // --- control-plane jobs, killed a second time: once the first kill's jobs are over (a job handed
  // back twice fails), the bot is killed while four more are mid-way -----------------------------
  await until(
    async () => (await Promise.all(['restart-drained', 'register-runner', 'revive-runner-token', 'read-system-id'].map(isFinished))).every(Boolean),
    150_000,
    'the jobs of the first bot kill to finish',
  );
  {
    // unregister: GitLab deleted the runner; the bot waits for the host, stopped as its remove-runner starts.
    const unregistered = gitlab.addRunner({ description: 'unregistered' });
    await writeRunnerConfig('k-unreg', unregistered);
    const { proxy, worker } = await proxiedWorker('k-unreg');
    await until(
      async () => ((await readHost(admin, prefix, 'k-unreg'))?.runners ?? []).some((r) => r.id === unregistered.id),
      20_000,
      'k-unreg runners in the registry',
    );
    const removing = proxy.holdWhen('"type":"started"', '"job":"remove-runner"');
    const unregisterId = await run(`unregister k-unreg --runner ${unregistered.id}`, 'U0KOPS11');
    await removing;

    // pause: the edit is answered after the kill.
    const paused = gitlab.addRunner({ description: 'paused' });
    gitlab.inject('PUT /runners/:id', { delayMs: 8000 });
    const pauseId = await run(`pause ${paused.id} --reason "kernel update"`, 'U0KOPS13');
    await until(
      async () => gitlab.findRequests('PUT /runners/:id').some((r) => r.url.split('?')[0]!.endsWith(`/runners/${paused.id}`)),
      30_000,
      'the pause sent',
    );

    // runners all: GitLab's list is answered after the kill.
    const listsBefore = gitlab.requestCount('GET /runners/all');
    gitlab.inject('GET /runners/all', { delayMs: 8000 });
    const listId = await run('runners all', 'U0KOPS14');
    await until(async () => gitlab.requestCount('GET /runners/all') > listsBefore, 30_000, 'the runner list asked for');

    // cleanup-stale, set up last: the approval freezes three runners silent for 100 days; a fourth goes
    // stale after it. Two deletions are answered at once, the last one after the kill, before the bot is
    // back (the runner list handed back to it never meets a runner being deleted).
    const goStale = (description: string) =>
      Object.assign(gitlab.addRunner({ description }), { contactedAt: new Date(Date.now() - 100 * DAY_MS).toISOString() });
    const frozen = ['stale-1', 'stale-2', 'stale-3'].map(goStale);
    const outside: FakeRunner[] = [];
    for (const delayMs of [1, 1, 3000]) gitlab.inject('DELETE /runners/:id', { delayMs });
    const cleanupId = await run('cleanup-stale', 'U0KOPS12', () => void outside.push(goStale('stale-late')));
    await until(
      async () => frozen.every((f) => gitlab.findRequests('DELETE /runners/:id').some((r) => r.url.split('?')[0]!.endsWith(`/runners/${f.id}`))),
      30_000,
      "the last stale runner's deletion sent",
    );

    bot.child.kill('SIGKILL');
    await bot.exited;
    const killedAt = Date.now();
    kills.set('unregister-runner', { kind: 'unregister-runner', host: 'k-unreg', commandId: unregisterId, runner: unregistered, killedAt });
    kills.set('cleanup-stale-runners', { kind: 'cleanup-stale-runners', host: 'gitlab', commandId: cleanupId, frozen, outside: outside[0]!, killedAt });
    kills.set('pause-runners', { kind: 'pause-runners', host: 'gitlab', commandId: pauseId, runner: paused, killedAt });
    kills.set('list-runners', { kind: 'list-runners', host: 'gitlab', commandId: listId, killedAt });
    // The host stopped in remove-runner is killed too, and started again.
    await killAndRestart('k-unreg', worker);
    bot = await startBotProcess('killed-bot-after-second-kill', botEnvironment);
    processes.push(bot);
  }
}, 420_000);

afterAll(async () => {
  for (const p of processes) await p.stop(3000);
  for (const proxy of proxies) await proxy.close();
  for (const name of containers)
    await mainDocker
      ?.getContainer(name)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  recordSecrets(...(gitlab?.issuedTokens() ?? []));
  if (slack) await saveSlackArtifacts('worker-killed', slack);
  if (admin) {
    await saveRedisArtifacts('worker-killed', admin, prefix).catch(() => undefined);
    admin.disconnect();
  }
  await slack?.close();
  await gitlab?.close();
  await dockerd?.stop();
  await removeDir?.();
});

describe('a worker killed (SIGKILL) mid-job', () => {
  it('hands a ping back to the queue and runs it on the restarted worker', async () => {
    const final = await finalRow('ping');
    expect(final.status).toBe('done');
    const job = await jobOf(hostQueueName('k-ping'), `${kills.get('ping')!.commandId}@k-ping`);
    expect(job?.stalledCounter).toBe(1);
    expect(job?.finishedOn).toBeDefined();
  });

  it('finishes the host-facts run it was killed in', async () => {
    const final = await finalRow('host-facts');
    expect(final.status).toBe('done');
    const job = await jobOf(hostQueueName('k-facts'), 'facts-k-facts@k-facts');
    expect(job?.stalledCounter).toBe(1);
    expect(((await readHost(admin, prefix, 'k-facts'))?.runners ?? []).map((r) => r.name)).toEqual(['Nix caching runner']);
  });

  it('finishes or clearly fails a store report', async () => {
    const final = await finalRow('store-usage');
    expect(isOneLine(final.summary?.split('\n')[0] ?? ''), final.summary).toBe(true);
  });

  it('finishes a prune it was killed in, never touching the nix-daemon or a protected container', async () => {
    const final = await finalRow('prune-docker');
    expect(final.status, final.summary).toBe('done');
    const names = (await dockerd.docker.listContainers({ all: true })).flatMap((c) => c.Names);
    expect(names.sort()).toEqual([`/gitlabnix-${suffix}`, `/protected-${suffix}`]);
    expect((await listEngine(dockerd.docker)).volumes.size).toBe(0);
  });

  it('restarts the nix-daemon container again and leaves it running', async () => {
    const final = await finalRow('restart-nix-daemon');
    expect(final.status, final.summary).toBe('done');
    expect((await mainDocker.getContainer(`rel-gitlabnix-${suffix}`).inspect()).State.Running).toBe(true);
  });

  it('finishes an interrupted rotation from the recovery file without a second reset', async () => {
    const kill = kills.get('rotate-token (killed after the reset, new token saved)')!;
    const final = await finalRow(kill.kind);
    expect(final.status, final.summary).toBe('done');
    expect(final.summary).toMatch(/^finished the interrupted rotation/);
    await expectRotatedOnce(kill);
  });

  it('rotates once when killed before the reset', async () => {
    const kill = kills.get('rotate-token (killed before the reset)')!;
    const final = await finalRow(kill.kind);
    expect(final.status, final.summary).toBe('done');
    await expectRotatedOnce(kill);
  });

  it('never resets twice when killed while GitLab resets, and says what to do', async () => {
    const kill = kills.get('rotate-token (killed while GitLab resets)')!;
    const final = await finalRow(kill.kind);
    const resets = gitlab.findRequests('POST /runners/reset_authentication_token').filter((r) => String(r.params.token) === kill.tokenBefore);
    expect(resets).toHaveLength(1);
    expect(gitlab.runner(kill.runner!.id)!.tokenHistory).toHaveLength(2);
    // The new token only ever existed in the answer the killed worker never read: it cannot be
    // recovered, and the card must say so and what to do (re-register).
    expect(final.status).toBe('failed');
    expect(final.summary).toMatch(/re-register/);
    expect(isOneLine(final.summary!)).toBe(true);
  });

  it('installs a runner once when killed while verifying it', async () => {
    const kill = kills.get('install-runner')!;
    const final = await finalRow('install-runner');
    expect(final.status, final.summary).toBe('done');
    const config = parseRunnerConfig(await readFile(path.join(hostDir('k-install'), 'gitlab-runner', 'config.toml'), 'utf8'));
    expect((config.runners ?? []).map((r) => [r.id, r.token])).toEqual([[kill.runner!.id, kill.runner!.token]]);
  });

  it("hands back a drain's read-system-id step, and the drain still restarts and unpauses", async () => {
    const kill = kills.get('read-system-id')!;
    const final = await finalRow('read-system-id');
    expect(final.status, final.summary).toBe('done');
    expect(gitlab.runner(kill.runner!.id)!.paused, `card: ${final.summary}`).toBe(false);
    // The drain may have queued the step again after waiting for it: the one there now ran to its end.
    const step = await jobOf(hostQueueName('k-sysid'), `${kill.commandId}.read-system-id@k-sysid`);
    expect(step?.finishedOn).toBeDefined();
    expect(await step?.isCompleted()).toBe(true);
    expect((await mainDocker.getContainer(`rel-gitlabnix-sysid-${suffix}`).inspect()).State.Running).toBe(true);
  });

  it('hands back a Nix GC it was killed in: the garbage goes, rooted paths stay, the daemon still answers', async () => {
    const kill = kills.get('gc-store')!;
    const daemon = `rel-gitlabnix-gc-${suffix}`;
    const final = await finalRow('gc-store');
    expect(final.status, final.summary).toBe('done');
    expect(isOneLine(final.summary?.split('\n')[0] ?? ''), final.summary).toBe(true);
    for (const p of kill.store!.garbage) expect(await isValidPath(daemon, p), `${p} is garbage; card: ${final.summary}`).toBe(false);
    for (const p of kill.store!.rooted) expect(await isValidPath(daemon, p), `${p} is held by a GC root`).toBe(true);
    const verified = await inNixDaemon(daemon, 'nix-store --store daemon --verify');
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect((await mainDocker.getContainer(daemon).inspect()).State.Running).toBe(true);
  });

  it('fails a job whose worker died twice, and says so on its card', async () => {
    const kill = kills.get('ping killed twice')!;
    const jobId = `${kill.commandId}@k-twice`;
    await until(async () => (await jobOf(hostQueueName('k-twice'), jobId))?.failedReason !== undefined, 150_000, 'BullMQ fails the twice-stalled job');
    const job = await jobOf(hostQueueName('k-twice'), jobId);
    expect(job?.failedReason).toMatch(/stalled/);
    recordFigure({ scenario: 'worker-killed', name: 'ping killed twice: second SIGKILL -> failed in BullMQ', value: ms(job!.finishedOn! - kill.killedAt) });
    covered.add('ping');
    // The card learns it from the row; give the bot a moment.
    await until(async () => isTerminal((await row(kill.commandId, 'k-twice'))?.status ?? 'queued'), 10_000, 'the row of the failed job to be final').catch(
      () => undefined,
    );
    const final = await row(kill.commandId, 'k-twice');
    expect(final?.status, `row: ${JSON.stringify(final)}`).toBe('failed');
    expect(isOneLine(final?.summary ?? '')).toBe(true);
    expect(final?.summary).toMatch(/worker|stopped|stalled/);
  });
});

describe('the bot killed (SIGKILL) mid control-plane job', () => {
  it('never creates a second runner in GitLab for one register command, nor leaves one nobody knows of', async () => {
    const final = await finalRow('register-runner');
    const created = gitlab.runners().filter((r) => r.description === 'rel-orphan');
    const installed = parseRunnerConfig(await readFile(path.join(hostDir('k-reg'), 'gitlab-runner', 'config.toml'), 'utf8')).runners ?? [];
    const story = `GitLab has ${created.map((r) => `#${r.id}`).join(', ') || 'none'}; k-reg has ${installed.map((r) => `#${r.id}`).join(', ') || 'none'}; card: ${final.summary}`;
    expect(created.length, story).toBeLessThanOrEqual(1);
    expect(isOneLine(final.summary ?? '')).toBe(true);
    // A runner in GitLab is either installed on the host or named on the card for the operator to delete.
    for (const r of created) expect(installed.some((e) => e.id === r.id) || (final.summary ?? '').includes(`#${r.id}`), story).toBe(true);
  });

  it('revives an expired token once it is back, the host holding the one token GitLab accepts', async () => {
    const kill = kills.get('revive-runner-token')!;
    const final = await finalRow('revive-runner-token');
    expect(final.status, final.summary).toBe('done');
    const current = gitlab.runner(kill.runner!.id)!.token;
    expect(current).not.toBe(kill.tokenBefore);
    const config = await readFile(path.join(hostDir('k-revive'), 'gitlab-runner', 'config.toml'), 'utf8');
    expect(config).toContain(current);
    expect(config).not.toContain(kill.tokenBefore!);
    expect(isOneLine(final.summary ?? '')).toBe(true);
  });

  it('deletes an unregistered runner in GitLab once and removes it from the host, though the bot and the host died mid-way', async () => {
    const kill = kills.get('unregister-runner')!;
    const final = await finalRow('unregister-runner');
    const id = kill.runner!.id;
    const installed = (parseRunnerConfig(await readFile(path.join(hostDir('k-unreg'), 'gitlab-runner', 'config.toml'), 'utf8')).runners ?? []).map((r) => r.id);
    const story = `GitLab answered ${deletionsOf(id)} deletion(s); k-unreg has ${installed.map((r) => `#${r}`).join(', ') || 'none'}; card: ${final.summary}`;
    expect(gitlab.runner(id), story).toBeUndefined();
    expect(deletionsOf(id), story).toBe(1);
    expect(isOneLine(final.summary ?? ''), story).toBe(true);
    // The host's entry is gone, or the card names the runner left there and what to do.
    if (installed.includes(id)) expect(final.summary, story).toMatch(new RegExp(`#${id}\\b.*unregister again`));
    else expect(final.status, story).toBe('done');
    // The host step the worker was killed in ran to its end on the worker started again.
    const step = await jobOf(hostQueueName('k-unreg'), `${kill.commandId}.remove-runner@k-unreg`);
    expect(await step?.isCompleted(), story).toBe(true);
    covered.add('remove-runner');
  });

  it("deletes only the runners the cleanup's approval froze, each once", async () => {
    const kill = kills.get('cleanup-stale-runners')!;
    const final = await finalRow('cleanup-stale-runners');
    const frozen = kill.frozen!.map((r) => r.id);
    const story = `deletions answered: ${frozen.map((id) => `#${id} ${deletionsOf(id)}`).join(', ')}; card: ${final.summary}`;
    expect(final.status, story).toBe('done');
    expect(isOneLine(final.summary?.split('\n')[0] ?? ''), story).toBe(true);
    for (const id of frozen) {
      expect(gitlab.runner(id), story).toBeUndefined();
      expect(deletionsOf(id), story).toBe(1);
    }
    // Stale too, but not on the approved list.
    expect(gitlab.runner(kill.outside!.id), story).toBeDefined();
    expect(
      gitlab.findRequests('DELETE /runners/:id').filter((r) => r.url.split('?')[0]!.endsWith(`/runners/${kill.outside!.id}`)),
      story,
    ).toEqual([]);
  });

  it('leaves a runner paused with its maintenance note after a pause the bot died in', async () => {
    const kill = kills.get('pause-runners')!;
    const final = await finalRow('pause-runners');
    const runner = gitlab.runner(kill.runner!.id)!;
    expect(final.status, final.summary).toBe('done');
    expect(isOneLine(final.summary ?? ''), final.summary).toBe(true);
    expect(runner.paused, `card: ${final.summary}`).toBe(true);
    expect(runner.maintenanceNote).toBe('paused with runnerops by U0KOPS13: kernel update');
  });

  it('finishes a runner list the bot died in', async () => {
    const final = await finalRow('list-runners');
    expect(final.status, final.summary).toBe('done');
    expect(isOneLine(final.summary?.split('\n')[0] ?? ''), final.summary).toBe(true);
  });

  it('always unpauses the runners a drain paused', async () => {
    const kill = kills.get('restart-drained')!;
    const final = await finalRow('restart-drained');
    expect(gitlab.runner(kill.runner!.id)!.paused, `card: ${final.summary}`).toBe(false);
  });
});

describe('coverage', () => {
  it('killed a job of every kind the workers and the bot run', async () => {
    for (const kind of kills.keys()) covered.add(kind.split(' ')[0] ?? kind);
    expect(Object.keys(HOST_JOBS).filter((k) => !covered.has(k))).toEqual([]);
    expect(Object.keys(CONTROL_JOBS).filter((k) => !covered.has(k))).toEqual([]);
  });
});

async function expectRotatedOnce(kill: Kill): Promise<void> {
  const resets = gitlab.findRequests('POST /runners/reset_authentication_token').filter((r) => String(r.params.token) === kill.tokenBefore);
  expect(resets).toHaveLength(1);
  const current = gitlab.runner(kill.runner!.id)!.token;
  expect(current).not.toBe(kill.tokenBefore);
  const config = await readFile(path.join(hostDir(kill.host), 'gitlab-runner', 'config.toml'), 'utf8');
  expect(config).toContain(current);
  expect(config).not.toContain(kill.tokenBefore!);
  await expect(access(recoveryPath(path.join(hostDir(kill.host), 'state'), { id: kill.runner!.id, name: 'Nix caching runner' }))).rejects.toThrow();
}
