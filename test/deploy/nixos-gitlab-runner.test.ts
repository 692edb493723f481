import { execFile, spawnSync } from 'node:child_process';
import { readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import * as installRunner from '../../jobs/install-runner.js';
import * as rotateToken from '../../jobs/rotate-token.js';
import { syncTokenFiles } from '../../src/clients/runner-config/runner-store.js';
import { parseEnvFile } from '../../src/clients/runner-config/token-files.js';
import { touchHost, type HostEntry } from '../../src/queue/host-registry.js';
import { loadHostKeys, type HostKeys } from '../../src/secrets/host-keys.js';
import { sealToHost } from '../../src/secrets/sealed-box.js';
import { captureLogs, leakedTokens, NIXOS_PLACEHOLDER, useRunnerJobEnvironment } from '../jobs/support/runner-host.js';
import { createNixosHost, standInBin, type NixosHost } from './support/nixos-host.js';
import { serviceOf } from './eval-nixos.js';
import { defined } from '../helpers/defined.js';

const env = useRunnerJobEnvironment();

interface Entry {
  name: string;
  id?: number;
  token?: string;
  url?: string;
  token_expires_at?: unknown;
}

async function runnersOf(host: NixosHost): Promise<Entry[]> {
  const text = await readFile(host.settings.runnerConfigPath, 'utf8').catch(() => '');
  return ((parse(text) as { runners?: Entry[] }).runners ?? []) as Entry[];
}

async function standInCalls(host: NixosHost): Promise<string[][]> {
  const text = await readFile(host.standInLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { argv: string[] }).argv);
}

async function nixosHost(check = 'nixos-module'): Promise<NixosHost> {
  const host = await createNixosHost({ check, gitlabUrl: env.fake.url, redis: env.redisSettings });
  env.afterThisTest(() => rm(host.root, { recursive: true, force: true }));
  return host;
}

function jobContext(host: NixosHost, keys: HostKeys) {
  const { log, lines } = captureLogs();
  return {
    lines,
    ctx: {
      host: host.settings.host,
      settings: host.settings,
      log,
      progress: async () => undefined,
      redis: env.redis,
      prefix: env.redisSettings.prefix,
      patchHost: (patch: Partial<HostEntry>) => touchHost(env.redis, env.redisSettings.prefix, keys.signer, host.settings.host, patch),
    },
  };
}

const signal = new AbortController().signal;

/** `/runner register <host> --description <name>`, host side: the token sealed to the host's key. */
async function register(
  host: NixosHost,
  runner: { id: number; token: string },
  name: string,
  tokenExpiresAt: string | null = null,
): Promise<installRunner.Result> {
  const keys = await loadHostKeys(host.settings.stateDir);
  const { ctx } = jobContext(host, keys);
  return installRunner.run(
    {
      sealedToken: await sealToHost(runner.token, keys.publicKey),
      sealedTo: keys.fingerprint,
      runnerId: runner.id,
      name,
      gitlabUrl: env.fake.url,
      tokenExpiresAt,
    },
    { ...ctx, keys },
    signal,
  );
}

