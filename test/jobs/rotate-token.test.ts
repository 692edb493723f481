import { execFile } from 'node:child_process';
import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { payloadSchema, run, summarize, type Context } from '../../jobs/rotate-token.js';
import { PermanentJobError, TransientJobError, UserError } from '../../src/errors.js';
import { readHost } from '../../src/queue/host-registry.js';
import { recoveryPath, writeRecovery } from '../../src/clients/runner-config/rotation-recovery.js';
import { sealForHost } from '../../jobs/control/seal-for-host.js';
import { generateToken } from '../fakes/gitlab/fake-gitlab-state.js';
import { setEntryToken, tokenFingerprint } from '../../src/clients/runner-config/config-toml.js';
import { SYSTEM_ID_FILE } from '../../src/clients/runner-config/system-id.js';
import { startFakeGitlab, type FakeRunner } from '../fakes/gitlab/start-fake-gitlab.js';
import {
  dumpRedis,
  joinAll,
  leakedTokens,
  readSeedConfig,
  seedConfigFor,
  useRunnerJobEnvironment,
  writeEnvTemplateReloadScript,
  writeNixosReloadScript,
  type TestHost,
} from './support/runner-host.js';
import { defined } from '../helpers/defined.js';

const exec = promisify(execFile);
const env = useRunnerJobEnvironment();
const { redisSettings } = env;

async function hostWithSeed(mode: 'config-toml' | 'nixos-module' | 'env-template' = 'config-toml'): Promise<{ host: TestHost; runner: FakeRunner }> {
  const host = await env.createHost({ mode });
  const runner = env.fake.addRunner({ description: 'Nix caching runner' });
  await writeFile(host.settings.runnerConfigPath, await seedConfigFor(env.fake, runner), { mode: 0o600 });
  await env.publishHost(host);
  return { host, runner };
}

function contextOf(host: TestHost, extra: Partial<Context> = {}): Context {
  return {
    host: host.settings.host,
    settings: host.settings,
    log: host.log,
    progress: host.progress,
    redis: env.redis,
    prefix: redisSettings.prefix,
    patchHost: host.patchHost,
    sleep: async () => undefined,
    ...extra,
  };
}

async function readConfig(host: TestHost): Promise<{ runners: Array<Record<string, unknown>> } & Record<string, unknown>> {
  return parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as never;
}

/** Everything the run produced, for the token search (the fake's request log excluded: GitLab must see tokens). */
async function producedText(host: TestHost, ...extra: unknown[]): Promise<string> {
  return joinAll(await dumpRedis(env.redis, redisSettings.prefix), host.logLines.join(''), host.phases, ...extra);
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the job to fail');
}

