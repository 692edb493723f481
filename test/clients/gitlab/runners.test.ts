import { beforeAll, describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { countRunningJobs, createRunner, deleteRunner, setRunnerPaused } from '../../../src/clients/gitlab/runners.js';
import { startFakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();
let api: ReturnType<typeof createGitlabClient>;
beforeAll(() => {
  api = createGitlabClient({ url: gitlab().url, token: gitlab().createUserToken({ scopes: ['api'], admin: true, ownedProjects: [42] }).token });
});

describe('createRunner', () => {
  it('creates a project runner with its tags, pause and untagged settings', async () => {
    const created = await createRunner(api, { type: 'project', projectId: 42, description: 'nix', tags: ['nix'], untagged: false, paused: true });
    expect(created.token).toBe(gitlab().runner(created.id)!.token);
    expect(created.tokenExpiresAt).toBeNull();
    expect(gitlab().runner(created.id)).toMatchObject({
      runnerType: 'project_type',
      projectId: 42,
      description: 'nix',
      tagList: ['nix'],
      runUntagged: false,
      paused: true,
    });
  });

  it('is not retried when GitLab answers 502', async () => {
    gitlab().inject('POST /user/runners', { status: 502 });
    const before = gitlab().requestCount('POST /user/runners');
    await expect(createRunner(api, { type: 'instance', tags: [], untagged: true, paused: false })).rejects.toThrow();
    expect(gitlab().requestCount('POST /user/runners')).toBe(before + 1);
  });
});

describe('deleteRunner', () => {
  it('deletes by id and treats a runner that is already gone as deleted', async () => {
    const runner = gitlab().addRunner();
    expect(await deleteRunner(api, runner.id)).toBe('deleted');
    expect(await deleteRunner(api, runner.id)).toBe('already-gone');
  });
});

describe('setRunnerPaused', () => {
  it('pauses and unpauses, retrying a 429', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('PUT /runners/:id', { status: 429, retryAfter: 0 });
    await setRunnerPaused(api, runner.id, true, { sleep: async () => undefined });
    expect(gitlab().runner(runner.id)!.paused).toBe(true);
    await setRunnerPaused(api, runner.id, false);
    expect(gitlab().runner(runner.id)!.paused).toBe(false);
  });
});

describe('countRunningJobs', () => {
  it('counts running jobs over every page', async () => {
    const runner = gitlab().addRunner();
    gitlab().setJobs(runner.id, [...Array.from({ length: 105 }, () => ({ status: 'running' as const })), { status: 'failed' }]);
    expect(await countRunningJobs(api, runner.id)).toBe(105);
  });

  it('counts canceling jobs too, since they still run after_script', async () => {
    const runner = gitlab().addRunner();
    gitlab().setJobs(runner.id, [{ status: 'running' }, { status: 'canceling' }, { status: 'canceled' }]);
    expect(await countRunningJobs(api, runner.id)).toBe(2);
  });

  it('counts running jobs on a GitLab that has no canceling state yet (it refuses the value with 400)', async () => {
    const old = await startFakeGitlab({ version: '16.11' });
    try {
      const runner = old.addRunner();
      old.setJobs(runner.id, [{ status: 'running' }, { status: 'running' }]);
      expect(await countRunningJobs(createGitlabClient({ url: old.url, token: old.admin.token }), runner.id)).toBe(2);
      expect(
        old
          .findRequests('GET /runners/:id/jobs')
          .map((r) => r.status)
          .sort(),
      ).toEqual([200, 400]);
    } finally {
      await old.close();
    }
  });

  it("counts only one host's jobs when given its system id", async () => {
    const runner = gitlab().addRunner();
    gitlab().setJobs(runner.id, [
      { status: 'running', systemId: 's_000000000001' },
      { status: 'canceling', systemId: 's_000000000001' },
      { status: 'running', systemId: 's_000000000002' },
    ]);
    expect(await countRunningJobs(api, runner.id, {}, 's_000000000001')).toBe(2);
  });
});
