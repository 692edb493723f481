/**
 * A fake GitLab (REST v4) on loopback for tests: a real HTTP server on a free port that follows GitLab's
 * documented behaviour for the runner endpoints runnerops uses, including the error answers.
 *
 * Start one per test file (or per test) and pass `fake.url` as the GitLab host:
 * ```ts
 * const fake = await startFakeGitlab();
 * const { token } = fake.createUserToken({ scopes: ['create_runner', 'manage_runner'], admin: true });
 * const api = new Gitlab({ host: fake.url, token });
 * ...
 * await fake.close();
 * ```
 *
 * HTTP API (paths under `/api/v4`; params from the query string, JSON or form body, merged as Grape does):
 * - Users: each token belongs to a user who is an instance admin or not, with roles per group and
 *   project (guest < reporter < developer < maintainer < owner; a group role applies to its projects).
 *   Scopes exist per GitLab version (`startFakeGitlab({ version })`, default 17.5): `manage_runner`
 *   only from 17.1, `create_runner` from 15.10; a token with a scope its version lacks cannot be made.
 * - `POST /user/runners` (scope `create_runner` or `api`): `runner_type` (instance_type | group_type |
 *   project_type), `group_id` / `project_id` (required for their type), `description`,
 *   `maintenance_note`, `paused`, `locked`, `run_untagged`, `tag_list` (array or comma string),
 *   `access_level`, `maximum_timeout`. 201 `{id, token: 'glrt-...', token_expires_at}`; 400 `{error}`
 *   for missing/invalid params, 400 `Missing/invalid group|project` for an unknown one; 403 unless
 *   admin (instance), group Owner (group) or project Maintainer (project).
 * - `POST /runners` (legacy registration token): 410 while registration tokens are disabled (default),
 *   403 for a wrong token, 201 otherwise.
 * - `POST /runners/verify` (`token`, optional `system_id`): 200 `{id, token, token_expires_at}`; a
 *   heartbeat of the runner and of its manager `system_id` (`<legacy>` without one), which records
 *   name/version/... only from an `info` the request carried; 403 `{"message":"403 Forbidden"}` for an
 *   unknown, old or expired token. `POST /jobs/request` (`token`, `system_id`, `info`): what
 *   gitlab-runner polls with; the same heartbeat with its `info`; 204 (no job).
 * - `POST /runners/reset_authentication_token` (`token`): 201 `{token, token_expires_at?}` (expiry only
 *   when the token can expire); the old token is dead at once; 403 as above.
 * - `DELETE /runners` (`token`): 204 or 403. `DELETE /runners/managers` (`token`, `system_id`): 204/403/404.
 * - `GET /runners/:id`, `PUT /runners/:id`, `DELETE /runners/:id`, `GET /runners/:id/jobs`,
 *   `GET /runners/:id/managers`, `POST /runners/:id/reset_authentication_token` (scope `manage_runner`
 *   or `api`; GETs also `read_api`): 404 `{"message":"404 Runner Not Found"}`, 403
 *   `{"message":"403 Forbidden - No access granted"}` unless admin, Owner of the runner's group or
 *   Maintainer of its project. PUT needs at least one of description, active, paused, tag_list,
 *   run_untagged, locked, access_level, maximum_timeout, maintenance_note (400 otherwise). Jobs take
 *   `status` (running, success, ..., canceling from 17.0: 400 before), `system_id` (one manager's jobs) and list, for a
 *   non-admin, only jobs of projects where the user is Reporter or above. The reset by id works on a
 *   runner whose own token has expired.
 * - Lists, scope `api` or `read_api` only: `GET /runners/all` (admins; 403 otherwise), `GET /runners`
 *   (project runners the user maintains, group runners they own; never instance runners),
 *   `GET /groups/:id/runners` and `GET /projects/:id/runners` (Maintainer+; with the instance's and
 *   the parent group's runners), all with `type`.
 * - Every list is paginated: `page`, `per_page` (default 20, max 100), `x-total`, `x-total-pages`,
 *   `x-page`, `x-per-page`, `x-next-page`, `x-prev-page` and `link` headers; runners by ascending id,
 *   jobs newest first.
 * - `GET /user` (`api`, `read_api` or `read_user`): `{id, username, state}`, plus `is_admin: true` for admins only.
 * - Without a valid PRIVATE-TOKEN: 401 `{"message":"401 Unauthorized"}`; with a token lacking the scope:
 *   403 `{"error":"insufficient_scope",...}`. Any other path: 404.
 *
 * Test-side controls (methods of the returned object, no HTTP): `admin` (an admin user's `api` token made
 * at start), `createUserToken`, `addProject`, `addRunner`,
 * `setRunningJobs` / `setJobs`, `setTokenExpiry`, `setTokenExpirationInterval`, `runner` / `runners` /
 * `managers` to inspect, `inject` for 429 (+ Retry-After), 5xx, dropped connections or slow answers on one
 * route (optionally after the request took effect), `requests` / `findRequests` / `logContains` to search the
 * request log, `requestCount`, `issuedTokens` (for leak searches). Tokens are random per call; nothing is hard-coded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  FakeGitlabState,
  type FakeJob,
  type FakeRunner,
  type FakeRunnerManager,
  type FakeUserToken,
  type Role,
  type Scope,
  type UserTokenOptions,
} from './fake-gitlab-state.js';
import { handleRequest, matchRoute, type ParsedRequest, type Reply, type RouteKey } from './handle-request.js';

export type { FakeRunner, FakeRunnerManager, FakeUserToken, FakeJob, Role, Scope, RouteKey, UserTokenOptions };

/** One request as the fake saw it (tokens included: GitLab must see them). */
export interface LoggedRequest {
  at: number;
  method: string;
  /** Path with query string, e.g. `/api/v4/runners/9171/jobs?status=running`. */
  url: string;
  route: RouteKey | undefined;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  params: Record<string, unknown>;
  status: number;
}

