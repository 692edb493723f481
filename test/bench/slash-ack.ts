import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runVerb } from '../../src/cli/run-verb.js';
import { freePort, startRedis } from '../../src/dev/start-redis.js';
import { hostQueueName } from '../../src/queue/names.js';
import { createQueuePool, type QueuePool } from '../../src/queue/queue-pool.js';
import { createRedis } from '../../src/queue/redis.js';
import { loadOrCreateSigner } from '../../src/queue/signing-keys.js';
import { loadHostKeys } from '../../src/secrets/host-keys.js';
import { until } from '../helpers/until.js';
import { TEST_BOT_KEYS, testBotKeyEnv } from '../helpers/test-trust.js';
import { startFakeSlack } from '../fakes/slack/server.js';
import { signedPost, slashCommandBody } from '../helpers/slack-requests.js';
import type { BenchLine, BenchSuite } from './report.js';
import { elapsedMs, ms, percentile } from './stats.js';
import { startChild, type BenchChild } from './start-child.js';
import { startPool } from './start-pool.js';
import { checkoutReference, type ReferenceCheckout } from './reference-checkout.js';

const REQUESTS = 1000;
const ACK_ROUNDS = 5;
const PINGS = 30;
const HOSTS = ['b-1', 'b-2', 'b-3'];
/**
 * The version the ack is compared with besides the bare app: the last commit before signed jobs,
 * host keys and signed events (BENCH_ACK_REFERENCE=<commit> for another; `none` to skip it).
 */
const REFERENCE = process.env.BENCH_ACK_REFERENCE ?? '3bd278c';
/** Signed jobs may cost the ack's p99 at most this much against the reference (both as ratios to the bare app). */
const REFERENCE_GOAL = 1.1;

interface App {
  name: string;
  url: string;
  prefix: string;
}

/**
 * Ack latency of a signed slash command: ours, a bare Bolt app that only acks, and the reference
 * version, interleaved request by request; then the round trip of `ping all` with 3 workers from the
 * terminal. Each bot, its hosts and the bare app run in processes of their own, as in production, and
 * this process sends the requests as Slack does: each app's latency holds its own work and no other's.
 */
