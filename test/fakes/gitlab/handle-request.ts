import { atLeast, versionAtLeast, type FakeGitlabState, type FakeRunner, type FakeUserToken, type RunnerType, type Scope } from './fake-gitlab-state.js';
import { listJobs, listManagers, listRunners } from './runner-lists.js';

/** What a route answers; the server turns it into an HTTP response. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Objects and arrays go out as JSON; strings as text/plain; undefined: no body (204). */
  body?: unknown;
}

/** A parsed request: params merged from the query string and the body, as Grape does. */
export interface ParsedRequest {
  method: string;
  path: string;
  params: Record<string, unknown>;
  privateToken: string | undefined;
}

/** Route keys used for fault injection and the request log, e.g. `PUT /runners/:id`. */
export type RouteKey =
  | 'POST /user/runners'
  | 'POST /runners'
  | 'POST /runners/verify'
  | 'POST /runners/reset_authentication_token'
  | 'DELETE /runners'
  | 'DELETE /runners/managers'
  | 'GET /runners/all'
  | 'GET /runners'
  | 'GET /groups/:id/runners'
  | 'GET /projects/:id/runners'
  | 'POST /jobs/request'
  | 'GET /user'
  | 'GET /runners/:id'
  | 'PUT /runners/:id'
  | 'DELETE /runners/:id'
  | 'GET /runners/:id/jobs'
  | 'GET /runners/:id/managers'
  | 'POST /runners/:id/reset_authentication_token';

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, headers });
export const message = (status: number, text: string): Reply => json(status, { message: text });
export const grapeError = (text: string): Reply => json(400, { error: text });

/**
 * Scopes per kind of endpoint (lib/api/ci/runners.rb): `manage_runner` (17.1+) is honoured only on
 * `/runners/:id...` paths; the lists need `api`, or `read_api` to read.
 */
const RUNNER_READ: Scope[] = ['manage_runner', 'api', 'read_api'];
const RUNNER_WRITE: Scope[] = ['manage_runner', 'api'];

const UNAUTHORIZED = message(401, '401 Unauthorized');
const RUNNER_FORBIDDEN = message(403, '403 Forbidden');
const NO_ACCESS = message(403, '403 Forbidden - No access granted');
const RUNNER_NOT_FOUND = message(404, '404 Runner Not Found');

/** Which route a method and path belong to (undefined: 404 for any other path). */
export function matchRoute(method: string, path: string): { key: RouteKey; id?: number } | undefined {
  const m = /^\/api\/v4(\/.*?)\/?$/.exec(path);
  if (!m) return undefined;
  const p = m[1] ?? '';
  const fixed = `${method} ${p}`;
  const fixedRoutes: RouteKey[] = [
    'POST /user/runners',
    'POST /runners',
    'POST /runners/verify',
    'POST /runners/reset_authentication_token',
    'DELETE /runners',
    'DELETE /runners/managers',
    'GET /runners/all',
    'GET /runners',
    'POST /jobs/request',
    'GET /user',
  ];
  if ((fixedRoutes as string[]).includes(fixed)) return { key: fixed as RouteKey };
  const owned = /^\/(groups|projects)\/(\d+)\/runners$/.exec(p);
  if (owned && method === 'GET') return { key: `GET /${owned[1]}/:id/runners` as RouteKey, id: Number(owned[2]) };
  const byId = /^\/runners\/(\d+)(\/jobs|\/managers|\/reset_authentication_token)?$/.exec(p);
  if (!byId) return undefined;
  const id = Number(byId[1]);
  const tail = byId[2] ?? '';
  const key = `${method} /runners/:id${tail}`;
  const idRoutes: RouteKey[] = [
    'GET /runners/:id',
    'PUT /runners/:id',
    'DELETE /runners/:id',
    'GET /runners/:id/jobs',
    'GET /runners/:id/managers',
    'POST /runners/:id/reset_authentication_token',
  ];
  return (idRoutes as string[]).includes(key) ? { key: key as RouteKey, id } : undefined;
}

export function parseBool(value: unknown): boolean | undefined | 'invalid' {
  if (value === undefined) return undefined;
  if (value === true || value === 'true' || value === '1' || value === 1) return true;
  if (value === false || value === 'false' || value === '0' || value === 0) return false;
  return 'invalid';
}

function parseTags(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => String(v).trim()).filter((v) => v !== '');
  return String(value)
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function parseId(value: unknown): number | undefined | 'invalid' {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : 'invalid';
}

