import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallLog } from './call-log.js';
import type { FaultQueue } from './faults.js';
import type { MethodResult, MethodSpec } from './method-helpers.js';
import { readApiRequest } from './read-request.js';
import type { RateLimits } from './rate-limits.js';
import type { SlackState, TokenKind } from './state.js';

/** Arguments whose form-encoded value is JSON; calls record them parsed so tests can read blocks directly. */
const JSON_ARGS = ['blocks', 'attachments', 'view', 'files', 'metadata'];

function classifyToken(token: string | undefined, state: SlackState): TokenKind {
  if (token === undefined) return 'missing';
  if (token === state.identity.botToken) return 'bot';
  if (token === state.identity.appToken) return 'app';
  return 'invalid';
}

function authError(spec: MethodSpec, bearerKind: TokenKind, anyKind: TokenKind): string | undefined {
  if (spec.token === 'app') {
    // apps.connections.open takes the app token in the Authorization header only.
    if (bearerKind === 'missing') return 'not_authed';
    if (bearerKind === 'invalid') return 'invalid_auth';
    return bearerKind === 'app' ? undefined : 'not_allowed_token_type';
  }
  if (anyKind === 'missing') return 'not_authed';
  if (anyKind === 'invalid') return 'invalid_auth';
  return anyKind === 'bot' ? undefined : 'not_allowed_token_type';
}

function recordedParams(params: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...params };
  for (const name of JSON_ARGS) {
    if (typeof copy[name] !== 'string') continue;
    try {
      copy[name] = JSON.parse(copy[name] as string);
    } catch {
      // Kept as sent: the method answers the format error.
    }
  }
  return copy;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export interface ApiRouteOptions {
  methods: Record<string, MethodSpec>;
  state: SlackState;
  log: CallLog;
  faults: FaultQueue;
  baseUrl: () => string;
  /** Slack's per-workspace method limits; absent: unlimited. */
  rateLimits?: RateLimits;
}

/**
 * Builds the handler of `/api/<method>`: unknown_method, body format errors, injected faults, token checks
 * (not_authed / invalid_auth / not_allowed_token_type), then the method; every answer is recorded.
 */
export function createApiRoute(options: ApiRouteOptions): (req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer) => Promise<void> {
  const { methods, state, log, faults } = options;
  return async (req, res, url, raw) => {
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    const at = Date.now();
    const request = await readApiRequest(req, url, raw);
    const params = { ...request.params };
    delete params.token;
    const recorded = recordedParams(params);
    const bearerKind = request.ok ? classifyToken(request.bearer, state) : 'missing';
    const tokenKind = request.ok ? classifyToken(request.bearer ?? request.argToken, state) : 'missing';

    const answer = (status: number, body: MethodResult, headers?: Record<string, string>): void => {
      log.record({
        method,
        params: recorded,
        tokenKind,
        at,
        status,
        ok: status === 200 && body.ok,
        ...(body.ok ? {} : { error: body.error }),
      });
      sendJson(res, status, body, headers);
    };

    const spec = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (!spec) return answer(200, { ok: false, error: 'unknown_method' });
    if (!request.ok) return answer(200, { ok: false, error: request.error });

    const fault = faults.take(method);
    if (fault?.kind === 'rate_limited') {
      const seconds = fault.retryAfterSeconds ?? 1;
      return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(seconds) });
    }
    if (fault?.kind === 'http_status') return answer(fault.status ?? 500, { ok: false, error: 'fatal_error' });
    if (fault?.kind === 'error') return answer(200, { ok: false, error: fault.error });
    const wait = options.rateLimits?.take(method, params);
    if (wait !== undefined) return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(wait) });

    const refused = authError(spec, bearerKind, tokenKind);
    if (refused) return answer(200, { ok: false, error: refused });
    return answer(200, spec.handle(params, { state, baseUrl: options.baseUrl(), files: request.files }));
  };
}
