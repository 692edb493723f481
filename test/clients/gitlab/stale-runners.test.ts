import { describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { findStaleRunners, isStaleSince } from '../../../src/clients/gitlab/stale-runners.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

const DAY = 86400_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe('isStaleSince', () => {
  it('goes by the last contact, or by the creation of a runner that never contacted', () => {
    const cutoff = Date.parse('2026-01-01T00:00:00Z');
    expect(isStaleSince({ contactedAt: '2025-12-01T00:00:00Z', createdAt: '2020-01-01T00:00:00Z' }, cutoff)).toBe(true);
    expect(isStaleSince({ contactedAt: '2026-02-01T00:00:00Z', createdAt: '2020-01-01T00:00:00Z' }, cutoff)).toBe(false);
    expect(isStaleSince({ contactedAt: null, createdAt: '2025-01-01T00:00:00Z' }, cutoff)).toBe(true);
    expect(isStaleSince({ contactedAt: null, createdAt: null }, cutoff)).toBe(false);
  });
});

describe('findStaleRunners', () => {
  it('reads every page of the stale list and keeps those older than the cutoff, by id', async () => {
    const old = Array.from({ length: 105 }, () => {
      const r = gitlab().addRunner();
      r.contactedAt = ago(200 * DAY);
      return r;
    });
    const young = gitlab().addRunner();
    young.contactedAt = ago(20 * DAY);
    const api = createGitlabClient({ url: gitlab().url, token: gitlab().admin.token });
    const { runners, scope } = await findStaleRunners(api, Date.now() - 90 * DAY);
    expect(scope).toBe('all');
    expect(runners.map((r) => r.id)).toEqual(old.map((r) => r.id));
    expect(gitlab().findRequests('GET /runners/all').length).toBeGreaterThanOrEqual(2);
  });

  it('lists only the runners a group Owner manages, since GitLab refuses them /runners/all', async () => {
    const mine = gitlab().addRunner({ runnerType: 'group_type', groupId: 61 });
    mine.contactedAt = ago(200 * DAY);
    const owner = gitlab().createUserToken({ scopes: ['read_api'], ownedGroups: [61] });
    const { runners, scope } = await findStaleRunners(createGitlabClient({ url: gitlab().url, token: owner.token }), Date.now() - 90 * DAY);
    expect(scope).toBe('owned');
    expect(runners.map((r) => r.id)).toEqual([mine.id]);
  });
});
