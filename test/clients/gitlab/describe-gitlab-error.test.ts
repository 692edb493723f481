import { describe, expect, it } from 'vitest';
import { classifyGitlabError, parseRetryAfter, toGitlabJobError } from '../../../src/clients/gitlab/describe-gitlab-error.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { PermanentJobError, TransientJobError } from '../../../src/errors.js';
import { startFakeGitlab } from '../../fakes/gitlab/start-fake-gitlab.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

const verify = (token: string) => createGitlabClient({ url: gitlab().url }).requester.post('runners/verify', { body: { token } });

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('60')).toBe(60);
    expect(parseRetryAfter(new Date(1_000_000 + 30_000).toUTCString(), 1_000_000)).toBe(30);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('classifyGitlabError', () => {
  it('sorts 403, 429 with Retry-After, 5xx and a refused connection', async () => {
    const runner = gitlab().addRunner();
    expect(classifyGitlabError(await errorOf(verify('glrt-unknown-token-xyz')))).toMatchObject({ kind: 'forbidden', status: 403 });
    gitlab().inject('POST /runners/verify', { status: 429, retryAfter: 60 });
    expect(classifyGitlabError(await errorOf(verify(runner.token)))).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterSeconds: 60 });
    gitlab().inject('POST /runners/verify', { status: 503 });
    expect(classifyGitlabError(await errorOf(verify(runner.token)))).toMatchObject({ kind: 'server', status: 503 });
    const closed = await startFakeGitlab();
    await closed.close();
    const refused = await errorOf(createGitlabClient({ url: closed.url }).requester.get('runners/1'));
    expect(classifyGitlabError(refused)).toEqual({ kind: 'network', detail: 'ECONNREFUSED' });
  });

  it('tells a missing scope from a plain denial', async () => {
    const reader = gitlab().createUserToken({ scopes: ['read_api'], admin: true });
    const err = await errorOf(createGitlabClient({ url: gitlab().url, token: reader.token }).Users.createCIRunner('instance_type'));
    expect(classifyGitlabError(err).kind).toBe('insufficient-scope');
  });
});

describe('toGitlabJobError', () => {
  it('says a runner token is dead and how to re-register, as a permanent error', async () => {
    const err = toGitlabJobError(await errorOf(verify('glrt-unknown-token-xyz')), { action: 'verify runner #7', runnerToken: { runnerId: 7, host: 'ci-3' } });
    expect(err).toBeInstanceOf(PermanentJobError);
    expect(err.message).toBe(
      'verify runner #7 failed: the token of runner #7 is no longer valid (403: 403 Forbidden): re-register the runner with /runner register ci-3 --type ... and remove its old entry',
    );
  });

  it('makes 429 and 5xx transient with the wait GitLab asked for', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { status: 429, retryAfter: 60 });
    const limited = toGitlabJobError(await errorOf(verify(runner.token)), { action: 'verify runner' });
    expect(limited).toBeInstanceOf(TransientJobError);
    expect(limited.message).toBe('verify runner failed: GitLab is rate limiting (429); it asks to wait 60 s; retrying later');
    gitlab().inject('POST /runners/verify', { status: 500 });
    expect(toGitlabJobError(await errorOf(verify(runner.token)), { action: 'verify runner' }).message).toBe(
      'verify runner failed: GitLab answered 500 (500 Internal Server Error); retrying later',
    );
  });

  it('explains a refused GITLAB_TOKEN (401)', async () => {
    const err = await errorOf(createGitlabClient({ url: gitlab().url, token: 'glpat-revoked-or-never-existed' }).Runners.show(1));
    expect(toGitlabJobError(err, { action: 'pause runner #1', userToken: true }).message).toBe(
      'pause runner #1 failed: GitLab does not accept GITLAB_TOKEN (401); check that it exists, is not revoked and has not expired',
    );
  });

  it('never repeats a token that GitLab echoed in its message', () => {
    const err = new Error('bad glrt-abcdefghijklmnopqrstu here');
    expect(toGitlabJobError(err, { action: 'x' }).message).toBe('x failed: bad glrt-[REDACTED] here');
  });
});
