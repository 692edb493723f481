import { chmod, lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { payloadSchema, run, summarize, type Context, type Payload } from '../../jobs/install-runner.js';
import { PermanentJobError } from '../../src/errors.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';
import type { FakeRunner } from '../fakes/gitlab/start-fake-gitlab.js';
import { declareNixosRunner, joinAll, leakedTokens, NIXOS_PLACEHOLDER, seedConfigFor, useRunnerJobEnvironment, type TestHost } from './support/runner-host.js';

const env = useRunnerJobEnvironment();
const { redisSettings } = env;

async function setup(
  mode: 'config-toml' | 'nixos-module' | 'env-template' = 'config-toml',
): Promise<{ host: TestHost; ctx: Context; runner: FakeRunner; payload: Payload }> {
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
  const ctx: Context = {
    host: host.settings.host,
    settings: host.settings,
    keys: host.keys,
    log: host.log,
    progress: host.progress,
    redis: env.redis,
    prefix: redisSettings.prefix,
    patchHost: host.patchHost,
  };
  return { host, ctx, runner, payload };
}

/** Every file under `dir` with its exact bytes (hex) and mode, to compare before and after a refused install. */
async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true })) {
    const file = path.join(dir, entry);
    const s = await lstat(file);
    out[entry] = s.isFile() ? `${(s.mode & 0o7777).toString(8)} ${(await readFile(file)).toString('hex')}` : `dir ${(s.mode & 0o7777).toString(8)}`;
  }
  return out;
}

