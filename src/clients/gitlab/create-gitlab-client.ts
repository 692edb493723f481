import { Gitlab } from '@gitbeaker/rest';
import { createRequester, type RequesterResourceOptions } from './create-requester.js';

export type GitlabApi = InstanceType<typeof Gitlab>;

export interface GitlabClientOptions {
  /** GitLab base URL (GITLAB_URL), e.g. `https://gitlab.example.com`. */
  url: string;
  /** User token sent as PRIVATE-TOKEN; leave out for the runner-token endpoints. @defaultValue none */
  token?: string;
  /** Give up on one request after this long. @defaultValue 30000 */
  timeoutMs?: number;
}

/**
 * A gitbeaker client whose requests are made exactly once (no hidden retries of POSTs); see
 * createRequester. The bot builds its control-plane `gitlab` with a token, workers build one without.
 */
export function createGitlabClient(options: GitlabClientOptions): GitlabApi {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const requesterFn = (resource: RequesterResourceOptions) => createRequester(resource, { timeoutMs });
  const host = options.url.replace(/\/+$/, '');
  // The cast bridges our structural requester type to gitbeaker's generic RequesterType.
  const base = { host, requesterFn: requesterFn as never, queryTimeout: null };
  return options.token === undefined ? new Gitlab(base) : new Gitlab({ ...base, token: options.token });
}
