import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { readWorkerSettings, type TokenMode, type WorkerSettings } from '../../../src/config.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import { publishHost, touchHost, type HostEntry } from '../../../src/queue/host-registry.js';
import { enrollKeys, TEST_BOT_KEYS } from '../../helpers/test-trust.js';
import { loadHostKeys, type HostKeys } from '../../../src/secrets/host-keys.js';
import type { JobProgress } from '../../../jobs/job-context.js';
import { startFakeGitlab, type FakeGitlab, type FakeRunner } from '../../fakes/gitlab/start-fake-gitlab.js';
import { deletePrefix, testRedis, testRedisSettings } from '../../setup/redis.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The seed's config.toml (pkgs.formats.toml of the wiki's runner) with `@TOKEN_NIX@` still in it. */
export async function readSeedConfig(): Promise<string> {
  return readFile(path.join(here, '../../clients/runner-config/fixtures/seed-config.toml'), 'utf8');
}

/** The seed's config.toml for a runner of the fake GitLab: its url, id and token filled in. */
export async function seedConfigFor(fake: FakeGitlab, runner: FakeRunner): Promise<string> {
  return (await readSeedConfig())
    .replace('@TOKEN_NIX@', runner.token)
    .replace('id = 12354', `id = ${runner.id}`)
    .replace('url = "https://gitlab.com"', `url = "${fake.url}"`);
}

/** Log lines captured through a pino destination (what the process would have written). */
export function captureLogs(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: createLogger({ name: 'test', level: 'debug', destination }), lines };
}