describe('run', () => {
  it('rotates the token of the seed runner in config.toml and keeps every other key', async () => {
    env.fake.setTokenExpirationInterval(30 * 86400);
    const { host, runner } = await hostWithSeed();
    const oldToken = runner.token;
    await chown(host.settings.runnerConfigPath, 4321, 4321);
    const result = await run({ jobId: 'cmd-1' }, contextOf(host), new AbortController().signal);
    env.fake.setTokenExpirationInterval(null);

    const entry = defined((await readConfig(host)).runners[0], 'a runner in config.toml');
    expect(entry.token).toBe(env.fake.runner(runner.id)!.token);
    expect(entry.token).not.toBe(oldToken);
    expect((entry.token_expires_at as Date).toISOString()).toBe(new Date(env.fake.runner(runner.id)!.tokenExpiresAt!).toISOString());
    expect(Math.abs((entry.token_obtained_at as Date).getTime() - Date.now())).toBeLessThan(60_000);
    expect(entry.docker).toMatchObject({ volumes_from: ['gitlabnix:ro'], image: 'local/nix:latest' });
    expect(entry.environment).toContain('NIX_REMOTE=daemon');
    expect(entry.pre_build_script).toContain('cp --remove-destination');
    expect(result).toMatchObject({
      runner: 'Nix caching runner',
      runnerId: runner.id,
      resumed: false,
      tokenExpiresAt: env.fake.runner(runner.id)!.tokenExpiresAt,
    });
    const info = await stat(host.settings.runnerConfigPath);
    expect({ mode: info.mode & 0o777, uid: info.uid, gid: info.gid }).toEqual({ mode: 0o600, uid: 4321, gid: 4321 });
    await expect(stat(recoveryPath(host.settings.stateDir, { id: runner.id, name: 'Nix caching runner' }))).rejects.toThrow();
    const systemId = (await readFile(path.join(path.dirname(host.settings.runnerConfigPath), SYSTEM_ID_FILE), 'utf8')).trim();
    expect(env.fake.managers(runner.id).map((m) => m.systemId)).toEqual([systemId]);
    expect(summarize(result)).toContain('new token expires');
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(host, result, summarize(result)))).toEqual([]);
  });

  it('publishes the runner with its new expiry in the host registry, without the token', async () => {
    env.fake.setTokenExpirationInterval(7200);
    const { host, runner } = await hostWithSeed();
    await run({ jobId: 'cmd-reg' }, contextOf(host), new AbortController().signal);
    env.fake.setTokenExpirationInterval(null);
    const entry = await readHost(env.redis, redisSettings.prefix, host.settings.host);
    const rotated = env.fake.runner(runner.id)!;
    expect(entry?.runners).toEqual([
      {
        name: 'Nix caching runner',
        id: runner.id,
        url: env.fake.url,
        tokenExpiresAt: rotated.tokenExpiresAt,
        tokenFingerprint: tokenFingerprint(rotated.token),
      },
    ]);
  });

  it('keeps a concurrent rewrite of config.toml by another process and still writes the new token', async () => {
    const { host, runner } = await hostWithSeed();
    const other = env.fake.addRunner({ description: 'other' });
    const otherOld = other.token;
    const config = await readFile(host.settings.runnerConfigPath, 'utf8');
    await writeFile(
      host.settings.runnerConfigPath,
      `${config}\n[[runners]]\nname = "other"\nurl = "${env.fake.url}"\nid = ${other.id}\ntoken = "${otherOld}"\nexecutor = "shell"\n`,
    );
    // gitlab-runner rotating "other" itself and saving config.toml, between our read and our rename.
    await exec('node', [
      '-e',
      `fetch(${JSON.stringify(`${env.fake.url}/api/v4/runners/reset_authentication_token`)}, {method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({token:${JSON.stringify(otherOld)}})}).then(r=>r.json()).then(b=>console.log(b.token))`,
    ]);
    const rotatedByRunner = env.fake.runner(other.id)!.token;
    let rewrites = 0;
    const hooks = {
      beforeRename: async (file: string) => {
        if (file !== host.settings.runnerConfigPath || rewrites++ > 0) return;
        const script = `const fs=require('fs');const f=process.argv[1];fs.writeFileSync(f, fs.readFileSync(f,'utf8').replace(process.argv[2], process.argv[3]).replace('concurrent = 1','concurrent = 4'));`;
        await exec('node', ['-e', script, file, otherOld, rotatedByRunner]);
      },
    };
    await run({ jobId: 'cmd-2', runner: String(runner.id) }, contextOf(host, { hooks }), new AbortController().signal);
    const after = await readConfig(host);
    expect(after.concurrent).toBe(4);
    expect(after.runners.find((r) => r.name === 'other')?.token).toBe(rotatedByRunner);
    expect(after.runners.find((r) => r.id === runner.id)?.token).toBe(env.fake.runner(runner.id)!.token);
    expect(rewrites).toBe(2);
  });

  it('writes the new token to the authenticationTokenConfigFile and config.toml in nixos-module mode, then reloads', async () => {
    const { host, runner } = await hostWithSeed('nixos-module');
    host.settings.reloadCommand = await writeNixosReloadScript(host);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(host.settings.tokenDir, { recursive: true });
    const tokenFile = path.join(host.settings.tokenDir, 'nix.env');
    await writeFile(tokenFile, `CI_SERVER_URL=${env.fake.url}\nCI_SERVER_TOKEN=${runner.token}\n`, { mode: 0o600 });
    const result = await run({ jobId: 'cmd-3' }, contextOf(host), new AbortController().signal);
    const newToken = env.fake.runner(runner.id)!.token;
    expect(await readFile(tokenFile, 'utf8')).toBe(
      `# runnerops: runner #${runner.id} "Nix caching runner" (authenticationTokenConfigFile)\nCI_SERVER_URL=${env.fake.url}\nCI_SERVER_TOKEN=${newToken}\n`,
    );
    expect((await readConfig(host)).runners.map((r) => r.token)).toEqual([newToken]);
    expect(await readFile(`${host.settings.runnerConfigPath}.reloads`, 'utf8')).toBe('reload\n');
    expect(result.written).toEqual([host.settings.runnerConfigPath, tokenFile]);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
  });

  it('sets the TOKEN_NIX line of the EnvironmentFile in env-template mode and the configure script renders it', async () => {
    const { host, runner } = await hostWithSeed('env-template');
    const template = path.join(host.dir, 'gitlab-runner.toml');
    await writeFile(template, (await readSeedConfig()).replace('id = 12354', `id = ${runner.id}`));
    await writeFile(host.settings.envFile, `# rendered by the configure script\nTOKEN_NIX=${runner.token}\nOTHER=kept\n`, { mode: 0o600 });
    host.settings.reloadCommand = await writeEnvTemplateReloadScript(host, template);
    await exec('/bin/sh', ['-c', host.settings.reloadCommand]);
    await run({ jobId: 'cmd-4' }, contextOf(host), new AbortController().signal);
    const newToken = env.fake.runner(runner.id)!.token;
    expect(await readFile(host.settings.envFile, 'utf8')).toBe(`# rendered by the configure script\nTOKEN_NIX=${newToken}\nOTHER=kept\n`);
    expect((await readConfig(host)).runners[0]?.token).toBe(newToken);
    expect(await readFile(`${host.settings.runnerConfigPath}.reloads`, 'utf8')).toBe('reload\nreload\n');
  });

  it('finishes an interrupted rotation from the recovery file on a rerun without resetting again', async () => {
    const { host, runner } = await hostWithSeed();
    const oldToken = runner.token;
    const controller = new AbortController();
    const ctx = contextOf(host, {
      progress: async (update) => {
        host.phases.push(update);
        // The worker "crashes" right after the new token reached the disk.
        if (update.phase === 'new token saved on the host') controller.abort();
      },
    });
    const crash = await failureOf(run({ jobId: 'cmd-5' }, ctx, controller.signal));
    expect(crash).toBeInstanceOf(TransientJobError);
    expect(crash.message).toContain('the next run finishes the write');
    const recovery = recoveryPath(host.settings.stateDir, { id: runner.id, name: 'Nix caching runner' });
    expect((await stat(recovery)).mode & 0o777).toBe(0o600);
    expect((await readConfig(host)).runners[0]?.token).toBe(oldToken);
    const resetsBefore = env.fake.requestCount('POST /runners/reset_authentication_token');

    const rerun = await run({ jobId: 'cmd-5' }, contextOf(host), new AbortController().signal);
    expect(env.fake.requestCount('POST /runners/reset_authentication_token')).toBe(resetsBefore);
    expect(rerun.resumed).toBe(true);
    expect((await readConfig(host)).runners[0]?.token).toBe(env.fake.runner(runner.id)!.token);
    await expect(stat(recovery)).rejects.toThrow();
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(host, crash.message, rerun))).toEqual([]);
  });

  it('says the runner must be re-registered when its token is already invalid (403)', async () => {
    const { host, runner } = await hostWithSeed();
    env.fake.setTokenExpiry(runner.id, new Date(Date.now() - 1000));
    const err = await failureOf(run({ jobId: 'cmd-6' }, contextOf(host), new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toMatch(/token of runner #\d+ is no longer valid \(403: 403 Forbidden\): re-register the runner with \/runner register ci-1/);
    expect(env.fake.findRequests('POST /runners/reset_authentication_token').filter((r) => r.params.token === runner.token)).toEqual([]);
  });

  it('waits out a 429 on the reset and resets once the old token proves still valid', async () => {
    const { host, runner } = await hostWithSeed();
    const waits: number[] = [];
    env.fake.inject('POST /runners/reset_authentication_token', { status: 429, retryAfter: 2 });
    const result = await run({ jobId: 'cmd-7' }, contextOf(host, { sleep: async (ms) => void waits.push(ms) }), new AbortController().signal);
    expect(waits).toEqual([2000]);
    expect(
      env.fake
        .findRequests('POST /runners/reset_authentication_token')
        .filter((r) => r.params.token === runner.tokenHistory[0])
        .map((r) => r.status),
    ).toEqual([429, 201]);
    expect(result.resumed).toBe(false);
  });

  it('does not reset again when the answer to a reset was lost after GitLab handled it', async () => {
    const { host, runner } = await hostWithSeed();
    env.fake.inject('POST /runners/reset_authentication_token', { status: 502, afterHandling: true });
    const err = await failureOf(run({ jobId: 'cmd-8' }, contextOf(host), new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toContain('answer was lost (502): the runner must be re-registered with /runner register ci-1');
    expect(env.fake.findRequests('POST /runners/reset_authentication_token').filter((r) => r.params.token === runner.tokenHistory[0])).toHaveLength(1);
    expect(leakedTokens(env.fake.issuedTokens(), err.message)).toEqual([]);
  });

  it('reports a 5xx that changed nothing as transient and a retry of the job then succeeds', async () => {
    const { host, runner } = await hostWithSeed();
    env.fake.inject('POST /runners/reset_authentication_token', { status: 503 });
    const err = await failureOf(run({ jobId: 'cmd-9' }, contextOf(host), new AbortController().signal));
    expect(err).toBeInstanceOf(TransientJobError);
    expect(err.message).toContain('GitLab answered 503');
    expect(err.message).toContain('the old token still works, nothing changed');
    const retried = await run({ jobId: 'cmd-9' }, contextOf(host), new AbortController().signal);
    expect(retried.resumed).toBe(false);
    expect((await readConfig(host)).runners[0]?.token).toBe(env.fake.runner(runner.id)!.token);
  });

  it('says GitLab cannot be reached when the network is down', async () => {
    const { host } = await hostWithSeed();
    const closed = await startFakeGitlab();
    await closed.close();
    host.settings.gitlabUrl = closed.url;
    const err = await failureOf(run({ jobId: 'cmd-10' }, contextOf(host), new AbortController().signal));
    expect(err).toBeInstanceOf(TransientJobError);
    expect(err.message).toContain(`cannot reach GitLab at ${closed.url} (ECONNREFUSED)`);
  });

  it('asks which runner when the host has several and none was named', async () => {
    const { host } = await hostWithSeed();
    const config = await readFile(host.settings.runnerConfigPath, 'utf8');
    await writeFile(host.settings.runnerConfigPath, `${config}\n[[runners]]\nname = "second"\ntoken = "x"\n`);
    const err = await failureOf(run({ jobId: 'cmd-11' }, contextOf(host), new AbortController().signal));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/ci-1 has 2 runners; say which with --runner NAME\|ID: Nix caching runner \(#\d+\), second/);
  });
});

describe('run when gitlab-runner touches config.toml at the same time', () => {
  /** gitlab-runner rotating the token itself: GitLab resets it, then the runner saves config.toml in place. */
  async function runnerRotatesItself(host: TestHost, runner: FakeRunner): Promise<string> {
    env.fake.state.resetToken(runner);
    const text = await readFile(host.settings.runnerConfigPath, 'utf8');
    await writeFile(
      host.settings.runnerConfigPath,
      setEntryToken(text, { id: runner.id }, { token: runner.token, obtainedAt: new Date(), expiresAt: runner.tokenExpiresAt }),
    );
    return runner.token;
  }

  /** A context in which gitlab-runner rotates the token itself the first time the job reaches `phase`. */
  function rotatingItselfAt(host: TestHost, runner: FakeRunner, phase: string): { ctx: Context; rotated: () => string } {
    let rotated = '';
    const ctx = contextOf(host, {
      progress: async (update) => {
        host.phases.push(update);
        if (update.phase === phase && !rotated) rotated = await runnerRotatesItself(host, runner);
      },
    });
    return { ctx, rotated: () => rotated };
  }

  it('takes a 403 before the reset as gitlab-runner having just rotated the token itself when config.toml now holds a working one', async () => {
    env.fake.setTokenExpirationInterval(7200);
    const { host, runner } = await hostWithSeed();
    const { ctx, rotated } = rotatingItselfAt(host, runner, 'checking the current token');
    const resetsBefore = env.fake.requestCount('POST /runners/reset_authentication_token');
    const result = await run({ jobId: 'cmd-self-1' }, ctx, new AbortController().signal);
    env.fake.setTokenExpirationInterval(null);
    expect(result).toMatchObject({ rotatedByRunner: true, runnerId: runner.id, tokenExpiresAt: env.fake.runner(runner.id)!.tokenExpiresAt });
    expect(env.fake.requestCount('POST /runners/reset_authentication_token')).toBe(resetsBefore);
    expect((await readConfig(host)).runners[0]?.token).toBe(rotated());
    expect(summarize(result)).toContain('gitlab-runner had just rotated the token of Nix caching runner');
    expect(summarize(result)).not.toContain('re-register');
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(host, result, summarize(result)))).toEqual([]);
  });

  it('takes a 403 on the reset itself the same way when gitlab-runner rotated between the check and the reset', async () => {
    const { host, runner } = await hostWithSeed();
    const { ctx, rotated } = rotatingItselfAt(host, runner, 'resetting the token');
    const result = await run({ jobId: 'cmd-self-2' }, ctx, new AbortController().signal);
    expect(result.rotatedByRunner).toBe(true);
    expect(
      env.fake
        .findRequests('POST /runners/reset_authentication_token')
        .filter((r) => r.params.token === runner.tokenHistory[0])
        .map((r) => r.status),
    ).toEqual([403]);
    expect((await readConfig(host)).runners[0]?.token).toBe(rotated());
  });

  it('says an expired token is revived by requesting the rotation again, not by re-registering', async () => {
    const { host, runner } = await hostWithSeed();
    const past = new Date(Date.now() - 60_000);
    env.fake.setTokenExpiry(runner.id, past);
    const text = await readFile(host.settings.runnerConfigPath, 'utf8');
    await writeFile(
      host.settings.runnerConfigPath,
      setEntryToken(text, { id: runner.id }, { token: runner.token, obtainedAt: new Date(past.getTime() - 7200_000), expiresAt: past.toISOString() }),
    );
    const err = await failureOf(run({ jobId: 'cmd-expired' }, contextOf(host), new AbortController().signal));
    expect(err).toBeInstanceOf(PermanentJobError);
    // config.toml keeps whole seconds.
    expect(err.message).toContain(`expired at ${new Date(Math.floor(past.getTime() / 1000) * 1000).toISOString()} (403)`);
    expect(err.message).toContain(`request the rotation again (rotate ci-1 --runner ${runner.id})`);
    expect(err.message).not.toContain('re-register');
  });

  it('reads a config.toml caught half-written by gitlab-runner again instead of calling it invalid TOML', async () => {
    const { host, runner } = await hostWithSeed();
    const whole = await readFile(host.settings.runnerConfigPath, 'utf8');
    await writeFile(host.settings.runnerConfigPath, whole.slice(0, whole.indexOf('[[runners]]') + 5));
    let halfWritten = 0;
    const ctx = contextOf(host, {
      readHooks: {
        onHalfWritten: async () => {
          halfWritten++;
          await writeFile(host.settings.runnerConfigPath, whole);
        },
      },
    });
    const result = await run({ jobId: 'cmd-half' }, ctx, new AbortController().signal);
    expect(halfWritten).toBe(1);
    expect((await readConfig(host)).runners[0]?.token).toBe(env.fake.runner(runner.id)!.token);
    expect(result.rotatedByRunner).toBeUndefined();
  });
});

describe('run with a token the bot revived', () => {
  /** The bot's reset by id of an expired token: GitLab's new token, sealed to `publicKey`. */
  async function revivedBy(runner: FakeRunner, publicKey: string) {
    env.fake.state.resetToken(runner);
    return { ...(await sealForHost(runner.token, publicKey)), tokenExpiresAt: runner.tokenExpiresAt };
  }

  it('refuses a revived token sealed to another key and writes nothing', async () => {
    const { host, runner } = await hostWithSeed();
    const other = await env.createHost({ mode: 'config-toml', host: 'ci-other' });
    const before = await readFile(host.settings.runnerConfigPath, 'utf8');
    const revived = await revivedBy(runner, other.keys.publicKey);
    const err = await failureOf(
      run({ jobId: 'cmd-rev-1', runner: String(runner.id), revived }, contextOf(host, { keys: host.keys }), new AbortController().signal),
    );
    expect(err.message).toBe(
      `the revived token was sealed to key ${other.keys.fingerprint} but ci-1 now has key ${host.keys.fingerprint}; request the rotation again`,
    );
    expect(await readFile(host.settings.runnerConfigPath, 'utf8')).toBe(before);
  });

  it('puts a revived token in place over an older interrupted rotation, whose token the reset by id killed', async () => {
    const { host, runner } = await hostWithSeed();
    const stale = generateToken('glrt-');
    await writeRecovery(host.settings.stateDir, {
      state: 'reset',
      jobId: 'cmd-old',
      runnerId: runner.id,
      runnerName: 'Nix caching runner',
      at: new Date().toISOString(),
      token: stale,
      obtainedAt: new Date().toISOString(),
      tokenExpiresAt: null,
    });
    const revived = await revivedBy(runner, host.keys.publicKey);
    const result = await run({ jobId: 'cmd-rev-2', runner: String(runner.id), revived }, contextOf(host, { keys: host.keys }), new AbortController().signal);
    expect(result).toMatchObject({ revived: true, resumed: false, runnerId: runner.id });
    expect((await readConfig(host)).runners[0]?.token).toBe(env.fake.runner(runner.id)!.token);
    await expect(stat(recoveryPath(host.settings.stateDir, { id: runner.id, name: 'Nix caching runner' }))).rejects.toThrow();
    expect(leakedTokens([...env.fake.issuedTokens(), stale], await producedText(host, result, summarize(result)))).toEqual([]);
  });
});

describe('payloadSchema', () => {
  it("takes the command id as jobId or as the planner's requestId", () => {
    expect(payloadSchema.parse({ requestId: 'c1', runner: 'nix' })).toEqual({ jobId: 'c1', runner: 'nix' });
    expect(payloadSchema.parse({ jobId: 'c2' })).toEqual({ jobId: 'c2' });
    expect(() => payloadSchema.parse({ runner: 'nix' })).toThrow();
  });
});
