import { mapLimit } from '../docker/map-limit.js';
import type { GitlabApi } from './create-gitlab-client.js';
import { listRunnerIds, readRunner, unlessDeleted, type ListScope } from './list-runners.js';
import type { RetryOptions } from './retry-idempotent.js';

/** A runner `cleanup-stale` deletes: what the approver and the card see of it. */
export interface StaleRunner {
  id: number;
  description: string;
  type: string;
  /** When it last contacted GitLab; null: never (then `createdAt` counts). */
  contactedAt: string | null;
  createdAt: string | null;
}

/** GitLab calls a runner stale after 7 days without contact: a shorter --older-than finds nothing more. */
export const STALE_AFTER_SECONDS = 7 * 86400;

/** Whether `runner` has not contacted GitLab since `cutoff` (never contacted: created before it). */
export function isStaleSince(runner: Pick<StaleRunner, 'contactedAt' | 'createdAt'>, cutoff: number): boolean {
  const last = runner.contactedAt ?? runner.createdAt;
  return last !== null && Date.parse(last) < cutoff;
}

/**
 * The runners `cleanup-stale` would delete: GitLab's stale ones (`status=stale`, every page; every
 * runner for an admin's token, else those its user manages) whose last contact (or creation, for one
 * that never contacted) is before `cutoff` (ms since epoch), ordered by id. The dry run and the
 * approval both take this list; the run deletes only runners of the list it was given.
 */
export async function findStaleRunners(api: GitlabApi, cutoff: number, retry: RetryOptions = {}): Promise<{ runners: StaleRunner[]; scope: ListScope }> {
  const { ids, scope } = await listRunnerIds(api, { status: 'stale' }, retry);
  const details = await mapLimit(ids, 8, (id) => unlessDeleted(() => readRunner(api, id, retry)), retry.signal);
  const runners = details
    .filter((d): d is NonNullable<typeof d> => d !== undefined && isStaleSince(d, cutoff))
    .map((d) => ({ id: d.id, description: d.description, type: d.type, contactedAt: d.contactedAt, createdAt: d.createdAt }))
    .sort((a, b) => a.id - b.id);
  return { runners, scope };
}