describe("deploy/nixos/checks/nixos-module.nix with nixpkgs' gitlab-runner module", () => {
  it('declares the runner for services.gitlab-runner with its token file in the token dir', async () => {
    const host = await nixosHost();
    expect(host.evaluation.gitlabRunnerServices).toEqual({
      nix: { authenticationTokenConfigFile: `${host.settings.tokenDir}/nix.env`, dockerImage: 'alpine' },
    });
    expect(host.settings.tokenMode).toBe('nixos-module');
    expect(serviceOf(host.evaluation.services, 'runnerops-worker').environment.RUNNEROPS_RELOAD_COMMAND).toBe('systemctl reload-or-restart gitlab-runner');
  });

  it('starts cleanly on a fresh host whose declared runner is not registered yet', async () => {
    const host = await nixosHost();
    host.tmpfiles();
    const start = await host.configure();
    expect(start.output).toContain('NEEDED_SERVICES:  nix_ci-3_');
    expect(start.status).toBe(0);
    expect(await runnersOf(host)).toEqual([]);
    expect((await standInCalls(host)).filter((argv) => argv.includes('register'))).toEqual([]);
    expect(await readFile(path.join(host.settings.tokenDir, 'nix.env'), 'utf8')).toBe(NIXOS_PLACEHOLDER);
  });

  it('fails to start, as nixpkgs does, when a declared token file is missing (what the placeholder prevents)', async () => {
    const host = await nixosHost();
    host.tmpfiles();
    await unlink(path.join(host.settings.tokenDir, 'nix.env'));
    const start = await host.configure();
    expect(start.output).toContain('nix.env: No such file or directory');
    expect(start.status).toBe(1);
  });

  it('registers, reloads, rotates, reloads and reboots as NixOS runs them, with gitlab-runner using each token', async () => {
    const host = await nixosHost();
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);

    // register: the worker fills the declared runner's token file and reloads; nixpkgs' configure script registers it.
    const runner = env.fake.addRunner({ description: 'nix' });
    const firstToken = runner.token;
    const { ctx, lines } = jobContext(host, await loadHostKeys(host.settings.stateDir));
    const installed = await register(host, { id: runner.id, token: firstToken }, 'nix');
    const tokenFile = path.join(host.settings.tokenDir, 'nix.env');
    expect(installed.written).toEqual([tokenFile]);
    let entries = await runnersOf(host);
    expect(entries).toHaveLength(1);
    const name = defined(entries[0], 'a runner in config.toml').name;
    expect(name).toMatch(/^nix_ci-3_[0-9a-f]{12}$/);
    expect(entries[0]).toMatchObject({ id: runner.id, token: firstToken, url: env.fake.url });
    const fromStandIn = env.fake.findRequests('POST /runners/verify').filter((r) => String(r.headers['user-agent']).startsWith('gitlab-runner '));
    expect(fromStandIn.map((r) => r.params.system_id)).toContain(installed.systemId);
    expect(env.fake.managers(runner.id).map((m) => m.systemId)).toEqual([installed.systemId]);

    // reload: the same runner stays, nothing registers twice (remarshal turned its dates into strings).
    expect((await host.configure()).status).toBe(0);
    expect((await runnersOf(host)).map((e) => [e.name, e.id, e.token])).toEqual([[name, runner.id, firstToken]]);
    expect((await runnersOf(host))[0]?.token_expires_at).toBe('0001-01-01T00:00:00+00:00');

    // rotate by the runner's declared name, which nixpkgs hashed in config.toml.
    const rotated = await rotateToken.run({ jobId: 'rotate-1', runner: 'nix' }, ctx, signal);
    expect(rotated.runner).toBe(name);
    const newToken = env.fake.runner(runner.id)!.token;
    expect(newToken).not.toBe(firstToken);
    expect(parseEnvFile(await readFile(tokenFile, 'utf8')).get('CI_SERVER_TOKEN')).toBe(newToken);
    expect((await runnersOf(host))[0]?.token).toBe(newToken);

    // reload and reboot (tmpfiles, then ExecStartPre): the new token stays, the entry is neither dropped nor registered again.
    expect((await host.configure()).status).toBe(0);
    host.tmpfiles();
    const boot = await host.configure();
    expect(boot.status).toBe(0);
    entries = await runnersOf(host);
    expect(entries.map((e) => [e.name, e.token])).toEqual([[name, newToken]]);
    expect((await standInCalls(host)).filter((argv) => argv.includes('register'))).toHaveLength(1);
    expect((await standInCalls(host)).filter((argv) => argv.includes('unregister'))).toEqual([]);
    expect(leakedTokens(env.fake.issuedTokens(), lines.join(''))).toEqual([]);
  });

  it('registers a declared runner again once GitLab refuses the old token, and refuses while it works', async () => {
    const host = await nixosHost();
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    const first = env.fake.addRunner({ description: 'nix' });
    await register(host, first, 'nix');
    const second = env.fake.addRunner({ description: 'nix' });
    const refused = await register(host, second, 'nix').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(refused?.message).toBe(
      `${host.settings.tokenDir}/nix.env already holds the working token of runner #${first.id}; pick another --description, or delete runner #${first.id} in GitLab first to replace it`,
    );
    env.fake.state.runners.delete(first.id);
    await register(host, second, 'nix');
    expect((await runnersOf(host)).map((e) => [e.id, e.token])).toEqual([[second.id, second.token]]);
    expect(parseEnvFile(await readFile(path.join(host.settings.tokenDir, 'nix.env'), 'utf8')).get('CI_SERVER_TOKEN')).toBe(second.token);
  });

  it('fails and puts the file back when the token file is not one services.gitlab-runner declares', async () => {
    const host = await nixosHost();
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    // A file nobody declared: nixpkgs' configure script never reads it.
    const undeclared = path.join(host.settings.tokenDir, 'other.env');
    await writeFile(undeclared, NIXOS_PLACEHOLDER, { mode: 0o600 });
    const runner = env.fake.addRunner({ description: 'other' });
    const err = await register(host, runner, 'other').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      new RegExp(
        `^gitlab-runner did not take the token of runner #${runner.id}: after ".*" .*config.toml has no runner with it; check that ${undeclared} is the authenticationTokenConfigFile`,
      ),
    );
    expect(await readFile(undeclared, 'utf8')).toBe(NIXOS_PLACEHOLDER);
    expect(await runnersOf(host)).toEqual([]);
  });

  it("refuses an attacker's sealed shell command, so the configure script that sources the token file as root runs nothing", async () => {
    const host = await nixosHost();
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    const marker = path.join(host.root, 'pwned');
    const tokenFile = path.join(host.settings.tokenDir, 'nix.env');
    const before = await readFile(tokenFile);
    const err = await register(host, { id: env.fake.addRunner({ description: 'nix' }).id, token: `$(touch ${marker})` }, 'nix').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^the sealed token is not a runner authentication token/);
    expect((await readFile(tokenFile)).equals(before)).toBe(true);
    expect((await host.configure()).status).toBe(0);
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });

  it('copies a token gitlab-runner rotated itself back into the token file, so a reboot keeps working', async () => {
    const host = await nixosHost();
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    const runner = env.fake.addRunner({ description: 'nix' });
    await register(host, runner, 'nix');
    const [entry] = await runnersOf(host);
    await new Promise<void>((resolve, reject) =>
      execFile(
        path.join(standInBin, 'gitlab-runner'),
        ['reset-token', '--name', entry!.name],
        { env: { ...process.env, HOME: host.home, CONFIG_FILE: host.settings.runnerConfigPath } },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    const selfRotated = env.fake.runner(runner.id)!.token;
    const tokenFile = path.join(host.settings.tokenDir, 'nix.env');
    expect(parseEnvFile(await readFile(tokenFile, 'utf8')).get('CI_SERVER_TOKEN')).not.toBe(selfRotated);
    expect(await syncTokenFiles(host.settings)).toEqual([tokenFile]);
    expect(parseEnvFile(await readFile(tokenFile, 'utf8')).get('CI_SERVER_TOKEN')).toBe(selfRotated);
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    expect((await runnersOf(host)).map((e) => e.token)).toEqual([selfRotated]);
  });
});

