import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventSigners } from '../../src/queue/bot-trust.js';
import { latestEventId, readStream, verifyEvent, type JobEvent } from '../../src/queue/events.js';
import { createRedis } from '../../src/queue/redis.js';
import { APPROVE_ACTION } from '../../src/present/approval-blocks.js';
import type { FakeSlack } from '../fakes/slack/server.js';
import { blockActionsBody, signedPost } from '../helpers/slack-requests.js';
import { until } from '../helpers/until.js';
import { recordFigure, ms } from './support/figures.js';
import { botTrustOf, cliEnv, cliPeople, pinHosts, setUpOperator, type OperatorKeys } from './support/operator.js';
import { runRunnerops, type RunnerProcess } from './support/processes.js';
import { dumpNode, startRedisCluster, type RedisClusterProcesses } from './support/redis-servers.js';
import { saveArtifact } from './support/run-dir.js';
import {
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
  writePolicy,
} from './support/stack.js';
import { errorLines } from './support/checks.js';
import { defined } from '../helpers/defined.js';

// Beyond one Redis: the whole path (slash command -> approval -> host job -> card in Slack, and the CLI)
// against a three-master Redis Cluster, bot and workers as real processes with REDIS_URL=redis+cluster://.
let cluster: RedisClusterProcesses;
let admin: Redis;
let slack: FakeSlack;
let signingSecret: string;
let bot: RunnerProcess & { eventsUrl: string };
const workers: RunnerProcess[] = [];
let removeDir: () => Promise<void>;
let operator: OperatorKeys;
let enrolled: string;
const prefix = newPrefix('cluster');

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  admin = createRedis({ redisUrl: cluster.url });
  ({ slack, signingSecret } = await startSlackSide());
  const { dir, remove } = await tempDir('cluster');
  removeDir = remove;
  operator = await setUpOperator(dir);
  const policyFile = await writePolicy(dir, {
    roles: { ops: { users: ['U0OPS'] }, approvers: { users: ['U0APPROVER'] } },
    people: cliPeople(operator),
    verbs: { prune: { run: ['ops'], approve: ['approvers'] } },
    channels: { approvals: 'C0APPROVALS' },
  });
  const hostEnvs = ['c-1', 'c-2'].map((host) => workerEnv({ redisUrl: cluster.url, prefix, host, botKeys: operator.botKeys, dir: path.join(dir, host) }));
  enrolled = await pinHosts(hostEnvs);
  bot = await startBotProcess(
    'cluster-bot',
    botEnv({ redisUrl: cluster.url, prefix, slack, signingSecret, port: await httpPort(), operator, enrolled, policyFile }),
  );
  for (const env of hostEnvs) workers.push(await startWorkerProcess(`cluster-worker-${env.RUNNEROPS_HOST}`, env, admin));
});

afterAll(async () => {
  for (const p of [bot, ...workers]) await p?.stop();
  if (slack) await saveSlackArtifacts('cluster', slack);
  if (cluster) {
    for (const node of cluster.nodes)
      await dumpNode(node.port).then(
        (text) => saveArtifact(`cluster-node-${node.port}.txt`, text),
        () => undefined,
      );
  }
  admin?.disconnect();
  await slack?.close();
  await cluster?.stop();
  await removeDir?.();
});

