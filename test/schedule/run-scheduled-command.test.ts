import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebClient, type Logger as SlackLogger } from '@slack/web-api';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type RunningBot } from '../../src/cli/start-bot.js';
import { readBotSettings, readWorkerSettings } from '../../src/config.js';
import { policySchema, scheduleSchema, type Policy } from '../../src/policy/schema.js';
import { loadHostKeys } from '../../src/secrets/host-keys.js';
import { enrollKeys, publishEnrolledHost, TEST_BOT_KEYS, testTrust } from '../helpers/test-trust.js';
import { readStoreHistory, recordStoreReport } from '../../src/reports/store-history.js';
import { decodeRgbPng } from '../../src/present/stack-png.js';
import { runScheduledCommand } from '../../src/schedule/run-scheduled-command.js';
import type { Schedule } from '../../src/schedule/start-scheduler.js';
import { createSlackSurface } from '../../src/slack/slack-surface.js';
import { startWorker, type RunningWorker } from '../../src/worker/start-worker.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack/server.js';
import { startPrivateDockerd, type PrivateDockerd } from '../setup/docker-engine.js';
import { importFilesImage } from '../setup/docker-images.js';
import { createNixTestRoot, type NixTestRoot } from '../setup/nix-store-fixture.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';

const log = pino({ level: 'silent' });
const slackLog: SlackLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => 'error' as never,
  setName: () => {},
};
const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// No role may run prune or rotate: schedules run with the policy's own authority.
const policy: Policy = policySchema.parse({ channels: { reports: 'C0REPORTS' }, verbs: { prune: { run: [] } } });

let slack: FakeSlack;
let engine: PrivateDockerd;
let nix: NixTestRoot;
let bot: RunningBot;
let stateDir: string;
const workers: RunningWorker[] = [];

function schedule(fields: Partial<Schedule> & { name: string; command: string }): Schedule {
  return scheduleSchema.parse({ cron: '0 3 * * *', timezone: 'Europe/Berlin', channel: 'C0REPORTS', ...fields });
}

/** The text of the last message posted to a channel, as a person reads it (code blocks unwrapped). */
function lastPost(channel: string): string {
  const posts = slack.calls('chat.postMessage').filter((c) => c.params.channel === channel);
  const blocks = (posts.at(-1)?.params.blocks ?? []) as Array<{ text?: { text?: string } }>;
  return blocks
    .map((b) => (b.text?.text ?? '').replace(/^```|```$/g, ''))
    .join('\n')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

async function startHost(host: string, env: Record<string, string>): Promise<void> {
  const settings = readWorkerSettings({
    REDIS_URL: redisUrl,
    RUNNEROPS_PREFIX: prefix,
    RUNNEROPS_HOST: host,
    RUNNEROPS_STATE_DIR: path.join(stateDir, host),
    GITLAB_RUNNER_CONFIG: path.join(stateDir, host, 'config.toml'),
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
    ...env,
  });
  const keys = await loadHostKeys(settings.stateDir);
  await enrollKeys(redis, prefix, host, keys);
  workers.push(await startWorker({ settings, log, keys }));
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-sched-'));
  [slack, engine, nix] = await Promise.all([startFakeSlack(), startPrivateDockerd(), createNixTestRoot()]);
  // Something to prune on ci-a: a dangling image and an anonymous volume with 2 MiB in it.
  await importFilesImage(engine.docker, { blob: randomBytes(3 << 20) });
  const volume = randomBytes(32).toString('hex');
  await engine.docker.createVolume({ Name: volume });
  await writeFile(path.join(engine.dataRoot, 'volumes', volume, '_data', 'cache.bin'), randomBytes(2 << 20));
  const client = new WebClient(slack.botToken, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, logger: slackLog });
  bot = await startBot({
    settings: readBotSettings({ REDIS_URL: redisUrl, RUNNEROPS_PREFIX: prefix, RUNNEROPS_API_SOCKET: path.join(stateDir, 'api.sock') }),
    trust: testTrust(),
    policy,
    log,
    members: async () => [],
    makeSurface: (core) => createSlackSurface({ client, redis: core.redis, prefix: core.prefix, approvals: core.approvals, log }),
  });
  await startHost('ci-a', { DOCKER_HOST: engine.host, NIX_STATE_DIR: nix.stateDir, NIX_STORE_DIR: nix.storeDir });
  // A host whose Docker Engine does not answer (its prune fails with a reason) and whose Nix store is missing.
  await startHost('ci-b', { DOCKER_HOST: `unix://${path.join(stateDir, 'no-docker.sock')}`, NIX_STATE_DIR: path.join(stateDir, 'no-nix') });
  // A host with a fresh heartbeat but no worker (it will not answer), and one whose heartbeat expired.
  const entry = { versions: { runnerops: 'test' }, labels: {}, publicKey: null, startedAt: Date.now(), heartbeatSeconds: 60 };
  await publishEnrolledHost(redis, prefix, { ...entry, name: 'ci-ghost', lastHeartbeat: Date.now() });
  await publishEnrolledHost(redis, prefix, { ...entry, name: 'ci-dead', lastHeartbeat: Date.now() - 3_600_000 });
  // The image must be older than --until 1s (Docker lists creation times in whole seconds).
  await sleep(1200);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(2000)));
  await bot?.stop();
  await Promise.all([slack?.close(), engine?.stop(), nix?.cleanup()]);
  await deletePrefix(redis, prefix);
  await redis.quit();
  await rm(stateDir, { recursive: true, force: true });
});

