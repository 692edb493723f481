import type { GitlabApi } from './create-gitlab-client.js';
import { classifyGitlabError } from './describe-gitlab-error.js';
import { readAllPages } from './read-all-pages.js';
import { retryIdempotent, type RetryOptions } from './retry-idempotent.js';

/** Control-plane calls with the bot's user token (GITLAB_TOKEN). */

export type RunnerKind = 'instance' | 'group' | 'project';

export interface CreateRunnerRequest {
  type: RunnerKind;
  groupId?: number;
  projectId?: number;
  description?: string;
  tags: string[];
  untagged: boolean;
  paused: boolean;
  /** Kept in GitLab with the runner (shown to admins); runnerops puts its request id here. */
  maintenanceNote?: string;
}

export interface CreatedRunner {
  id: number;
  /** The new glrt- token: seal it at once, never log or store it. */
  token: string;
  tokenExpiresAt: string | null;
}

/**
 * `POST /user/runners` (Users.createCIRunner). Not idempotent: called once, never retried (a lost
 * answer may still have created a runner).
 */
export async function createRunner(api: GitlabApi, request: CreateRunnerRequest): Promise<CreatedRunner> {
  const created = (await api.Users.createCIRunner(`${request.type}_type`, {
    ...(request.groupId !== undefined ? { groupId: request.groupId } : {}),
    ...(request.projectId !== undefined ? { projectId: request.projectId } : {}),
    ...(request.description !== undefined ? { description: request.description } : {}),
    paused: request.paused,
    runUntagged: request.untagged,
    ...(request.tags.length > 0 ? { tagList: request.tags } : {}),
    ...(request.maintenanceNote !== undefined ? { maintenanceNote: request.maintenanceNote } : {}),
  })) as unknown as Record<string, unknown>;
  const expires = created.token_expires_at ?? created.tokenExpiresAt;
  if (typeof created.token !== 'string') throw new Error('GitLab created the runner but sent no token');
  return { id: Number(created.id), token: created.token, tokenExpiresAt: typeof expires === 'string' && expires !== '' ? expires : null };
}

/**
 * `POST /runners/:id/reset_authentication_token` with the user token: works when the runner's own
 * token has expired (reset by token then answers 403). ONE request, never retried: the old token is
 * dead once GitLab handled it, so a lost answer means another reset.
 */
export async function resetRunnerTokenById(api: GitlabApi, runnerId: number): Promise<Omit<CreatedRunner, 'id'>> {
  const body = ((await api.requester.post(`runners/${runnerId}/reset_authentication_token`)).body ?? {}) as Record<string, unknown>;
  if (typeof body.token !== 'string' || body.token === '') throw new Error('GitLab answered the token reset without a token');
  const expires = body.token_expires_at;
  return { token: body.token, tokenExpiresAt: typeof expires === 'string' && expires !== '' ? expires : null };
}

/** `DELETE /runners/:id`, retried; a runner that is already gone (404) counts as deleted. */
export async function deleteRunner(api: GitlabApi, runnerId: number, retry: RetryOptions = {}): Promise<'deleted' | 'already-gone'> {
  try {
    await retryIdempotent(() => api.Runners.remove({ runnerId }), retry);
    return 'deleted';
  } catch (err) {
    if (classifyGitlabError(err).kind === 'not-found') return 'already-gone';
    throw err;
  }
}

/** `PUT /runners/:id` with `paused`, retried (idempotent). */
export async function setRunnerPaused(api: GitlabApi, runnerId: number, paused: boolean, retry: RetryOptions = {}): Promise<void> {
  await retryIdempotent(() => api.Runners.edit(runnerId, { paused }), retry);
}

/**
 * Jobs of a runner still running on a host: states `running` and `canceling` (after_script still runs),
 * all pages, retried. With `systemId` only that runner manager's (one host's) jobs.
 */
export async function countRunningJobs(api: GitlabApi, runnerId: number, retry: RetryOptions = {}, systemId?: string): Promise<number> {
  const filter = systemId !== undefined ? { system_id: systemId } : {};
  const count = async (status: string) => (await readAllPages<unknown>(api, `runners/${runnerId}/jobs`, { status, ...filter }, retry)).length;
  const [running, canceling] = await Promise.all([
    count('running'),
    // A GitLab without the canceling state refuses the value (400): it has no such jobs then.
    count('canceling').catch((err: unknown) => {
      if (classifyGitlabError(err).kind === 'bad-request') return 0;
      throw err;
    }),
  ]);
  return running + canceling;
}

/** Where a runner of a type is listed for its owner: the group's or project's list; instance runners only in the admin list. */
export interface RunnerOwner {
  type: RunnerKind;
  groupId?: number;
  projectId?: number;
}

function listEndpoint(owner: RunnerOwner): string {
  if (owner.type === 'group' && owner.groupId !== undefined) return `groups/${owner.groupId}/runners`;
  if (owner.type === 'project' && owner.projectId !== undefined) return `projects/${owner.projectId}/runners`;
  // Only admins create instance runners, and GitLab lists them only in the admin list.
  return 'runners/all';
}

/**
 * The newest runner of `owner` whose maintenance note carries `note` (to find a runner whose creation
 * answer was lost): reads every page of the owner's list (`GET /groups/:id/runners`,
 * `GET /projects/:id/runners`, or `GET /runners/all` for instance runners, which only admins create),
 * then the details of the candidates newest first, since lists show no note. Needs `read_api` or `api`.
 */
export async function findRunnersByNote(api: GitlabApi, owner: RunnerOwner, note: string, description: string | undefined): Promise<number[]> {
  const list = await readAllPages<{ id: number; description?: string; runner_type?: string }>(api, listEndpoint(owner), { type: `${owner.type}_type` });
  const candidates = list.filter((r) => description === undefined || r.description === description).sort((a, b) => b.id - a.id);
  for (const candidate of candidates) {
    const details = (await retryIdempotent(() => api.Runners.show(candidate.id))) as unknown as { maintenance_note?: string; maintenanceNote?: string };
    if ((details.maintenance_note ?? details.maintenanceNote ?? '').includes(note)) return [candidate.id];
  }
  return [];
}
