import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runVerb } from '../../src/cli/run-verb.js';
import { freePort, startRedis } from '../../src/dev/start-redis.js';
import { hostQueueName } from '../../src/queue/names.js';
import { createQueuePool } from '../../src/queue/queue-pool.js';
import { createRedis } from '../../src/queue/redis.js';
import { loadOrCreateSigner } from '../../src/queue/signing-keys.js';
import { loadHostKeys } from '../../src/secrets/host-keys.js';
import { until } from '../helpers/until.js';
import { TEST_BOT_KEYS, testBotKeyEnv } from '../helpers/test-trust.js';
import { startFakeSlack } from '../fakes/slack/server.js';
import { signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import type { BenchSuite } from './report.js';
import { elapsedMs, ms, percentile } from './stats.js';
import { startChild } from './start-child.js';
import { startPool } from './start-pool.js';

const REQUESTS = 1000;
const ACK_ROUNDS = 3;
const PINGS = 30;

/**
 * Ack latency of a signed slash command, ours against a bare Bolt app that only acks, and the round
 * trip of `ping all` with 3 workers from the terminal. Each part runs in a process of its own, as in
 * production: the bot, the bare app, the hosts, and this process, which sends the requests as Slack
 * does. So each app's latency holds its own work and no other's.
 */
export const suite: BenchSuite = {
  name: 'slash-ack',
  run: async () => {
    const redis = await startRedis();
    const slack = await startFakeSlack();
    const secret = randomBytes(16).toString('hex');
    const state = await mkdtemp(path.join(os.tmpdir(), 'runnerops-bench-'));
    const prefix = '{bench}';
    const env = { REDIS_URL: redis.url, RUNNEROPS_PREFIX: prefix, LOG_LEVEL: 'silent' };
    const hosts = ['b-1', 'b-2', 'b-3'];
    const pinned: string[] = [];
    for (const host of hosts) pinned.push(`${host}=${(await loadHostKeys(path.join(state, host))).hostFingerprint}`);
    // The round trips come from the terminal: a person whose terminal key the policy lists.
    const cliKey = path.join(state, 'cli-key');
    const { signer: cliSigner } = await loadOrCreateSigner(cliKey);
    const policyFile = path.join(state, 'policy.json');
    await writeFile(policyFile, JSON.stringify({ people: { bench: { identities: ['cli:bench'], cliKeys: [cliSigner.publicKey] } } }));
    const apiSocket = path.join(state, 'api.sock');
    const port = await freePort();
    const children = [
      await startPool(hosts, state, { ...env, RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS }),
      await startChild('bot-process.ts', {
        ...env,
        ...testBotKeyEnv,
        RUNNEROPS_ENROLLED_HOSTS: pinned.join(','),
        RUNNEROPS_API_SOCKET: apiSocket,
        RUNNEROPS_POLICY: policyFile,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_API_URL: slack.apiUrl,
        SLACK_SIGNING_SECRET: secret,
        PORT: String(port),
      }),
    ];
    const oursUrl = `http://127.0.0.1:${port}/slack/events`;
    const bare = await startChild<{ url: string }>('bare-bolt-process.ts', { secret, token: slack.botToken, apiUrl: slack.apiUrl });
    children.push(bare);
    const conn = createRedis({ redisUrl: redis.url });
    const queues = createQueuePool(conn, prefix);
    try {
      const timeAck = async (url: string, text: string) => {
        const start = process.hrtime.bigint();
        const response = await signedPost(url, slashCommandBody({ text }), { secret });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`ack failed with ${response.status}`);
        return elapsedMs(start);
      };
      for (let i = 0; i < 20; i++) {
        await timeAck(bare.ready.url, 'ping all');
        await timeAck(oursUrl, 'hosts');
      }
      // A p99 of one short run is a handful of samples: three rounds, and the median of their ratios.
      const roundsOfAcks: Array<{ ours: number[]; bare: number[] }> = [];
      for (let round = 0; round < ACK_ROUNDS; round++) {
        const bareTimes: number[] = [];
        const ourTimes: number[] = [];
        for (let i = 0; i < REQUESTS; i++) {
          bareTimes.push(await timeAck(bare.ready.url, 'ping all'));
          ourTimes.push(await timeAck(oursUrl, 'ping all'));
        }
        roundsOfAcks.push({ ours: ourTimes, bare: bareTimes });
      }
      const ackFigure = (p: number) => {
        const each = roundsOfAcks.map((r) => ({ ours: percentile(r.ours, p), bare: percentile(r.bare, p) }));
        const ratios = each.map((e) => e.ours / e.bare);
        const middle = each[ratios.indexOf(percentile(ratios, 50))]!;
        return { ours: middle.ours, bare: middle.bare, ratio: percentile(ratios, 50), all: ratios.map((r) => `${r.toFixed(2)}x`).join(', ') };
      };
      const p50 = ackFigure(50);
      const p99 = ackFigure(99);

      // The round trips below measure a quiet fleet: the acked commands' jobs finish first.
      const hostQueues = hosts.map((host) => queues.get(hostQueueName(host)));
      await until(async () => (await Promise.all(hostQueues.map((q) => q.count()))).every((n) => n === 0), 120_000, 'the acked commands finishing');
      const rounds: number[] = [];
      for (let i = 0; i < PINGS; i++) {
        const lines: string[] = [];
        const start = process.hrtime.bigint();
        const code = await runVerb(['ping', 'all'], {
          env: { RUNNEROPS_API_SOCKET: apiSocket, RUNNEROPS_CLI_KEY: cliKey },
          user: 'cli:bench',
          write: (l) => lines.push(l),
        });
        if (code !== 0) throw new Error(`ping all from the terminal exited with ${code}: ${lines.join(' / ')}`);
        rounds.push(elapsedMs(start));
      }
      return [
        {
          name: `slash command ack p50 (median of ${ACK_ROUNDS} rounds of ${REQUESTS} signed requests; rounds ${p50.all})`,
          ours: ms(p50.ours),
          baseline: `${ms(p50.bare)} (bare Bolt app)`,
          ratio: p50.ratio,
          goal: "well under Slack's 3 s",
          met: p99.ours < 3000,
        },
        {
          name: `slash command ack p99 (median of ${ACK_ROUNDS} rounds of ${REQUESTS} signed requests; rounds ${p99.all})`,
          ours: ms(p99.ours),
          baseline: `${ms(p99.bare)} (bare Bolt app)`,
          ratio: p99.ratio,
        },
        {
          name: `ping all round trip from the terminal, 3 workers (p50 of ${PINGS})`,
          ours: ms(percentile(rounds, 50)),
          baseline: `p99 ${ms(percentile(rounds, 99))}`,
        },
      ];
    } finally {
      await queues.close();
      await conn.quit();
      for (const child of children.reverse()) await child.stop();
      await slack.close();
      await redis.stop();
      await rm(state, { recursive: true, force: true });
    }
  },
};