/** Every key and value under `prefix` as text (strings, hashes, lists, sets, sorted sets, streams). */
export async function dumpRedis(redis: Redis, prefix: string): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      out.push(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES')));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

export interface TestHost {
  dir: string;
  settings: WorkerSettings;
  keys: HostKeys;
  log: Logger;
  logLines: string[];
  phases: JobProgress[];
  progress: (update: JobProgress) => Promise<void>;
  /** Merges facts into this host's registry entry, signed with its key (the worker's JobContext.patchHost). */
  patchHost: (patch: Partial<HostEntry>) => Promise<void>;
  cleanup: () => Promise<void>;
}

/**
 * A runner host on disk in a temp directory: state dir, gitlab-runner config dir, token dir and env
 * file, worker settings read through readWorkerSettings, a real key pair and a captured logger.
 */
export async function createTestHost(options: {
  fake: FakeGitlab;
  redis: { redisUrl: string; prefix: string };
  mode: TokenMode;
  host?: string;
  reloadCommand?: string;
}): Promise<TestHost> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-host-'));
  const configDir = path.join(dir, 'gitlab-runner', '.gitlab-runner');
  await mkdir(configDir, { recursive: true });
  await mkdir(path.join(dir, 'secrets'), { recursive: true });
  await chmod(dir, 0o755);
  const settings = readWorkerSettings({
    REDIS_URL: options.redis.redisUrl,
    RUNNEROPS_PREFIX: options.redis.prefix,
    RUNNEROPS_HOST: options.host ?? 'ci-1',
    RUNNEROPS_STATE_DIR: path.join(dir, 'state'),
    GITLAB_URL: options.fake.url,
    GITLAB_RUNNER_CONFIG: path.join(configDir, 'config.toml'),
    RUNNEROPS_TOKEN_MODE: options.mode,
    RUNNEROPS_TOKEN_DIR: path.join(dir, 'tokens'),
    RUNNEROPS_ENV_FILE: path.join(dir, 'secrets', 'gitlab-runner.env'),
    RUNNEROPS_RELOAD_COMMAND: options.reloadCommand ?? 'true',
    RUNNEROPS_BOT_KEYS: TEST_BOT_KEYS,
  });
  const keys = await loadHostKeys(settings.stateDir);
  const { log, lines } = captureLogs();
  const phases: JobProgress[] = [];
  return {
    dir,
    settings,
    keys,
    log,
    logLines: lines,
    phases,
    progress: async (update) => {
      phases.push(update);
    },
    patchHost: async (patch) => {
      const redis = testRedis(options.redis.redisUrl);
      try {
        await touchHost(redis, options.redis.prefix, keys.signer, settings.host, patch);
      } finally {
        await redis.quit();
      }
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What a test file of runner jobs shares: one Redis connection, one fake GitLab and its temp hosts. */
export interface RunnerJobEnvironment {
  /** The run's redis-server and this file's own key prefix (set at once). */
  readonly redisSettings: { redisUrl: string; prefix: string };
  /** The file's Redis connection (from beforeAll on; quit after all tests, its keys deleted). */
  readonly redis: Redis;
  /** The file's fake GitLab (from beforeAll on; closed after all tests). */
  readonly fake: FakeGitlab;
  /** A runner host on disk (createTestHost against this fake and Redis), removed after the test. */
  createHost(options: { mode: TokenMode; host?: string; reloadCommand?: string }): Promise<TestHost>;
  /** Announces `host` in the host registry as a live, enrolled worker, with its public key unless `withKey` (default true) is false. */
  publishHost(host: TestHost, options?: { withKey?: boolean }): Promise<void>;
  /** Runs `cleanup` after the current test, before the cleanups registered earlier. */
  afterThisTest(cleanup: () => Promise<unknown>): void;
}

/**
 * Registers the hooks of a test file of runner jobs (beforeAll: Redis connection and fake GitLab;
 * afterEach: the test's cleanups, last registered first; afterAll: delete the prefix, quit, close) and
 * returns their accessors. Call once at the top of the file; hooks the file registers later run
 * before this teardown (vitest's default `sequence.hooks: 'stack'`).
 */
export function useRunnerJobEnvironment(): RunnerJobEnvironment {
  const redisSettings = testRedisSettings();
  let redis: Redis | undefined;
  let fake: FakeGitlab | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    redis = testRedis(redisSettings.redisUrl);
    fake = await startFakeGitlab();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    if (redis) {
      await deletePrefix(redis, redisSettings.prefix);
      await redis.quit();
    }
    await fake?.close();
  });

  const env: RunnerJobEnvironment = {
    redisSettings,
    get redis(): Redis {
      if (!redis) throw new Error('the Redis connection opens in beforeAll');
      return redis;
    },
    get fake(): FakeGitlab {
      if (!fake) throw new Error('the fake GitLab starts in beforeAll');
      return fake;
    },
    async createHost(options) {
      const host = await createTestHost({ ...options, fake: env.fake, redis: redisSettings });
      cleanups.push(host.cleanup);
      return host;
    },
    async publishHost(host, options = {}) {
      await enrollKeys(env.redis, redisSettings.prefix, host.settings.host, host.keys);
      await publishHost(env.redis, redisSettings.prefix, host.keys.signer, {
        name: host.settings.host,
        versions: { runnerops: 'test' },
        labels: {},
        publicKey: options.withKey === false ? null : host.keys.publicKey,
        startedAt: Date.now(),
        lastHeartbeat: Date.now(),
        heartbeatSeconds: 5,
      });
    },
    afterThisTest(cleanup) {
      cleanups.push(cleanup);
    },
  };
  return env;
}

/**
 * What the NixOS module's configure script does on reload, reduced to what matters here: register
 * (append to config.toml) every token file whose token config.toml does not hold yet.
 */
export async function writeNixosReloadScript(host: TestHost): Promise<string> {
  const script = path.join(host.dir, 'nixos-reload.sh');
  await writeFile(
    script,
    [
      '#!/bin/sh',
      'set -e',
      `cfg='${host.settings.runnerConfigPath}'`,
      `for f in '${host.settings.tokenDir}'/*.env; do`,
      '  [ -e "$f" ] || continue',
      '  . "$f"',
      '  if [ -e "$cfg" ] && grep -q "\\"$CI_SERVER_TOKEN\\"" "$cfg"; then continue; fi',
      '  printf \'\\n[[runners]]\\nname = "%s"\\nurl = "%s"\\ntoken = "%s"\\nexecutor = "docker"\\n\' "$(basename "$f" .env)" "$CI_SERVER_URL" "$CI_SERVER_TOKEN" >> "$cfg"',
      'done',
      'echo reload >> "$cfg.reloads"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return script;
}

/** The seed's configure script: fill `@VAR@` in the template from the EnvironmentFile into config.toml. */
export async function writeEnvTemplateReloadScript(host: TestHost, template: string): Promise<string> {
  const script = path.join(host.dir, 'configure.sh');
  await writeFile(
    script,
    [
      '#!/bin/sh',
      'set -e',
      'set -a',
      `. '${host.settings.envFile}'`,
      'set +a',
      `awk '{ for(varname in ENVIRON) gsub("@"varname"@", ENVIRON[varname]); print }' '${template}' > '${host.settings.runnerConfigPath}'`,
      `echo reload >> '${host.settings.runnerConfigPath}.reloads'`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return script;
}

/** Asserts helper: every place `text` may hide, joined, for a token search. */
export function joinAll(...parts: unknown[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : (JSON.stringify(p) ?? String(p)))).join('\n');
}

/** The tokens (of `tokens`) that appear in `text`. */
export function leakedTokens(tokens: string[], text: string): string[] {
  return [...new Set(tokens)].filter((t) => text.includes(t));
}

/**
 * Declares a runner the way services.runnerops.worker.runners does on NixOS: its token file exists in
 * the token dir as a placeholder until `register` fills it.
 */
export async function declareNixosRunner(host: TestHost, name: string): Promise<string> {
  await mkdir(host.settings.tokenDir, { recursive: true, mode: 0o700 });
  const file = path.join(host.settings.tokenDir, `${name}.env`);
  await writeFile(file, NIXOS_PLACEHOLDER, { mode: 0o600 });
  return file;
}

/** The placeholder deploy/nixos/module.nix writes for a declared runner (see its runnerPlaceholder). */
export const NIXOS_PLACEHOLDER = '# runnerops: declared runner, not registered yet; /runner register fills this file\nexit 0\n';
