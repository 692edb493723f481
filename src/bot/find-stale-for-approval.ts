import type { GitlabApi } from '../clients/gitlab/create-gitlab-client.js';
import { toGitlabJobError } from '../clients/gitlab/describe-gitlab-error.js';
import { findStaleRunners, type StaleRunner } from '../clients/gitlab/stale-runners.js';

/**
 * What `cleanup-stale` reads when it is requested (so the approval can freeze the list): the same
 * selection its dry run makes, with the bot's GitLab token; GitLab's refusals become one line.
 */
export function createStaleFinder(gitlab: GitlabApi, gitlabUrl: string): (cutoff: number) => Promise<StaleRunner[]> {
  return async (cutoff) => {
    try {
      return (await findStaleRunners(gitlab, cutoff, { attempts: 3, baseDelayMs: 500, maxDelayMs: 5000 })).runners;
    } catch (err) {
      throw toGitlabJobError(err, { action: 'list the stale runners', gitlabUrl, userToken: true });
    }
  };
}