/** An env-template host as the seed keeps it: config.toml with the seed runner and its TOKEN_NIX= line. */
async function seedEnvTemplateHost(host: TestHost): Promise<void> {
  const seedRunner = env.fake.addRunner({ description: 'Nix caching runner' });
  await writeFile(host.settings.runnerConfigPath, await seedConfigFor(env.fake, seedRunner));
  await writeFile(host.settings.envFile, `# gitlab-runner\r\nTOKEN_NIX=${seedRunner.token}\nOTHER=\xff`, { encoding: 'latin1' });
  await chmod(host.settings.envFile, 0o640);
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
    expect(config.runners[1]?.token).toBe(runner.token);
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

  it('puts the placeholder token file back and reports the reload failure in nixos-module mode', async () => {
    const { host, ctx, payload } = await setup('nixos-module');
    await declareNixosRunner(host, 'new');
    host.settings.reloadCommand = 'echo "unit gitlab-runner.service not loaded" >&2; exit 5';
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toBe(
      'the reload command "echo "unit gitlab-runner.service not loaded" >&2; exit 5" failed (exit 5): unit gitlab-runner.service not loaded; check RUNNEROPS_RELOAD_COMMAND and the gitlab-runner service',
    );
    expect(await readdir(host.settings.tokenDir)).toEqual(['new.env']);
    expect(await readFile(path.join(host.settings.tokenDir, 'new.env'), 'utf8')).toBe(NIXOS_PLACEHOLDER);
  });

  it('refuses a runner that is not declared in nixos-module mode, before anything is written', async () => {
    const { host, ctx, payload } = await setup('nixos-module');
    const before = await treeOf(host.dir);
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toBe(
      `runner "new" is not declared on ci-1 (no ${host.settings.tokenDir}/new.env); nixpkgs' gitlab-runner reads only declared token files: add services.runnerops.worker.runners.new = { dockerImage = "..."; } to its NixOS configuration, switch, then register with --description new`,
    );
    expect(await treeOf(host.dir)).toEqual(before);
  });

  it('fails and restores the token file when the reload does not register the runner', async () => {
    const { host, ctx, payload } = await setup('nixos-module');
    await declareNixosRunner(host, 'new');
    const before = await treeOf(host.dir);
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toMatch(
      new RegExp(`^gitlab-runner did not take the token of runner #${payload.runnerId}: after "true" .*config.toml has no runner with it;`),
    );
    expect(await treeOf(host.dir)).toEqual(before);
  });

  it('refuses to start without GITLAB_URL on the host', async () => {
    const { host, ctx, payload } = await setup();
    host.settings.gitlabUrl = undefined;
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toBe(`GITLAB_URL is not set for the worker on ci-1; set it to ${env.fake.url}`);
  });

  it('refuses a sealed shell command as token, sends it nowhere and leaves every file byte-identical', async () => {
    const { host, ctx, payload } = await setup('env-template');
    await seedEnvTemplateHost(host);
    const marker = path.join(host.dir, 'pwned');
    const before = await treeOf(host.dir);
    const verifies = env.fake.requestCount('POST /runners/verify');
    const attack = { ...payload, sealedToken: await sealToHost(`$(touch ${marker})`, host.keys.publicKey) };
    const err = await failureOf(run(attack, ctx, new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toBe(
      'the sealed token is not a runner authentication token (expected "glrt-" and 20 or more letters, digits, "-", "_" or "."); nothing was written; register the runner again',
    );
    expect(await treeOf(host.dir)).toEqual(before);
    expect(env.fake.requestCount('POST /runners/verify')).toBe(verifies);
    expect(env.fake.logContains('touch')).toBe(false);
  });

  it('refuses a glrt- token with a shell command in it', async () => {
    const { host, ctx, payload } = await setup('env-template');
    await seedEnvTemplateHost(host);
    const before = await treeOf(host.dir);
    const attack = { ...payload, sealedToken: await sealToHost('glrt-aaaaaaaaaaaaaaaaaaaaaaaa$(id>/tmp/x)', host.keys.publicKey) };
    const err = await failureOf(run(attack, ctx, new AbortController().signal));
    expect(err.message).toMatch(/^the sealed token is not a runner authentication token/);
    expect(await treeOf(host.dir)).toEqual(before);
  });

  it("refuses a runner for the attacker's GitLab before opening the token, with every file byte-identical", async () => {
    const { host, ctx, payload } = await setup('env-template');
    await seedEnvTemplateHost(host);
    const before = await treeOf(host.dir);
    const verifies = env.fake.requestCount('POST /runners/verify');
    const err = await failureOf(run({ ...payload, gitlabUrl: 'https://gitlab.attacker.example' }, ctx, new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toBe(
      `the runner is for another GitLab than this worker's GITLAB_URL (${env.fake.url}); nothing was written; register it from a bot whose GITLAB_URL is ${env.fake.url}`,
    );
    expect(await treeOf(host.dir)).toEqual(before);
    expect(env.fake.requestCount('POST /runners/verify')).toBe(verifies);
  });

  it("takes the same GitLab written with a trailing slash and writes the worker's own URL", async () => {
    const { host, ctx, payload } = await setup();
    await run({ ...payload, gitlabUrl: `${env.fake.url}/` }, ctx, new AbortController().signal);
    const config = parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as { runners: Array<Record<string, unknown>> };
    expect(config.runners[0]?.url).toBe(env.fake.url);
  });

  it('refuses a token GitLab does not know before writing anything', async () => {
    const { host, ctx, payload } = await setup('env-template');
    await seedEnvTemplateHost(host);
    const before = await treeOf(host.dir);
    const unknown = { ...payload, sealedToken: await sealToHost(`glrt-${'x'.repeat(20)}`, host.keys.publicKey) };
    const err = await failureOf(run(unknown, ctx, new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(await treeOf(host.dir)).toEqual(before);
  });

  it('refuses the token of another runner than the one the job names', async () => {
    const { host, ctx, payload } = await setup('env-template');
    await seedEnvTemplateHost(host);
    const before = await treeOf(host.dir);
    const other = env.fake.addRunner({ description: 'other' });
    const swapped = { ...payload, sealedToken: await sealToHost(other.token, host.keys.publicKey) };
    const err = await failureOf(run(swapped, ctx, new AbortController().signal));
    expect(err.message).toBe(`GitLab says the token belongs to runner #${other.id}, not #${payload.runnerId}; nothing was written; register the runner again`);
    expect(await treeOf(host.dir)).toEqual(before);
  });

  it('refuses a runner name with a quote or a control character', async () => {
    const { ctx, payload } = await setup();
    const err = await failureOf(run({ ...payload, name: 'x"\n[[runners]]' }, ctx, new AbortController().signal));
    expect(err.message).toBe('the runner name has control characters, quotes, "$" or "\\" (or is longer than 255); register it with a plain --description');
  });

  it('puts back the exact bytes and mode of every file it touched after a failed reload, and removes the files it created', async () => {
    const { host, ctx, payload } = await setup('env-template');
    await seedEnvTemplateHost(host);
    host.settings.reloadCommand = 'echo "Job for gitlab-runner.service failed" >&2; exit 1';
    const before = await treeOf(host.dir);
    const err = await failureOf(run(payload, ctx, new AbortController().signal));
    expect(err.message).toMatch(/^the reload command .* failed \(exit 1\): Job for gitlab-runner.service failed;/);
    expect(await treeOf(host.dir)).toEqual(before);
    expect(Object.keys(before)).not.toContain(path.relative(host.dir, path.join(path.dirname(host.settings.runnerConfigPath), '.runner_system_id')));
  });

  it('refuses a payload whose expiry is not an RFC 3339 time', async () => {
    const { payload } = await setup();
    expect(() => payloadSchema.parse({ ...payload, tokenExpiresAt: '$(id)' })).toThrow(/Invalid datetime/);
    expect(payloadSchema.parse({ ...payload, tokenExpiresAt: '2026-02-01T00:00:00.000Z' }).tokenExpiresAt).toBe('2026-02-01T00:00:00.000Z');
  });

  it("writes the expiry GitLab's verify answers, not the job's", async () => {
    const { host, ctx, runner, payload } = await setup();
    const expires = new Date(Date.now() + 10 * 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    env.fake.setTokenExpiry(runner.id, expires);
    const result = await run({ ...payload, tokenExpiresAt: null }, ctx, new AbortController().signal);
    expect(new Date(result.tokenExpiresAt!).toISOString()).toBe(new Date(expires).toISOString());
    const config = parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as unknown as { runners: Array<{ token_expires_at: Date }> };
    expect(config.runners[0]?.token_expires_at.toISOString()).toBe(new Date(expires).toISOString());
  });
});
