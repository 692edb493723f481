import type { GitlabApi } from './create-gitlab-client.js';
import { readAllPages } from './read-all-pages.js';
import { sleep, type RetryOptions } from './retry-idempotent.js';

/** One host's use of a runner token, as GitLab records it (`GET /runners/:id/managers`). */
export interface RunnerManager {
  systemId: string;
  /** gitlab-runner's version: GitLab records it only from gitlab-runner's own job requests, never from a verify. */
  version: string | null;
  contactedAt: string | null;
}

/** Every manager of a runner, all pages. Needs `manage_runner` (17.1+), `read_api` or `api`. */
export async function listRunnerManagers(api: GitlabApi, runnerId: number, retry: RetryOptions = {}): Promise<RunnerManager[]> {
  const managers = await readAllPages<{ system_id?: string; version?: string | null; contacted_at?: string | null }>(
    api,
    `runners/${runnerId}/managers`,
    {},
    retry,
  );
  return managers.map((m) => ({ systemId: m.system_id ?? '', version: m.version ?? null, contactedAt: m.contacted_at ?? null }));
}

/**
 * Whether gitlab-runner on the host `systemId` is using the runner's token: its manager has asked GitLab
 * for jobs (so carries a version). Looks again every `intervalMs` until `waitMs` has passed.
 */
export async function waitForRunnerPickup(
  api: GitlabApi,
  runnerId: number,
  systemId: string,
  options: { waitMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<boolean> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const managers = await listRunnerManagers(api, runnerId, { signal: options.signal });
    if (managers.some((m) => m.systemId === systemId && m.version !== null)) return true;
    if (Date.now() + (options.intervalMs ?? 2000) > deadline) return false;
    await sleep(options.intervalMs ?? 2000, options.signal);
  }
}
