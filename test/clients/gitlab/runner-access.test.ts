import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { isAdminToken, readRunnerAccess } from '../../../src/clients/gitlab/runner-access.js';
import { startFakeGitlab, type FakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';

let fake: FakeGitlab;
beforeAll(async () => {
  fake = await startFakeGitlab();
});
afterAll(async () => {
  await fake.close();
});

describe('isAdminToken', () => {
  it('takes a token whose scopes do not cover GET /user for not known to be an admin', async () => {
    const runnerOnly = fake.createUserToken({ scopes: ['manage_runner'], admin: true });
    expect(await isAdminToken(createGitlabClient({ url: fake.url, token: runnerOnly.token }))).toBe(false);
  });

  it("tells an admin's token from a group Owner's", async () => {
    expect(await isAdminToken(createGitlabClient({ url: fake.url, token: fake.admin.token }))).toBe(true);
    const owner = fake.createUserToken({ scopes: ['read_api'], groups: { 5: 'owner' } });
    expect(await isAdminToken(createGitlabClient({ url: fake.url, token: owner.token }))).toBe(false);
  });
});

describe('readRunnerAccess', () => {
  it('names the other online hosts of a shared token, but not this host or a long-silent one', async () => {
    const runner = fake.addRunner();
    fake.state.recordManager(runner, 's_00000000000a');
    fake.state.recordManager(runner, 's_00000000000b');
    const silent = fake.state.recordManager(runner, 's_00000000000c');
    silent.contactedAt = new Date(Date.now() - 3 * 3600_000).toISOString();
    const [access] = await readRunnerAccess(createGitlabClient({ url: fake.url, token: fake.admin.token }), [runner.id], 's_00000000000a');
    expect(access).toEqual({ id: runner.id, paused: false, runnerType: 'instance_type', sharedWith: ['s_00000000000b'], allJobsVisible: true });
    // Only admins manage instance runners: a manage_runner-only token still sees all their jobs.
    const runnerOnly = createGitlabClient({ url: fake.url, token: fake.createUserToken({ scopes: ['manage_runner'], admin: true }).token });
    expect((await readRunnerAccess(runnerOnly, [runner.id], 's_00000000000a'))[0]?.allJobsVisible).toBe(true);
  });

  it('marks a project runner of a non-admin Maintainer as possibly missing jobs', async () => {
    fake.addProject(61);
    const maintainer = fake.createUserToken({ scopes: ['manage_runner', 'read_api'], projects: { 61: 'maintainer' } });
    const runner = fake.addRunner({ runnerType: 'project_type', projectId: 61, paused: true });
    const [access] = await readRunnerAccess(createGitlabClient({ url: fake.url, token: maintainer.token }), [runner.id], null);
    expect(access).toMatchObject({ paused: true, sharedWith: [], allJobsVisible: false });
  });
});
