import { classifyGitlabError, isRetryable } from './describe-gitlab-error.js';

export interface RetryOptions {
  /** Tries in all, the first included. @defaultValue 4 */
  attempts?: number;
  /** First backoff for 5xx / network errors; doubles each time. @defaultValue 500 */
  baseDelayMs?: number;
  /** Longest single wait, Retry-After included; a longer Retry-After ends the retries (the queue retries later). @defaultValue 30000 */
  maxDelayMs?: number;
  /** Stops waiting when aborted. */
  signal?: AbortSignal;
  /** Called before each wait (for logs and progress). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  /** Waits; tests may pass a faster one. @defaultValue setTimeout */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs an IDEMPOTENT GitLab call (GET, PUT of an attribute, verify, delete by id) with a bounded retry:
 * 429 waits Retry-After (or the backoff when absent), 5xx / timeouts / network errors back off
 * exponentially. Other errors, and the last failure, are rethrown unchanged. Never use it for a token
 * reset or a runner creation: repeating those is not safe.
 */
export async function retryIdempotent<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const failure = classifyGitlabError(err);
      if (!isRetryable(failure) || attempt >= attempts || options.signal?.aborted) throw err;
      const backoff = base * 2 ** (attempt - 1);
      const delayMs = failure.retryAfterSeconds !== undefined ? failure.retryAfterSeconds * 1000 : backoff;
      if (delayMs > max) throw err;
      options.onRetry?.({ attempt, delayMs, reason: failure.status ? `GitLab answered ${failure.status}` : failure.detail });
      await wait(delayMs, options.signal);
    }
  }
}