/** PRIVATE-TOKEN check: 401 without a valid token, 403 insufficient_scope without one of `scopes`. */
export function authenticateUser(state: FakeGitlabState, req: ParsedRequest, scopes: Scope[]): FakeUserToken | Reply {
  const entry = req.privateToken ? state.userTokens.get(req.privateToken) : undefined;
  if (!entry || entry.revoked || (entry.expiresAt !== undefined && entry.expiresAt <= Date.now())) return UNAUTHORIZED;
  if (!entry.scopes.some((s) => scopes.includes(s))) {
    return json(403, {
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token.',
      scope: scopes.join(' '),
    });
  }
  return entry;
}

export function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'status' in value && !('user' in value);
}

/** GitLab calls a runner online while it contacted GitLab within 2 hours (Ci::Runner::ONLINE_CONTACT_TIMEOUT). */
const ONLINE_MS = 2 * 3600_000;
/** ...and stale once it has not for 7 days, or never did and was created more than 7 days ago (STALE_TIMEOUT). */
const STALE_MS = 7 * 86400_000;

/**
 * A runner's `status` (Ci::Runner#status): online, offline, stale or never_contacted. GitLab before
 * 16.0 also answered `paused` for a paused runner; from 16.0 the `paused` attribute alone says so.
 */
export function runnerStatus(runner: FakeRunner, version: string, now = Date.now()): string {
  if (runner.paused && !versionAtLeast(version, '16.0')) return 'paused';
  if (runner.contactedAt === null) return now - Date.parse(runner.createdAt) > STALE_MS ? 'stale' : 'never_contacted';
  const since = now - Date.parse(runner.contactedAt);
  if (since < ONLINE_MS) return 'online';
  return since > STALE_MS ? 'stale' : 'offline';
}

export function runnerDetails(runner: FakeRunner, version = '18.7'): Record<string, unknown> {
  const online = runner.contactedAt !== null && Date.now() - Date.parse(runner.contactedAt) < ONLINE_MS;
  const newest = [...runner.managers].sort((a, b) => Date.parse(b.contactedAt) - Date.parse(a.contactedAt))[0];
  return {
    id: runner.id,
    description: runner.description,
    ip_address: null,
    active: !runner.paused,
    paused: runner.paused,
    is_shared: runner.runnerType === 'instance_type',
    runner_type: runner.runnerType,
    name: 'gitlab-runner',
    online,
    status: runnerStatus(runner, version),
    contacted_at: runner.contactedAt,
    created_at: runner.createdAt,
    maintenance_note: runner.maintenanceNote,
    tag_list: runner.tagList,
    run_untagged: runner.runUntagged,
    locked: runner.locked,
    maximum_timeout: runner.maximumTimeout,
    access_level: runner.accessLevel,
    version: newest?.version ?? null,
    revision: newest?.revision ?? null,
    platform: null,
    architecture: null,
    projects: runner.projectId !== undefined ? [{ id: runner.projectId }] : [],
    groups: runner.groupId !== undefined ? [{ id: runner.groupId }] : [],
  };
}

