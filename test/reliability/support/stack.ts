import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { freePort } from '../../../src/dev/start-redis.js';
import type { CommandRecord } from '../../../src/queue/command-record.js';
import { readHost } from '../../../src/queue/host-registry.js';
import { keys } from '../../../src/queue/names.js';
import { startFakeSlack, type FakeMessage, type FakeSlack } from '../../fakes/slack/server.js';
import { signedPost, slashCommandBody } from '../../helpers/slack-requests.js';
import { until } from '../../helpers/until.js';
import type { OperatorKeys } from './operator.js';
import { spawnRunnerops, type RunnerProcess } from './processes.js';
import { dumpKeys } from './redis-servers.js';
import { logPath, recordSecrets, saveArtifact } from './run-dir.js';

/** A fresh key prefix (a hash tag, as RUNNEROPS_PREFIX requires). */
export function newPrefix(scenario: string): string {
  return `{rel-${scenario}-${randomUUID().slice(0, 6)}}`;
}

/** A temporary directory for hosts' state and config files, removed by the returned function. */
export async function tempDir(name: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `runnerops-rel-${name}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The fake Slack and a signing secret, both remembered for the secret search. */
export async function startSlackSide(): Promise<{ slack: FakeSlack; signingSecret: string }> {
  const slack = await startFakeSlack({ waitTimeoutMs: 30_000 });
  const signingSecret = randomBytes(16).toString('hex');
  recordSecrets(slack.botToken, slack.appToken, signingSecret);
  return { slack, signingSecret };
}

export interface BotEnvOptions {
  redisUrl: string;
  prefix: string;
  slack: FakeSlack;
  signingSecret: string;
  port: number;
  /** The scenario's keys: the bot signs with its key and listens for the terminal on its socket. */
  operator: OperatorKeys;
  /** RUNNEROPS_ENROLLED_HOSTS: the fingerprints an operator confirmed (pinHosts). */
  enrolled: string;
  policyFile?: string;
  gitlab?: { url: string; token: string };
  logLevel?: string;
  extra?: Record<string, string>;
}

/** `runnerops bot` in HTTP mode against the fake Slack, with its signing key, pinned hosts and API socket. */
export function botEnv(o: BotEnvOptions): Record<string, string> {
  return {
    REDIS_URL: o.redisUrl,
    RUNNEROPS_PREFIX: o.prefix,
    RUNNEROPS_SIGNING_KEY: o.operator.botKeyFile,
    RUNNEROPS_ENROLLED_HOSTS: o.enrolled,
    RUNNEROPS_API_SOCKET: o.operator.apiSocket,
    LOG_LEVEL: o.logLevel ?? 'info',
    SLACK_BOT_TOKEN: o.slack.botToken,
    SLACK_SIGNING_SECRET: o.signingSecret,
    SLACK_API_URL: o.slack.apiUrl,
    PORT: String(o.port),
    ...(o.policyFile ? { RUNNEROPS_POLICY: o.policyFile } : {}),
    ...(o.gitlab ? { GITLAB_URL: o.gitlab.url, GITLAB_TOKEN: o.gitlab.token } : {}),
    ...o.extra,
  };
}

/** Starts the bot binary and waits until its HTTP endpoint answers (an unsigned POST gets 401) and its API socket is there. */
export async function startBotProcess(name: string, env: Record<string, string>): Promise<RunnerProcess & { eventsUrl: string }> {
  // The audit log's JSON-lines mirror lands next to the logs, for the secret search.
  const bot = spawnRunnerops(name, ['bot'], { RUNNEROPS_AUDIT_FILE: logPath(`${name}-audit`), ...env });
  const eventsUrl = `http://127.0.0.1:${env.PORT}/slack/events`;
  await until(
    async () => {
      if (!bot.alive()) throw new Error(`${name} exited during start: ${(await bot.output()).slice(-500)}`);
      const answers = await fetch(eventsUrl, { method: 'POST', body: '' }).then(
        (r) => r.status === 401,
        () => false,
      );
      return answers && (env.RUNNEROPS_API_SOCKET === undefined || existsSync(env.RUNNEROPS_API_SOCKET));
    },
    30_000,
    `${name} answering on ${eventsUrl}`,
  );
  return Object.assign(bot, { eventsUrl });
}

export interface WorkerEnvOptions {
  redisUrl: string;
  prefix: string;
  host: string;
  /** RUNNEROPS_BOT_KEYS: the bot's public key, the only signature this worker accepts on a job. */
  botKeys: string;
  /** The host's directory: state/, gitlab-runner/config.toml live under it. */
  dir: string;
  gitlabUrl?: string;
  dockerHost?: string;
  nixDaemonContainer?: string;
  /** @defaultValue 1 (tests want fast registry changes; 5 in production) */
  heartbeatSeconds?: number;
  logLevel?: string;
  extra?: Record<string, string>;
}

