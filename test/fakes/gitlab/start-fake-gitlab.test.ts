import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gitlab } from '@gitbeaker/rest';
import { startFakeGitlab, type FakeGitlab } from './start-fake-gitlab.js';
import { paginate } from './paginate.js';

let fake: FakeGitlab;
beforeAll(async () => {
  fake = await startFakeGitlab();
});
afterAll(async () => {
  await fake.close();
});

async function call(method: string, path: string, init: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init.token) headers['private-token'] = init.token;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${fake.url}/api/v4${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, body: type.includes('json') ? (JSON.parse(text) as unknown) : text, headers: res.headers };
}

describe('startFakeGitlab', () => {
  it('creates a runner through gitbeaker and answers with a random glrt- token', async () => {
    const user = fake.createUserToken({ scopes: ['create_runner'], admin: true });
    const api = new Gitlab({ host: fake.url, token: user.token });
    const created = (await api.Users.createCIRunner('instance_type', { description: 'ci-1 nix', tagList: ['nix'] })) as unknown as {
      id: number;
      token: string;
      token_expires_at: string | null;
    };
    expect(created.token).toMatch(/^glrt-[A-Za-z0-9_-]{20}$/);
    expect(fake.runner(created.id)?.description).toBe('ci-1 nix');
    expect(fake.runner(created.id)?.tagList).toEqual(['nix']);
  });

  it('refuses a missing token with 401 and a token without the scope with 403 insufficient_scope', async () => {
    expect((await call('POST', '/user/runners', { body: { runner_type: 'instance_type' } })).status).toBe(401);
    const reader = fake.createUserToken({ scopes: ['read_api'], admin: true });
    const res = await call('POST', '/user/runners', { token: reader.token, body: { runner_type: 'instance_type' } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'insufficient_scope' });
  });

  it('answers 400 for a group runner without group_id and 403 for a group the user does not own', async () => {
    const user = fake.createUserToken({ scopes: ['api'], ownedGroups: [12] });
    fake.state.groups.add(13);
    expect((await call('POST', '/user/runners', { token: user.token, body: { runner_type: 'group_type' } })).body).toEqual({ error: 'group_id is missing' });
    expect((await call('POST', '/user/runners', { token: user.token, body: { runner_type: 'group_type', group_id: 13 } })).status).toBe(403);
    expect((await call('POST', '/user/runners', { token: user.token, body: { runner_type: 'group_type', group_id: 12 } })).status).toBe(201);
    expect((await call('POST', '/user/runners', { token: user.token, body: { runner_type: 'instance_type' } })).status).toBe(403);
  });

  it('records the system_id of a verify as a runner manager and refuses an unknown token', async () => {
    const runner = fake.addRunner();
    const ok = await call('POST', '/runners/verify', { body: { token: runner.token, system_id: 's_0123456789ab' } });
    expect(ok.status).toBe(200);
    expect(fake.managers(runner.id).map((m) => m.systemId)).toEqual(['s_0123456789ab']);
    expect((await call('POST', '/runners/verify', { body: { token: `${runner.token}x` } })).status).toBe(403);
  });

  it('kills the old token at once on reset and gives the new expiry when tokens expire', async () => {
    fake.setTokenExpirationInterval(7200);
    const runner = fake.addRunner();
    const old = runner.token;
    const res = await call('POST', '/runners/reset_authentication_token', { body: { token: old } });
    fake.setTokenExpirationInterval(null);
    const body = res.body as { token: string; token_expires_at: string };
    expect(body.token).not.toBe(old);
    expect(Date.parse(body.token_expires_at)).toBeGreaterThan(Date.now() + 7000_000);
    expect((await call('POST', '/runners/verify', { body: { token: old } })).status).toBe(403);
    expect((await call('POST', '/runners/verify', { body: { token: body.token } })).status).toBe(200);
  });

  it('treats an expired token as invalid', async () => {
    const runner = fake.addRunner();
    fake.setTokenExpiry(runner.id, new Date(Date.now() - 1000));
    expect((await call('POST', '/runners/verify', { body: { token: runner.token } })).status).toBe(403);
  });

  it('needs at least one attribute on PUT and pauses a runner through gitbeaker', async () => {
    const admin = fake.createUserToken({ scopes: ['manage_runner'], admin: true });
    const runner = fake.addRunner();
    expect((await call('PUT', `/runners/${runner.id}`, { token: admin.token, body: {} })).status).toBe(400);
    const api = new Gitlab({ host: fake.url, token: admin.token });
    await api.Runners.edit(runner.id, { paused: true });
    expect(fake.runner(runner.id)?.paused).toBe(true);
  });

  it('answers 403 No access granted to a non-owner and 404 for an unknown runner', async () => {
    const stranger = fake.createUserToken({ scopes: ['api'] });
    const runner = fake.addRunner();
    expect((await call('GET', `/runners/${runner.id}`, { token: stranger.token })).body).toEqual({ message: '403 Forbidden - No access granted' });
    expect((await call('GET', '/runners/999999', { token: stranger.token })).status).toBe(404);
  });

  it('pages running jobs so gitbeaker collects all of them', async () => {
    const admin = fake.createUserToken({ scopes: ['manage_runner'], admin: true });
    const runner = fake.addRunner();
    fake.setJobs(runner.id, [...Array.from({ length: 45 }, () => ({ status: 'running' as const })), { status: 'success' }]);
    const api = new Gitlab({ host: fake.url, token: admin.token });
    const jobs = await api.Runners.allJobs(runner.id, { status: 'running', perPage: 20 });
    expect(jobs).toHaveLength(45);
    const page = await call('GET', `/runners/${runner.id}/jobs?status=running&per_page=20&page=3`, { token: admin.token });
    expect(page.headers.get('x-total')).toBe('45');
    expect((page.body as unknown[]).length).toBe(5);
  });

  it('deletes a runner by its token and by id', async () => {
    const admin = fake.createUserToken({ scopes: ['api'], admin: true });
    const a = fake.addRunner();
    const b = fake.addRunner();
    expect((await call('DELETE', '/runners', { body: { token: a.token } })).status).toBe(204);
    expect((await call('DELETE', `/runners/${b.id}`, { token: admin.token })).status).toBe(204);
    expect(fake.runner(a.id)).toBeUndefined();
    expect(fake.runner(b.id)).toBeUndefined();
  });

  it('injects 429 with Retry-After, a 5xx after handling, and a dropped connection', async () => {
    const runner = fake.addRunner();
    fake.inject('POST /runners/verify', { status: 429, retryAfter: 3 });
    const limited = await call('POST', '/runners/verify', { body: { token: runner.token } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    const old = runner.token;
    fake.inject('POST /runners/reset_authentication_token', { status: 502, afterHandling: true });
    expect((await call('POST', '/runners/reset_authentication_token', { body: { token: old } })).status).toBe(502);
    expect(fake.runner(runner.id)?.token).not.toBe(old);
    fake.inject('POST /runners/verify', { drop: true });
    await expect(call('POST', '/runners/verify', { body: { token: runner.token } })).rejects.toThrow();
    expect((await call('POST', '/runners/verify', { body: { token: runner.token } })).status).toBe(200);
  });

  it('answers 410 on legacy registration while registration tokens are disabled', async () => {
    expect((await call('POST', '/runners', { body: { token: 'anything' } })).status).toBe(410);
  });

  it('logs every request so a test can search it for a token', async () => {
    const runner = fake.addRunner();
    await call('POST', '/runners/verify', { body: { token: runner.token } });
    expect(fake.logContains(runner.token)).toBe(true);
    expect(fake.findRequests('POST /runners/verify').at(-1)?.params.token).toBe(runner.token);
  });

  it('lets a project Maintainer create a project runner, a Developer not, and answers 400 for an unknown project', async () => {
    const maintainer = fake.createUserToken({ scopes: ['create_runner'], projects: { 501: 'maintainer' } });
    const developer = fake.createUserToken({ scopes: ['create_runner'], projects: { 501: 'developer' } });
    expect((await call('POST', '/user/runners', { token: maintainer.token, body: { runner_type: 'project_type', project_id: 501 } })).status).toBe(201);
    expect((await call('POST', '/user/runners', { token: developer.token, body: { runner_type: 'project_type', project_id: 501 } })).status).toBe(403);
    expect((await call('POST', '/user/runners', { token: maintainer.token, body: { runner_type: 'project_type', project_id: 999_001 } })).body).toEqual({
      message: '400 Bad request - Missing/invalid project',
    });
  });

  it('gives a group Maintainer no group runner: only the Owner creates and manages them', async () => {
    const owner = fake.createUserToken({ scopes: ['api'], groups: { 601: 'owner' } });
    const maintainer = fake.createUserToken({ scopes: ['api'], groups: { 601: 'maintainer' } });
    expect((await call('POST', '/user/runners', { token: maintainer.token, body: { runner_type: 'group_type', group_id: 601 } })).status).toBe(403);
    const created = await call('POST', '/user/runners', { token: owner.token, body: { runner_type: 'group_type', group_id: 601 } });
    const id = (created.body as { id: number }).id;
    expect((await call('PUT', `/runners/${id}`, { token: maintainer.token, body: { paused: true } })).status).toBe(403);
    expect((await call('PUT', `/runners/${id}`, { token: owner.token, body: { paused: true } })).status).toBe(200);
  });

  it('refuses GET /runners/all to a group Owner and to an admin token that only has manage_runner', async () => {
    const owner = fake.createUserToken({ scopes: ['api'], groups: { 602: 'owner' } });
    expect((await call('GET', '/runners/all', { token: owner.token })).body).toEqual({ message: '403 Forbidden' });
    const admin = fake.createUserToken({ scopes: ['create_runner', 'manage_runner'], admin: true });
    expect((await call('GET', '/runners/all', { token: admin.token })).body).toMatchObject({ error: 'insufficient_scope' });
    expect((await call('GET', '/runners/all', { token: fake.admin.token })).status).toBe(200);
  });

  it('lists a group Owner their group runners through GET /groups/:id/runners and GET /runners, never instance runners in the latter', async () => {
    const owner = fake.createUserToken({ scopes: ['read_api'], groups: { 603: 'owner' } });
    const mine = fake.addRunner({ runnerType: 'group_type', groupId: 603 });
    const shared = fake.addRunner({ runnerType: 'instance_type' });
    const group = await call('GET', '/groups/603/runners?type=group_type&per_page=100', { token: owner.token });
    expect((group.body as Array<{ id: number }>).map((r) => r.id)).toEqual([mine.id]);
    const withShared = await call('GET', '/groups/603/runners?per_page=100', { token: owner.token });
    expect((withShared.body as Array<{ id: number }>).map((r) => r.id)).toContain(shared.id);
    const own = await call('GET', '/runners?per_page=100', { token: owner.token });
    expect((own.body as Array<{ id: number }>).map((r) => r.id)).toEqual([mine.id]);
    expect((await call('GET', '/groups/603/runners', { token: fake.createUserToken({ scopes: ['api'] }).token })).status).toBe(404);
  });

  it("lists a project Maintainer the project runners through GET /projects/:id/runners, with the parent group's", async () => {
    fake.addProject(701, 604);
    const maintainer = fake.createUserToken({ scopes: ['api'], projects: { 701: 'maintainer' } });
    const project = fake.addRunner({ runnerType: 'project_type', projectId: 701 });
    const group = fake.addRunner({ runnerType: 'group_type', groupId: 604 });
    const res = await call('GET', '/projects/701/runners?type=project_type', { token: maintainer.token });
    expect((res.body as Array<{ id: number }>).map((r) => r.id)).toEqual([project.id]);
    const all = await call('GET', '/projects/701/runners?per_page=100', { token: maintainer.token });
    expect((all.body as Array<{ id: number }>).map((r) => r.id)).toEqual(expect.arrayContaining([project.id, group.id]));
    const reporter = fake.createUserToken({ scopes: ['api'], projects: { 701: 'reporter' } });
    expect((await call('GET', '/projects/701/runners', { token: reporter.token })).status).toBe(403);
  });

  it('pages runner lists by ascending id with at most 100 per page and next-page headers', async () => {
    const owner = fake.createUserToken({ scopes: ['api'], groups: { 605: 'owner' } });
    const ids = Array.from({ length: 103 }, () => fake.addRunner({ runnerType: 'group_type', groupId: 605 }).id);
    const first = await call('GET', '/groups/605/runners?type=group_type&per_page=500', { token: owner.token });
    expect((first.body as unknown[]).length).toBe(100);
    expect(first.headers.get('x-next-page')).toBe('2');
    expect(first.headers.get('link')).toContain('rel="next"');
    const second = await call('GET', '/groups/605/runners?type=group_type&per_page=100&page=2', { token: owner.token });
    expect((second.body as Array<{ id: number }>).map((r) => r.id)).toEqual(ids.slice(100));
    expect(second.headers.get('x-next-page')).toBe('');
  });

  it('refuses to make a manage_runner token on 16.x, where the scope does not exist', async () => {
    const old = await startFakeGitlab({ version: '16.11' });
    try {
      expect(() => old.createUserToken({ scopes: ['manage_runner'], admin: true })).toThrow(/GitLab 16.11 has no manage_runner scope/);
      expect(old.createUserToken({ scopes: ['create_runner'], admin: true }).scopes).toEqual(['create_runner']);
    } finally {
      await old.close();
    }
  });

  it("lists one host's jobs with system_id, counts canceling ones and hides jobs of projects the user cannot read", async () => {
    fake.addProject(801, 606);
    fake.addProject(802);
    const owner = fake.createUserToken({ scopes: ['api'], groups: { 606: 'owner' } });
    const runner = fake.addRunner({ runnerType: 'group_type', groupId: 606 });
    fake.setJobs(runner.id, [
      { status: 'running', projectId: 801, systemId: 's_aaaaaaaaaaaa' },
      { status: 'canceling', projectId: 801, systemId: 's_aaaaaaaaaaaa' },
      { status: 'running', projectId: 801, systemId: 's_bbbbbbbbbbbb' },
      { status: 'running', projectId: 802, systemId: 's_aaaaaaaaaaaa' },
    ]);
    const mine = await call('GET', `/runners/${runner.id}/jobs?status=running&system_id=s_aaaaaaaaaaaa`, { token: owner.token });
    expect((mine.body as unknown[]).length).toBe(1);
    const canceling = await call('GET', `/runners/${runner.id}/jobs?status=canceling`, { token: owner.token });
    expect((canceling.body as unknown[]).length).toBe(1);
    const asAdmin = await call('GET', `/runners/${runner.id}/jobs?status=running&system_id=s_aaaaaaaaaaaa`, { token: fake.admin.token });
    expect((asAdmin.body as unknown[]).length).toBe(2);
  });

  it("records a version for a manager only from a request that carried info, as gitlab-runner's job requests do", async () => {
    const runner = fake.addRunner();
    await call('POST', '/runners/verify', { body: { token: runner.token, system_id: 's_cccccccccccc' } });
    const managers = await call('GET', `/runners/${runner.id}/managers`, { token: fake.admin.token });
    expect(managers.body).toMatchObject([{ system_id: 's_cccccccccccc', version: null }]);
    const polled = await call('POST', '/jobs/request', {
      body: { token: runner.token, system_id: 's_cccccccccccc', info: { name: 'gitlab-runner', version: '17.5.0' } },
    });
    expect(polled.status).toBe(204);
    expect(fake.managers(runner.id)).toMatchObject([{ systemId: 's_cccccccccccc', version: '17.5.0' }]);
  });

  it('revives a runner whose own token expired through the reset by id with a user token', async () => {
    const runner = fake.addRunner();
    fake.setTokenExpiry(runner.id, new Date(Date.now() - 1000));
    expect((await call('POST', '/runners/reset_authentication_token', { body: { token: runner.token } })).status).toBe(403);
    const revived = await call('POST', `/runners/${runner.id}/reset_authentication_token`, { token: fake.admin.token });
    expect(revived.status).toBe(201);
    expect((await call('POST', '/runners/verify', { body: { token: (revived.body as { token: string }).token } })).status).toBe(200);
  });
});

describe('GET /user', () => {
  it("shows is_admin to admins only, as GitLab's entities do", async () => {
    expect((await call('GET', '/user', { token: fake.admin.token })).body).toMatchObject({ is_admin: true });
    const owner = fake.createUserToken({ scopes: ['read_api'], groups: { 990: 'owner' } });
    expect((await call('GET', '/user', { token: owner.token })).body).not.toHaveProperty('is_admin');
    const runnerOnly = fake.createUserToken({ scopes: ['manage_runner'], admin: true });
    expect((await call('GET', '/user', { token: runnerOnly.token })).body).toMatchObject({ error: 'insufficient_scope' });
  });
});

describe('paginate', () => {
  it('keeps the other params in the link header and leaves tokens out', () => {
    const { headers } = paginate([1, 2, 3], { status: 'running', token: 'glrt-secret', per_page: '2' }, 'http://x/api/v4/runners/1/jobs');
    expect(headers.link).toContain('status=running');
    expect(headers.link).not.toContain('glrt-secret');
  });
});

describe('runner statuses, list filters and runner changes', () => {
  const DAY = 86400_000;
  const contacted = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

  it('lists runners/all by status (online, offline, stale, never_contacted) on every page, for admins only', async () => {
    const local = await startFakeGitlab({ version: '17.5' });
    try {
      const online = local.addRunner({ description: 'online' });
      online.contactedAt = contacted(60_000);
      const offline = local.addRunner({ description: 'offline' });
      offline.contactedAt = contacted(3 * DAY);
      const stale = local.addRunner({ description: 'stale', paused: true });
      stale.contactedAt = contacted(100 * DAY);
      const never = local.addRunner({ description: 'never' });
      const neverOld = local.addRunner({ description: 'never, created long ago' });
      neverOld.createdAt = contacted(30 * DAY);
      const get = async (query: string, token = local.admin.token) => {
        const res = await fetch(`${local.url}/api/v4/runners/all?${query}`, { headers: { 'private-token': token } });
        return { status: res.status, body: (await res.json()) as Array<{ id: number; status: string }>, next: res.headers.get('x-next-page') };
      };
      expect((await get('status=online')).body.map((r) => r.id)).toEqual([online.id]);
      expect((await get('status=offline')).body.map((r) => r.id)).toEqual([offline.id]);
      expect((await get('status=stale')).body.map((r) => r.id)).toEqual([stale.id, neverOld.id]);
      expect((await get('status=never_contacted')).body.map((r) => r.id)).toEqual([never.id]);
      expect((await get('status=stale')).body[0]?.status).toBe('stale');
      expect((await get('paused=true')).body.map((r) => r.id)).toEqual([stale.id]);
      const first = await get('per_page=2');
      expect(first.body).toHaveLength(2);
      expect(first.next).toBe('2');
      expect((await get('status=sleeping')).body).toEqual({ error: 'status does not have a valid value' });
      const owner = local.createUserToken({ scopes: ['api'], ownedGroups: [5] });
      expect((await get('status=stale', owner.token)).status).toBe(403);
    } finally {
      await local.close();
    }
  });

  it('answered status "paused" for a paused runner before 16.0 only', async () => {
    const old = await startFakeGitlab({ version: '15.11' });
    try {
      const runner = old.addRunner({ paused: true });
      const res = await fetch(`${old.url}/api/v4/runners/${runner.id}`, { headers: { 'private-token': old.admin.token } });
      expect(((await res.json()) as { status: string }).status).toBe('paused');
    } finally {
      await old.close();
    }
    const runner = fake.addRunner({ paused: true });
    expect(((await call('GET', `/runners/${runner.id}`, { token: fake.admin.token })).body as { status: string }).status).toBe('never_contacted');
  });

  it('pauses a runner with a maintenance note, and refuses a user who may not manage it or a runner that is gone', async () => {
    const runner = fake.addRunner({ runnerType: 'group_type', groupId: 77 });
    const res = await call('PUT', `/runners/${runner.id}`, { token: fake.admin.token, body: { paused: true, maintenance_note: 'disk swap' } });
    expect(res.body).toMatchObject({ paused: true, maintenance_note: 'disk swap' });
    const stranger = fake.createUserToken({ scopes: ['api'], ownedGroups: [78] });
    expect(await call('PUT', `/runners/${runner.id}`, { token: stranger.token, body: { paused: false } })).toMatchObject({
      status: 403,
      body: { message: '403 Forbidden - No access granted' },
    });
    expect(await call('DELETE', `/runners/${runner.id}`, { token: stranger.token })).toMatchObject({ status: 403 });
    expect((await call('DELETE', `/runners/${runner.id}`, { token: fake.admin.token })).status).toBe(204);
    expect(await call('DELETE', `/runners/${runner.id}`, { token: fake.admin.token })).toMatchObject({
      status: 404,
      body: { message: '404 Runner Not Found' },
    });
    expect(await call('PUT', `/runners/${runner.id}`, { token: fake.admin.token, body: { paused: true } })).toMatchObject({ status: 404 });
  });
});
