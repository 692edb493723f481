import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { run, summarize } from '../../../jobs/control/revive-runner-token.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { setEntryToken } from '../../../src/clients/runner-config/config-toml.js';
import { PermanentJobError, UserError } from '../../../src/errors.js';
import type { FakeRunner } from '../../fakes/gitlab/start-fake-gitlab.js';
import { leakedTokens, seedConfigFor, useRunnerJobEnvironment } from '../support/runner-host.js';
import { failureOf, useControlStacks, type ControlStack } from './support/control-stack.js';

const env = useRunnerJobEnvironment();
const { startStack, producedText } = useControlStacks(env);

/** A host whose seed runner's token expired an hour ago, in GitLab, in config.toml and in the registry. */
async function expiredRunner(stack: ControlStack, fields: Parameters<typeof env.fake.addRunner>[0] = {}): Promise<FakeRunner> {
  const runner = env.fake.addRunner({ description: 'Nix caching runner', ...fields });
  const expiredAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
  env.fake.setTokenExpiry(runner.id, expiredAt);
  const config = setEntryToken(
    await seedConfigFor(env.fake, runner),
    { id: runner.id },
    { token: runner.token, obtainedAt: new Date(expiredAt.getTime() - 7200_000), expiresAt: expiredAt.toISOString() },
  );
  await writeFile(stack.host.settings.runnerConfigPath, config, { mode: 0o600 });
  await stack.host.patchHost({
    runners: [{ name: 'Nix caching runner', id: runner.id, url: env.fake.url, tokenExpiresAt: expiredAt.toISOString() }],
  });
  return runner;
}

describe('run', () => {
  it('is refused by the host when the command carries no approval, since it rotates a token', async () => {
    const stack = await startStack('config-toml');
    const runner = await expiredRunner(stack);
    const err = await failureOf(run({ host: stack.host.settings.host, runnerId: runner.id, requestId: 'cmd-revive-0' }, stack.ctx));
    expect(err.message).toContain('rotate-token without an approval');
    expect(parse(await readFile(stack.host.settings.runnerConfigPath, 'utf8'))).toMatchObject({ runners: [{ token: runner.tokenHistory[0] }] });
  });

  it("resets an expired token with the bot's GitLab token and the host writes the new one, sealed on the way, and verifies it", async () => {
    env.fake.setTokenExpirationInterval(7 * 86400);
    const stack = await startStack('config-toml', { approvedBy: ['U0BOSS'] });
    const runner = await expiredRunner(stack);
    const dead = runner.token;
    const resetsBefore = env.fake.requestCount('POST /runners/:id/reset_authentication_token');
    const result = await run({ host: stack.host.settings.host, runnerId: runner.id, requestId: 'cmd-revive-1' }, stack.ctx);
    env.fake.setTokenExpirationInterval(null);

    const live = env.fake.runner(runner.id)!;
    expect(live.token).not.toBe(dead);
    const config = parse(await readFile(stack.host.settings.runnerConfigPath, 'utf8')) as { runners: Array<Record<string, unknown>> };
    expect(config.runners[0]).toMatchObject({ id: runner.id, token: live.token });
    expect((config.runners[0]?.token_expires_at as Date).toISOString()).toBe(live.tokenExpiresAt);
    expect(result).toMatchObject({ revived: true, runnerId: runner.id, tokenExpiresAt: live.tokenExpiresAt });
    expect(live.managers.length).toBe(1);
    expect(env.fake.requestCount('POST /runners/:id/reset_authentication_token') - resetsBefore).toBe(1);
    expect(summarize(result)).toContain(`revived the expired token of Nix caching runner (#${runner.id}) on ${stack.host.settings.host}`);
    const produced = await producedText(stack, result, summarize(result));
    expect(produced).toContain('sealedToken');
    expect(leakedTokens(env.fake.issuedTokens(), produced)).toEqual([]);
  });

  it("revives a group runner with a group Owner's 17.1+ token", async () => {
    const stack = await startStack('config-toml', { approvedBy: ['U0BOSS'] });
    const owner = env.fake.createUserToken({ scopes: ['create_runner', 'manage_runner', 'read_api'], groups: { 3100: 'owner' } });
    stack.ctx.gitlab = createGitlabClient({ url: env.fake.url, token: owner.token });
    const runner = await expiredRunner(stack, { runnerType: 'group_type', groupId: 3100 });
    const result = await run({ host: stack.host.settings.host, runnerId: runner.id, requestId: 'cmd-revive-2' }, stack.ctx);
    expect(result.revived).toBe(true);
    expect(parse(await readFile(stack.host.settings.runnerConfigPath, 'utf8'))).toMatchObject({ runners: [{ token: env.fake.runner(runner.id)!.token }] });
  });

  it("names the role GitLab wants when the token's user does not own the runner, and changes nothing", async () => {
    const stack = await startStack('config-toml', { approvedBy: ['U0BOSS'] });
    const maintainer = env.fake.createUserToken({ scopes: ['manage_runner', 'read_api'], groups: { 3200: 'maintainer' } });
    stack.ctx.gitlab = createGitlabClient({ url: env.fake.url, token: maintainer.token });
    const runner = await expiredRunner(stack, { runnerType: 'group_type', groupId: 3200 });
    const before = await readFile(stack.host.settings.runnerConfigPath, 'utf8');
    const err = await failureOf(run({ host: stack.host.settings.host, runnerId: runner.id, requestId: 'cmd-revive-3' }, stack.ctx));
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toContain('Owner of the group (group runners)');
    expect(env.fake.runner(runner.id)!.token).toBe(runner.tokenHistory[0]);
    expect(await readFile(stack.host.settings.runnerConfigPath, 'utf8')).toBe(before);
  });

  it('refuses a token that has not expired before asking GitLab: that one rotates on the host', async () => {
    const stack = await startStack('config-toml', { approvedBy: ['U0BOSS'] });
    const runner = env.fake.addRunner();
    await stack.host.patchHost({ runners: [{ name: 'nix', id: runner.id, tokenExpiresAt: '2099-01-01T00:00:00Z' }] });
    const before = env.fake.requestCount('POST /runners/:id/reset_authentication_token');
    const err = await failureOf(run({ host: stack.host.settings.host, runnerId: runner.id, requestId: 'cmd-revive-4' }, stack.ctx));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `the token of runner #${runner.id} on ${stack.host.settings.host} has not expired (expires 2099-01-01T00:00:00Z); "rotate ${stack.host.settings.host} --runner ${runner.id}" rotates it on the host`,
    );
    expect(env.fake.requestCount('POST /runners/:id/reset_authentication_token')).toBe(before);
  });

  it('says what is left when the host cannot put the revived token in place', async () => {
    const stack = await startStack('config-toml', { approvedBy: ['U0BOSS'] });
    const runner = await expiredRunner(stack);
    env.fake.inject('POST /runners/verify', { status: 403, body: { message: '403 Forbidden' } });
    const err = await failureOf(run({ host: stack.host.settings.host, runnerId: runner.id, requestId: 'cmd-revive-5' }, stack.ctx));
    expect(err.message).toMatch(
      new RegExp(
        `^runner #${runner.id}'s token was reset in GitLab but ${stack.host.settings.host} did not put it in place: .*; the runner stays offline until the rotation is requested again$`,
      ),
    );
    expect(leakedTokens(env.fake.issuedTokens(), await producedText(stack, err.message))).toEqual([]);
  });
});