/** `POST /user/runners` (lib/api/user_runners.rb). */
function createRunner(state: FakeGitlabState, req: ParsedRequest): Reply {
  const auth = authenticateUser(state, req, ['create_runner', 'api']);
  if (isReply(auth)) return auth;
  const p = req.params;
  const types: RunnerType[] = ['instance_type', 'group_type', 'project_type'];
  if (p.runner_type === undefined) return grapeError('runner_type is missing, runner_type does not have a valid value');
  if (!types.includes(p.runner_type as RunnerType)) return grapeError('runner_type does not have a valid value');
  const runnerType = p.runner_type as RunnerType;
  const groupId = parseId(p.group_id);
  const projectId = parseId(p.project_id);
  if (groupId === 'invalid') return grapeError('group_id is invalid');
  if (projectId === 'invalid') return grapeError('project_id is invalid');
  if (runnerType === 'group_type' && groupId === undefined) return grapeError('group_id is missing');
  if (runnerType === 'project_type' && projectId === undefined) return grapeError('project_id is missing');
  const bools: Record<string, boolean | undefined> = {};
  for (const key of ['paused', 'locked', 'run_untagged']) {
    const v = parseBool(p[key]);
    if (v === 'invalid') return grapeError(`${key} is invalid`);
    bools[key] = v;
  }
  const accessLevel = p.access_level;
  if (accessLevel !== undefined && accessLevel !== 'not_protected' && accessLevel !== 'ref_protected') {
    return grapeError('access_level does not have a valid value');
  }
  const tags = parseTags(p.tag_list) ?? [];
  const user = auth.user;
  // Ci::Runners::CreateRunnerService: instance runners need an admin, group runners the group's Owner,
  // project runners a Maintainer of the project; an unknown group or project is a 400, not a 404.
  const insufficient = message(403, '403 Forbidden - Insufficient permissions');
  if (runnerType === 'instance_type' && !user.admin) return insufficient;
  if (runnerType === 'group_type') {
    if (!state.groups.has(groupId as number)) return message(400, '400 Bad request - Missing/invalid group');
    if (!user.admin && !atLeast(state.groupRole(user, groupId as number), 'owner')) return insufficient;
  }
  if (runnerType === 'project_type') {
    if (!state.projects.has(projectId as number)) return message(400, '400 Bad request - Missing/invalid project');
    if (!user.admin && !atLeast(state.projectRole(user, projectId as number), 'maintainer')) return insufficient;
  }
  if (tags.length === 0 && bools.run_untagged === false) {
    return message(400, '400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs');
  }
  const runner = state.addRunner({
    runnerType,
    groupId: runnerType === 'group_type' ? (groupId as number) : undefined,
    projectId: runnerType === 'project_type' ? (projectId as number) : undefined,
    description: typeof p.description === 'string' ? p.description : '',
    maintenanceNote: typeof p.maintenance_note === 'string' ? p.maintenance_note : '',
    paused: bools.paused ?? false,
    locked: bools.locked ?? false,
    runUntagged: bools.run_untagged ?? true,
    tagList: tags,
    accessLevel: (accessLevel as 'not_protected' | 'ref_protected' | undefined) ?? 'not_protected',
    maximumTimeout: p.maximum_timeout === undefined ? null : Number(p.maximum_timeout),
    createdBy: user.id,
  });
  return json(201, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

/** `POST /runners` with a registration token (deprecated; 410 while registration tokens are disabled). */
function registerLegacy(state: FakeGitlabState, req: ParsedRequest): Reply {
  if (state.registrationToken === null) return message(410, '410 Gone - runner registration disallowed');
  if (req.params.token !== state.registrationToken) return RUNNER_FORBIDDEN;
  const runner = state.addRunner({ description: String(req.params.description ?? ''), createdBy: 0 });
  return json(201, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

/** `POST /runners/verify` (lib/api/ci/runner.rb): heartbeat + find-or-create the manager `system_id`. */
function verifyRunner(state: FakeGitlabState, req: ParsedRequest): Reply {
  const runner = state.runnerByToken(req.params.token);
  if (!runner) return RUNNER_FORBIDDEN;
  state.recordManager(runner, systemIdOf(req.params), infoOf(req.params));
  return json(200, { id: runner.id, token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

const systemIdOf = (params: Record<string, unknown>): string =>
  typeof params.system_id === 'string' && params.system_id !== '' ? params.system_id : '<legacy>';

/** `info` as GitLab reads it (get_runner_details_from_request): only when the request carried one. */
const infoOf = (params: Record<string, unknown>): Record<string, unknown> | undefined =>
  typeof params.info === 'object' && params.info !== null && !Array.isArray(params.info) ? (params.info as Record<string, unknown>) : undefined;

/**
 * `POST /jobs/request` (what gitlab-runner polls with, carrying `info` with its name and version): a
 * heartbeat of the manager with that info; the fake has no jobs to hand out, so 204.
 */
function requestJob(state: FakeGitlabState, req: ParsedRequest): Reply {
  const runner = state.runnerByToken(req.params.token);
  if (!runner) return RUNNER_FORBIDDEN;
  state.recordManager(runner, systemIdOf(req.params), infoOf(req.params));
  return { status: 204 };
}

/** `POST /runners/reset_authentication_token`: the old token stops working at once. */
function resetByToken(state: FakeGitlabState, req: ParsedRequest): Reply {
  const runner = state.runnerByToken(req.params.token);
  if (!runner) return RUNNER_FORBIDDEN;
  state.resetToken(runner);
  // 201: Grape's default for a POST, and what gitlab-runner checks for.
  return json(201, runner.tokenExpiresAt === null ? { token: runner.token } : { token: runner.token, token_expires_at: runner.tokenExpiresAt });
}

function deleteByToken(state: FakeGitlabState, req: ParsedRequest): Reply {
  const runner = state.runnerByToken(req.params.token);
  if (!runner) return RUNNER_FORBIDDEN;
  state.runners.delete(runner.id);
  return { status: 204 };
}

function deleteManager(state: FakeGitlabState, req: ParsedRequest): Reply {
  const runner = state.runnerByToken(req.params.token);
  if (!runner) return RUNNER_FORBIDDEN;
  if (typeof req.params.system_id !== 'string') return grapeError('system_id is missing');
  const before = runner.managers.length;
  runner.managers = runner.managers.filter((m) => m.systemId !== req.params.system_id);
  return runner.managers.length === before ? message(404, '404 Runner Manager Not Found') : { status: 204 };
}

function withManagedRunner(
  state: FakeGitlabState,
  req: ParsedRequest,
  id: number,
  scopes: Scope[],
  then: (runner: FakeRunner, auth: FakeUserToken) => Reply,
): Reply {
  const auth = authenticateUser(state, req, scopes);
  if (isReply(auth)) return auth;
  const runner = state.runners.get(id);
  if (!runner) return RUNNER_NOT_FOUND;
  if (!state.mayManage(auth.user, runner)) return NO_ACCESS;
  return then(runner, auth);
}

const EDITABLE = ['description', 'active', 'paused', 'tag_list', 'run_untagged', 'locked', 'access_level', 'maximum_timeout', 'maintenance_note'];

function updateRunner(runner: FakeRunner, params: Record<string, unknown>, version: string): Reply {
  if (!EDITABLE.some((k) => params[k] !== undefined)) {
    return grapeError(`${EDITABLE.join(', ')} are missing, at least one parameter must be provided`);
  }
  const paused = parseBool(params.paused);
  const active = parseBool(params.active);
  const runUntagged = parseBool(params.run_untagged);
  const locked = parseBool(params.locked);
  for (const [k, v] of Object.entries({ paused, active, run_untagged: runUntagged, locked })) {
    if (v === 'invalid') return grapeError(`${k} is invalid`);
  }
  if (params.access_level !== undefined && params.access_level !== 'not_protected' && params.access_level !== 'ref_protected') {
    return grapeError('access_level does not have a valid value');
  }
  if (typeof params.description === 'string') runner.description = params.description;
  if (typeof params.maintenance_note === 'string') runner.maintenanceNote = params.maintenance_note;
  if (typeof active === 'boolean') runner.paused = !active;
  if (typeof paused === 'boolean') runner.paused = paused;
  if (typeof runUntagged === 'boolean') runner.runUntagged = runUntagged;
  if (typeof locked === 'boolean') runner.locked = locked;
  const tags = parseTags(params.tag_list);
  if (tags) runner.tagList = tags;
  if (params.access_level !== undefined) runner.accessLevel = params.access_level as FakeRunner['accessLevel'];
  if (params.maximum_timeout !== undefined) runner.maximumTimeout = Number(params.maximum_timeout);
  return json(200, runnerDetails(runner, version));
}

/** Answers one request against `state`, as GitLab REST v4 would. */
export function handleRequest(state: FakeGitlabState, req: ParsedRequest, baseUrl: string): Reply {
  const route = matchRoute(req.method, req.path);
  if (!route) return message(404, '404 Not Found');
  const id = route.id ?? 0;
  switch (route.key) {
    case 'POST /user/runners':
      return createRunner(state, req);
    case 'POST /runners':
      return registerLegacy(state, req);
    case 'POST /runners/verify':
      return verifyRunner(state, req);
    case 'POST /runners/reset_authentication_token':
      return resetByToken(state, req);
    case 'DELETE /runners':
      return deleteByToken(state, req);
    case 'DELETE /runners/managers':
      return deleteManager(state, req);
    case 'GET /runners/all':
    case 'GET /runners':
    case 'GET /groups/:id/runners':
    case 'GET /projects/:id/runners':
      return listRunners(state, req, route.key, id, baseUrl);
    case 'POST /jobs/request':
      return requestJob(state, req);
    case 'GET /user': {
      // Entities::UserWithAdmin for admins only: a regular user's answer has no is_admin at all.
      const auth = authenticateUser(state, req, ['api', 'read_api', 'read_user']);
      if (isReply(auth)) return auth;
      return json(200, { id: auth.user.id, username: auth.user.username, state: 'active', ...(auth.user.admin ? { is_admin: true } : {}) });
    }
    case 'GET /runners/:id':
      return withManagedRunner(state, req, id, RUNNER_READ, (runner) => json(200, runnerDetails(runner, state.version)));
    case 'PUT /runners/:id':
      return withManagedRunner(state, req, id, RUNNER_WRITE, (runner) => updateRunner(runner, req.params, state.version));
    case 'DELETE /runners/:id':
      return withManagedRunner(state, req, id, RUNNER_WRITE, (runner) => {
        state.runners.delete(runner.id);
        return { status: 204 };
      });
    case 'GET /runners/:id/jobs':
      return withManagedRunner(state, req, id, RUNNER_READ, (runner, auth) => listJobs(state, runner, auth.user, req.params, `${baseUrl}${req.path}`));
    case 'GET /runners/:id/managers':
      return withManagedRunner(state, req, id, RUNNER_READ, (runner) => listManagers(runner, req.params, `${baseUrl}${req.path}`));
    case 'POST /runners/:id/reset_authentication_token':
      return withManagedRunner(state, req, id, RUNNER_WRITE, (runner) => {
        state.resetToken(runner);
        return json(201, { token: runner.token, token_expires_at: runner.tokenExpiresAt });
      });
  }
}
