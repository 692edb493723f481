/**
 * Errors that carry a one-line message meant for a person, and whether retrying can help.
 * Each has a stable `code` (logs, /metrics and other processes match on it, never on the message).
 * Anything else that escapes is reported as "internal error" with the details in the log only.
 */
export const ERROR_CODES = {
  user: 'RUNNEROPS_USER_ERROR',
  permanent: 'RUNNEROPS_PERMANENT',
  transient: 'RUNNEROPS_TRANSIENT',
} as const;

/** A bad command or setting: the message says what was wrong and what would be right. Never retried. */
export class UserError extends Error {
  override name = 'UserError';
  readonly code = ERROR_CODES.user;
}

/** A job failure that retrying will not fix (bad input, missing container, 403 from GitLab). */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
  readonly code = ERROR_CODES.permanent;
}

/**
 * A job failure that may pass (Docker 409 / 5xx, GitLab 5xx / 429, Redis not answering): the queue
 * retries it with backoff, within the attempts of its job (src/queue/payloads/index.ts).
 */
export class TransientJobError extends Error {
  override name = 'TransientJobError';
  readonly code = ERROR_CODES.transient;
}

/**
 * How a job failure is treated: `transient` goes back to the queue for another attempt with backoff;
 * `permanent` fails the job at once (UnrecoverableError); `internal` (anything nobody classified: a bug,
 * an unexpected answer) fails it at once too, since a retry would most likely repeat it.
 */
export type JobFailureKind = 'transient' | 'permanent' | 'internal';

export function classifyJobFailure(err: unknown): JobFailureKind {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (code === ERROR_CODES.transient) return 'transient';
  if (code === ERROR_CODES.permanent || code === ERROR_CODES.user) return 'permanent';
  // BullMQ's own "do not retry" and a payload that does not parse are permanent by nature.
  if (err instanceof Error && (err.name === 'UnrecoverableError' || err.name === 'ZodError')) return 'permanent';
  // Redis down or failing over mid-job (progress, events), a connection cut: the next attempt may pass.
  if (isRedisUnavailable(err)) return 'transient';
  return 'internal';
}

/** What `describeError` says about an error nobody classified. */
export const INTERNAL_ERROR = 'internal error; see the process log for details';

/** The message a person sees for any error: ours verbatim, anything else without internals. */
export function describeError(err: unknown): string {
  if (err instanceof UserError || err instanceof PermanentJobError || err instanceof TransientJobError) {
    return firstLine(err.message);
  }
  const slackError = (err as { code?: string; data?: { error?: string } } | undefined)?.data?.error;
  if ((err as { code?: string } | undefined)?.code === 'slack_webapi_platform_error' && slackError) {
    return ['invalid_auth', 'not_authed', 'token_revoked', 'account_inactive'].includes(slackError)
      ? `Slack refused the bot token (${slackError}); check SLACK_BOT_TOKEN and that the app is still installed`
      : `Slack answered "${slackError}"`;
  }
  // A refused connection names its address, which says more than "Redis" (it may be Docker or GitLab).
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
    return `connection refused (${firstLine(err.message)}); is the service running?`;
  }
  if (isRedisUnavailable(err)) {
    return 'Redis did not answer, so nothing was queued; try again in a moment (the bot reconnects by itself)';
  }
  return INTERNAL_ERROR;
}

/**
 * Whether `err` means Redis could not be reached (down, restarting, failing over: a single server, a
 * Cluster or Sentinel) rather than a command that Redis refused: the caller can then say that nothing was
 * queued and to try again. The one test of this for every process (src/queue/redis.ts re-exports it).
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.message === 'Connection is closed.' ||
    err.message.startsWith("Stream isn't writeable") ||
    err.message.startsWith('Reached the max retries per request limit') ||
    err.message.startsWith('CLUSTERDOWN') ||
    err.message.startsWith('LOADING') ||
    err.message.startsWith('Failed to refresh slots cache') ||
    err.message.startsWith('All sentinels are unreachable') ||
    err.message === 'None of startup nodes is available' ||
    (code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code))
  );
}

export function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