describe('a three-master Redis Cluster', () => {
  it('runs a slash command through the host queues and finishes its card in Slack', async () => {
    const started = Date.now();
    const ack = await slash(bot.eventsUrl, signingSecret, 'ping all', 'U0PLAIN');
    expect(ack.status).toBe(200);
    const card = await until(
      async () => slack.messages.some((m) => /^ping all \[job /.test(m.text) && finishedAt(m) !== undefined),
      30_000,
      'ping all card finished',
    ).then(() => slack.messages.find((m) => /^ping all \[job /.test(m.text))!);
    expect(cardText(card)).toMatch(/finished: 2 done/);
    recordFigure({ scenario: 'cluster', name: 'ping all (2 hosts) from slash command to final card', value: ms(finishedAt(card)! - started) });
  });

  it('runs an approval-gated command: request, approve, host job, result', async () => {
    await slash(bot.eventsUrl, signingSecret, 'prune c-1 --dry-run', 'U0OPS');
    const request = await slack.waitFor('chat.postMessage', (c) => c.params.channel === 'C0APPROVALS');
    const message = slack.message(String(request.params.channel), slack.messages.find((m) => m.channel === 'C0APPROVALS')!.ts)!;
    const approvalId = defined(/"value":"([0-9a-f]{12})"/.exec(JSON.stringify(message.blocks))?.[1], 'an approval id in the message');
    const click = await signedPost(
      bot.eventsUrl,
      blockActionsBody({
        action_id: APPROVE_ACTION,
        user_id: 'U0APPROVER',
        channel_id: 'C0APPROVALS',
        message,
        value: approvalId,
        block_id: `approval-${approvalId}`,
      }),
      { secret: signingSecret },
    );
    expect(click.status).toBe(200);
    await until(
      async () => {
        const card = cardOf(slack, `ap-${approvalId}`);
        return card !== undefined && finishedAt(card) !== undefined;
      },
      60_000,
      'approved prune card finished',
    );
    expect(cardText(cardOf(slack, `ap-${approvalId}`)!)).toMatch(/dry run: would remove|nothing to prune/);
    await until(
      async () => JSON.stringify(slack.message('C0APPROVALS', message.ts)?.updates.at(-1)?.blocks ?? '').includes('approved; finished'),
      20_000,
      'approval settled',
    );
  });

  it("answers the CLI (through the bot's socket) through the cluster", async () => {
    const result = await runRunnerops(['ping', 'c-2'], cliEnv(operator));
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/✓ c-2 \(\d+ ms\): pong/);
    expect(result.code).toBe(0);
  });

  it('reads the signed event stream with XREAD BLOCK on a duplicate() of a cluster connection', async () => {
    const copy = admin.duplicate();
    const signers = createEventSigners(admin, prefix, botTrustOf(operator, enrolled));
    const verified = (values: string[]): Promise<JobEvent[]> => Promise.all(values.map((v) => verifyEvent(v, signers)));
    try {
      const events = await verified((await readStream(copy, prefix, 'events', '0-0', 1000)).values);
      expect(events.some((e) => e.type === 'completed' && e.host === 'c-2')).toBe(true);
      const from = await latestEventId(admin, prefix);
      const blocked = readStream(copy, prefix, 'events', from, 5000);
      await slash(bot.eventsUrl, signingSecret, 'ping c-1', 'U0BLOCKED');
      const next = await verified((await blocked).values);
      expect(next.length).toBeGreaterThan(0);
      expect(next.every((e) => e.host === 'c-1')).toBe(true);
    } finally {
      copy.disconnect();
    }
  });

  it('keeps every key of the prefix in one hash slot on one master', async () => {
    const byNode = new Map<number, string[]>();
    for (const node of cluster.nodes) {
      const redis = new Redis({ host: '127.0.0.1', port: node.port });
      try {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, names] = await redis.scan(cursor, 'COUNT', 1000);
          cursor = next;
          found.push(...names);
        } while (cursor !== '0');
        byNode.set(node.port, found);
      } finally {
        redis.disconnect();
      }
    }
    const all = [...byNode.values()].flat();
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter((k) => !k.startsWith(prefix))).toEqual([]);
    expect([...byNode.values()].filter((k) => k.length > 0)).toHaveLength(1);
    const slotOf = new Redis({ host: '127.0.0.1', port: defined(cluster.nodes[0], 'a cluster node').port });
    try {
      const expected = await slotOf.cluster('KEYSLOT', prefix);
      const slots = new Set(await Promise.all(all.map((k) => slotOf.cluster('KEYSLOT', k))));
      expect([...slots]).toEqual([expected]);
    } finally {
      slotOf.disconnect();
    }
    for (const kind of [
      ':events',
      ':row-changes',
      ':audit',
      ':hosts',
      ':registry:c-1',
      ':beat:c-1',
      ':commands',
      ':approval:',
      ':deadlines',
      ':host.c-1:',
      ':cli-nonce:',
    ]) {
      expect(all.some((k) => k.includes(kind))).toBe(true);
    }
  });

  it('logged no error in the bot or the workers', async () => {
    for (const p of [bot, ...workers]) expect(errorLines(await p.output())).toEqual([]);
  });
});
