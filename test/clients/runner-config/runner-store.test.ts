import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findHostRunner,
  installRunnerToken,
  needsReload,
  reloadRunner,
  syncTokenFiles,
  writeRotatedToken,
  type StoreSettings,
} from '../../../src/clients/runner-config/runner-store.js';
import { defaultRunnerTemplate } from '../../../src/clients/runner-config/runner-template.js';
import { PermanentJobError } from '../../../src/errors.js';

const seedFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'seed-config.toml');
let dir: string;
let settings: StoreSettings;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-store-'));
  settings = {
    host: 'ci-1',
    tokenMode: 'env-template',
    runnerConfigPath: path.join(dir, 'config.toml'),
    tokenDir: path.join(dir, 'tokens'),
    envFile: path.join(dir, 'runner.env'),
    reloadCommand: 'true',
  };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findHostRunner', () => {
  it('refuses the seed template whose token placeholder was never filled', async () => {
    await writeFile(settings.runnerConfigPath, await readFile(seedFile, 'utf8'));
    await expect(findHostRunner(settings, undefined)).rejects.toThrow(
      `runner "Nix caching runner" in ${settings.runnerConfigPath} has no token; re-register it with /runner register ci-1 --type ...`,
    );
  });

  it('says which setting to check when config.toml is missing', async () => {
    await expect(findHostRunner(settings, undefined)).rejects.toThrow(
      new PermanentJobError(`${settings.runnerConfigPath} does not exist; check GITLAB_RUNNER_CONFIG on ci-1`),
    );
  });
});

describe('writeRotatedToken', () => {
  it('updates config.toml and the TOKEN_ line holding the old token in env-template mode', async () => {
    await writeFile(settings.runnerConfigPath, (await readFile(seedFile, 'utf8')).replace('@TOKEN_NIX@', 'glrt-old-old-old-old-01'));
    await writeFile(settings.envFile, 'TOKEN_SEED=glrt-old-old-old-old-01\n');
    const written = await writeRotatedToken(settings, { name: 'Nix caching runner', id: 12354 }, 'glrt-old-old-old-old-01', {
      token: 'glrt-new-new-new-new-01',
      obtainedAt: new Date(),
      expiresAt: null,
    });
    expect(written).toEqual([settings.runnerConfigPath, settings.envFile]);
    expect(await readFile(settings.envFile, 'utf8')).toBe('TOKEN_SEED=glrt-new-new-new-new-01\n');
    expect(await readFile(settings.runnerConfigPath, 'utf8')).toContain('token = "glrt-new-new-new-new-01"');
  });
});

describe('installRunnerToken', () => {
  it('adds a TOKEN_ line in env-template mode and keeps the other lines', async () => {
    await writeFile(settings.envFile, 'KEEP=1\n');
    const runner = { id: 3, name: 'cache', url: 'https://g', token: 'glrt-cache-cache-cache1', obtainedAt: new Date().toISOString(), expiresAt: null };
    await installRunnerToken(settings, runner, defaultRunnerTemplate('gitlabnix'));
    expect(await readFile(settings.envFile, 'utf8')).toBe('KEEP=1\nTOKEN_CACHE=glrt-cache-cache-cache1\n');
  });
});

describe('reloadRunner', () => {
  it('runs the command and reports a timeout', async () => {
    await reloadRunner({ reloadCommand: `touch '${path.join(dir, 'reloaded')}'` });
    expect(await readFile(path.join(dir, 'reloaded'), 'utf8')).toBe('');
    await expect(reloadRunner({ reloadCommand: 'sleep 5' }, 100)).rejects.toThrow(
      'the reload command "sleep 5" failed (timed out); check RUNNEROPS_RELOAD_COMMAND and the gitlab-runner service',
    );
  });
});

describe('needsReload', () => {
  it('is false only when gitlab-runner reads config.toml directly', () => {
    expect([needsReload({ tokenMode: 'config-toml' }), needsReload({ tokenMode: 'nixos-module' }), needsReload({ tokenMode: 'env-template' })]).toEqual([
      false,
      true,
      true,
    ]);
  });
});

describe('syncTokenFiles', () => {
  it("copies a token gitlab-runner rotated itself from config.toml into the runner's token file", async () => {
    settings.tokenMode = 'nixos-module';
    await mkdir(settings.tokenDir);
    await writeFile(settings.runnerConfigPath, (await readFile(seedFile, 'utf8')).replace('@TOKEN_NIX@', 'glrt-rotated-by-runner-01'));
    const ours = path.join(settings.tokenDir, 'nix.env');
    const foreign = path.join(settings.tokenDir, 'other.env');
    await writeFile(
      ours,
      '# runnerops: runner #12354 "nix" (authenticationTokenConfigFile)\nCI_SERVER_URL=https://g\nCI_SERVER_TOKEN=glrt-stale-stale-stale-01\n',
    );
    await writeFile(foreign, 'CI_SERVER_URL=https://g\nCI_SERVER_TOKEN=glrt-unrelated-token-001\n');
    expect(await syncTokenFiles(settings)).toEqual([ours]);
    expect(await readFile(ours, 'utf8')).toContain('CI_SERVER_TOKEN=glrt-rotated-by-runner-01\n');
    expect(await readFile(foreign, 'utf8')).toContain('CI_SERVER_TOKEN=glrt-unrelated-token-001\n');
    expect(await syncTokenFiles(settings)).toEqual([]);
  });

  it('does nothing outside nixos-module mode', async () => {
    expect(await syncTokenFiles({ ...settings, tokenMode: 'config-toml' })).toEqual([]);
  });
});

describe('findHostRunner on an entry without name and id', () => {
  it('refuses before any reset could happen', async () => {
    await writeFile(
      settings.runnerConfigPath,
      'concurrent = 1\n\n[[runners]]\n  url = "https://gitlab.example"\n  token = "glrt-abcdefabcdefabcdefab"\n  executor = "docker"\n',
    );
    await expect(findHostRunner(settings, undefined)).rejects.toThrow(
      `a [[runners]] entry in ${settings.runnerConfigPath} has neither name nor id; give it a name (or re-register it) before rotating`,
    );
  });
});