describe('runScheduledCommand', () => {
  it('posts one prune summary with bytes by kind, disk before and after, failures and every host that did not answer', async () => {
    const nightly = schedule({ name: 'nightly-prune', command: 'prune all --until 1s --volumes' });
    const report = await runScheduledCommand(bot.core, nightly, { late: false, scheduledFor: Date.now() }, { timeoutMs: 4000 });
    const posted = lastPost('C0REPORTS');
    expect(posted).toBe(report.text);
    expect(posted).toMatch(/^Scheduled "nightly-prune": prune all --until 1s --volumes, job [0-9a-f]{10}\n/);
    expect(posted).toMatch(/\nci-a +- +3\.0 MiB \(1\) +2\.0 MiB \(1\) +- +5\.0 MiB +\d+(\.\d)? [KMGT]iB -> \d+(\.\d)? [KMGT]iB\n/);
    expect(posted).toContain('\nreclaimed 5.0 MiB on 1 host\n');
    expect(posted).toContain('failed on 1:\n  ci-b: Docker Engine does not answer at unix://');
    expect(posted).toContain('\ndid not answer within 4.0 s: ci-ghost\n');
    expect(posted).toMatch(/\nnot asked, heartbeat expired: ci-dead$/);
    expect(slack.calls('chat.postMessage').filter((c) => c.params.channel === 'C0REPORTS')).toHaveLength(1);
    const [audit] = await bot.core.audit.read(1);
    expect(audit).toMatchObject({
      kind: 'schedule',
      actor: 'schedule:nightly-prune',
      channel: 'C0REPORTS',
      action: 'prune all --until 1s --volumes',
      commandId: report.commandId,
      outcome: 'posted: 1 done, 1 failed, 1 did not answer',
    });
  });

  it('posts the store table, the trend since last week and one PNG chart of every host that reported', async () => {
    const day = 86400_000;
    const entry = { paths: 10, narBytes: 50 << 20, garbagePaths: 2, garbageBytes: 5 << 20, freeBytes: 40 << 30, totalBytes: 100 << 30 };
    await recordStoreReport(redis, prefix, 'ci-a', { ...entry, at: Date.now() - 7 * day });
    await recordStoreReport(redis, prefix, 'ci-a', { ...entry, at: Date.now() - 3 * day, narBytes: 60 << 20 });
    const weekly = schedule({ name: 'weekly-store', command: 'store all', channel: 'C0STORE' });
    const report = await runScheduledCommand(bot.core, weekly, { late: false, scheduledFor: Date.now() }, { timeoutMs: 4000 });
    const uploads = slack.uploads.filter((u) => u.channel_id === 'C0STORE');
    expect(uploads).toHaveLength(1);
    const [upload] = uploads;
    expect(upload!.initial_comment).toBe(report.text);
    expect(report.text).toMatch(/^Scheduled "weekly-store": store all, job [0-9a-f]{10}\nhost +free +free % +store +paths +garbage +store change\n/);
    expect(report.text).toMatch(/\nci-a +\d/);
    expect(report.text).toMatch(/\nci-b +no report: failed: /);
    expect(report.text).toContain('\nci-ghost  no report: did not answer within 4.0 s');
    expect(report.text).toMatch(
      /\ntrend since last week:\n {2}ci-a: store [-+]?\d+(\.\d)? [KMG]?i?B, garbage [-+]?[\d.]+ [KMG]?i?B, free [-+]?[\d.]+ [KMGT]?i?B since 7 days ago\n/,
    );
    expect(report.text).toMatch(/\nnot asked, heartbeat expired: ci-dead$/);
    // One chart per reporting host (only ci-a), 140 px high each: store-chart's default size.
    expect(upload!.filename).toBe('store-usage.png');
    const png = decodeRgbPng(upload!.bytes!);
    expect(png).toMatchObject({ width: 360, height: 140 });
    expect(await readStoreHistory(redis, prefix, 'ci-a')).toHaveLength(3);
  });

  it('says when an occurrence is late, in the schedule time zone', async () => {
    const scheduledFor = Date.UTC(2030, 0, 15, 2, 0, 0);
    await runScheduledCommand(bot.core, schedule({ name: 'daily-hosts', command: 'hosts', channel: 'C0LATE' }), { late: true, scheduledFor });
    const posted = lastPost('C0LATE');
    expect(posted).toMatch(/^Scheduled "daily-hosts": hosts \(late: was due at 2030-01-15 03:00 Europe\/Berlin\)\nHOST +HEARTBEAT/);
    expect(posted).toContain('ci-dead');
    const [audit] = await bot.core.audit.read(1);
    expect(audit).toMatchObject({ kind: 'schedule', actor: 'schedule:daily-hosts', outcome: expect.stringMatching(/^posted \(late\): HOST +HEARTBEAT/) });
  });

  it('refuses a real cleanup of stale runners on a schedule and says to schedule its dry run', async () => {
    const report = await runScheduledCommand(bot.core, schedule({ name: 'weekly-cleanup', command: 'cleanup-stale', channel: 'C0CLEAN' }), {
      late: false,
      scheduledFor: Date.now(),
    });
    expect(report.text).toContain("cleanup-stale cannot run on a schedule: it always needs a second person's approval; schedule its --dry-run instead");
  });

  it('refuses rotate on a schedule, which always needs a second person', async () => {
    const report = await runScheduledCommand(bot.core, schedule({ name: 'weekly-rotate', command: 'rotate ci-a', channel: 'C0ROTATE' }), {
      late: false,
      scheduledFor: Date.now(),
    });
    expect(lastPost('C0ROTATE')).toBe(report.text);
    expect(report.text).toContain("rotate cannot run on a schedule: it always needs a second person's approval");
  });

  it('posts the reason when the command itself is wrong', async () => {
    await runScheduledCommand(bot.core, schedule({ name: 'typo', command: 'prnue all', channel: 'C0TYPO' }), { late: false, scheduledFor: Date.now() });
    expect(lastPost('C0TYPO')).toMatch(/^Scheduled "typo": prnue all\nunknown (command|verb) "prnue"/);
  });
});
