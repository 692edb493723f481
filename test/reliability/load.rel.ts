import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, readRows, type CommandRecord } from '../../src/queue/command-record.js';
import { hostQueueName } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { until } from '../helpers/until.js';
import { mib, ms, percentile, recordFigure } from './support/figures.js';
import { botTrustOf, pinHosts, setUpOperator, verifiedEvents } from './support/operator.js';
import type { RunnerProcess } from './support/processes.js';
import {
  allCommands,
  botEnv,
  cardOf,
  cardText,
  finishedAt,
  httpPort,
  newPrefix,
  saveSlackArtifacts,
  slash,
  startBotProcess,
  startSlackSide,
  startWorkerProcess,
  tempDir,
  workerEnv,
} from './support/stack.js';
import { saveArtifact } from './support/run-dir.js';
import { dumpKeys } from './support/redis-servers.js';
import { FINISHED_JOBS_PER_QUEUE } from '../../src/queue/retention.js';
import { defined } from '../helpers/defined.js';

// 50 signed slash commands per second for 60 seconds against one bot (HTTP mode), `ping <host>` spread
// over four workers; bot and workers are real processes of the built binary (their RSS is measured).
const RATE = Number(process.env.RELIABILITY_LOAD_RATE ?? 50);
const SECONDS = Number(process.env.RELIABILITY_LOAD_SECONDS ?? 60);
const HOSTS = ['load-1', 'load-2', 'load-3', 'load-4'];

interface Sent {
  i: number;
  user: string;
  host: string;
  status: number;
  ackMs: number;
}

const prefix = newPrefix('load');
let admin: Redis;
let slack: FakeSlack;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
const workers: RunnerProcess[] = [];
let removeDir: () => Promise<void>;
let trust: ReturnType<typeof botTrustOf>;
const idle = new Map<string, number>();
const sent: Sent[] = [];
let commands: CommandRecord[] = [];
let loadEndedAt = 0;

async function rssOf(processes: RunnerProcess[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(processes.map(async (p): Promise<[string, number]> => [p.name, await p.rssKib()])));
}

function userOf(i: number): string {
  return `U0LOAD${i.toString(36).toUpperCase().padStart(4, '0')}`;
}

beforeAll(async () => {
  admin = createRedis({ redisUrl: inject('redisUrl') });
  ({ slack, signingSecret } = await startSlackSide());
  const temp = await tempDir('load');
  removeDir = temp.remove;
  const operator = await setUpOperator(temp.dir);
  const hostEnvs = HOSTS.map((host) =>
    workerEnv({ redisUrl: inject('redisUrl'), prefix, host, botKeys: operator.botKeys, dir: path.join(temp.dir, host), heartbeatSeconds: 5 }),
  );
  const enrolled = await pinHosts(hostEnvs);
  trust = botTrustOf(operator, enrolled);
  bot = await startBotProcess('load-bot', botEnv({ redisUrl: inject('redisUrl'), prefix, slack, signingSecret, port: await httpPort(), operator, enrolled }));
  for (const env of hostEnvs) workers.push(await startWorkerProcess(`load-worker-${env.RUNNEROPS_HOST}`, env, admin));
  // A short warm-up, then the idle figures.
  for (const host of HOSTS) await slash(bot.eventsUrl, signingSecret, `ping ${host}`, 'U0WARMUP');
  await new Promise((r) => setTimeout(r, 5000));
  for (const [name, kib] of await rssOf([bot, ...workers])) idle.set(name, kib);
});

afterAll(async () => {
  for (const p of [bot, ...workers]) await p?.stop();
  if (slack) await saveSlackArtifacts('load', slack);
  if (admin) {
    await saveArtifact('load-redis.txt', await dumpKeys(admin, `${prefix}*`)).catch(() => undefined);
    let cursor = '0';
    do {
      const [next, found] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await admin.del(...found);
    } while (cursor !== '0');
    admin.disconnect();
  }
  await slack?.close();
  await removeDir?.();
});

