import { describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { readAllPages } from '../../../src/clients/gitlab/read-all-pages.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

describe('readAllPages', () => {
  it('reads every page of 100 until x-next-page is empty', async () => {
    const ids = Array.from({ length: 230 }, () => gitlab().addRunner({ runnerType: 'group_type', groupId: 77 }).id);
    const owner = gitlab().createUserToken({ scopes: ['read_api'], groups: { 77: 'owner' } });
    const api = createGitlabClient({ url: gitlab().url, token: owner.token });
    const runners = await readAllPages<{ id: number }>(api, 'groups/77/runners', { type: 'group_type' });
    expect(runners.map((r) => r.id)).toEqual(ids);
    expect(
      gitlab()
        .findRequests('GET /groups/:id/runners')
        .map((r) => new URL(r.url, gitlab().url).searchParams.get('per_page')),
    ).toEqual(['100', '100', '100']);
  });

  it('retries a page that got a 503 and keeps the pages it already read', async () => {
    const owner = gitlab().createUserToken({ scopes: ['read_api'], groups: { 78: 'owner' } });
    const ids = Array.from({ length: 150 }, () => gitlab().addRunner({ runnerType: 'group_type', groupId: 78 }).id);
    const api = createGitlabClient({ url: gitlab().url, token: owner.token });
    const before = gitlab().requestCount('GET /groups/:id/runners');
    gitlab().inject('GET /groups/:id/runners', { status: 503 });
    const runners = await readAllPages<{ id: number }>(api, 'groups/78/runners', { type: 'group_type' }, { sleep: async () => undefined });
    expect(runners.map((r) => r.id)).toEqual(ids);
    expect(gitlab().requestCount('GET /groups/:id/runners') - before).toBe(3);
  });
});
