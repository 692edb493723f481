import { describe, expect, it } from 'vitest';
import { retryIdempotent } from '../../../src/clients/gitlab/retry-idempotent.js';
import { createGitlabClient } from '../../../src/clients/gitlab/create-gitlab-client.js';
import { useFakeGitlab } from '../../helpers/use-fake-gitlab.js';

const gitlab = useFakeGitlab();

function verifier(token: string) {
  const api = createGitlabClient({ url: gitlab().url });
  return () => api.requester.post('runners/verify', { body: { token } });
}

describe('retryIdempotent', () => {
  it('waits what Retry-After says and then succeeds', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { status: 429, retryAfter: 7 });
    const waits: number[] = [];
    const response = await retryIdempotent(verifier(runner.token), { sleep: async (ms) => void waits.push(ms) });
    expect(response.status).toBe(200);
    expect(waits).toEqual([7000]);
  });

  it('backs off exponentially on 5xx and gives up after the attempts', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { status: 502, times: 3 });
    const waits: number[] = [];
    await expect(retryIdempotent(verifier(runner.token), { attempts: 3, baseDelayMs: 100, sleep: async (ms) => void waits.push(ms) })).rejects.toThrow();
    expect(waits).toEqual([100, 200]);
  });

  it('leaves a wait longer than maxDelayMs to the queue', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { status: 429, retryAfter: 60 });
    const waits: number[] = [];
    await expect(retryIdempotent(verifier(runner.token), { maxDelayMs: 30_000, sleep: async (ms) => void waits.push(ms) })).rejects.toThrow();
    expect(waits).toEqual([]);
  });

  it('does not retry a 403', async () => {
    const before = gitlab().requestCount('POST /runners/verify');
    await expect(retryIdempotent(verifier('glrt-dead-token-000000'), { sleep: async () => undefined })).rejects.toThrow();
    expect(gitlab().requestCount('POST /runners/verify')).toBe(before + 1);
  });

  it('retries a dropped connection', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { drop: true });
    const response = await retryIdempotent(verifier(runner.token), { sleep: async () => undefined });
    expect(response.status).toBe(200);
  });

  it('stops waiting when aborted', async () => {
    const runner = gitlab().addRunner();
    gitlab().inject('POST /runners/verify', { status: 503 });
    const controller = new AbortController();
    const started = Date.now();
    const pending = retryIdempotent(verifier(runner.token), {
      baseDelayMs: 10_000,
      signal: controller.signal,
      onRetry: () => setTimeout(() => controller.abort(new Error('stopped')), 10),
    });
    await expect(pending).rejects.toThrow('stopped');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
