import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { run, summarize } from '../../jobs/remove-runner.js';
import { parseRunnerConfig } from '../../src/clients/runner-config/config-toml.js';
import { readHost } from '../../src/queue/host-registry.js';
import { seedConfigFor, useRunnerJobEnvironment } from './support/runner-host.js';

const env = useRunnerJobEnvironment();

describe('run', () => {
  it('removes only that runner from config.toml and publishes what is left', async () => {
    const host = await env.createHost({ mode: 'config-toml' });
    await env.publishHost(host);
    const keep = env.fake.addRunner({ description: 'keep' });
    const drop = env.fake.addRunner({ description: 'drop' });
    const first = await seedConfigFor(env.fake, keep);
    const second = await seedConfigFor(env.fake, drop);
    await writeFile(host.settings.runnerConfigPath, `${first}\n${second.slice(second.indexOf('[[runners]]'))}`);
    const ctx = { host: host.settings.host, settings: host.settings, patchHost: host.patchHost, log: host.log };
    const result = await run({ runnerId: drop.id, runner: 'drop' }, ctx);
    const config = parseRunnerConfig(await readFile(host.settings.runnerConfigPath, 'utf8'));
    expect((config.runners ?? []).map((r) => r.id)).toEqual([keep.id]);
    expect(config.concurrent).toBeDefined();
    expect(result).toMatchObject({ written: [host.settings.runnerConfigPath], absent: false });
    expect((await readHost(env.redis, env.redisSettings.prefix, host.settings.host))?.runners?.map((r) => r.id)).toEqual([keep.id]);
    expect(summarize(await run({ runnerId: drop.id, runner: 'drop' }, ctx))).toBe(
      `${host.settings.host}'s config.toml had no entry for runner #${drop.id} any more`,
    );
  });

  it('leaves the files of a runner declared in NixOS alone and says what to change there', async () => {
    const host = await env.createHost({ mode: 'nixos-module' });
    const runner = env.fake.addRunner({ description: 'nix' });
    const text = await seedConfigFor(env.fake, runner);
    await writeFile(host.settings.runnerConfigPath, text);
    const result = await run(
      { runnerId: runner.id, runner: 'nix' },
      { host: host.settings.host, settings: host.settings, patchHost: host.patchHost, log: host.log },
    );
    expect(await readFile(host.settings.runnerConfigPath, 'utf8')).toBe(text);
    expect(result).toMatchObject({ written: [], declaredIn: 'nixos-module' });
    expect(summarize(result)).toBe(
      `runner #${runner.id} is declared in ${host.settings.host}'s NixOS configuration: remove services.runnerops.worker.runners.nix and switch (until then gitlab-runner's verify --delete drops the dead entry at its next reload)`,
    );
  });
});
