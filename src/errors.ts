/**
 * Errors that carry a one-line message meant for a person, and whether retrying can help.
 * Anything else that escapes is reported as "internal error" with the details in the log only.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** A job failure that retrying will not fix (bad input, missing container, 403 from GitLab). */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/** A job failure that may pass (Docker 409, GitLab 5xx / 429): BullMQ retries it with backoff. */
export class TransientJobError extends Error {
  override name = 'TransientJobError';
}

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
  if (err instanceof Error && isRedisUnavailable(err)) {
    return 'Redis did not answer, so nothing was queued; try again in a moment (the bot reconnects by itself)';
  }
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
    return `connection refused (${firstLine(err.message)}); is the service running?`;
  }
  return 'internal error; see the process log for details';
}

/** ioredis gave up on a command: the connection is down or Redis is restarting. */
function isRedisUnavailable(err: Error): boolean {
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /^(Connection is closed|Stream isn't writeable|Reached the max retries per request limit)/.test(err.message) ||
    /LOADING Redis is loading/.test(err.message)
  );
}

export function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
