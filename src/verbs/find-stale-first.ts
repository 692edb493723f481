import type { RequestOf } from '../commands/requests.js';
import { UserError } from '../errors.js';
import type { StaleRunner } from '../clients/gitlab/stale-runners.js';
import type { ExecuteDeps } from './execute-deps.js';
import type { PlanContext } from './plan-job.js';

/**
 * What a verb reads before it is planned: more context for its plan (and the approval's text), or
 * nothing to do, said in one line.
 */
export type Prepared =
  | { kind: 'plan'; context: Omit<PlanContext, 'requester'>; approvalText?: (text: string) => string }
  | { kind: 'nothing to do'; text: string; outcome: string };

/** Runner ids an approval's text lists at most (the frozen plan holds them all, the card shows them all). */
const LISTED_IDS = 60;

/** `cleanup-stale ...: deletes 3 runners: #4, #9, #12` as the approver reads it. */
function cleanupText(text: string, stale: StaleRunner[]): string {
  const ids = stale
    .slice(0, LISTED_IDS)
    .map((r) => `#${r.id}`)
    .join(', ');
  const more = stale.length > LISTED_IDS ? ` and ${stale.length - LISTED_IDS} more (the dry run lists them all)` : '';
  return `${text}: deletes ${stale.length} runner${stale.length === 1 ? '' : 's'}: ${ids}${more}`;
}

/**
 * `cleanup-stale` (not its dry run) reads the stale runners from GitLab when it is requested, so the
 * approval freezes exactly that list; none found is nothing to clean up.
 */
export async function findStaleFirst(deps: ExecuteDeps, request: RequestOf<'cleanup-stale'>, now: number): Promise<Prepared> {
  if (request.dryRun) return { kind: 'plan', context: {} };
  if (!deps.findStaleRunners) throw new UserError('the bot has no GitLab access: set GITLAB_URL and GITLAB_TOKEN');
  const cutoff = now - request.olderThanSeconds * 1000;
  const stale = await deps.findStaleRunners(cutoff);
  if (stale.length === 0) {
    return {
      kind: 'nothing to do',
      text: `no runner has been without contact since ${new Date(cutoff).toISOString().slice(0, 10)}: nothing to clean up`,
      outcome: 'nothing to clean up',
    };
  }
  return { kind: 'plan', context: { stale }, approvalText: (text) => cleanupText(text, stale) };
}
