import { describe, expect, it } from 'vitest';
import { GitbeakerRequestError } from '@gitbeaker/rest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

describe('createGitlabClient', () => {
  it('sends the user token as PRIVATE-TOKEN and decamelized JSON bodies', async () => {
    const user = gitlab().createUserToken({ scopes: ['create_runner'], admin: true });
    const api = createGitlabClient({ url: `${gitlab().url}/`, token: user.token });
    await api.Users.createCIRunner('instance_type', { tagList: ['nix', 'docker'], runUntagged: false });
    const request = gitlab().findRequests('POST /user/runners').at(-1)!;
    expect(request.headers['private-token']).toBe(user.token);
    expect(JSON.parse(request.rawBody)).toEqual({ tag_list: ['nix', 'docker'], run_untagged: false, runner_type: 'instance_type' });
  });

  it('makes exactly one request when GitLab answers 429 or 502 (no hidden retry)', async () => {
    const runner = gitlab().addRunner();
    const api = createGitlabClient({ url: gitlab().url });
    gitlab().inject('POST /runners/reset_authentication_token', { status: 502 });
    const before = gitlab().requestCount('POST /runners/reset_authentication_token');
    const err = await api.requester.post('runners/reset_authentication_token', { body: { token: runner.token } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitbeakerRequestError);
    expect((err as GitbeakerRequestError).cause?.response?.status).toBe(502);
    expect(gitlab().requestCount('POST /runners/reset_authentication_token')).toBe(before + 1);
  });

  it("keeps GitLab's message as the error description and not the request body", async () => {
    const api = createGitlabClient({ url: gitlab().url });
    const err = (await api.requester.post('runners/verify', { body: { token: 'glrt-not-a-real-one-123' } }).catch((e: unknown) => e)) as GitbeakerRequestError;
    expect(err.cause?.description).toBe('403 Forbidden');
    expect(JSON.stringify(err)).not.toContain('glrt-not-a-real-one-123');
  });

  it('gives up on a request after the timeout', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { delayMs: 500 });
    const api = createGitlabClient({ url: gitlab().url, timeoutMs: 100 });
    await expect(api.requester.post('runners/verify', { body: { token: runner.token } })).rejects.toThrow(/timeout|aborted/i);
  });

  it('reads every page of a list', async () => {
    const admin = gitlab().createUserToken({ scopes: ['manage_runner'], admin: true });
    const runner = gitlab().addRunner();
    gitlab().setRunningJobs(runner.id, 130);
    const jobs = await createGitlabClient({ url: gitlab().url, token: admin.token }).Runners.allJobs(runner.id, { status: 'running', perPage: 100 });
    expect(jobs).toHaveLength(130);
  });
});
