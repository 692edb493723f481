import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { PermanentJobError, TransientJobError } from '../../errors.js';
import { redact } from '../../secrets/redact.js';

/** What went wrong with one GitLab call, independent of how it is reported. */
export interface GitlabFailure {
  kind:
    | 'unauthorized'
    | 'forbidden'
    | 'insufficient-scope'
    | 'not-found'
    | 'bad-request'
    | 'gone'
    | 'rate-limited'
    | 'server'
    | 'timeout'
    | 'network'
    | 'other';
  /** HTTP status, when GitLab answered. */
  status?: number;
  /** Seconds from `Retry-After` (429/503), when given. */
  retryAfterSeconds?: number;
  /** GitLab's own message (`error` or `message` of the body), redacted and cut to one line. */
  detail: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function oneLine(text: string): string {
  const line = redact(text).replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

function networkCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let i = 0; i < 4 && current instanceof Error; i++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Parses `Retry-After` (seconds or an HTTP date) into seconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Sorts any error from a GitLab call into a GitlabFailure. */
export function classifyGitlabError(err: unknown): GitlabFailure {
  if (err instanceof GitbeakerRequestError) {
    const cause = err.cause as { description?: string; response?: Response } | undefined;
    const status = cause?.response?.status ?? 0;
    const detail = oneLine(cause?.description ?? err.message);
    const retryAfterSeconds = parseRetryAfter(cause?.response?.headers.get('retry-after'));
    const base = { status, detail, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
    if (status === 401) return { kind: 'unauthorized', ...base };
    if (status === 403) return { kind: detail === 'insufficient_scope' ? 'insufficient-scope' : 'forbidden', ...base };
    if (status === 404) return { kind: 'not-found', ...base };
    if (status === 410) return { kind: 'gone', ...base };
    if (status === 429) return { kind: 'rate-limited', ...base };
    if (status >= 500) return { kind: 'server', ...base };
    if (status >= 400) return { kind: 'bad-request', ...base };
    return { kind: 'other', ...base };
  }
  if (err instanceof GitbeakerRetryError) return { kind: 'rate-limited', detail: oneLine(err.message) };
  if (err instanceof GitbeakerTimeoutError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
    return { kind: 'timeout', detail: 'no answer in time' };
  }
  const code = networkCode(err);
  if (code || (err instanceof TypeError && err.message === 'fetch failed')) return { kind: 'network', detail: code ?? 'fetch failed' };
  return { kind: 'other', detail: err instanceof Error ? oneLine(err.message) : 'unknown error' };
}

/** Whether retrying the same idempotent call later can help. */
export function isRetryable(failure: GitlabFailure): boolean {
  return failure.kind === 'rate-limited' || failure.kind === 'server' || failure.kind === 'timeout' || failure.kind === 'network';
}

export interface GitlabCallContext {
  /** What we were doing, as a phrase: `verify runner #9171`, `create the runner`. */
  action: string;
  /** GitLab base URL, for network errors. */
  gitlabUrl?: string;
  /** The call used a runner's own token: 403 means that token is dead. */
  runnerToken?: { runnerId?: number; host: string };
  /** The call used the bot's GITLAB_TOKEN. */
  userToken?: boolean;
}

function runnerLabel(id: number | undefined): string {
  return id === undefined ? 'the runner' : `runner #${id}`;
}

/**
 * Turns a GitLab failure into the one-line job error a person reads: what failed, why, what to do.
 * Transient failures (429, 5xx, timeouts, network) become TransientJobError, everything else
 * PermanentJobError. Never includes a token.
 */
export function toGitlabJobError(err: unknown, context: GitlabCallContext): PermanentJobError | TransientJobError {
  const f = classifyGitlabError(err);
  const status = f.status ? ` (${f.status}${f.detail ? `: ${f.detail}` : ''})` : '';
  switch (f.kind) {
    case 'forbidden':
      if (context.runnerToken) {
        const { runnerId, host } = context.runnerToken;
        return new PermanentJobError(
          `${context.action} failed: the token of ${runnerLabel(runnerId)} is no longer valid${status}: re-register the runner with /runner register ${host} --type ... and remove its old entry`,
        );
      }
      return new PermanentJobError(
        `${context.action} failed: GitLab denied it${status}; the GITLAB_TOKEN user must be an admin (instance runners), Owner of the group (group runners) or Maintainer of the project (project runners)`,
      );
    case 'insufficient-scope':
      return new PermanentJobError(
        `${context.action} failed: GITLAB_TOKEN lacks the scope for it (403); give it api (GitLab 16.x), or create_runner, manage_runner and read_api (GitLab 17.1+)`,
      );
    case 'unauthorized':
      return new PermanentJobError(
        `${context.action} failed: GitLab does not accept GITLAB_TOKEN (401); check that it exists, is not revoked and has not expired`,
      );
    case 'not-found':
      return new PermanentJobError(`${context.action} failed: GitLab has no such thing${status}; check the id`);
    case 'gone':
      return new PermanentJobError(`${context.action} failed: GitLab disabled this endpoint${status}`);
    case 'bad-request':
      return new PermanentJobError(`${context.action} failed: GitLab rejected the request${status}`);
    case 'rate-limited':
      return new TransientJobError(
        `${context.action} failed: GitLab is rate limiting (429)${f.retryAfterSeconds !== undefined ? `; it asks to wait ${f.retryAfterSeconds} s` : ''}; retrying later`,
      );
    case 'server':
      return new TransientJobError(`${context.action} failed: GitLab answered ${f.status}${f.detail ? ` (${f.detail})` : ''}; retrying later`);
    case 'timeout':
      return new TransientJobError(
        `${context.action} failed: GitLab${context.gitlabUrl ? ` at ${context.gitlabUrl}` : ''} did not answer in time; retrying later`,
      );
    case 'network':
      return new TransientJobError(
        `${context.action} failed: cannot reach GitLab${context.gitlabUrl ? ` at ${context.gitlabUrl}` : ''} (${f.detail}); check the network and GITLAB_URL`,
      );
    case 'other':
      return new PermanentJobError(`${context.action} failed: ${f.detail}`);
  }
}
