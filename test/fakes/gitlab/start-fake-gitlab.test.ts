import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gitlab } from '@gitbeaker/rest';
import { startFakeGitlab, type FakeGitlab } from './start-fake-gitlab.js';

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
});