export function workerEnv(o: WorkerEnvOptions): Record<string, string> {
  return {
    REDIS_URL: o.redisUrl,
    RUNNEROPS_PREFIX: o.prefix,
    RUNNEROPS_HOST: o.host,
    RUNNEROPS_BOT_KEYS: o.botKeys,
    RUNNEROPS_HEARTBEAT_SECONDS: String(o.heartbeatSeconds ?? 1),
    RUNNEROPS_STATE_DIR: path.join(o.dir, 'state'),
    GITLAB_RUNNER_CONFIG: path.join(o.dir, 'gitlab-runner', 'config.toml'),
    RUNNEROPS_RELOAD_COMMAND: 'true',
    LOG_LEVEL: o.logLevel ?? 'info',
    ...(o.gitlabUrl ? { GITLAB_URL: o.gitlabUrl } : {}),
    ...(o.dockerHost ? { DOCKER_HOST: o.dockerHost } : {}),
    ...(o.nixDaemonContainer ? { NIX_DAEMON_CONTAINER: o.nixDaemonContainer } : {}),
    ...o.extra,
  };
}

/** Starts the worker binary and waits until its host is in the registry, signed by its key, with a fresh heartbeat. */
export async function startWorkerProcess(name: string, env: Record<string, string>, admin: Redis): Promise<RunnerProcess> {
  const since = Date.now();
  const worker = spawnRunnerops(name, ['worker'], env);
  await until(
    async () => {
      if (!worker.alive()) throw new Error(`${name} exited during start: ${(await worker.output()).slice(-500)}`);
      const entry = await readHost(admin, env.RUNNEROPS_PREFIX!, env.RUNNEROPS_HOST!);
      return entry !== undefined && entry.fingerprint !== undefined && entry.lastHeartbeat >= since;
    },
    30_000,
    `${name} registered`,
  );
  return worker;
}

/** A signed slash command as Slack sends it; resolves with the HTTP status and the time to the ack. */
export async function slash(eventsUrl: string, secret: string, text: string, user: string, channel = 'C0REL'): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await signedPost(eventsUrl, slashCommandBody({ text, user_id: user, channel_id: channel }), { secret });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - started };
}

/** Writes a policy file (YAML) into `dir`. */
export async function writePolicy(dir: string, policy: unknown): Promise<string> {
  const file = path.join(dir, 'policy.yml');
  await writeFile(file, stringify(policy));
  return file;
}

export async function httpPort(): Promise<number> {
  return freePort();
}

/** Every command record under the prefix (the recent-commands list keeps only 1000, so this scans). */
export async function allCommands(redis: Redis, prefix: string): Promise<CommandRecord[]> {
  const found: CommandRecord[] = [];
  let cursor = '0';
  const pattern = keys.command(prefix, '*');
  do {
    const [next, names] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    const records = names.filter((k) => !k.endsWith(':rows') && !k.endsWith(':settled'));
    if (records.length === 0) continue;
    const values = await redis.mget(...records);
    for (const value of values) if (value) found.push(JSON.parse(value) as CommandRecord);
  } while (cursor !== '0');
  return found;
}

/** The job card of a command (its title carries `[job <id>]`). */
export function cardOf(slack: FakeSlack, commandId: string): FakeMessage | undefined {
  return slack.messages.find((m) => m.text.includes(`[job ${commandId}]`) && m.thread_ts === undefined);
}

/** When the card's final summary (footer "finished: ...") arrived, or undefined while it has not. */
export function finishedAt(card: FakeMessage | undefined): number | undefined {
  if (!card) return undefined;
  if (/: finished: /.test(card.text) && card.updates.length === 0) return card.postedAt;
  return card.updates.find((u) => /: finished: /.test(u.text))?.at;
}

function blocksText(blocks: unknown[] | undefined): string {
  const texts: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') texts.push(inner);
        else visit(inner);
      }
    }
  };
  visit(blocks);
  return texts.join('\n');
}

/** The card's current content: its text, then the text of its blocks (the host rows). */
export function cardText(card: FakeMessage): string {
  const latest = card.updates.at(-1) ?? card;
  return `${latest.text}\n${blocksText(latest.blocks)}`;
}

/** Saves what Slack saw (messages, updates, ephemerals, call parameters) for the secret search. */
export async function saveSlackArtifacts(name: string, slack: FakeSlack): Promise<void> {
  await saveArtifact(
    `${name}-slack.json`,
    JSON.stringify({
      messages: slack.messages,
      ephemerals: slack.ephemerals,
      calls: slack.calls().map((c) => ({ method: c.method, at: c.at, ok: c.ok, error: c.error, params: c.params })),
    }),
  );
}

/** Saves every key and value under the prefix (job payloads and results included) for the secret search. */
export async function saveRedisArtifacts(name: string, redis: Redis, prefix: string): Promise<void> {
  await saveArtifact(`${name}-redis.txt`, await dumpKeys(redis, `${prefix}*`));
}