/** A fault to answer on one route instead of (or after) the real handling. */
export interface Fault {
  /** Status to answer (429, 500, 502, 503...). Ignored when `drop` is set. */
  status?: number;
  /** `Retry-After` header in seconds (429/503). */
  retryAfter?: number;
  /** Body to send; default `Retry later\n` for 429 and `{"message":"<status> ..."}` otherwise. */
  body?: unknown;
  /** Destroy the connection without an answer (a network failure as the client sees it). */
  drop?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Handle the request for real first (state changes), then answer with the fault (a lost answer). */
  afterHandling?: boolean;
  /** How many requests get the fault. @defaultValue 1 */
  times?: number;
}

export interface FakeGitlab {
  /** Base URL (`http://127.0.0.1:<port>`), what gitbeaker calls `host`. */
  url: string;
  state: FakeGitlabState;
  /** The GitLab version played (`major.minor`). */
  version: string;
  /** An instance admin's token with the `api` scope (valid on every version), made at start. */
  admin: FakeUserToken;
  close(): Promise<void>;
  /** A user and their token; throws for a scope the version does not have (GitLab offers no such token). */
  createUserToken(options: UserTokenOptions): FakeUserToken;
  /** A project, optionally inside a group whose members then have their group role on it. */
  addProject(projectId: number, groupId?: number): void;
  /** A runner as if created earlier by an admin (for rotate/drain tests); returns it with its token. */
  addRunner(
    fields?: Partial<Pick<FakeRunner, 'description' | 'paused' | 'tagList' | 'runnerType' | 'groupId' | 'projectId' | 'tokenExpiresAt' | 'maintenanceNote'>>,
  ): FakeRunner;
  runner(id: number): FakeRunner | undefined;
  runners(): FakeRunner[];
  managers(id: number): FakeRunnerManager[];
  /** Replaces the runner's jobs with `count` running ones (or the given jobs). */
  setRunningJobs(runnerId: number, count: number): FakeJob[];
  setJobs(runnerId: number, jobs: Array<Partial<FakeJob>>): FakeJob[];
  /** Sets the current token's expiry (RFC 3339 or Date; null: never expires). A past date makes it invalid. */
  setTokenExpiry(runnerId: number, expiresAt: string | Date | null): void;
  /** Instance `runner_token_expiration_interval` (seconds, min 7200) for new and reset tokens; null: none. */
  setTokenExpirationInterval(seconds: number | null): void;
  /** Makes the next `fault.times` requests on `route` fail. Faults on one route queue up in order. */
  inject(route: RouteKey, fault: Fault): void;
  /** Forgets every injected fault not played yet. */
  clearFaults(): void;
  requests(): LoggedRequest[];
  findRequests(route: RouteKey): LoggedRequest[];
  /** Whether any logged request (url, headers or body) contains `text`. */
  logContains(text: string): boolean;
  requestCount(route: RouteKey): number;
  /** Every token the fake issued so far (user and runner tokens, old ones and deleted runners' included). */
  issuedTokens(): string[];
}

function parseParams(url: URL, rawBody: string, contentType: string | undefined): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const addForm = (search: URLSearchParams): void => {
    for (const [k, v] of search) {
      if (k.endsWith('[]')) {
        const key = k.slice(0, -2);
        params[key] = [...((params[key] as string[] | undefined) ?? []), v];
      } else params[k] = v;
    }
  };
  addForm(url.searchParams);
  if (rawBody !== '') {
    if (contentType?.includes('application/json')) Object.assign(params, JSON.parse(rawBody) as Record<string, unknown>);
    else addForm(new URLSearchParams(rawBody));
  }
  return params;
}

