import type { GitlabApi } from './create-gitlab-client.js';
import { classifyGitlabError } from './describe-gitlab-error.js';
import { readAllPages } from './read-all-pages.js';
import { retryIdempotent, type RetryOptions } from './retry-idempotent.js';

/** GitLab calls a runner (manager) online while it contacted GitLab within the last 2 hours. */
const ONLINE_MS = 2 * 3600_000;

/** What a drain must know about one runner before pausing it and counting its jobs. */
export interface RunnerAccess {
  id: number;
  paused: boolean;
  runnerType: string;
  /** System ids of OTHER hosts (online managers) that use this runner's token. */
  sharedWith: string[];
  /**
   * Whether GitLab lists every job of this runner to the GITLAB_TOKEN user: admins see all (and only
   * admins manage instance runners), a group runner's Owner sees every project of the group; a project
   * runner may serve projects where a non-admin Maintainer is below Reporter, whose jobs GitLab leaves out.
   */
  allJobsVisible: boolean;
}

interface Manager {
  system_id?: string;
  contacted_at?: string | null;
}

/**
 * Whether the token's user is an instance admin (`GET /user` shows `is_admin` to admins only). A token
 * whose scopes do not cover `GET /user` (only `manage_runner`, say) counts as not known to be an admin.
 */
export async function isAdminToken(api: GitlabApi, retry: RetryOptions = {}): Promise<boolean> {
  try {
    const user = (await retryIdempotent(() => api.requester.get('user', { signal: retry.signal }), retry)).body as { is_admin?: boolean };
    return user.is_admin === true;
  } catch (err) {
    if (classifyGitlabError(err).kind === 'insufficient-scope') return false;
    throw err;
  }
}

/**
 * Per runner: paused or not, the other hosts sharing its token (`GET /runners/:id/managers`, every
 * page), and whether its job list is complete for this token. `systemId` is this host's; without one
 * no runner counts as shared.
 */
export async function readRunnerAccess(
  api: GitlabApi,
  runnerIds: number[],
  systemId: string | null,
  retry: RetryOptions = {},
  now = Date.now(),
): Promise<RunnerAccess[]> {
  const admin = await isAdminToken(api, retry);
  return Promise.all(
    runnerIds.map(async (id) => {
      const details = (await retryIdempotent(() => api.Runners.show(id), retry)) as unknown as {
        paused?: boolean;
        active?: boolean;
        runner_type?: string;
        runnerType?: string;
      };
      const managers = systemId === null ? [] : await readAllPages<Manager>(api, `runners/${id}/managers`, {}, retry);
      const sharedWith = managers
        .filter((m) => m.system_id !== undefined && m.system_id !== systemId && m.contacted_at && now - Date.parse(m.contacted_at) < ONLINE_MS)
        .map((m) => m.system_id!);
      const runnerType = details.runner_type ?? details.runnerType ?? 'unknown';
      return { id, paused: details.paused ?? details.active === false, runnerType, sharedWith, allJobsVisible: admin || runnerType !== 'project_type' };
    }),
  );
}