function standInResetToken(host: NixosHost, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    execFile(
      path.join(standInBin, 'gitlab-runner'),
      ['reset-token', '--name', name],
      { env: { ...process.env, HOME: host.home, CONFIG_FILE: host.settings.runnerConfigPath } },
      (err, _out, stderr) => (err ? reject(new Error(`gitlab-runner reset-token failed: ${stderr}`)) : resolve()),
    ),
  );
}

describe("deploy/nixos/checks/env-template.nix (the seed's gitlabnix setup) rendered by runnerops", () => {
  it("replaces nixpkgs' configure script and starts a fresh host with no env file and no runner yet", async () => {
    const host = await nixosHost('env-template');
    expect(host.settings.tokenMode).toBe('env-template');
    expect(host.evaluation.warnings).toEqual([]);
    host.tmpfiles();
    const start = await host.configure();
    expect(start.status).toBe(0);
    expect(await runnersOf(host)).toEqual([]);
    expect(parse(await readFile(host.settings.runnerConfigPath, 'utf8'))).toEqual({ concurrent: 1, runners: [] });
  });

  it('keeps id, token dates and self-rotated tokens across register, reload, rotate, reload and reboot', async () => {
    const host = await nixosHost('env-template');
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    const runner = env.fake.addRunner({ description: 'nix' });
    const expires = new Date(Date.now() + 30 * 86400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    env.fake.setTokenExpiry(runner.id, expires);
    const firstToken = runner.token;
    const { ctx } = jobContext(host, await loadHostKeys(host.settings.stateDir));
    await register(host, { id: runner.id, token: firstToken }, 'nix', expires);
    const rendered = async () => (await runnersOf(host)).map((e) => ({ name: e.name, id: e.id, token: e.token, expires: e.token_expires_at }));
    const expected = { name: 'Nix caching runner', id: runner.id, token: firstToken, expires: expect.stringMatching(new RegExp(`^${expires.slice(0, 19)}`)) };
    expect(await rendered()).toEqual([expected]);

    // reload: the template's hard-coded id 12354 and the expiry do not come back.
    expect((await host.configure()).status).toBe(0);
    expect(await rendered()).toEqual([expected]);

    // gitlab-runner rotates the token itself; the next reload keeps it and writes it back to the env file.
    await standInResetToken(host, 'Nix caching runner');
    const selfRotated = env.fake.runner(runner.id)!.token;
    expect(selfRotated).not.toBe(firstToken);
    const reload = await host.configure();
    expect(reload.output).toContain('TOKEN_NIX: kept the token gitlab-runner rotated itself');
    expect((await rendered())[0]?.token).toBe(selfRotated);
    expect(parseEnvFile(await readFile(host.settings.envFile, 'utf8')).get('TOKEN_NIX')).toBe(selfRotated);

    // rotate through runnerops (by id), reload, reboot.
    await rotateToken.run({ jobId: 'rotate-env', runner: String(runner.id) }, ctx, signal);
    const rotated = env.fake.runner(runner.id)!.token;
    expect(parseEnvFile(await readFile(host.settings.envFile, 'utf8')).get('TOKEN_NIX')).toBe(rotated);
    expect((await host.configure()).status).toBe(0);
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    expect((await rendered()).map((r) => [r.id, r.token])).toEqual([[runner.id, rotated]]);

    // gitlab-runner rotates again and runnerops rotates before any reload: the template names TOKEN_NIX.
    await standInResetToken(host, 'Nix caching runner');
    await rotateToken.run({ jobId: 'rotate-env-2', runner: String(runner.id) }, ctx, signal);
    const envVars = parseEnvFile(await readFile(host.settings.envFile, 'utf8'));
    expect([...envVars.keys()].sort()).toEqual(['TOKEN_NIX', 'TOKEN_NIX_EXPIRES_AT', 'TOKEN_NIX_ID', 'TOKEN_NIX_OBTAINED_AT']);
    expect(envVars.get('TOKEN_NIX')).toBe(env.fake.runner(runner.id)!.token);
    expect((await host.configure()).status).toBe(0);
    expect((await rendered())[0]?.token).toBe(env.fake.runner(runner.id)!.token);
  });

  it('refuses to register a runner the template has no placeholder for, before writing anything', async () => {
    const host = await nixosHost('env-template');
    host.tmpfiles();
    expect((await host.configure()).status).toBe(0);
    const runner = env.fake.addRunner({ description: 'cache' });
    const before = await readFile(host.settings.runnerConfigPath);
    const err = await register(host, runner, 'cache').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      'the config.toml template on ci-3 has no runner with token = "@TOKEN_CACHE@" (it has @TOKEN_NIX@); add a runner with that token to services.runnerops.worker.configTemplate, switch, then register again (or register with the --description of an existing placeholder)',
    );
    expect((await readFile(host.settings.runnerConfigPath)).equals(before)).toBe(true);
    await expect(readFile(host.settings.envFile)).rejects.toThrow(/ENOENT/);
  });
});

describe('the generated ExecStartPre/ExecReload scripts', () => {
  it.each(['nixos-module', 'env-template'])('pass shellcheck for %s, as writeShellApplication checks them when NixOS builds them', async (check) => {
    const host = await nixosHost(check);
    const run = spawnSync('shellcheck', [host.configureScript], { encoding: 'utf8' });
    if (run.error) throw new Error("shellcheck is not installed: apt-get install shellcheck (Debian's package)");
    expect(run.stdout).toBe('');
    expect(run.status).toBe(0);
  });
});
