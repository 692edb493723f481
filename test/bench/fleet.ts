/**
 * `npm run bench fleet`: 1,000 registered hosts (full `startWorker()` instances, each with its own
 * queue, heartbeat and keys, shared by a few processes; BENCH_FLEET_HOSTS changes the count) and a bot
 * in HTTP mode. Measures the Redis memory an idle host costs, `ping all` from the signed slash command
 * to the final card next to the slowest host's own work, what a finished command leaves in Redis and
 * for how long, and the ack of 50 signed commands a second next to a bare Bolt app at the same rate.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { runBot } from '../../src/cli/run-bot.js';
import { freePort, startRedis } from '../../src/dev/start-redis.js';
import { readCommand, readRows, recentCommandIds, type CommandRow } from '../../src/queue/command-record.js';
import { hostQueueName, keys } from '../../src/queue/names.js';
import { createRedis } from '../../src/queue/redis.js';
import { commandTtlSeconds, DEFAULT_RETENTION_SECONDS, FINISHED_JOBS_PER_QUEUE } from '../../src/queue/retention.js';
import { loadHostKeys } from '../../src/secrets/host-keys.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';
import { signedHeaders, slashCommandBody } from '../helpers/slack-requests.js';
import { TEST_BOT_KEYS, testBotKeyEnv } from '../helpers/test-trust.js';
import { until } from '../helpers/until.js';
import type { BenchLine, BenchSuite } from './report.js';
import { elapsedMs, ms, percentile } from './stats.js';
import { startBareBolt } from './bare-bolt.js';
import { startPool } from './start-pool.js';
import { defined } from '../helpers/defined.js';

const HOSTS = Array.from({ length: Number(process.env.BENCH_FLEET_HOSTS ?? 1000) }, (_, i) => `h-${String(i + 1).padStart(4, '0')}`);
const POOLS = 2;
const PINGS = 3;
const RATE = 50;
const LOAD_SECONDS = Number(process.env.BENCH_FLEET_LOAD_SECONDS ?? 20);
const PREFIX = '{bench}';
const KB = 1024;

async function usedMemory(redis: Redis): Promise<{ total: number; dataset: number; clients: number }> {
  const info = await redis.info();
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  return { total: field('used_memory'), dataset: field('used_memory_dataset'), clients: field('connected_clients') };
}

/** Bytes of every key that belongs to one host (registry entry, heartbeat, its queue's keys). */
async function hostKeyBytes(redis: Redis, host: string): Promise<{ bytes: number; keys: number }> {
  let bytes = 0;
  let count = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${PREFIX}*${host}*`, 'COUNT', 10_000);
    cursor = next;
    for (const key of found) {
      bytes += Number(await redis.memory('USAGE', key));
      count++;
    }
  } while (cursor !== '0');
  return { bytes, keys: count };
}

/**
 * A signed POST on a connection of its own (Slack opens its own too): a kept-alive connection the
 * server is just closing would fail the request, not measure it.
 */
function signedPost(url: string, body: string, options: { secret: string }): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent: false, headers: signedHeaders(body, options) }, (response) => {
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0 }));
    });
    request.once('error', (err) => reject(new Error(`POST ${url}: ${err.message}`)));
    request.end(body);
  });
}

/** The card's final version (footer "finished: ..."): when it was posted or updated to it. */
function finalCardAt(slack: FakeSlack, commandId: string): { at: number; text: string; blocks: number } | undefined {
  const card = slack.messages.find((m) => m.text.includes(`[job ${commandId}]`) && m.thread_ts === undefined);
  if (!card) return undefined;
  const versions = [{ text: card.text, blocks: card.blocks, at: card.postedAt }, ...card.updates];
  const final = versions.find((v) => /: finished: /.test(v.text));
  return final ? { at: final.at, text: final.text, blocks: final.blocks?.length ?? 0 } : undefined;
}

function hostWork(rows: CommandRow[]): { slowest: number; queueMax: number } {
  let slowest = 0;
  let queueMax = 0;
  for (const row of rows) {
    slowest = Math.max(slowest, (row.finishedAt ?? 0) - (row.startedAt ?? row.queuedAt));
    queueMax = Math.max(queueMax, (row.startedAt ?? row.queuedAt) - row.queuedAt);
  }
  return { slowest, queueMax };
}

async function runSuite(): Promise<BenchLine[]> {
  const redis = await startRedis();
  const admin = createRedis({ redisUrl: redis.url });
  const slack = await startFakeSlack();
  const secret = randomBytes(16).toString('hex');
  const stateRoot = await mkdtemp(path.join(os.tmpdir(), 'runnerops-bench-fleet-'));
  const pools: ChildProcess[] = [];
  const env = { REDIS_URL: redis.url, RUNNEROPS_PREFIX: PREFIX, LOG_LEVEL: 'silent' };
  let stopBot: (() => Promise<void>) | undefined;
  let stopBare: (() => Promise<void>) | undefined;
  let phase = 'starting the bot';
  try {
    const pinned: string[] = [];
    for (const host of HOSTS) pinned.push(`${host}=${(await loadHostKeys(path.join(stateRoot, host))).hostFingerprint}`);
    const port = await freePort();
    const bot = await runBot({
      ...env,
      ...testBotKeyEnv,
      RUNNEROPS_ENROLLED_HOSTS: pinned.join(','),
      RUNNEROPS_API_SOCKET: path.join(stateRoot, 'api.sock'),
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_API_URL: slack.apiUrl,
      SLACK_SIGNING_SECRET: secret,
      PORT: String(port),
    });
    stopBot = bot.stop;
    const botUrl = `http://127.0.0.1:${port}/slack/events`;
    const bare = await startBareBolt(secret, slack.botToken, slack.apiUrl);
    stopBare = bare.stop;

    // --- idle hosts: Redis memory ---------------------------------------------------------------
    const before = await usedMemory(admin);
    const workerEnv = { ...env, RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS, DOCKER_HOST: 'tcp://127.0.0.1:1' };
    const size = Math.ceil(HOSTS.length / POOLS);
    phase = 'starting the hosts';
    const started = performance.now();
    const ready = await Promise.all(Array.from({ length: POOLS }, (_, i) => startPool(HOSTS.slice(i * size, (i + 1) * size), stateRoot, workerEnv)));
    pools.push(...ready.map((r) => r.child));
    const startMs = performance.now() - started;
    // Idle means every host registered and beat at least once more since all of them run.
    const readyAt = Date.now();
    await until(
      async () => {
        const beats = await admin.mget(...HOSTS.map((h) => keys.heartbeat(PREFIX, h)));
        return beats.every((b) => b !== null && Number(b) > readyAt);
      },
      120_000,
      'every host beat after the start',
    );
    const idle = await usedMemory(admin);
    const sample = HOSTS.filter((_, i) => i % Math.ceil(HOSTS.length / 10) === 0);
    const sampled = await Promise.all(sample.map((h) => hostKeyBytes(admin, h)));
    const keyBytesPerHost = sampled.reduce((sum, s) => sum + s.bytes, 0) / sampled.length;
    const keysPerHost = sampled.reduce((sum, s) => sum + s.keys, 0) / sampled.length;
    const perHost = (idle.total - before.total) / HOSTS.length;
    const datasetPerHost = (idle.dataset - before.dataset) / HOSTS.length;
    const connectionsPerHost = (idle.clients - before.clients) / HOSTS.length;

    // --- ping all: slash command to final card -----------------------------------------------
    phase = 'ping all';
    const rounds: Array<{ totalMs: number; slowest: number; queueMax: number; blocks: number }> = [];
    const commandIds: string[] = [];
    const beforeCommands = await usedMemory(admin);
    for (let i = 0; i < PINGS; i++) {
      const user = `U0FLEET${i}`;
      const sentAt = Date.now();
      const response = await signedPost(botUrl, slashCommandBody({ text: 'ping all', user_id: user }), { secret });
      if (response.status !== 200) throw new Error(`ping all was answered ${response.status}`);
      let commandId = '';
      await until(
        async () => {
          for (const id of await recentCommandIds(admin, PREFIX, 5)) if ((await readCommand(admin, PREFIX, id))?.requester.user === user) commandId = id;
          return commandId !== '' && finalCardAt(slack, commandId) !== undefined;
        },
        120_000,
        'ping all finished in Slack',
      );
      const final = finalCardAt(slack, commandId)!;
      const rows = await readRows(admin, PREFIX, commandId);
      if (rows.length !== HOSTS.length || rows.some((r) => r.status !== 'done')) throw new Error(`ping all did not finish on ${HOSTS.length} hosts`);
      commandIds.push(commandId);
      rounds.push({ totalMs: final.at - sentAt, ...hostWork(rows), blocks: final.blocks });
    }
    // Every host's queue has settled its jobs and the card is final: what the commands left.
    await until(
      async () => (await Promise.all(commandIds.map((id) => admin.exists(keys.commandSettled(PREFIX, id))))).every((e) => e === 1),
      30_000,
      'commands settled',
    );
    const afterCommands = await usedMemory(admin);
    const perCommand = (afterCommands.total - beforeCommands.total) / PINGS;
    const timeoutMs = (await readCommand(admin, PREFIX, defined(commandIds[0], 'a queued command')))!.timeoutMs ?? 0;
    const ttlLimit = commandTtlSeconds(DEFAULT_RETENTION_SECONDS, timeoutMs);
    const ttls = await Promise.all(
      commandIds.flatMap((id) => [keys.command(PREFIX, id), keys.commandRows(PREFIX, id), keys.commandSettled(PREFIX, id)]).map((k) => admin.ttl(k)),
    );
    const expiring = ttls.every((t) => t > 0 && t <= ttlLimit);
    const completedPerQueue = await admin.zcard(`${PREFIX}:${hostQueueName(defined(HOSTS[0], 'a host'))}:completed`);

    // --- ack under load: 50 signed commands a second, ours and a bare Bolt app interleaved -----
    const ours: number[] = [];
    const bareTimes: number[] = [];
    const timeAck = async (url: string, text: string, user: string, into: number[]) => {
      const start = process.hrtime.bigint();
      const response = await signedPost(url, slashCommandBody({ text, user_id: user }), { secret });
      if (response.status !== 200) throw new Error(`ack failed with ${response.status}`);
      into.push(elapsedMs(start));
    };
    phase = 'ack under load';
    const total = RATE * LOAD_SECONDS;
    const loadStart = performance.now();
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const due = loadStart + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const host = HOSTS[(i * 7919) % HOSTS.length]!;
      sends.push(timeAck(botUrl, `ping ${host}`, `U0LOAD${i}`, ours));
      sends.push(timeAck(bare.url, `ping ${host}`, `U0LOAD${i}`, bareTimes));
    }
    await Promise.all(sends);
    const sentSeconds = (performance.now() - loadStart) / 1000;
    // Nothing lost: every command has its record, and its one row ends done.
    let finished = 0;
    await until(
      async () => {
        const ids = await recentCommandIds(admin, PREFIX, total + PINGS);
        const loadIds: string[] = [];
        for (const id of ids) if ((await readCommand(admin, PREFIX, id))?.requester.user.startsWith('U0LOAD')) loadIds.push(id);
        const rows = await Promise.all(loadIds.map((id) => readRows(admin, PREFIX, id)));
        finished = rows.filter((r) => r.length === 1 && r[0]?.status === 'done').length;
        return finished === total;
      },
      120_000,
      `all ${total} commands finished`,
    ).catch(() => undefined);

    const p99 = percentile(ours, 99);
    const bareP99 = percentile(bareTimes, 99);
    const worst = rounds.reduce((a, b) => (b.totalMs - b.slowest > a.totalMs - a.slowest ? b : a));
    const poolRss = ready.reduce((sum, r) => sum + r.ready.rssBytes, 0);
    return [
      {
        name: `${HOSTS.length} hosts started in ${POOLS} processes`,
        ours: `${(startMs / 1000).toFixed(1)} s, ${(poolRss / 1e6).toFixed(0)} MB RSS for the pools`,
      },
      {
        name: 'Redis memory per idle host (INFO used_memory, its connections included)',
        ours: `${(perHost / KB).toFixed(1)} KB (${connectionsPerHost.toFixed(1)} connections each; keys ${(datasetPerHost / KB).toFixed(1)} KB by used_memory_dataset)`,
        baseline: `${(keyBytesPerHost / KB).toFixed(1)} KB in ${keysPerHost.toFixed(0)} keys by MEMORY USAGE`,
        goal: '<= 50 KB',
        met: perHost <= 50 * KB,
      },
      {
        name: `ping all over ${HOSTS.length} hosts: slash command to final card (worst of ${PINGS}: ${rounds.map((r) => ms(r.totalMs)).join(', ')})`,
        ours: `${ms(worst.totalMs)} (${worst.blocks} blocks; longest wait in a queue ${ms(worst.queueMax)})`,
        baseline: `${ms(worst.slowest)} slowest host's own work`,
        goal: '< 2 s beyond the slowest host',
        met: rounds.every((r) => r.totalMs - r.slowest < 2000),
      },
      {
        name: `Redis memory per finished ping all over ${HOSTS.length} hosts`,
        ours: `${(perCommand / KB).toFixed(0)} KB (${(perCommand / HOSTS.length / KB).toFixed(2)} KB per host); command keys expire within ${(ttlLimit / 86400).toFixed(1)} d`,
        baseline: `${completedPerQueue} finished jobs kept in a host's queue (at most ${FINISHED_JOBS_PER_QUEUE})`,
        goal: 'bounded and expired by RUNNEROPS_RETENTION',
        met: expiring && completedPerQueue <= FINISHED_JOBS_PER_QUEUE,
      },
      {
        name: `ack p99 of ${total} signed commands at ${RATE}/s (sent in ${sentSeconds.toFixed(1)} s) with ${HOSTS.length} hosts registered`,
        ours: `${ms(p99)} (p50 ${ms(percentile(ours, 50))})`,
        baseline: `${ms(bareP99)} (bare Bolt app, p50 ${ms(percentile(bareTimes, 50))})`,
        ratio: p99 / bareP99,
        goal: '<= 1.2x',
        met: p99 / bareP99 <= 1.2,
      },
      {
        name: 'commands under load that finished',
        ours: `${finished} of ${total}`,
        goal: 'all',
        met: finished === total,
      },
    ];
  } catch (err) {
    throw new Error(`${phase}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    for (const child of pools) child.kill('SIGKILL');
    await stopBare?.();
    await stopBot?.();
    await slack.close();
    await admin.quit();
    await redis.stop();
    await rm(stateRoot, { recursive: true, force: true });
  }
}

export const suite: BenchSuite = { name: 'fleet', run: runSuite };
