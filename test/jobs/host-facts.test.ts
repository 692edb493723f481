import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { describeExpiry, run, summarize } from '../../jobs/host-facts.js';
import { setEntryToken, tokenFingerprint } from '../../src/clients/runner-config/config-toml.js';
import { readHost } from '../../src/queue/host-registry.js';
import { dumpRedis, joinAll, leakedTokens, seedConfigFor, useRunnerJobEnvironment, type TestHost } from './support/runner-host.js';

const env = useRunnerJobEnvironment();
const { redisSettings } = env;

async function hostWithRunner(): Promise<{ host: TestHost; expires: string; runnerId: number; token: string }> {
  const host = await env.createHost({ mode: 'config-toml' });
  host.settings.nixStoreDir = host.dir;
  const runner = env.fake.addRunner({ description: 'Nix caching runner' });
  const expires = '2099-01-01T00:00:00.000Z';
  await writeFile(
    host.settings.runnerConfigPath,
    setEntryToken(await seedConfigFor(env.fake, runner), { id: runner.id }, { token: runner.token, obtainedAt: new Date(), expiresAt: expires }),
  );
  await env.publishHost(host);
  return { host, expires, runnerId: runner.id, token: runner.token };
}

describe('run', () => {
  it("reports versions, free disk of Docker's data root and the Nix store, the runners with their expiry and token fingerprint, and the system id", async () => {
    const { host, expires, runnerId, token } = await hostWithRunner();
    await writeFile(path.join(path.dirname(host.settings.runnerConfigPath), '.runner_system_id'), 's_0123456789ab\n');
    const docker = new Docker();
    const result = await run({}, { host: host.settings.host, docker, settings: host.settings, patchHost: host.patchHost });
    expect(result.versions.docker).toBe((await docker.version()).Version);
    expect(result.disk.dockerRootDir).toBe(((await docker.info()) as { DockerRootDir: string }).DockerRootDir);
    expect(result.disk.dockerFreeBytes).toBeGreaterThan(0);
    expect(result.disk.nixFreeBytes).toBeGreaterThan(0);
    expect(result.runners).toEqual([
      { name: 'Nix caching runner', id: runnerId, url: env.fake.url, tokenExpiresAt: expires, tokenFingerprint: tokenFingerprint(token) },
    ]);
    expect(result.runners[0]?.tokenFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(result.systemId).toBe('s_0123456789ab');
    const entry = await readHost(env.redis, redisSettings.prefix, host.settings.host);
    expect(entry).toMatchObject({
      runners: result.runners,
      systemId: 's_0123456789ab',
      disk: { dockerFreeBytes: result.disk.dockerFreeBytes, nixFreeBytes: result.disk.nixFreeBytes },
    });
    expect(summarize(result)).toContain(`runner Nix caching runner (#${runnerId}): token expires ${expires}`);
    expect(leakedTokens(env.fake.issuedTokens(), joinAll(result, summarize(result), await dumpRedis(env.redis, redisSettings.prefix)))).toEqual([]);
  });

  it('still answers when Docker is down and config.toml is broken, saying what is missing', async () => {
    const { host } = await hostWithRunner();
    await writeFile(host.settings.runnerConfigPath, 'concurrent = \n');
    const result = await run(
      {},
      { host: host.settings.host, docker: new Docker({ socketPath: '/nonexistent/docker.sock' }), settings: host.settings, patchHost: host.patchHost },
    );
    expect(result.versions.docker).toBeUndefined();
    expect(result.notes).toEqual([
      'docker disk unknown: ENOENT',
      `${host.settings.runnerConfigPath} is not valid TOML (line 1, column 14); fix it before changing runners`,
    ]);
    expect(result.runners).toEqual([]);
  });
});

describe('run in nixos-module mode', () => {
  it('brings a token file up to date with the token gitlab-runner rotated itself, and says so', async () => {
    const host = await env.createHost({ mode: 'nixos-module' });
    host.settings.nixStoreDir = host.dir;
    const runner = env.fake.addRunner({ description: 'Nix caching runner' });
    const stale = runner.token;
    env.fake.state.resetToken(runner);
    await writeFile(host.settings.runnerConfigPath, await seedConfigFor(env.fake, runner));
    await mkdir(host.settings.tokenDir, { recursive: true });
    const file = path.join(host.settings.tokenDir, 'nix.env');
    await writeFile(file, `# runnerops: runner #${runner.id} "nix" (authenticationTokenConfigFile)\nCI_SERVER_URL=${env.fake.url}\nCI_SERVER_TOKEN=${stale}\n`);
    const result = await run({}, { host: host.settings.host, docker: new Docker(), settings: host.settings, patchHost: host.patchHost });
    expect(result.notes).toContain(`${file} had an old token; copied the one gitlab-runner rotated itself from config.toml`);
    expect(await readFile(file, 'utf8')).toContain(`CI_SERVER_TOKEN=${runner.token}\n`);
    expect(leakedTokens(env.fake.issuedTokens(), joinAll(result, summarize(result)))).toEqual([]);
  });
});

describe('describeExpiry', () => {
  it('says how long a token has left, or that it expired', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(describeExpiry('2026-01-04T12:00:00Z', now)).toBe('token expires 2026-01-04T12:00:00Z (in 3 d)');
    expect(describeExpiry('2026-01-01T05:00:00Z', now)).toBe('token expires 2026-01-01T05:00:00Z (in 5 h)');
    expect(describeExpiry('2025-12-31T00:00:00Z', now)).toBe('token EXPIRED 2025-12-31T00:00:00Z');
    expect(describeExpiry(undefined, now)).toBe('token does not expire');
  });
});
