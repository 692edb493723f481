import { describe, expect, it } from 'vitest';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { deleteRunnerByToken, resetRunnerToken, verifyRunnerToken } from '../../../src/clients/gitlab/runner-token-api.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

describe('verifyRunnerToken', () => {
  it('returns the id and expiry but not the token, and records the system id', async () => {
    const runner = gitlab().addRunner();
    const verified = await verifyRunnerToken(createGitlabClient({ url: gitlab().url }), runner.token, 's_abcdef012345');
    expect(verified).toEqual({ id: runner.id, tokenExpiresAt: null });
    expect(gitlab().findRequests('POST /runners/verify').at(-1)!.params).toEqual({ token: runner.token, system_id: 's_abcdef012345' });
    expect(
      gitlab()
        .managers(runner.id)
        .map((m) => m.systemId),
    ).toEqual(['s_abcdef012345']);
  });

  it("sends what gitlab-runner's own verify sends and no info, so GitLab shows no version for a manager gitlab-runner never ran", async () => {
    const runner = gitlab().addRunner();
    await verifyRunnerToken(createGitlabClient({ url: gitlab().url }), runner.token, 's_abcdef000000');
    expect(Object.keys(gitlab().findRequests('POST /runners/verify').at(-1)!.params).sort()).toEqual(['system_id', 'token']);
    expect(gitlab().managers(runner.id)).toMatchObject([{ systemId: 's_abcdef000000', version: null }]);
  });

  it('retries a 503 for an idempotent verify', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { status: 503 });
    await expect(
      verifyRunnerToken(createGitlabClient({ url: gitlab().url }), runner.token, 's_abcdef012345', { sleep: async () => undefined }),
    ).resolves.toMatchObject({ id: runner.id });
  });
});

describe('resetRunnerToken', () => {
  it('returns the new token and its expiry', async () => {
    gitlab().setTokenExpirationInterval(7200);
    const runner = gitlab().addRunner();
    const old = runner.token;
    const reset = await resetRunnerToken(createGitlabClient({ url: gitlab().url }), old);
    gitlab().setTokenExpirationInterval(null);
    expect(reset).toEqual({ token: gitlab().runner(runner.id)!.token, tokenExpiresAt: gitlab().runner(runner.id)!.tokenExpiresAt });
    expect(reset.token).not.toBe(old);
  });

  it('sends a reset once, even when GitLab answers 502', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/reset_authentication_token', { status: 502 });
    const before = gitlab().requestCount('POST /runners/reset_authentication_token');
    await expect(resetRunnerToken(createGitlabClient({ url: gitlab().url }), runner.token)).rejects.toThrow();
    expect(gitlab().requestCount('POST /runners/reset_authentication_token')).toBe(before + 1);
  });
});

describe('deleteRunnerByToken', () => {
  it('deletes the runner its token belongs to', async () => {
    const runner = gitlab().addRunner();
    await deleteRunnerByToken(createGitlabClient({ url: gitlab().url }), runner.token);
    expect(gitlab().runner(runner.id)).toBeUndefined();
  });
});