const STATUS_TEXT: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function faultReply(fault: Fault): Reply {
  const status = fault.status ?? 500;
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  if (status === 429) {
    headers['ratelimit-resettime'] = new Date(Date.now() + (fault.retryAfter ?? 60) * 1000).toUTCString();
    return { status, headers, body: fault.body ?? 'Retry later\n' };
  }
  return { status, headers, body: fault.body ?? { message: `${status} ${STATUS_TEXT[status] ?? 'Error'}` } };
}

export interface FakeGitlabOptions {
  /** GitLab version to play (`major.minor`): decides which token scopes exist. @defaultValue '17.5' */
  version?: string;
}

/** Starts the fake on 127.0.0.1 and a free port. */
export async function startFakeGitlab(options: FakeGitlabOptions = {}): Promise<FakeGitlab> {
  const state = new FakeGitlabState(options.version);
  const admin = state.createUserToken({ scopes: ['api'], admin: true });
  const log: LoggedRequest[] = [];
  const faults = new Map<RouteKey, Fault[]>();
  let baseUrl = '';

  const takeFault = (route: RouteKey | undefined): Fault | undefined => {
    if (!route) return undefined;
    const queue = faults.get(route);
    const fault = queue?.[0];
    if (!fault) return undefined;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) queue.shift();
    return fault;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', baseUrl);
        const method = req.method ?? 'GET';
        const route = matchRoute(method, url.pathname)?.key;
        let params: Record<string, unknown> = {};
        const entry: LoggedRequest = { at: Date.now(), method, url: req.url ?? '/', route, headers: req.headers, rawBody, params, status: 0 };
        log.push(entry);
        try {
          params = parseParams(url, rawBody, req.headers['content-type']);
          entry.params = params;
        } catch {
          entry.status = 400;
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: '400 Bad request - invalid JSON' }));
          return;
        }
        const fault = takeFault(route);
        if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
        const header = req.headers['private-token'];
        const parsed: ParsedRequest = { method, path: url.pathname, params, privateToken: Array.isArray(header) ? header[0] : header };
        // A fault with only `delayMs` slows the real answer down; any other fault replaces it.
        const replaces = fault !== undefined && (fault.drop === true || fault.status !== undefined || !fault.delayMs);
        let reply = !replaces || fault.afterHandling ? handleRequest(state, parsed, baseUrl) : undefined;
        if (fault?.drop) {
          entry.status = -1;
          req.socket.destroy();
          return;
        }
        if (replaces) reply = faultReply(fault);
        const final = reply!;
        entry.status = final.status;
        const headers: Record<string, string> = { ...final.headers };
        let body = '';
        if (typeof final.body === 'string') {
          headers['content-type'] = 'text/plain';
          body = final.body;
        } else if (final.body !== undefined) {
          headers['content-type'] = 'application/json';
          body = JSON.stringify(final.body);
        }
        res.writeHead(final.status, headers).end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const serialize = (r: LoggedRequest): string => `${r.method} ${r.url} ${JSON.stringify(r.headers)} ${r.rawBody}`;

  return {
    url: baseUrl,
    state,
    version: state.version,
    admin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    createUserToken: (options) => state.createUserToken(options),
    addProject: (projectId, groupId) => state.addProject(projectId, groupId),
    addRunner: (fields = {}) => state.addRunner({ ...fields, createdBy: 0 }),
    runner: (id) => state.runners.get(id),
    runners: () => [...state.runners.values()],
    managers: (id) => state.requireRunner(id).managers,
    setRunningJobs: (runnerId, count) =>
      state.setJobs(
        runnerId,
        Array.from({ length: count }, () => ({ status: 'running' as const })),
      ),
    setJobs: (runnerId, jobs) => state.setJobs(runnerId, jobs),
    setTokenExpiry: (runnerId, expiresAt) => {
      state.requireRunner(runnerId).tokenExpiresAt = expiresAt === null ? null : new Date(expiresAt).toISOString();
    },
    setTokenExpirationInterval: (seconds) => {
      if (seconds !== null && seconds < 7200) throw new Error('runner_token_expiration_interval must be at least 7200 seconds');
      state.tokenExpirationIntervalSeconds = seconds;
    },
    inject: (route, fault) => {
      const queue = faults.get(route) ?? [];
      queue.push({ ...fault });
      faults.set(route, queue);
    },
    clearFaults: () => faults.clear(),
    requests: () => [...log],
    findRequests: (route) => log.filter((r) => r.route === route),
    logContains: (text) => log.some((r) => serialize(r).includes(text)),
    requestCount: (route) => log.filter((r) => r.route === route).length,
    issuedTokens: () => [...state.issued],
  };
}
