import type { GitlabApi } from './create-gitlab-client.js';
import { retryIdempotent, type RetryOptions } from './retry-idempotent.js';

/**
 * The endpoints a runner authenticates with its own token (lib/api/ci/runner.rb). gitbeaker does not
 * wrap reset-by-token, so all go through `api.requester` with the token in the body. Results never
 * carry the token back (except the new one from a reset).
 */

export interface VerifiedRunner {
  id: number;
  /** RFC 3339, or null when the token does not expire. */
  tokenExpiresAt: string | null;
}

export interface ResetToken {
  token: string;
  /** RFC 3339, or null when the token does not expire (GitLab leaves the field out then). */
  tokenExpiresAt: string | null;
}

function expiryOf(body: Record<string, unknown>): string | null {
  const value = body.token_expires_at ?? body.tokenExpiresAt;
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * `POST /runners/verify` with the host's system id (GitLab records it as a runner manager). Idempotent,
 * so retried within `retry`'s bounds; a 403 (dead token) is thrown at once.
 */
export async function verifyRunnerToken(api: GitlabApi, token: string, systemId: string, retry: RetryOptions = {}): Promise<VerifiedRunner> {
  const response = await retryIdempotent(() => api.requester.post('runners/verify', { body: { token, systemId }, signal: retry.signal }), retry);
  const body = (response.body ?? {}) as Record<string, unknown>;
  return { id: Number(body.id), tokenExpiresAt: expiryOf(body) };
}

/**
 * `POST /runners/reset_authentication_token`: ONE request, never retried here. The old token is dead
 * as soon as GitLab handled it, so a caller that saw no answer must check the old token (verify)
 * before trying again.
 */
export async function resetRunnerToken(api: GitlabApi, token: string, signal?: AbortSignal): Promise<ResetToken> {
  const response = await api.requester.post('runners/reset_authentication_token', { body: { token }, signal });
  const body = (response.body ?? {}) as Record<string, unknown>;
  if (typeof body.token !== 'string' || body.token === '') throw new Error('GitLab answered the token reset without a token');
  return { token: body.token, tokenExpiresAt: expiryOf(body) };
}

/** `DELETE /runners` by the runner's own token (deletes the runner and all its managers). */
export async function deleteRunnerByToken(api: GitlabApi, token: string, retry: RetryOptions = {}): Promise<void> {
  await retryIdempotent(() => api.requester.delete('runners', { body: { token }, signal: retry.signal }), retry);
}
