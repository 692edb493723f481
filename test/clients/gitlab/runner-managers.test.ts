import { describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { listRunnerManagers, waitForRunnerPickup } from '../../../src/clients/gitlab/runner-managers.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

describe('listRunnerManagers', () => {
  it('lists every host that used the token, over more than one page', async () => {
    const runner = gitlab().addRunner();
    const ids = Array.from({ length: 130 }, (_, i) => `s_${String(i).padStart(12, '0')}`);
    for (const id of ids) gitlab().state.recordManager(runner, id);
    const managers = await listRunnerManagers(createGitlabClient({ url: gitlab().url, token: gitlab().admin.token }), runner.id);
    expect(managers.map((m) => m.systemId)).toEqual(ids);
    expect(managers[0]?.version).toBeNull();
  });
});

describe('waitForRunnerPickup', () => {
  it('is false for a manager only a verify created and true once gitlab-runner polled with its info', async () => {
    const runner = gitlab().addRunner();
    const api = createGitlabClient({ url: gitlab().url, token: gitlab().admin.token });
    gitlab().state.recordManager(runner, 's_aaaaaaaaaaa1');
    expect(await waitForRunnerPickup(api, runner.id, 's_aaaaaaaaaaa1', { waitMs: 0 })).toBe(false);
    gitlab().state.recordManager(runner, 's_aaaaaaaaaaa2', { version: '17.5.0' });
    expect(await waitForRunnerPickup(api, runner.id, 's_aaaaaaaaaaa1', { waitMs: 0 })).toBe(false);
    gitlab().state.recordManager(runner, 's_aaaaaaaaaaa1', { version: '17.5.0' });
    expect(await waitForRunnerPickup(api, runner.id, 's_aaaaaaaaaaa1', { waitMs: 0 })).toBe(true);
  });
});
