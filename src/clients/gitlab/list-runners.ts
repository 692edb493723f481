import { mapLimit } from '../docker/map-limit.js';
import type { GitlabApi } from './create-gitlab-client.js';
import { classifyGitlabError } from './describe-gitlab-error.js';
import { listRunnerManagers, type RunnerManager } from './runner-managers.js';
import { readAllPages } from './read-all-pages.js';
import { retryIdempotent, type RetryOptions } from './retry-idempotent.js';

/** GitLab's runner statuses (16.0+: `paused` is an attribute, not a status). */
export const RUNNER_STATUSES = ['online', 'offline', 'stale', 'never_contacted'] as const;
export type RunnerStatus = (typeof RUNNER_STATUSES)[number];

/** One runner as GitLab shows it to the bot's token: list entry, details and managers together. */
export interface GitlabRunner {
  id: number;
  description: string;
  /** `instance_type`, `group_type` or `project_type`. */
  type: string;
  paused: boolean;
  status: RunnerStatus;
  contactedAt: string | null;
  createdAt: string | null;
  version: string | null;
  maintenanceNote: string;
  /** RFC 3339 when GitLab shows it (newer versions), else null. */
  tokenExpiresAt: string | null;
  managers: RunnerManager[];
}

/** Which list GitLab gave: every runner (an admin's token) or only those its user manages. */
export type ListScope = 'all' | 'owned';

interface Details {
  id: number;
  description?: string | null;
  runner_type?: string;
  paused?: boolean;
  active?: boolean;
  status?: string;
  contacted_at?: string | null;
  created_at?: string | null;
  version?: string | null;
  maintenance_note?: string | null;
  token_expires_at?: string | null;
}

/** A status from GitLab before 16.0 (`paused`, `active`) read as what it means now. */
function statusOf(details: Details): RunnerStatus {
  const status = details.status;
  if ((RUNNER_STATUSES as readonly string[]).includes(status ?? '')) return status as RunnerStatus;
  if (!details.contacted_at) return 'never_contacted';
  return Date.now() - Date.parse(details.contacted_at) < 2 * 3600_000 ? 'online' : 'offline';
}

/** `GET /runners/:id` (with the bot's token) as a GitlabRunner without managers. */
export async function readRunner(api: GitlabApi, id: number, retry: RetryOptions = {}): Promise<Omit<GitlabRunner, 'managers'>> {
  const d = (await retryIdempotent(() => api.requester.get(`runners/${id}`, { signal: retry.signal }), retry)).body as unknown as Details;
  return {
    id: Number(d.id ?? id),
    description: d.description ?? '',
    type: d.runner_type ?? 'unknown',
    paused: d.paused ?? d.active === false,
    status: statusOf(d),
    contactedAt: d.contacted_at ?? null,
    createdAt: d.created_at ?? null,
    version: d.version ?? null,
    maintenanceNote: d.maintenance_note ?? '',
    tokenExpiresAt: d.token_expires_at ?? null,
  };
}

/**
 * Ids of every runner the token may see, all pages: `GET /runners/all` (admins only), else
 * `GET /runners` (the runners its user manages; a non-admin gets 403 for the first). `query` passes
 * GitLab's filters, e.g. `{ status: 'stale' }`.
 */
export async function listRunnerIds(
  api: GitlabApi,
  query: Record<string, unknown> = {},
  retry: RetryOptions = {},
): Promise<{ ids: number[]; scope: ListScope }> {
  try {
    const all = await readAllPages<{ id: number }>(api, 'runners/all', query, retry);
    return { ids: all.map((r) => r.id), scope: 'all' };
  } catch (err) {
    const kind = classifyGitlabError(err).kind;
    if (kind !== 'forbidden') throw err;
    const owned = await readAllPages<{ id: number }>(api, 'runners', query, retry);
    return { ids: owned.map((r) => r.id), scope: 'owned' };
  }
}

/**
 * `read` of one listed runner, or undefined when GitLab answers 404: the runner was deleted after the
 * list was read (by someone else, or by a cleanup running at the same time), so it is no longer there.
 */
export async function unlessDeleted<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (classifyGitlabError(err).kind === 'not-found') return undefined;
    throw err;
  }
}

/** Every runner the token may see, with its details and managers (8 runners at a time); one deleted meanwhile is left out. */
export async function listGitlabRunners(api: GitlabApi, retry: RetryOptions = {}): Promise<{ runners: GitlabRunner[]; scope: ListScope }> {
  const { ids, scope } = await listRunnerIds(api, {}, retry);
  const read = await mapLimit(
    ids,
    8,
    (id) => unlessDeleted(async () => ({ ...(await readRunner(api, id, retry)), managers: await listRunnerManagers(api, id, retry) })),
    retry.signal,
  );
  return { runners: read.filter((r): r is GitlabRunner => r !== undefined), scope };
}
