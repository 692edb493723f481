import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../../src/dev/start-redis.js';
import { startFakeSlack } from '../fakes/slack/server.js';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHost } from '../../src/queue/host-registry.js';
import { deletePrefix, testRedis, testRedisSettings } from '../setup/redis.js';
import { until } from '../helpers/until.js';
import { defined } from '../helpers/defined.js';

// These run the built binary (npm test builds before it tests), as an operator would.
const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname;
const { redisUrl, prefix } = testRedisSettings();
const redis = testRedis(redisUrl);
let stateDir: string;

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-proc-'));
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  await rm(stateDir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH!, HOME: os.tmpdir(), ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    if (input !== undefined) child.stdin.end(input);
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

describe('runnerops binary', () => {
  it('lists bot, worker, dev and every verb in --help', async () => {
    const { code, out } = await run(['--help'], {});
    expect(code).toBe(0);
    for (const word of ['runnerops bot', 'runnerops worker', 'runnerops dev', 'runnerops prune', 'runnerops rotate', 'runnerops schedules'])
      expect(out).toContain(word);
  });

  it('sets up keys as an operator does, registers a worker, answers a terminal ping through the bot, and leaves the registry on SIGTERM', async () => {
    const slack = await startFakeSlack();
    const base = { REDIS_URL: redisUrl, RUNNEROPS_PREFIX: prefix, LOG_LEVEL: 'silent' };
    const botKey = await run(['keygen', path.join(stateDir, 'bot-key')], {});
    const botPublic = defined(/RUNNEROPS_BOT_KEYS on every worker\): (ed25519:\S+)/.exec(botKey.out)?.[1], 'the public key of the bot in the output');
    const hostEnv = {
      ...base,
      RUNNEROPS_HOST: 'proc-1',
      RUNNEROPS_STATE_DIR: path.join(stateDir, 'host'),
      GITLAB_RUNNER_CONFIG: path.join(stateDir, 'config.toml'),
      RUNNEROPS_HEARTBEAT_SECONDS: '1',
    };
    const fingerprint = defined((await run(['fingerprint'], hostEnv)).out.trim().split(' ')[1], 'a fingerprint in the output');
    const cliKey = await run(['keygen', '--cli', path.join(stateDir, 'cli-key')], {});
    const cliPublic = defined(/cliKeys: \["(ed25519:\S+)"\]/.exec(cliKey.out)?.[1], 'the public key of the CLI in the output');
    const policyFile = path.join(stateDir, 'policy.yml');
    await writeFile(policyFile, `people:\n  me: { identities: ["cli:${os.userInfo().username}"], cliKeys: ["${cliPublic}"] }\n`);
    const worker = spawn(process.execPath, [CLI, 'worker'], { env: { PATH: process.env.PATH!, ...hostEnv, RUNNEROPS_BOT_KEYS: botPublic }, stdio: 'ignore' });
    const socket = path.join(stateDir, 'api.sock');
    const bot = spawn(process.execPath, [CLI, 'bot'], {
      env: {
        PATH: process.env.PATH!,
        ...base,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: 'secret',
        SLACK_API_URL: slack.apiUrl,
        PORT: String(await freePort()),
        RUNNEROPS_SIGNING_KEY: path.join(stateDir, 'bot-key'),
        RUNNEROPS_ENROLLED_HOSTS: `proc-1=${fingerprint}`,
        RUNNEROPS_POLICY: policyFile,
        RUNNEROPS_API_SOCKET: socket,
      },
      stdio: 'ignore',
    });
    try {
      await until(async () => (await readHost(redis, prefix, 'proc-1')) !== undefined && existsSync(socket), 20_000, 'worker registered and bot listening');
      const ping = await run(['ping', 'proc-1'], { RUNNEROPS_API_SOCKET: socket, RUNNEROPS_CLI_KEY: path.join(stateDir, 'cli-key') });
      expect(ping.code).toBe(0);
      expect(ping.out).toMatch(/✓ proc-1 \(\d+ ms\): pong after \d+ ms in the queue/);
      const exited = new Promise<number | null>((r) => worker.on('exit', r));
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await readHost(redis, prefix, 'proc-1')).toBeUndefined();
    } finally {
      worker.kill('SIGKILL');
      bot.kill('SIGKILL');
      await slack.close();
    }
  });

  it('fails at start with a message naming a bad variable', async () => {
    const { code, err } = await run(['worker'], { REDIS_URL: 'http://nope', RUNNEROPS_STATE_DIR: stateDir });
    expect(code).toBe(1);
    expect(err.trim()).toMatch(/^runnerops: REDIS_URL="http:\/\/nope" is not valid: unknown scheme "http"; expected e\.g\. redis:\/\/host:6379/);
    expect(err.trim().split('\n')).toHaveLength(1);
  });

  it('tells the bot what Slack settings it lacks', async () => {
    const { code, err } = await run(['bot'], { REDIS_URL: redisUrl });
    expect(code).toBe(1);
    expect(err).toContain('no Slack credentials: set SLACK_BOT_TOKEN plus SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)');
  });

  it('runs the whole stack with a console in dev mode', async () => {
    const lines = ['hosts', 'ping all', 'prnue all', 'rotate nohost'].join('\n');
    const { code, out } = await run(['dev'], { RUNNEROPS_HOST: 'dev-host', TMPDIR: stateDir, LOG_LEVEL: 'silent' }, `${lines}\n`);
    expect(code).toBe(0);
    expect(out).toMatch(/started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('1 host, 1 alive');
    expect(out).toMatch(/queued: ping all \[job [0-9a-f]{10}\]/);
    expect(out).toContain('unknown verb "prnue" — did you mean "prune"?');
    expect(out).toContain('unknown host "nohost"; known: dev-host');
  });
});
