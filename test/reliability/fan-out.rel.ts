import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readWorkerSettings } from '../../src/config.js';
import { readRows, type CommandRow } from '../../src/queue/command-record.js';
import { listHosts } from '../../src/queue/host-registry.js';
import { createRedis } from '../../src/queue/redis.js';
import { loadHostKeys, type HostKeys } from '../../src/secrets/host-keys.js';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker.js';
import { createPruneFixture, listEngine } from '../clients/docker/prune-fixture.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { until } from '../helpers/until.js';
import { startPrivateDockerd, type PrivateDockerd } from '../setup/docker-engine.js';
import { ensureBusyboxImage } from '../setup/docker-images.js';
import { mib, ms, recordFigure } from './support/figures.js';
import { botTrustOf, setUpOperator, verifiedEvents } from './support/operator.js';
import type { RunnerProcess } from './support/processes.js';
import { fileLogger } from './support/run-dir.js';
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
  tempDir,
  writePolicy,
} from './support/stack.js';

// `ping all` and `prune all --dry-run` over 200 registered hosts: 200 startWorker() instances share this
// test process (and one private dockerd, so 200 dry runs read a real engine without touching the main
// one); the bot is a process of the built binary. Measured: slash command to final card, next to the
// slowest host's own work.
const HOSTS = Array.from({ length: Number(process.env.RELIABILITY_FANOUT_HOSTS ?? 200) }, (_, i) => `fan-${String(i + 1).padStart(3, '0')}`);
const prefix = newPrefix('fanout');
let admin: Redis;
let slack: FakeSlack;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
let dockerd: PrivateDockerd;
const workers: RunningWorker[] = [];
let removeDir: () => Promise<void>;
let closeLog: () => Promise<void>;
let engineBefore: Awaited<ReturnType<typeof listEngine>>;
let trust: ReturnType<typeof botTrustOf>;

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  admin = createRedis({ redisUrl });
  ({ slack, signingSecret } = await startSlackSide());
  const temp = await tempDir('fanout');
  removeDir = temp.remove;
  dockerd = await startPrivateDockerd();
  const image = await ensureBusyboxImage(dockerd.host);
  await createPruneFixture(dockerd.docker, { image, exitedContainers: 6, anonymousVolumes: 3, danglingImages: 3 });
  engineBefore = await listEngine(dockerd.docker);
  const policyFile = await writePolicy(temp.dir, { roles: { ops: { users: ['U0FANOUT'] } }, verbs: { prune: { run: ['ops'] } }, prune: { until: '1s' } });
  const operator = await setUpOperator(temp.dir);
  const settingsOf = (host: string) =>
    readWorkerSettings({
      REDIS_URL: redisUrl,
      RUNNEROPS_PREFIX: prefix,
      RUNNEROPS_HOST: host,
      RUNNEROPS_BOT_KEYS: operator.botKeys,
      RUNNEROPS_HEARTBEAT_SECONDS: '5',
      RUNNEROPS_STATE_DIR: path.join(temp.dir, host, 'state'),
      GITLAB_RUNNER_CONFIG: path.join(temp.dir, host, 'config.toml'),
      DOCKER_HOST: dockerd.host,
      NIX_DAEMON_CONTAINER: 'gitlabnix',
    });
  // Each host's keys as its worker makes them; their fingerprints pinned in a file for the bot, as an
  // operator collects them from "runnerops fingerprint" on every host.
  const hostKeys = new Map<string, HostKeys>();
  for (const host of HOSTS) hostKeys.set(host, await loadHostKeys(settingsOf(host).stateDir));
  const enrolled = HOSTS.map((host) => `${host}=${hostKeys.get(host)!.hostFingerprint}`).join('\n');
  const enrolledFile = path.join(temp.dir, 'enrolled-hosts');
  await writeFile(enrolledFile, `${enrolled}\n`);
  trust = botTrustOf(operator, enrolled.replaceAll('\n', ','));
  bot = await startBotProcess(
    'fan-out-bot',
    botEnv({ redisUrl, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled: enrolledFile, policyFile }),
  );
  const { log, close } = fileLogger('fan-out-workers');
  closeLog = close;
  const started = performance.now();
  for (let i = 0; i < HOSTS.length; i += 25) {
    workers.push(
      ...(await Promise.all(
        HOSTS.slice(i, i + 25).map((host) => startWorker({ settings: settingsOf(host), log: log.child({ host }), keys: hostKeys.get(host)!, concurrency: 1 })),
      )),
    );
  }
  recordFigure({
    scenario: 'fan-out',
    name: `${HOSTS.length} workers started in one process`,
    value: ms(performance.now() - started),
    next: `test process RSS ${mib(process.memoryUsage().rss / 1024)} (process.memoryUsage)`,
  });
  await until(
    async () => (await listHosts(admin, prefix)).filter((h) => h.fingerprint === trust.pinned.get(h.name)).length === HOSTS.length,
    30_000,
    'every host registered with its pinned key',
  );
});

