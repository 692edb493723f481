import { describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { listGitlabRunners } from '../../../src/clients/gitlab/list-runners.js';
import { findStaleRunners } from '../../../src/clients/gitlab/stale-runners.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';
import { until } from '../../helpers/until.js';

const gitlab = useFakeGitlab();
const DAY = 86400_000;

/** Deletes a runner while GitLab is still answering the read of its details (held by a delay). */
async function deleteWhileItsDetailsAreRead(id: number): Promise<void> {
  await until(
    async () =>
      gitlab()
        .findRequests('GET /runners/:id')
        .some((r) => r.url.endsWith(`/runners/${id}`)),
    10_000,
    `the read of runner #${id}`,
  );
  const res = await fetch(`${gitlab().url}/api/v4/runners/${id}`, { method: 'DELETE', headers: { 'private-token': gitlab().admin.token } });
  expect(res.status).toBe(204);
}

describe('listGitlabRunners', () => {
  it('leaves out a runner deleted between the list and the read of its details', async () => {
    const kept = gitlab().addRunner({ description: 'kept' });
    const gone = gitlab().addRunner({ description: 'deleted meanwhile' });
    gitlab().clearFaults();
    gitlab().inject('GET /runners/:id', { delayMs: 1500, times: 1 });
    const api = createGitlabClient({ url: gitlab().url, token: gitlab().admin.token });
    const listing = listGitlabRunners(api);
    const first = await (async () => {
      await until(async () => gitlab().findRequests('GET /runners/:id').length > 0, 10_000, 'the first read of details');
      return Number(gitlab().findRequests('GET /runners/:id')[0]?.url.split('/').pop());
    })();
    expect([kept.id, gone.id]).toContain(first);
    const deleted = first === gone.id ? gone : kept;
    await deleteWhileItsDetailsAreRead(deleted.id);
    const { runners } = await listing;
    expect(runners.map((r) => r.id)).not.toContain(deleted.id);
    expect(runners.map((r) => r.id)).toContain((deleted === gone ? kept : gone).id);
  });
});

describe('findStaleRunners', () => {
  it('leaves out a stale runner deleted between the list and the read of its details', async () => {
    const a = gitlab().addRunner({ description: 'stale a' });
    const b = gitlab().addRunner({ description: 'stale b' });
    for (const r of [a, b]) r.contactedAt = new Date(Date.now() - 200 * DAY).toISOString();
    gitlab().clearFaults();
    const before = gitlab().findRequests('GET /runners/:id').length;
    gitlab().inject('GET /runners/:id', { delayMs: 1500, times: 1 });
    const api = createGitlabClient({ url: gitlab().url, token: gitlab().admin.token });
    const finding = findStaleRunners(api, Date.now() - 90 * DAY);
    await until(async () => gitlab().findRequests('GET /runners/:id').length > before, 10_000, 'the first read of details');
    const held = Number(gitlab().findRequests('GET /runners/:id')[before]?.url.split('/').pop());
    const res = await fetch(`${gitlab().url}/api/v4/runners/${held}`, { method: 'DELETE', headers: { 'private-token': gitlab().admin.token } });
    expect(res.status).toBe(204);
    const { runners } = await finding;
    expect(runners.map((r) => r.id)).not.toContain(held);
    expect(runners.map((r) => r.id)).toContain(held === a.id ? b.id : a.id);
  });
});
