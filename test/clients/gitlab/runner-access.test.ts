import { describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { isAdminToken, readRunnerAccess } from '../../../src/clients/gitlab/runner-access.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

describe('isAdminToken', () => {
  it('takes a token whose scopes do not cover GET /user for not known to be an admin', async () => {
    const runnerOnly = gitlab().createUserToken({ scopes: ['manage_runner'], admin: true });
    expect(await isAdminToken(createGitlabClient({ url: gitlab().url, token: runnerOnly.token }))).toBe(false);
  });

  it("tells an admin's token from a group Owner's", async () => {
    expect(await isAdminToken(createGitlabClient({ url: gitlab().url, token: gitlab().admin.token }))).toBe(true);
    const owner = gitlab().createUserToken({ scopes: ['read_api'], groups: { 5: 'owner' } });
    expect(await isAdminToken(createGitlabClient({ url: gitlab().url, token: owner.token }))).toBe(false);
  });
});

describe('readRunnerAccess', () => {
  it('names the other online hosts of a shared token, but not this host or a long-silent one', async () => {
    const runner = gitlab().addRunner();
    gitlab().state.recordManager(runner, 's_00000000000a');
    gitlab().state.recordManager(runner, 's_00000000000b');
    const silent = gitlab().state.recordManager(runner, 's_00000000000c');
    silent.contactedAt = new Date(Date.now() - 3 * 3600_000).toISOString();
    const [access] = await readRunnerAccess(createGitlabClient({ url: gitlab().url, token: gitlab().admin.token }), [runner.id], 's_00000000000a');
    expect(access).toEqual({ id: runner.id, paused: false, runnerType: 'instance_type', sharedWith: ['s_00000000000b'], allJobsVisible: true });
    // Only admins manage instance runners: a manage_runner-only token still sees all their jobs.
    const runnerOnly = createGitlabClient({ url: gitlab().url, token: gitlab().createUserToken({ scopes: ['manage_runner'], admin: true }).token });
    expect((await readRunnerAccess(runnerOnly, [runner.id], 's_00000000000a'))[0]?.allJobsVisible).toBe(true);
  });

  it('marks a project runner of a non-admin Maintainer as possibly missing jobs', async () => {
    gitlab().addProject(61);
    const maintainer = gitlab().createUserToken({ scopes: ['manage_runner', 'read_api'], projects: { 61: 'maintainer' } });
    const runner = gitlab().addRunner({ runnerType: 'project_type', projectId: 61, paused: true });
    const [access] = await readRunnerAccess(createGitlabClient({ url: gitlab().url, token: maintainer.token }), [runner.id], null);
    expect(access).toMatchObject({ paused: true, sharedWith: [], allJobsVisible: false });
  });
});
