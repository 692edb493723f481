import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { listRunnerManagers, waitForRunnerPickup } from '../../../src/clients/gitlab/runner-managers.js';
import { startFakeGitlab, type FakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';

let fake: FakeGitlab;
beforeAll(async () => {
  fake = await startFakeGitlab();
});
afterAll(async () => {
  await fake.close();
});

describe('listRunnerManagers', () => {
  it('lists every host that used the token, over more than one page', async () => {
    const runner = fake.addRunner();
    const ids = Array.from({ length: 130 }, (_, i) => `s_${String(i).padStart(12, '0')}`);
    for (const id of ids) fake.state.recordManager(runner, id);
    const managers = await listRunnerManagers(createGitlabClient({ url: fake.url, token: fake.admin.token }), runner.id);
    expect(managers.map((m) => m.systemId)).toEqual(ids);
    expect(managers[0]?.version).toBeNull();
  });
});

describe('waitForRunnerPickup', () => {
  it('is false for a manager only a verify created and true once gitlab-runner polled with its info', async () => {
    const runner = fake.addRunner();
    const api = createGitlabClient({ url: fake.url, token: fake.admin.token });
    fake.state.recordManager(runner, 's_aaaaaaaaaaa1');
    expect(await waitForRunnerPickup(api, runner.id, 's_aaaaaaaaaaa1', { waitMs: 0 })).toBe(false);
    fake.state.recordManager(runner, 's_aaaaaaaaaaa2', { version: '17.5.0' });
    expect(await waitForRunnerPickup(api, runner.id, 's_aaaaaaaaaaa1', { waitMs: 0 })).toBe(false);
    fake.state.recordManager(runner, 's_aaaaaaaaaaa1', { version: '17.5.0' });
    expect(await waitForRunnerPickup(api, runner.id, 's_aaaaaaaaaaa1', { waitMs: 0 })).toBe(true);
  });
});
