import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, readRows } from '../../src/queue/command-record.js';
import { listHosts } from '../../src/queue/host-registry.js';
import { createRedis } from '../../src/queue/redis.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { until } from '../helpers/until.js';
import { ms, percentile, recordFigure } from './support/figures.js';
import { pinHosts, setUpOperator, type OperatorKeys } from './support/operator.js';
import type { RunnerProcess } from './support/processes.js';
import { startRedisProcess, type RedisProcess } from './support/redis-servers.js';
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
} from './support/stack.js';
import { describeOutcome, outcomes, startTraffic, unanswered, type Outcome, type SentCommand } from './support/traffic.js';

// Redis (appendonly, fsync always) is killed while commands flow and comes back 13 s later on the same
// data: bot and workers (real processes) must reconnect by themselves, queued jobs must survive, and a
// person whose command could not be queued must be told so.
const OUTAGE_MS = 13_000;
let redisServer: RedisProcess;
let admin: Redis;
let slack: FakeSlack;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
const workers = new Map<string, RunnerProcess>();
let dir: string;
let removeDir: () => Promise<void>;
let operator: OperatorKeys;
const prefix = newPrefix('restart');
let results: Outcome[] = [];
let queuedForOfflineHost: SentCommand[] = [];
let killedAt = 0;
let restartedAt = 0;

function hostEnv(host: string): Record<string, string> {
  return workerEnv({ redisUrl: redisServer.url, prefix, host, botKeys: operator.botKeys, dir: path.join(dir, host), heartbeatSeconds: 5 });
}