describe(`load: ${RATE} slash commands per second for ${SECONDS} s`, () => {
  it("acks every command within Slack's 3 s", async () => {
    const total = RATE * SECONDS;
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    let next = 0;
    while (next < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
      for (; next < due; next++) {
        const i = next;
        const host = HOSTS[i % HOSTS.length]!;
        const request = slash(bot.eventsUrl, signingSecret, `ping ${host}`, userOf(i))
          .then(
            (r) => void sent.push({ i, user: userOf(i), host, status: r.status, ackMs: r.ms }),
            () => void sent.push({ i, user: userOf(i), host, status: 0, ackMs: NaN }),
          )
          .finally(() => inFlight.delete(request));
        inFlight.add(request);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all([...inFlight]);
    loadEndedAt = Date.now();
    const elapsed = (performance.now() - started) / 1000;
    const acks = sent.map((s) => s.ackMs);
    recordFigure({
      scenario: 'load',
      name: `ack of ${sent.length} signed slash commands in ${elapsed.toFixed(1)} s (${(sent.length / elapsed).toFixed(1)}/s)`,
      value: `p50 ${ms(percentile(acks, 50))}, p99 ${ms(percentile(acks, 99))}, max ${ms(Math.max(...acks))}`,
      next: 'Slack allows 3 s',
    });
    expect(sent).toHaveLength(total);
    expect(sent.filter((s) => s.status !== 200).map((s) => `${s.user}: HTTP ${s.status}`)).toEqual([]);
    expect(sent.filter((s) => !(s.ackMs < 3000)).map((s) => `${s.user}: ${s.ackMs} ms`)).toEqual([]);
  });

  it('brings every accepted command to a finished card, once', async () => {
    const expected = new Map(sent.map((s) => [s.user, s]));
    await until(
      async () => {
        commands = (await allCommands(admin, prefix)).filter((c) => expected.has(c.requester.user));
        return commands.length >= expected.size && commands.every((c) => finishedAt(cardOf(slack, c.id)) !== undefined);
      },
      120_000,
      'every command finished in Slack',
    ).catch(() => undefined);
    const lastCard = Math.max(...commands.map((c) => finishedAt(cardOf(slack, c.id)) ?? NaN));
    recordFigure({ scenario: 'load', name: 'last card finished after the last request', value: ms(lastCard - loadEndedAt) });
    const perUser = new Map<string, number>();
    for (const c of commands) perUser.set(c.requester.user, (perUser.get(c.requester.user) ?? 0) + 1);
    expect([...expected.keys()].filter((u) => perUser.get(u) !== 1).map((u) => `${u}: ${perUser.get(u) ?? 0} commands`)).toEqual([]);
    const unfinished = commands.filter((c) => finishedAt(cardOf(slack, c.id)) === undefined);
    expect(unfinished.map((c) => `${c.id} (${c.requester.user}): ${cardOf(slack, c.id) ? cardText(cardOf(slack, c.id)!).split('\n')[0] : 'no card'}`)).toEqual(
      [],
    );
    const ids = new Set(commands.map((c) => c.id));
    const cardPosts = slack.calls('chat.postMessage').filter((call) => ids.has(/\[job ([^\]]+)\]/.exec(String(call.params.text))?.[1] ?? ''));
    expect(cardPosts.length).toBe(commands.length);
  });

  it('leaves every job completed exactly once in BullMQ and in the command rows', async () => {
    const byHost = new Map<string, number>();
    for (const c of commands) {
      const host = defined(c.hosts[0], 'a host of the command');
      byHost.set(host, (byHost.get(host) ?? 0) + 1);
    }
    for (const host of HOSTS) {
      const queue = new Queue(hostQueueName(host), { connection: admin, prefix });
      try {
        const count = async (state: 'waiting' | 'active' | 'delayed' | 'failed') =>
          (await queue.getJobs([state], 0, -1)).filter((j) => j.name === 'ping').length;
        expect({
          host,
          waiting: await count('waiting'),
          active: await count('active'),
          delayed: await count('delayed'),
          failed: await count('failed'),
        }).toEqual({ host, waiting: 0, active: 0, delayed: 0, failed: 0 });
        const jobIds = new Set(commands.filter((c) => c.hosts[0] === host).map((c) => `${c.id}@${host}`));
        const ours = (await queue.getJobs(['completed'], 0, -1)).filter((j) => jobIds.has(j.id ?? ''));
        // BullMQ keeps the newest FINISHED_JOBS_PER_QUEUE finished jobs per host (retention); the started
        // events below count every command.
        expect(ours.length).toBe(Math.min(byHost.get(host) ?? 0, FINISHED_JOBS_PER_QUEUE));
        expect(ours.filter((j) => j.finishedOn === undefined || j.attemptsMade !== 1 || (j.stalledCounter ?? 0) !== 0).map((j) => j.id)).toEqual([]);
      } finally {
        await queue.close();
      }
    }
    for (const c of commands.slice(0, 300)) {
      const rows = await readRows(admin, prefix, c.id);
      expect(rows.map((r) => [r.host, r.status])).toEqual([[c.hosts[0], 'done']]);
      expect(rows.every((r) => isTerminal(r.status))).toBe(true);
    }
    const started = new Map<string, number>();
    const { events, refused } = await verifiedEvents(admin, prefix, trust);
    for (const event of events) if (event.type === 'started') started.set(event.commandId, (started.get(event.commandId) ?? 0) + 1);
    expect(refused).toEqual([]);
    expect(commands.filter((c) => started.get(c.id) !== 1).map((c) => `${c.id}: started ${started.get(c.id) ?? 0} times`)).toEqual([]);
  });

  it('reports resident memory of the bot and workers next to their idle figures', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const after = await rssOf([bot, ...workers]);
    const workerNames = workers.map((w) => w.name);
    const avg = (names: string[], from: Map<string, number>) => names.reduce((n, name) => n + from.get(name)!, 0) / names.length;
    recordFigure({
      scenario: 'load',
      name: 'bot RSS after the load (process of dist/src/cli.js)',
      value: mib(after.get(bot.name)!),
      next: `idle ${mib(idle.get(bot.name)!)}`,
    });
    recordFigure({
      scenario: 'load',
      name: `worker RSS after the load (average of ${workers.length})`,
      value: mib(avg(workerNames, after)),
      next: `idle ${mib(avg(workerNames, idle))}`,
    });
    for (const p of [bot, ...workers]) expect(p.alive()).toBe(true);
    // A leak would keep growing; a bot that held every command would need far more than this.
    expect(after.get(bot.name)!).toBeLessThan(idle.get(bot.name)! + 300 * 1024);
  });
});
