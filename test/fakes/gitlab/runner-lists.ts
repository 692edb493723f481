import { atLeast, versionAtLeast, type FakeGitlabState, type FakeRunner, type FakeUser, type RunnerType } from './fake-gitlab-state.js';
import {
  authenticateUser,
  grapeError,
  isReply,
  json,
  message,
  parseBool,
  runnerDetails,
  runnerStatus,
  type ParsedRequest,
  type Reply,
  type RouteKey,
} from './handle-request.js';
import { paginate } from './paginate.js';

type ListKey = Extract<RouteKey, 'GET /runners/all' | 'GET /runners' | 'GET /groups/:id/runners' | 'GET /projects/:id/runners'>;

const RUNNER_TYPES: RunnerType[] = ['instance_type', 'group_type', 'project_type'];

/**
 * Job states a runner's job list filters on (Ci::HasStatus::AVAILABLE_STATUSES); `canceling` (a job
 * still running its after_script) is newer than the rest: this fake takes it from 17.0 on, and older
 * versions answer 400 for it as GitLab's param validation does for an unknown state.
 */
function jobStatusesOf(version: string): string[] {
  const statuses = ['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'success', 'failed', 'canceled', 'skipped', 'manual', 'scheduled'];
  return versionAtLeast(version, '17.0') ? [...statuses, 'canceling'] : statuses;
}

/** The list entity (Entities::Ci::Runner): no maintenance note, no tags; `GET /runners/:id` has those. */
function listEntry(runner: FakeRunner, version: string): Record<string, unknown> {
  const { id, description, ip_address, active, paused, is_shared, runner_type, name, online, status } = runnerDetails(runner, version);
  return { id, description, ip_address, active, paused, is_shared, runner_type, name, online, status };
}

/** Runners a user "owns" (User#ci_owned_runners): project runners they maintain, group runners they own. Never instance runners. */
function ownedBy(state: FakeGitlabState, user: FakeUser, runner: FakeRunner): boolean {
  if (runner.runnerType === 'project_type' && runner.projectId !== undefined) return atLeast(state.projectRole(user, runner.projectId), 'maintainer');
  if (runner.runnerType === 'group_type' && runner.groupId !== undefined) return atLeast(state.groupRole(user, runner.groupId), 'owner');
  return false;
}

/**
 * The lists' `status` (online, offline, stale, never_contacted; the deprecated active and paused) and
 * `paused` filters (lib/api/ci/runners.rb `filter_runners`); anything else is Grape's 400.
 */
function statusFilter(version: string, params: Record<string, unknown>): ((runner: FakeRunner) => boolean) | Reply {
  const status = params.status;
  const statuses = ['active', 'paused', 'online', 'offline', 'stale', 'never_contacted'];
  if (status !== undefined && !statuses.includes(String(status))) return grapeError('status does not have a valid value');
  const paused = parseBool(params.paused);
  if (paused === 'invalid') return grapeError('paused is invalid');
  return (runner) => {
    if (paused !== undefined && runner.paused !== paused) return false;
    if (status === undefined) return true;
    if (status === 'active') return !runner.paused;
    if (status === 'paused') return runner.paused;
    // From 16.0 a paused runner still has its contact status; before, `paused` replaced it.
    return runnerStatus(runner, versionAtLeast(version, '16.0') ? version : '16.0') === status;
  };
}

/**
 * The runner lists (lib/api/ci/runners.rb, lib/api/ci/group_runners.rb... ): `GET /runners/all` for
 * admins only; `GET /runners` the user's own; `GET /groups/:id/runners` (Maintainer+) the group's and
 * the instance's; `GET /projects/:id/runners` (Maintainer+) the project's, its group's and the
 * instance's. All need `api` or `read_api` (`manage_runner` is not honoured on lists), take `type`,
 * and are paginated in ascending id order.
 */
export function listRunners(state: FakeGitlabState, req: ParsedRequest, key: ListKey, id: number, baseUrl: string): Reply {
  const auth = authenticateUser(state, req, ['api', 'read_api']);
  if (isReply(auth)) return auth;
  const user = auth.user;
  const type = req.params.type;
  if (type !== undefined && !RUNNER_TYPES.includes(type as RunnerType)) return grapeError('type does not have a valid value');
  let visible: (runner: FakeRunner) => boolean;
  switch (key) {
    case 'GET /runners/all':
      if (!user.admin) return message(403, '403 Forbidden');
      visible = () => true;
      break;
    case 'GET /runners':
      visible = (r) => ownedBy(state, user, r);
      break;
    case 'GET /groups/:id/runners':
      if (!state.groups.has(id) || (!user.admin && state.groupRole(user, id) === undefined)) return message(404, '404 Group Not Found');
      if (!user.admin && !atLeast(state.groupRole(user, id), 'maintainer')) return message(403, '403 Forbidden');
      visible = (r) => r.runnerType === 'instance_type' || (r.runnerType === 'group_type' && r.groupId === id);
      break;
    case 'GET /projects/:id/runners': {
      if (!state.projects.has(id) || (!user.admin && state.projectRole(user, id) === undefined)) return message(404, '404 Project Not Found');
      if (!user.admin && !atLeast(state.projectRole(user, id), 'maintainer')) return message(403, '403 Forbidden');
      const groupId = state.projectGroups.get(id);
      visible = (r) =>
        r.runnerType === 'instance_type' ||
        (r.runnerType === 'project_type' && r.projectId === id) ||
        (r.runnerType === 'group_type' && groupId !== undefined && r.groupId === groupId);
      break;
    }
  }
  const filter = statusFilter(state.version, req.params);
  if (isReply(filter)) return filter;
  const runners = [...state.runners.values()]
    .filter((r) => visible(r) && (type === undefined || r.runnerType === type) && filter(r))
    .sort((a, b) => a.id - b.id);
  const { page, headers } = paginate(runners, req.params, `${baseUrl}${req.path}`);
  return json(
    200,
    page.map((r) => listEntry(r, state.version)),
    headers,
  );
}

/**
 * `GET /runners/:id/jobs` (Ci::RunnerJobsFinder): `status`, `system_id` (one manager's jobs), paginated,
 * newest first. A non-admin sees only jobs of projects where they are Reporter or above.
 */
export function listJobs(state: FakeGitlabState, runner: FakeRunner, user: FakeUser, params: Record<string, unknown>, url: string): Reply {
  if (params.status !== undefined && !jobStatusesOf(state.version).includes(String(params.status))) return grapeError('status does not have a valid value');
  const jobs = runner.jobs
    .filter((j) => params.status === undefined || j.status === params.status)
    .filter((j) => params.system_id === undefined || j.systemId === params.system_id)
    .filter((j) => state.seesJobsOf(user, j.projectId))
    .sort((a, b) => b.id - a.id);
  const { page, headers } = paginate(jobs, params, url);
  const body = page.map((j) => ({
    id: j.id,
    status: j.status,
    stage: 'test',
    name: j.name,
    ref: 'main',
    created_at: runner.createdAt,
    started_at: j.status === 'pending' ? null : runner.createdAt,
    project: { id: j.projectId, name: `project-${j.projectId}` },
    pipeline: { id: j.id * 10, project_id: j.projectId, status: j.status },
    ...(j.systemId !== undefined ? { runner_manager: { system_id: j.systemId } } : {}),
  }));
  return json(200, body, headers);
}

/** `GET /runners/:id/managers`: one entry per system id that used the token, with what gitlab-runner reported. */
export function listManagers(runner: FakeRunner, params: Record<string, unknown>, url: string): Reply {
  const { page, headers } = paginate(runner.managers, params, url);
  const body = page.map((m) => ({
    id: m.id,
    system_id: m.systemId,
    version: m.version,
    revision: m.revision,
    platform: m.platform,
    architecture: m.architecture,
    executor: m.executor,
    created_at: m.createdAt,
    contacted_at: m.contactedAt,
    ip_address: '127.0.0.1',
    status: Date.now() - Date.parse(m.contactedAt) < 2 * 3600_000 ? 'online' : 'offline',
  }));
  return json(200, body, headers);
}
