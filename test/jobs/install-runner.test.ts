import { readdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { run, summarize, type Context, type Payload } from '../../jobs/install-runner.js';
import { PermanentJobError } from '../../src/errors.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';
import type { FakeRunner } from '../fakes/gitlab/start-fake-gitlab.js';
import { joinAll, leakedTokens, seedConfigFor, useRunnerJobEnvironment, type TestHost } from './support/runner-host.js';

const env = useRunnerJobEnvironment();
const { redisSettings } = env;

async function setup(mode: 'config-toml' | 'nixos-module' | 'env-template' = 'config-toml'): Promise<{ host: TestHost; ctx: Context; runner: FakeRunner; payload: Payload }> {
  const host = await env.createHost({ mode });
  const runner = env.fake.addRunner({ description: 'new' });
  const payload: Payload = {
    sealedToken: await sealToHost(runner.token, host.keys.publicKey),
    sealedTo: host.keys.fingerprint,
    runnerId: runner.id,
    name: 'new',
    gitlabUrl: env.fake.url,
    tokenExpiresAt: null,
  };
  const ctx: Context = { host: host.settings.host, settings: host.settings, keys: host.keys, log: host.log, progress: host.progress, redis: env.redis, prefix: redisSettings.prefix, patchHost: host.patchHost };
  return { host, ctx, runner, payload };
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as Error,
  );
}

describe('run', () => {
  it('adds the runner next to the seed runner and keeps the seed runner as it was', async () => {
    const { host, ctx, runner, payload } = await setup();
    const seedRunner = env.fake.addRunner({ description: 'Nix caching runner' });
    const seed = await seedConfigFor(env.fake, seedRunner);
    await writeFile(host.settings.runnerConfigPath, seed);
    const result = await run(payload, ctx, new AbortController().signal);
    const config = parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as { runners: Array<Record<string, unknown>> };
    expect(config.runners.map((r) => r.name)).toEqual(['Nix caching runner', 'new']);
    expect(config.runners[0]).toEqual((parse(seed) as { runners: unknown[] }).runners[0]);
    expect(config.runners[1]!.token).toBe(runner.token);
    expect(summarize(result)).toBe(`runner #${runner.id} "new" installed on ci-1 (config-toml: ${host.settings.runnerConfigPath}); token does not expire`);
    expect(leakedTokens(env.fake.issuedTokens(), joinAll(result, host.logLines.join(''), host.phases))).toEqual([]);
  });

  it('rewrites instead of duplicating when the same install runs twice', async () => {
    const { host, ctx, payload } = await setup();
    await run(payload, ctx, new AbortController().signal);
    await run(payload, ctx, new AbortController().signal);
    const config = parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as { runners: unknown[] };
    expect(config.runners).toHaveLength(1);
  });

  it('names the key mismatch when the token was sealed to an older key', async () => {
    const { ctx, payload } = await setup();
    const err = await failureOf(run({ ...payload, sealedTo: 'AAAAAAAAAAAAAAAA' }, ctx, new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toBe(`the token was sealed to key AAAAAAAAAAAAAAAA but ci-1 now has key ${ctx.keys!.fingerprint}; register the runner again`);
  });

  it('undoes the token file and reports the reload failure in nixos-module mode', async () => {
    const { host, ctx, payload } = await setup('nixos-module');
    host.settings.reloadCommand = 'echo "unit gitlab-runner.service not loaded" >&2; exit 5';
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toBe(
      'the reload command "echo "unit gitlab-runner.service not loaded" >&2; exit 5" failed (exit 5): unit gitlab-runner.service not loaded; check RUNNEROPS_RELOAD_COMMAND and the gitlab-runner service',
    );
    expect(await readdir(host.settings.tokenDir)).toEqual([]);
  });

  it('refuses to start without GITLAB_URL on the host', async () => {
    const { host, ctx, payload } = await setup();
    host.settings.gitlabUrl = undefined;
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toBe(`GITLAB_URL is not set for the worker on ci-1; set it to ${env.fake.url}`);
  });
});
