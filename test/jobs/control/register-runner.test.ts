import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { run, summarize } from '../../../jobs/control/register-runner.js';
import { PermanentJobError, UserError } from '../../../src/errors.js';
import { startFakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { SYSTEM_ID_FILE } from '../../../src/clients/runner-config/system-id.js';
import {
  leakedTokens,
  readSeedConfig,
  seedConfigFor,
  useRunnerJobEnvironment,
  writeEnvTemplateReloadScript,
  declareNixosRunner,
  writeNixosReloadScript,
} from '../support/runner-host.js';
import { failureOf, useControlStacks } from './support/control-stack.js';

const env = useRunnerJobEnvironment();
const { redisSettings } = env;
const stacks = useControlStacks(env);
const { startStack, producedText } = stacks;

const base = { tags: [] as string[], untagged: false, paused: false, pickupSeconds: 0 };

describe('run', () => {
  it('creates the runner, seals its token to the host and the host adds a seed-like [[runners]] entry and verifies it', async () => {
    env.fake.setTokenExpirationInterval(7 * 86400);
    const stack = await startStack('config-toml');
    const { host } = stack;
    const before = env.fake.issuedTokens().length;
    const result = await run({ host: host.settings.host, type: 'instance', description: 'nix builds', ...base, tags: ['nix'] }, stack.ctx);
    env.fake.setTokenExpirationInterval(null);

    const runner = env.fake.runner(result.runnerId)!;
    expect(runner).toMatchObject({ description: 'nix builds', tagList: ['nix'], runUntagged: false, paused: false });
    const config = parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as { runners: Array<Record<string, unknown>> };
    const entry = config.runners.find((r) => r.id === result.runnerId)!;
    expect(entry).toMatchObject({ name: 'nix builds', url: env.fake.url, token: runner.token, executor: 'docker' });
    expect(entry.docker).toMatchObject({ volumes_from: [`${host.settings.nixDaemonContainer}:ro`], image: 'local/nix:latest' });
    expect(entry.environment).toContain('NIX_REMOTE=daemon');
    expect(entry.pre_build_script).toContain('mkdir -p /tmp');
    expect((entry.token_expires_at as Date).toISOString()).toBe(runner.tokenExpiresAt);
    const systemId = (await readFile(path.join(path.dirname(host.settings.runnerConfigPath), SYSTEM_ID_FILE), 'utf8')).trim();
    expect(systemId).toMatch(/^s_[0-9a-f]{12}$/);
    expect(env.fake.managers(result.runnerId).map((m) => m.systemId)).toEqual([systemId]);
    expect(result).toMatchObject({
      host: host.settings.host,
      name: 'nix builds',
      tokenMode: 'config-toml',
      written: [host.settings.runnerConfigPath],
      tokenExpiresAt: runner.tokenExpiresAt,
    });
    expect(summarize(result)).toContain(`registered runner #${result.runnerId} "nix builds" on ${host.settings.host}`);

    expect(env.fake.issuedTokens().slice(before)).toEqual([runner.token]);
    const produced = await producedText(stack, result, summarize(result));
    expect(produced).toContain('sealedToken');
    expect(leakedTokens(env.fake.issuedTokens(), produced)).toEqual([]);
  });

  it('writes the authenticationTokenConfigFile in nixos-module mode and the reload registers it', async () => {
    const stack = await startStack('nixos-module');
    const { host } = stack;
    host.settings.reloadCommand = await writeNixosReloadScript(host);
    await declareNixosRunner(host, 'nix-cache');
    const result = await run({ host: host.settings.host, type: 'instance', description: 'Nix Cache', ...base }, stack.ctx);
    const runner = env.fake.runner(result.runnerId)!;
    const file = path.join(host.settings.tokenDir, 'nix-cache.env');
    expect(result.written).toEqual([file]);
    expect(await readFile(file, 'utf8')).toBe(
      `# runnerops: runner #${runner.id} "Nix Cache" (authenticationTokenConfigFile)\nCI_SERVER_URL=${env.fake.url}\nCI_SERVER_TOKEN=${runner.token}\n`,
    );
    expect(await readFile(host.settings.runnerConfigPath, 'utf8')).toContain(`token = "${runner.token}"`);
    expect(runner.runUntagged).toBe(true);
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(stack, result))).toEqual([]);
  });

  it('sets TOKEN_<NAME> in the EnvironmentFile in env-template mode and the configure script renders it', async () => {
    const stack = await startStack('env-template');
    const { host } = stack;
    const template = path.join(host.dir, 'gitlab-runner.toml');
    const seedRunner = env.fake.addRunner({ description: 'Nix caching runner' });
    await writeFile(
      template,
      `${await readSeedConfig()}\n[[runners]]\nname = "cache"\nurl = "${env.fake.url}"\ntoken = "@TOKEN_CACHE@"\nexecutor = "docker"\n`,
    );
    await writeFile(host.settings.envFile, `TOKEN_NIX=${seedRunner.token}\n`, { mode: 0o600 });
    host.settings.reloadCommand = await writeEnvTemplateReloadScript(host, template);
    const result = await run({ host: host.settings.host, type: 'instance', description: 'cache', ...base }, stack.ctx);
    const token = env.fake.runner(result.runnerId)!.token;
    expect(await readFile(host.settings.envFile, 'utf8')).toBe(`TOKEN_NIX=${seedRunner.token}\nTOKEN_CACHE=${token}\n`);
    const config = parse(await readFile(host.settings.runnerConfigPath, 'utf8')) as { runners: Array<Record<string, unknown>> };
    expect(config.runners.map((r) => r.token)).toEqual([seedRunner.token, token]);
  });

  it('deletes the runner in GitLab again when the host cannot install it', async () => {
    const stack = await startStack('config-toml');
    const { host } = stack;
    const clash = env.fake.addRunner({ description: 'Nix caching runner' });
    const seed = await seedConfigFor(env.fake, clash);
    await writeFile(host.settings.runnerConfigPath, seed);
    const runnersBefore = env.fake.runners().length;
    const err = await failureOf(run({ host: host.settings.host, type: 'instance', description: 'Nix caching runner', ...base }, stack.ctx));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toMatch(
      /^runner #\d+ was not installed on ci-\d+: .*already has a runner named "Nix caching runner".*; it was deleted in GitLab again, nothing is left$/,
    );
    expect(env.fake.runners().length).toBe(runnersBefore);
    expect(env.fake.requestCount('DELETE /runners/:id')).toBeGreaterThan(0);
    expect(await readFile(host.settings.runnerConfigPath, 'utf8')).toBe(seed);
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(stack, err.message))).toEqual([]);
  });

  it('takes the entry back out and deletes the runner when the verify on the host is refused', async () => {
    const stack = await startStack('config-toml');
    const { host } = stack;
    const seedRunner = env.fake.addRunner({ description: 'Nix caching runner' });
    const seed = await seedConfigFor(env.fake, seedRunner);
    await writeFile(host.settings.runnerConfigPath, seed);
    env.fake.inject('POST /runners/verify', { status: 403, body: { message: '403 Forbidden' } });
    const err = await failureOf(run({ host: host.settings.host, type: 'instance', description: 'second', ...base }, stack.ctx));
    expect(err.message).toContain('is no longer valid (403: 403 Forbidden)');
    expect(err.message).toContain('deleted in GitLab again');
    expect(parse(await readFile(host.settings.runnerConfigPath, 'utf8'))).toEqual(parse(seed));
    expect(env.fake.runners().some((r) => r.description === 'second')).toBe(false);
  });

  it('says exactly what is left and how to remove it when deleting the orphan fails too', async () => {
    const stack = await startStack('config-toml');
    const { host } = stack;
    await writeFile(host.settings.runnerConfigPath, await seedConfigFor(env.fake, env.fake.addRunner({ description: 'taken' })));
    await writeFile(host.settings.runnerConfigPath, (await readFile(host.settings.runnerConfigPath, 'utf8')).replace('Nix caching runner', 'taken'));
    env.fake.inject('DELETE /runners/:id', { status: 500, times: 10 });
    const err = await failureOf(run({ host: host.settings.host, type: 'instance', description: 'taken', ...base }, stack.ctx));
    const orphan = env.fake.runners().find((r) => r.description === 'taken' && r.managers.length === 0 && r.tokenHistory.length === 1 && r.createdBy !== 0)!;
    expect(err.message).toBe(
      `runner #${orphan.id} was not installed on ${host.settings.host}: ${host.settings.runnerConfigPath} already has a runner named "taken"; pick another --description; deleting it in GitLab failed too (500): delete runner #${orphan.id} in GitLab (CI/CD > Runners) or with DELETE ${env.fake.url}/api/v4/runners/${orphan.id}`,
    );
    env.fake.clearFaults();
  }, 30_000);

  it('refuses a host that is not enrolled (no valid signed entry) before creating anything', async () => {
    const stack = await startStack('config-toml', { publishKey: false });
    const count = env.fake.requestCount('POST /user/runners');
    const err = await failureOf(run({ host: stack.host.settings.host, type: 'instance', ...base }, stack.ctx));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `${stack.host.settings.host} is not an enrolled host; "hosts" shows its state (an operator enrols it with "enroll ${stack.host.settings.host}")`,
    );
    expect(env.fake.requestCount('POST /user/runners')).toBe(count);
  });

  it('explains a 403 from GitLab when the user does not own the group', async () => {
    const stack = await startStack('config-toml');
    env.fake.state.groups.add(77);
    stack.ctx.gitlab = createGitlabClient({ url: env.fake.url, token: env.fake.createUserToken({ scopes: ['create_runner'] }).token });
    const err = await failureOf(run({ host: stack.host.settings.host, type: 'group', groupId: 77, ...base }, stack.ctx));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toBe(
      `create the group runner for ${stack.host.settings.host} failed: GitLab denied it (403: 403 Forbidden - Insufficient permissions); the GITLAB_TOKEN user must be an admin (instance runners), Owner of the group (group runners) or Maintainer of the project (project runners)`,
    );
  });

  it('names the missing scope when GITLAB_TOKEN cannot create runners', async () => {
    const stack = await startStack('config-toml');
    stack.ctx.gitlab = createGitlabClient({ url: env.fake.url, token: env.fake.createUserToken({ scopes: ['read_api'], admin: true }).token });
    const err = await failureOf(run({ host: stack.host.settings.host, type: 'instance', ...base }, stack.ctx));
    expect(err.message).toContain(
      'GITLAB_TOKEN lacks the scope for it (403); give it api (GitLab 16.x), or create_runner, manage_runner and read_api (GitLab 17.1+)',
    );
  });

  it('does not create again when the answer to the creation was lost', async () => {
    const stack = await startStack('config-toml');
    env.fake.inject('POST /user/runners', { status: 502, afterHandling: true });
    const count = env.fake.runners().length;
    const err = await failureOf(run({ host: stack.host.settings.host, type: 'instance', description: 'lost', ...base }, stack.ctx));
    expect(err.message).toContain('a runner may have been created anyway: look for "lost" in GitLab');
    expect(env.fake.runners().length).toBe(count + 1);
    expect(env.fake.findRequests('POST /user/runners').filter((r) => r.params.description === 'lost')).toHaveLength(1);
  });
});

