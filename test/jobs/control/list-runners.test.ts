import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import * as hostFacts from '../../../jobs/host-facts.js';
import { run, summarize, summarizeAll, type Context } from '../../../jobs/control/list-runners.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { setEntryToken } from '../../../src/clients/runner-config/config-toml.js';
import { enrolledHost } from '../../../src/queue/bot-trust.js';
import { readRunnersSummary } from '../../../src/reports/runners-summary.js';
import type { FakeRunner } from '../../fakes/gitlab/fake-gitlab-state.js';
import { testTrust } from '../../helpers/test-trust.js';
import { joinAll, leakedTokens, seedConfigFor, useRunnerJobEnvironment, type TestHost } from '../support/runner-host.js';

const env = useRunnerJobEnvironment();
const noDocker = new Docker({ socketPath: '/nonexistent/docker.sock' });
const DAY = 86400_000;

/** A host whose config.toml carries `runners` (token, id as given) and whose worker published its facts. */
async function hostCarrying(name: string, systemId: string, runners: Array<{ runner: FakeRunner; token?: string; id?: number }>): Promise<TestHost> {
  const host = await env.createHost({ mode: 'config-toml', host: name });
  host.settings.nixStoreDir = host.dir;
  let text = '';
  for (const { runner, token, id } of runners) {
    const entry = (await seedConfigFor(env.fake, runner)).replace(`id = ${runner.id}`, `id = ${id ?? runner.id}`);
    text = text === '' ? entry : `${text}\n${entry.slice(entry.indexOf('[[runners]]'))}`;
    text = setEntryToken(text, { id: id ?? runner.id }, { token: token ?? runner.token, obtainedAt: new Date(), expiresAt: '2099-01-01T00:00:00Z' });
  }
  await writeFile(host.settings.runnerConfigPath, text);
  await writeFile(path.join(path.dirname(host.settings.runnerConfigPath), '.runner_system_id'), `${systemId}\n`);
  await env.publishHost(host);
  await hostFacts.run({}, { host: name, docker: noDocker, settings: host.settings, patchHost: host.patchHost });
  return host;
}

function context(token = env.fake.admin.token): Context {
  const { prefix } = env.redisSettings;
  return {
    gitlab: createGitlabClient({ url: env.fake.url, token }),
    gitlabUrl: env.fake.url,
    redis: env.redis,
    prefix,
    progress: async () => undefined,
    enrolledHost: (name) => enrolledHost(env.redis, prefix, testTrust(), name),
  };
}

describe('run', () => {
  it("joins GitLab's runners with the hosts and flags unknown entries, runners on no host and one token on two hosts", async () => {
    const fake = env.fake;
    const online = fake.addRunner({ description: 'nix on lr-1' });
    fake.state.recordManager(online, 's_aaaaaaaaaaaa', { version: '17.5.0' });
    const shared = fake.addRunner({ description: 'shared', paused: true, maintenanceNote: 'disk swap' });
    shared.contactedAt = new Date(Date.now() - 3 * DAY).toISOString();
    const orphan = fake.addRunner({ description: 'orphan' });
    orphan.contactedAt = new Date(Date.now() - 100 * DAY).toISOString();
    const deleted = fake.addRunner({ description: 'deleted later' });
    await hostCarrying('lr-1', 's_aaaaaaaaaaaa', [{ runner: online }, { runner: shared }, { runner: deleted }]);
    await hostCarrying('lr-2', 's_bbbbbbbbbbbb', [{ runner: shared }]);
    fake.state.runners.delete(deleted.id);

    const view = await run({}, context());
    expect(view.scope).toBe('all');
    const byId = new Map(view.runners.map((r) => [r.id, r]));
    expect(byId.get(online.id)).toMatchObject({
      status: 'online',
      paused: false,
      version: '17.5.0',
      hosts: ['lr-1'],
      tokenExpiresAt: '2099-01-01T00:00:00.000Z',
    });
    expect(byId.get(online.id)!.managers).toEqual([expect.objectContaining({ systemId: 's_aaaaaaaaaaaa', host: 'lr-1' })]);
    expect(byId.get(shared.id)).toMatchObject({ status: 'offline', paused: true, maintenanceNote: 'disk swap', hosts: ['lr-1', 'lr-2'] });
    expect(byId.get(orphan.id)).toMatchObject({ status: 'stale', hosts: [] });
    expect(view.mismatches).toEqual(
      expect.arrayContaining([
        { kind: 'unknown-to-gitlab', host: 'lr-1', runner: expect.any(String), id: deleted.id },
        { kind: 'on-no-host', id: orphan.id, description: 'orphan', status: 'stale' },
        { kind: 'shared-token', hosts: ['lr-1', 'lr-2'], runners: expect.any(Array), id: shared.id },
      ]),
    );
    expect(view.counts).toMatchObject({ online: 1, offline: 1, stale: 1 });

    const text = summarize(view);
    expect(text.split('\n')[0]).toMatch(/^\d+ runners in GitLab: 1 online, 1 offline, 1 stale, \d+ never contacted; 1 paused; \d+ mismatches$/);
    expect(text).toContain(`#${shared.id} instance "shared": offline, PAUSED (disk swap)`);
    expect(text).toContain(`managers s_aaaaaaaaaaaa -> lr-1`);
    expect(text).toContain(`(#${deleted.id}) is unknown to GitLab`);
    expect(text).toContain(`#${orphan.id} "orphan" (stale) is in no host's config.toml`);
    expect(text).toContain('one token in config.toml of lr-1, lr-2');
    expect(summarizeAll([view])).toBe(text.split('\n').slice(1).join('\n'));
    expect(await readRunnersSummary(env.redis, env.redisSettings.prefix)).toMatchObject({
      counts: view.counts,
      mismatches: view.mismatches.length,
      scope: 'all',
    });
    expect(leakedTokens(fake.issuedTokens(), joinAll(view, text))).toEqual([]);

    const one = await run({ host: 'lr-2' }, context());
    expect(one.runners.map((r) => r.id)).toEqual([shared.id]);
    expect(one.mismatches.map((m) => m.kind)).toEqual(['shared-token']);
  });

  it('lists only the runners a group Owner manages (GitLab refuses /runners/all to non-admins) and says so', async () => {
    const fake = env.fake;
    const mine = fake.addRunner({ runnerType: 'group_type', groupId: 4242, description: 'group runner' });
    const owner = fake.createUserToken({ scopes: ['read_api'], ownedGroups: [4242] });
    const view = await run({ host: 'nobody' }, context(owner.token));
    expect(view.scope).toBe('owned');
    const all = await run({}, context(owner.token));
    expect(all.runners.map((r) => r.id)).toEqual([mine.id]);
    expect(all.mismatches.filter((m) => m.kind === 'on-no-host')).toEqual([]);
    expect(summarize(all).split('\n')[0]).toContain("GITLAB_TOKEN's user manages (not an admin");
  });
});