afterAll(async () => {
  await bot?.stop();
  for (let i = 0; i < workers.length; i += 50) await Promise.all(workers.slice(i, i + 50).map((w) => w.stop(2000)));
  await closeLog?.();
  if (slack) await saveSlackArtifacts('fan-out', slack);
  if (admin) {
    await saveRedisArtifacts('fan-out', admin, prefix).catch(() => undefined);
    admin.disconnect();
  }
  await slack?.close();
  await dockerd?.stop();
  await removeDir?.();
});

/** Sends a fan-out command and follows it to its final card; returns the card and the rows. */
async function fanOut(text: string, user: string): Promise<{ totalMs: number; rows: CommandRow[]; card: string; commandId: string }> {
  const sentAt = Date.now();
  const ack = await slash(bot.eventsUrl, signingSecret, text, user);
  expect(ack.status).toBe(200);
  let commandId = '';
  await until(
    async () => {
      commandId = (await allCommands(admin, prefix)).find((c) => c.requester.user === user)?.id ?? '';
      return commandId !== '' && finishedAt(cardOf(slack, commandId)) !== undefined;
    },
    180_000,
    `${text} finished in Slack`,
  );
  const card = cardOf(slack, commandId)!;
  return { totalMs: finishedAt(card)! - sentAt, rows: await readRows(admin, prefix, commandId), card: cardText(card), commandId };
}

function hostWork(rows: CommandRow[]): { slowest: number; slowestHost: string; queueMax: number } {
  let slowest = 0;
  let slowestHost = '';
  let queueMax = 0;
  for (const row of rows) {
    const work = (row.finishedAt ?? 0) - (row.startedAt ?? row.queuedAt);
    if (work > slowest) [slowest, slowestHost] = [work, row.host];
    queueMax = Math.max(queueMax, (row.startedAt ?? row.queuedAt) - row.queuedAt);
  }
  return { slowest, slowestHost, queueMax };
}

/** How often each host said it started the command, counting only events that verify as the bot checks them. */
async function startedEvents(commandId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const { events, refused } = await verifiedEvents(admin, prefix, trust);
  expect(refused).toEqual([]);
  for (const event of events) {
    if (event.commandId === commandId && event.type === 'started') counts.set(event.host, (counts.get(event.host) ?? 0) + 1);
  }
  return counts;
}

describe(`fan-out over ${HOSTS.length} hosts`, () => {
  it('pings every host once and posts one final summary', async () => {
    const { totalMs, rows, card, commandId } = await fanOut('ping all', 'U0FANPING');
    const work = hostWork(rows);
    recordFigure({
      scenario: 'fan-out',
      name: `ping all (${HOSTS.length} hosts): slash command to final card`,
      value: ms(totalMs),
      next: `slowest host's own work ${ms(work.slowest)} (${work.slowestHost}), longest wait in a queue ${ms(work.queueMax)}`,
    });
    expect(rows.map((r) => r.host)).toEqual(HOSTS);
    expect(rows.filter((r) => r.status !== 'done')).toEqual([]);
    expect(card).toContain(`finished: ${HOSTS.length} done`);
    for (const host of HOSTS) expect(card).toContain(host);
    const started = await startedEvents(commandId);
    expect(HOSTS.filter((h) => started.get(h) !== 1)).toEqual([]);
  });

  it('dry-runs a prune on every host against a real engine, changing nothing', async () => {
    const { totalMs, rows, card, commandId } = await fanOut('prune all --dry-run', 'U0FANOUT');
    const work = hostWork(rows);
    recordFigure({
      scenario: 'fan-out',
      name: `prune all --dry-run (${HOSTS.length} hosts, one private dockerd): slash command to final card`,
      value: ms(totalMs),
      next: `slowest host's own work ${ms(work.slowest)} (${work.slowestHost}), longest wait in a queue ${ms(work.queueMax)}`,
    });
    expect(rows.filter((r) => r.status !== 'done').map((r) => `${r.host}: ${r.status} ${r.summary}`)).toEqual([]);
    expect(card).toContain(`finished: ${HOSTS.length} done`);
    expect(rows.every((r) => /^dry run: would remove /.test(r.summary ?? ''))).toBe(true);
    const started = await startedEvents(commandId);
    expect(HOSTS.filter((h) => started.get(h) !== 1)).toEqual([]);
    expect(await listEngine(dockerd.docker)).toEqual(engineBefore);
  });

  it('holds a bounded number of Redis connections for 200 workers', async () => {
    const clients = String(await admin.client('LIST'))
      .split('\n')
      .filter((l) => l.trim() !== '').length;
    recordFigure({
      scenario: 'fan-out',
      name: 'Redis connections with every worker and the bot up',
      value: String(clients),
      next: `${(clients / HOSTS.length).toFixed(1)} per worker; test process RSS ${mib(process.memoryUsage().rss / 1024)}`,
    });
    expect(clients).toBeLessThan(HOSTS.length * 5 + 50);
  });
});