beforeAll(async () => {
  redisServer = await startRedisProcess({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  admin = createRedis({ redisUrl: redisServer.url });
  ({ slack, signingSecret } = await startSlackSide());
  ({ dir, remove: removeDir } = await tempDir('restart'));
  operator = await setUpOperator(dir);
  const enrolled = await pinHosts(['r-1', 'r-2', 'r-3'].map(hostEnv));
  bot = await startBotProcess('restart-bot', botEnv({ redisUrl: redisServer.url, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled }));
  for (const host of ['r-1', 'r-2', 'r-3']) workers.set(host, await startWorkerProcess(`restart-worker-${host}`, hostEnv(host), admin));
  // r-3's worker dies: the host stays registered and its commands wait in its queue.
  const r3 = workers.get('r-3')!;
  r3.child.kill('SIGKILL');
  await r3.exited;
});

afterAll(async () => {
  for (const p of [bot, ...workers.values()]) await p?.stop();
  if (slack) await saveSlackArtifacts('restart', slack);
  if (admin) await saveRedisArtifacts('restart', admin, prefix).catch(() => undefined);
  admin?.disconnect();
  await slack?.close();
  await redisServer?.stop();
  await removeDir?.();
});

describe('Redis restarted mid-run (appendonly)', () => {
  it('acks every command at once and answers each one, whether it was queued or not', async () => {
    queuedForOfflineHost = [];
    for (let i = 0; i < 5; i++) {
      const user = `U0WAIT${i}`;
      const r = await slash(bot.eventsUrl, signingSecret, 'ping r-3', user);
      queuedForOfflineHost.push({ user, text: 'ping r-3', sentAt: Date.now(), status: r.status, ackMs: r.ms });
    }
    await until(async () => (await allCommands(admin, prefix)).filter((c) => c.hosts[0] === 'r-3').length === 5, 10_000, 'five commands waiting for r-3');
    const traffic = startTraffic({ eventsUrl: bot.eventsUrl, secret: signingSecret, text: 'ping r-1', everyMs: 400, userPrefix: 'U0RST' });
    await new Promise((r) => setTimeout(r, 3000));
    // A command that finishes just before Redis dies: its card's last update (held back up to 1 s, as
    // Slack allows about one update per message per second) falls into the outage.
    const probe = await slash(bot.eventsUrl, signingSecret, 'store r-1', 'U0RSTPROBE');
    await until(
      async () => {
        const command = (await allCommands(admin, prefix)).find((c) => c.requester.user === 'U0RSTPROBE');
        return (
          command !== undefined && cardOf(slack, command.id) !== undefined && (await readRows(admin, prefix, command.id)).every((r) => isTerminal(r.status))
        );
      },
      10_000,
      'the probe command finished in Redis',
    );
    killedAt = Date.now();
    await redisServer.kill('SIGKILL');
    traffic.sent.push({ user: 'U0RSTPROBE', text: 'store r-1', sentAt: killedAt - 1, status: probe.status, ackMs: probe.ms });
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await redisServer.start();
    restartedAt = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    await traffic.stop();
    const sent = traffic.sent;
    expect(sent.every((s) => s.status === 200)).toBe(true);
    const acks = sent.map((s) => s.ackMs);
    recordFigure({
      scenario: 'redis-restart',
      name: `ack of ${acks.length} slash commands across a ${OUTAGE_MS / 1000} s outage`,
      value: `p50 ${ms(percentile(acks, 50))}, p99 ${ms(percentile(acks, 99))}`,
      next: 'Slack allows 3 s',
    });
    expect(Math.max(...acks)).toBeLessThan(3000);
    // Cards finish through chat.update, paced to Slack's tier 3 (about 50 a minute per workspace).
    await until(
      async () => unanswered((results = await outcomes(admin, prefix, slack, sent))).length === 0,
      150_000,
      'every command finished or answered',
    ).catch(() => undefined);
    const told = results.filter((o) => o.toldNotQueued).length;
    const during = results.filter((o) => o.sent.sentAt >= killedAt && o.sent.sentAt < restartedAt);
    recordFigure({
      scenario: 'redis-restart',
      name: 'commands across the outage',
      value: `${results.length} sent (${during.length} while Redis was down): ${results.filter((o) => o.finished).length} finished, ${told} told "nothing was queued", ${unanswered(results).length} unanswered`,
    });
    expect(unanswered(results).map(describeOutcome)).toEqual([]);
    expect(told).toBeGreaterThan(0);
  });

  it('tells "nothing was queued" only when nothing was, and queues nothing twice', () => {
    for (const o of results) expect(o.commandIds.length, describeOutcome(o)).toBeLessThanOrEqual(1);
    for (const o of results.filter((r) => r.toldNotQueued)) expect(o.commandIds, describeOutcome(o)).toEqual([]);
    for (const o of results.filter((r) => r.commandIds.length > 0)) expect(o.finished, describeOutcome(o)).toBe(true);
  });

  it('keeps the jobs queued before the restart and runs them when their host comes back', async () => {
    workers.set('r-3', await startWorkerProcess('restart-worker-r-3-again', hostEnv('r-3'), admin));
    const waiting = (await allCommands(admin, prefix)).filter((c) => c.hosts[0] === 'r-3');
    expect(waiting.map((c) => c.requester.user).sort()).toEqual(queuedForOfflineHost.map((s) => s.user).sort());
    await until(async () => waiting.every((c) => finishedAt(cardOf(slack, c.id)) !== undefined), 90_000, 'r-3 cards finished');
    for (const c of waiting) expect(cardText(cardOf(slack, c.id)!)).toMatch(/finished: 1 done/);
  });

  it('reconnects the same bot and worker processes by themselves', async () => {
    for (const host of ['r-1', 'r-2']) expect(workers.get(host)!.alive()).toBe(true);
    expect(bot.alive()).toBe(true);
    await until(async () => (await listHosts(admin, prefix)).filter((h) => h.alive && h.lastHeartbeat > restartedAt).length === 3, 20_000, 'fresh heartbeats');
    const firstFinished = results.filter((o) => o.finished && o.sent.sentAt >= restartedAt).map((o) => o.sent.sentAt - restartedAt);
    recordFigure({
      scenario: 'redis-restart',
      name: 'first command after the restart that finished was sent',
      value: firstFinished.length > 0 ? `${ms(Math.min(...firstFinished))} after it` : 'none',
    });
    const before = slack.messages.length;
    expect((await slash(bot.eventsUrl, signingSecret, 'ping all', 'U0RSTAFTER')).status).toBe(200);
    await until(
      async () => slack.messages.slice(before).some((m) => /finished: 3 done/.test(cardText(m))),
      90_000,
      'ping all on three hosts after the restart',
    );
  });
});