export const suite: BenchSuite = {
  name: 'slash-ack',
  run: async () => {
    const redis = await startRedis();
    const slack = await startFakeSlack();
    const secret = randomBytes(16).toString('hex');
    const state = await mkdtemp(path.join(os.tmpdir(), 'runnerops-bench-'));
    const children: Array<BenchChild<unknown>> = [];
    const conn = createRedis({ redisUrl: redis.url });
    const queues: QueuePool[] = [];
    const reference = REFERENCE === 'none' ? 'skipped (BENCH_ACK_REFERENCE=none)' : await checkoutReference(REFERENCE);
    const slackEnv = { SLACK_BOT_TOKEN: slack.botToken, SLACK_API_URL: slack.apiUrl, SLACK_SIGNING_SECRET: secret };
    /** A bot and its hosts, under a prefix of their own; from the reference's tree when `from` is given. */
    const startBot = async (name: string, prefix: string, extra: (stateDir: string) => Promise<Record<string, string>>, from?: ReferenceCheckout) => {
      const stateDir = path.join(state, name);
      const env = { REDIS_URL: redis.url, RUNNEROPS_PREFIX: prefix, LOG_LEVEL: 'silent' };
      const where = from ? { dir: from.benchDir } : {};
      const more = await extra(stateDir);
      children.push(await startPool(HOSTS, stateDir, { ...env, RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS }, where));
      const port = await freePort();
      children.push(await startChild('bot-process.ts', { ...env, ...slackEnv, ...more, PORT: String(port) }, where));
      queues.push(createQueuePool(conn, prefix));
      return { name, url: `http://127.0.0.1:${port}/slack/events`, prefix };
    };
    // The round trips come from the terminal: a person whose terminal key the policy lists.
    const cliKey = path.join(state, 'cli-key');
    const apiSocket = path.join(state, 'api.sock');
    try {
      const ours = await startBot('ours', '{bench}', async (stateDir) => {
        const pinned: string[] = [];
        for (const host of HOSTS) pinned.push(`${host}=${(await loadHostKeys(path.join(stateDir, host))).hostFingerprint}`);
        const { signer } = await loadOrCreateSigner(cliKey);
        const policy = path.join(state, 'policy.json');
        await writeFile(policy, JSON.stringify({ people: { bench: { identities: ['cli:bench'], cliKeys: [signer.publicKey] } } }));
        return { ...testBotKeyEnv, RUNNEROPS_ENROLLED_HOSTS: pinned.join(','), RUNNEROPS_API_SOCKET: apiSocket, RUNNEROPS_POLICY: policy };
      });
      const bare = await startChild<{ url: string }>('bare-bolt-process.ts', { secret, token: slack.botToken, apiUrl: slack.apiUrl });
      children.push(bare);
      const apps: App[] = [{ name: 'bare', url: bare.ready.url, prefix: '' }, ours];
      if (typeof reference !== 'string') apps.push(await startBot('reference', '{bench-ref}', async () => ({}), reference));

      const timeAck = async (url: string, text: string) => {
        const start = process.hrtime.bigint();
        const response = await signedPost(url, slashCommandBody({ text }), { secret });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`ack failed with ${response.status}`);
        return elapsedMs(start);
      };
      for (let i = 0; i < 20; i++) for (const app of apps) await timeAck(app.url, app.name === 'bare' ? 'ping all' : 'hosts');
      // A p99 of one short run is a handful of samples: three rounds, and the median of their ratios.
      const rounds: Array<Map<string, number[]>> = [];
      for (let round = 0; round < ACK_ROUNDS; round++) {
        const times = new Map(apps.map((app) => [app.name, [] as number[]]));
        for (let i = 0; i < REQUESTS; i++) for (const app of apps) times.get(app.name)?.push(await timeAck(app.url, 'ping all'));
        rounds.push(times);
      }
      /** Per round: `name`'s percentile over `against`'s; the median round, and every round's ratio. */
      const figure = (name: string, against: string, p: number, of: (round: Map<string, number[]>, app: string) => number) => {
        const each = rounds.map((round) => ({ ours: of(round, name), base: of(round, against) }));
        const ratios = each.map((e) => e.ours / e.base);
        const ratio = percentile(ratios, 50);
        const middle = each[ratios.indexOf(ratio)] ?? { ours: NaN, base: NaN };
        return { ...middle, ratio, all: ratios.map((r) => `${r.toFixed(2)}x`).join(', '), p };
      };
      const at = (p: number) => (round: Map<string, number[]>, app: string) => percentile(round.get(app) ?? [], p);
      const label = (p: number, who: string, all: string) =>
        `slash command ack p${p}, ${who} (median of ${ACK_ROUNDS} rounds of ${REQUESTS} signed requests; rounds ${all})`;
      const lines: BenchLine[] = [];
      for (const p of [50, 99]) {
        const f = figure('ours', 'bare', p, at(p));
        const goal = p === 99 ? { goal: "well under Slack's 3 s", met: f.ours < 3000 } : {};
        lines.push({ name: label(p, 'ours', f.all), ours: ms(f.ours), baseline: `${ms(f.base)} (bare Bolt app)`, ratio: f.ratio, ...goal });
      }
      if (typeof reference === 'string') {
        lines.push({ name: 'slash command ack p99 against the reference version', ours: `not measured: ${reference}` });
      } else {
        const f = figure('reference', 'bare', 99, at(99));
        lines.push({ name: label(99, `reference ${reference.commit}`, f.all), ours: ms(f.ours), baseline: `${ms(f.base)} (bare Bolt app)`, ratio: f.ratio });
        // Both as ratios to the bare app of the same round: the machine's noise divides out.
        const ratioOfRatios = (round: Map<string, number[]>, app: string) => at(99)(round, app) / at(99)(round, 'bare');
        const r = figure('ours', 'reference', 99, ratioOfRatios);
        lines.push({
          name: `ack p99 ratio to the bare app, ours against reference ${reference.commit} (rounds ${r.all})`,
          ours: `${r.ours.toFixed(2)}x`,
          baseline: `${r.base.toFixed(2)}x (reference)`,
          ratio: r.ratio,
          goal: `<= ${REFERENCE_GOAL}x`,
          met: r.ratio <= REFERENCE_GOAL,
        });
      }

      // The round trips below measure a quiet fleet: the acked commands' jobs finish first.
      const hostQueues = queues.flatMap((pool) => HOSTS.map((host) => pool.get(hostQueueName(host))));
      const busy = async () => (await Promise.all(hostQueues.map((q) => q.getJobCountByTypes('waiting', 'active', 'prioritized')))).some((n) => n > 0);
      await until(async () => !(await busy()), 120_000, 'the acked commands finishing');
      const trips: number[] = [];
      for (let i = 0; i < PINGS; i++) {
        const output: string[] = [];
        const start = process.hrtime.bigint();
        const code = await runVerb(['ping', 'all'], {
          env: { RUNNEROPS_API_SOCKET: apiSocket, RUNNEROPS_CLI_KEY: cliKey },
          user: 'cli:bench',
          write: (l) => output.push(l),
        });
        if (code !== 0) throw new Error(`ping all from the terminal exited with ${code}: ${output.join(' / ')}`);
        trips.push(elapsedMs(start));
      }
      lines.push({
        name: `ping all round trip from the terminal, 3 workers (p50 of ${PINGS})`,
        ours: ms(percentile(trips, 50)),
        baseline: `p99 ${ms(percentile(trips, 99))}`,
      });
      return lines;
    } finally {
      for (const pool of queues) await pool.close();
      await conn.quit();
      for (const child of children.reverse()) await child.stop();
      if (typeof reference !== 'string') await reference.remove();
      await slack.close();
      await redis.stop();
      await rm(state, { recursive: true, force: true });
    }
  },
};
