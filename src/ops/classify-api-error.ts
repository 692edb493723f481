/**
 * A short, bounded label for a failed Slack or GitLab API call, for `runnerops_api_errors_total`:
 * Slack's own error code (`channel_not_found`), `ratelimited`, `http_<status>`, `timeout`, a network
 * error code (`econnrefused`), or `other`. Never any part of a message, so no token can leak into it.
 */
export function classifyApiError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'other';
  const e = err as {
    code?: unknown;
    name?: unknown;
    data?: { error?: unknown };
    statusCode?: unknown;
    cause?: { response?: { status?: unknown } };
  };
  switch (e.code) {
    // @slack/web-api error codes (ErrorCode in its errors.ts).
    case 'slack_webapi_platform_error':
      return asLabel(e.data?.error) ?? 'platform_error';
    case 'slack_webapi_rate_limited_error':
      return 'ratelimited';
    case 'slack_webapi_http_error':
      return typeof e.statusCode === 'number' ? `http_${e.statusCode}` : 'http_error';
    case 'slack_webapi_request_error':
      return 'request_error';
    default:
      break;
  }
  // @gitbeaker/rest: GitbeakerRequestError carries the response in `cause`; GitbeakerTimeoutError has no response.
  const status = e.cause?.response?.status;
  if (typeof status === 'number') return status === 429 ? 'ratelimited' : `http_${status}`;
  if (e.name === 'GitbeakerTimeoutError' || e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code.toLowerCase();
  return 'other';
}

function asLabel(value: unknown): string | undefined {
  return typeof value === 'string' && /^[a-z0-9_]{1,64}$/.test(value) ? value : undefined;
}
