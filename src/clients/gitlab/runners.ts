import type { GitlabApi } from './create-gitlab-client.js';
import { classifyGitlabError } from './describe-gitlab-error.js';
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

/** Number of jobs the runner is running now (`GET /runners/:id/jobs?status=running`, all pages), retried. */
export async function countRunningJobs(api: GitlabApi, runnerId: number, retry: RetryOptions = {}): Promise<number> {
  const jobs = await retryIdempotent(() => api.Runners.allJobs(runnerId, { status: 'running', perPage: 100 }), retry);
  return jobs.length;
}

/**
 * Runners whose maintenance note carries `note` (GET /runners/all, admins only, then each candidate's
 * details, since the list shows no note). Used to find a runner whose creation answer was lost.
 */
export async function findRunnersByNote(api: GitlabApi, type: RunnerKind, note: string, description: string | undefined): Promise<number[]> {
  const list = (await retryIdempotent(() => api.requester.get('runners/all', { searchParams: { type: `${type}_type`, per_page: 100 } }))) as unknown as {
    body: Array<{ id: number; description?: string }>;
  };
  const candidates = (Array.isArray(list.body) ? list.body : []).filter((r) => description === undefined || r.description === description);
  const found: number[] = [];
  for (const candidate of candidates) {
    const details = (await retryIdempotent(() => api.Runners.show(candidate.id))) as unknown as { maintenance_note?: string; maintenanceNote?: string };
    if ((details.maintenance_note ?? details.maintenanceNote ?? '').includes(note)) found.push(candidate.id);
  }
  return found;
}
