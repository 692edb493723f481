import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listHosts } from '../../src/queue/host-registry.js';
import { createRedis } from '../../src/queue/redis.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { until } from '../helpers/until.js';
import { ms, percentile, recordFigure } from './support/figures.js';
import { pinHosts, setUpOperator } from './support/operator.js';
import type { RunnerProcess } from './support/processes.js';
import { dumpNode, startRedisSentinel, type RedisSentinelProcesses } from './support/redis-servers.js';
import { saveArtifact } from './support/run-dir.js';
import {
  botEnv,
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
import { outcomes, startTraffic, unresolved, type Outcome } from './support/traffic.js';

// Beyond one Redis: bot and workers (real processes) reach Redis through three Sentinels
// (REDIS_URL=redis+sentinel://...); the primary is killed while commands flow, a replica takes over.
let sentinel: RedisSentinelProcesses;
let admin: Redis;
let slack: FakeSlack;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
const workers: RunnerProcess[] = [];
let removeDir: () => Promise<void>;
const prefix = newPrefix('sentinel');
let results: Outcome[] = [];
let killedAt = 0;
let oldPrimary = 0;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  admin = createRedis({ redisUrl: sentinel.url });
  ({ slack, signingSecret } = await startSlackSide());
  const { dir, remove } = await tempDir('sentinel');
  removeDir = remove;
  const operator = await setUpOperator(dir);
  const hostEnvs = ['s-1', 's-2'].map((host) =>
    workerEnv({ redisUrl: sentinel.url, prefix, host, botKeys: operator.botKeys, dir: path.join(dir, host), heartbeatSeconds: 5 }),
  );
  const enrolled = await pinHosts(hostEnvs);
  bot = await startBotProcess('sentinel-bot', botEnv({ redisUrl: sentinel.url, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled }));
  for (const env of hostEnvs) workers.push(await startWorkerProcess(`sentinel-worker-${env.RUNNEROPS_HOST}`, env, admin));
});

afterAll(async () => {
  for (const p of [bot, ...workers]) await p?.stop();
  if (slack) await saveSlackArtifacts('sentinel', slack);
  if (sentinel) {
    for (const node of [sentinel.primary, sentinel.replica]) {
      await dumpNode(node.port).then(
        (text) => saveArtifact(`sentinel-node-${node.port}.txt`, text),
        () => undefined,
      );
    }
  }
  admin?.disconnect();
  await slack?.close();
  await sentinel?.stop();
  await removeDir?.();
});

describe('Redis Sentinel with a primary failover mid-run', () => {
  it('keeps taking commands while the primary dies and a replica takes over', async () => {
    oldPrimary = await sentinel.currentPrimaryPort();
    expect(oldPrimary).toBe(sentinel.primary.port);
    const traffic = startTraffic({ eventsUrl: bot.eventsUrl, secret: signingSecret, text: 'ping all', everyMs: 200, userPrefix: 'U0SNT' });
    await new Promise((r) => setTimeout(r, 3000));
    killedAt = Date.now();
    await sentinel.primary.kill('SIGKILL');
    await until(async () => (await sentinel.currentPrimaryPort()) === sentinel.replica.port, 30_000, 'sentinels promote the replica');
    recordFigure({ scenario: 'sentinel', name: 'primary killed -> sentinels name the new primary', value: ms(Date.now() - killedAt) });
    await new Promise((r) => setTimeout(r, 6000));
    await traffic.stop();
    expect(traffic.sent.length).toBeGreaterThan(40);
    expect(traffic.sent.every((s) => s.status === 200)).toBe(true);
    const acks = traffic.sent.map((s) => s.ackMs);
    recordFigure({
      scenario: 'sentinel',
      name: `ack of ${acks.length} slash commands across the failover`,
      value: `p50 ${ms(percentile(acks, 50))}, p99 ${ms(percentile(acks, 99))}`,
      next: 'Slack allows 3 s',
    });
    expect(percentile(acks, 100)).toBeLessThan(3000);
    // Cards finish through chat.update, paced to Slack's tier 3 (about 50 a minute per workspace).
    await until(
      async () => unresolved((results = await outcomes(admin, prefix, slack, traffic.sent))).length === 0,
      150_000,
      'every command finished or answered',
    ).catch(() => undefined);
    const lost = unresolved(results);
    const told = results.filter((o) => o.toldNotQueued).length;
    const firstAfter = results.filter((o) => o.sent.sentAt > killedAt && o.finished).map((o) => o.sent.sentAt - killedAt);
    recordFigure({
      scenario: 'sentinel',
      name: 'commands during the failover',
      value: `${results.length} sent, ${results.filter((o) => o.finished).length} finished, ${told} told "nothing was queued", ${lost.length} lost`,
      next: `first one sent after the kill that finished was sent ${firstAfter.length > 0 ? ms(Math.min(...firstAfter)) : '-'} after it`,
    });
    expect(lost.map((o) => `${o.sent.user}: commands ${o.commandIds.join(',') || 'none'}; told ${JSON.stringify(o.told)}`)).toEqual([]);
  });

  it('runs no command twice and loses none that was queued', () => {
    for (const o of results) expect(o.commandIds.length).toBeLessThanOrEqual(1);
    for (const o of results.filter((r) => r.finished)) expect(o.card).toMatch(/finished: 2 done/);
  });

  it('reconnects the same bot and worker processes by themselves', async () => {
    for (const p of [bot, ...workers]) expect(p.alive()).toBe(true);
    await until(
      async () => (await listHosts(admin, prefix)).filter((h) => h.alive && h.lastHeartbeat > killedAt).length === 2,
      20_000,
      'fresh heartbeats on the new primary',
    );
    const before = slack.messages.length;
    const ack = await slash(bot.eventsUrl, signingSecret, 'ping all', 'U0SNTAFTER');
    expect(ack.status).toBe(200);
    await until(
      async () => slack.messages.slice(before).some((m) => m.updates.some((u) => /finished: 2 done/.test(u.text)) || /finished: 2 done/.test(m.text)),
      90_000,
      'ping all after the failover',
    );
  });
});