describe('run and gitlab-runner', () => {
  it("says gitlab-runner has not asked for jobs with the new token when only the install's verify reached GitLab", async () => {
    const stack = await startStack('config-toml');
    const result = await run({ host: stack.host.settings.host, type: 'instance', description: 'never loaded', ...base }, stack.ctx);
    expect(env.fake.runner(result.runnerId)!.contactedAt).not.toBeNull();
    expect(result.pickedUp).toBe(false);
    expect(summarize(result)).toContain(`gitlab-runner on ${stack.host.settings.host} has not asked GitLab for jobs with it yet`);
  });

  it('waits until gitlab-runner on the host polls for jobs with the token, then reports it picked up', async () => {
    const stack = await startStack('config-toml');
    stack.ctx.pickupIntervalMs = 20;
    const progress = stack.ctx.progress;
    stack.ctx.progress = async (p) => {
      await progress(p);
      if (p.phase !== 'waiting for gitlab-runner to use the token') return;
      // gitlab-runner noticed the changed config.toml and asks for jobs, with its info, as this host's manager.
      const config = parse(await readFile(stack.host.settings.runnerConfigPath, 'utf8')) as { runners: Array<{ token: string }> };
      const systemId = (await readFile(path.join(path.dirname(stack.host.settings.runnerConfigPath), SYSTEM_ID_FILE), 'utf8')).trim();
      await fetch(`${env.fake.url}/api/v4/jobs/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: config.runners.at(-1)!.token, system_id: systemId, info: { name: 'gitlab-runner', version: '17.5.0' } }),
      });
    };
    const result = await run({ host: stack.host.settings.host, type: 'instance', description: 'loaded', ...base, pickupSeconds: 30 }, stack.ctx);
    expect(result.pickedUp).toBe(true);
    expect(summarize(result)).not.toContain('has not asked GitLab');
  });
});

describe('summarize', () => {
  it('shows id, name, host, where it was written and the expiry', () => {
    expect(
      summarize({ host: 'ci-1', runnerId: 5, name: 'nix', tokenMode: 'nixos-module', written: ['/t/nix.env'], tokenExpiresAt: null, systemId: 's_0' }),
    ).toBe('registered runner #5 "nix" on ci-1, written to /t/nix.env (nixos-module); token does not expire');
  });
});

describe('run again after the bot died mid-registration', () => {
  it('deletes the runner the interrupted attempt created (found by its note) and registers exactly one', async () => {
    const stack = await startStack('config-toml');
    const requestId = `req-${stacks.hostCount()}`;
    // The first attempt: GitLab created the runner, then the bot died before it heard the answer.
    const orphan = env.fake.addRunner({ description: 'interrupted' });
    env.fake.runner(orphan.id)!.maintenanceNote = `created by runnerops, request ${requestId}`;
    await env.redis.set(`${redisSettings.prefix}:register:${requestId}`, '{}');
    const result = await run({ host: stack.host.settings.host, type: 'instance', description: 'interrupted', ...base, requestId }, stack.ctx);
    expect(env.fake.runner(orphan.id)).toBeUndefined();
    expect(
      env.fake
        .runners()
        .filter((r) => r.description === 'interrupted')
        .map((r) => r.id),
    ).toEqual([result.runnerId]);
    expect(env.fake.runner(result.runnerId)!.maintenanceNote).toBe(`created by runnerops, request ${requestId}`);
  });
});

describe('run again after the bot died once the host had installed the runner', () => {
  it('keeps the installed runner and reports it instead of deleting it and registering another', async () => {
    const stack = await startStack('config-toml');
    const requestId = `req-installed-${stacks.hostCount()}`;
    const first = await run({ host: stack.host.settings.host, type: 'instance', description: 'kept', ...base, requestId }, stack.ctx);
    const creations = env.fake.requestCount('POST /user/runners');
    const again = await run({ host: stack.host.settings.host, type: 'instance', description: 'kept', ...base, requestId }, stack.ctx);
    expect(again).toMatchObject({ runnerId: first.runnerId, name: 'kept', host: stack.host.settings.host });
    expect(env.fake.runner(first.runnerId)).toMatchObject({ id: first.runnerId, description: 'kept' });
    expect(env.fake.requestCount('POST /user/runners')).toBe(creations);
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(stack, again))).toEqual([]);
  });
});

describe('run again after the bot died mid-registration, for each role and version', () => {
  /** The first attempt got as far as GitLab (which created the runner), then the bot died before it heard the answer. */
  const interruptedAttempt = (requestId: string) => env.redis.set(`${redisSettings.prefix}:register:${requestId}`, '{}');

  it('finds the interrupted attempt of a group Owner (17.1+ scopes) past 100 runners in the group', async () => {
    const stack = await startStack('config-toml');
    const requestId = `req-group-${stacks.hostCount()}`;
    const owner = env.fake.createUserToken({ scopes: ['create_runner', 'manage_runner', 'read_api'], groups: { 4201: 'owner' } });
    stack.ctx.gitlab = createGitlabClient({ url: env.fake.url, token: owner.token });
    for (let i = 0; i < 120; i++) env.fake.addRunner({ runnerType: 'group_type', groupId: 4201, description: 'group nix' });
    const orphan = env.fake.addRunner({
      runnerType: 'group_type',
      groupId: 4201,
      description: 'group nix',
      maintenanceNote: `created by runnerops, request ${requestId}`,
    });
    await interruptedAttempt(requestId);
    const adminListsBefore = env.fake.requestCount('GET /runners/all');
    const result = await run({ host: stack.host.settings.host, type: 'group', groupId: 4201, description: 'group nix', ...base, requestId }, stack.ctx);
    expect(env.fake.runner(orphan.id)).toBeUndefined();
    expect(
      env.fake
        .runners()
        .filter((r) => r.maintenanceNote.includes(requestId))
        .map((r) => r.id),
    ).toEqual([result.runnerId]);
    expect(env.fake.requestCount('GET /runners/all')).toBe(adminListsBefore);
    expect(env.fake.findRequests('GET /groups/:id/runners').map((r) => new URL(r.url, env.fake.url).searchParams.get('page'))).toEqual(['1', '2']);
  });

  it('finds the interrupted attempt of a project Maintainer on GitLab 16.x with an api token', async () => {
    const old = await startFakeGitlab({ version: '16.11' });
    env.afterThisTest(() => old.close());
    const stack = await startStack('config-toml');
    stack.host.settings.gitlabUrl = old.url;
    stack.ctx.gitlabUrl = old.url;
    const requestId = `req-project-${stacks.hostCount()}`;
    old.addProject(4301, 4300);
    const maintainer = old.createUserToken({ scopes: ['api'], projects: { 4301: 'maintainer' } });
    stack.ctx.gitlab = createGitlabClient({ url: old.url, token: maintainer.token });
    const orphan = old.addRunner({
      runnerType: 'project_type',
      projectId: 4301,
      description: 'project nix',
      maintenanceNote: `created by runnerops, request ${requestId}`,
    });
    await interruptedAttempt(requestId);
    const result = await run({ host: stack.host.settings.host, type: 'project', projectId: 4301, description: 'project nix', ...base, requestId }, stack.ctx);
    expect(old.runner(orphan.id)).toBeUndefined();
    expect(old.runner(result.runnerId)).toMatchObject({ runnerType: 'project_type', projectId: 4301 });
    expect(old.requestCount('GET /runners/all')).toBe(0);
    expect(old.requestCount('GET /projects/:id/runners')).toBe(1);
  });

  it('says which scope is missing when the token may create runners but not list them', async () => {
    const stack = await startStack('config-toml');
    const requestId = `req-scope-${stacks.hostCount()}`;
    stack.ctx.gitlab = createGitlabClient({
      url: env.fake.url,
      token: env.fake.createUserToken({ scopes: ['create_runner', 'manage_runner'], admin: true }).token,
    });
    await interruptedAttempt(requestId);
    const err = await failureOf(run({ host: stack.host.settings.host, type: 'instance', description: 'x', ...base, requestId }, stack.ctx));
    expect(err.message).toContain('cannot be looked up (GITLAB_TOKEN needs the read_api (or api) scope to list runners)');
  });
});
