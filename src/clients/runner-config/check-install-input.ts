import { PermanentJobError } from '../../errors.js';

/**
 * Checks on what a job asks a host to write into files that nixpkgs' gitlab-runner configure script
 * `source`s as root: anything that bash would expand or run is refused, never escaped.
 */

/** A runner authentication token as GitLab issues it: `glrt-`, then base64url (and, for routable tokens, `.`) characters. */
const RUNNER_TOKEN = /^glrt-[A-Za-z0-9_.-]{20,300}$/;

/** Characters a value may have in a file bash `source`s: no quote, `$`, backtick, `\`, `;`, `&`, `|`, `<`, `>`, `(`, `)`, `~`, space, glob or control character. */
const SOURCE_SAFE = /^[A-Za-z0-9._:/?#@%+=,-]*$/;

/** A runner name as written to config.toml and token-file comments: no control characters, no quotes. */
// eslint-disable-next-line no-control-regex -- the point is to refuse control characters
const RUNNER_NAME = /^[^\x00-\x1f\x7f"'`\\$]{1,255}$/;

/** Refuses a value that is not a glrt- runner token; the message never repeats the value. */
export function checkRunnerToken(token: string): void {
  if (!RUNNER_TOKEN.test(token)) {
    throw new PermanentJobError(
      'the sealed token is not a runner authentication token (expected "glrt-" and 20 or more letters, digits, "-", "_" or "."); nothing was written; register the runner again',
    );
  }
}

/** Whether `value` can stand unquoted after `NAME=` in a file bash sources, with nothing expanded or run. */
export function isSourceSafe(value: string): boolean {
  return SOURCE_SAFE.test(value);
}

/** Refuses a value for `variable` that bash would expand or run when the env file is sourced. */
export function checkSourceSafe(variable: string, value: string): void {
  if (!isSourceSafe(value)) {
    throw new PermanentJobError(
      `refusing to write ${variable}: its value has characters a shell would expand or run when gitlab-runner's configure script sources the file (allowed: letters, digits and . _ : / ? # @ % + = , -)`,
    );
  }
}

/** Refuses a runner name with control characters, quotes, `$` or a backslash. */
export function checkRunnerName(name: string): void {
  if (!RUNNER_NAME.test(name)) {
    throw new PermanentJobError('the runner name has control characters, quotes, "$" or "\\" (or is longer than 255); register it with a plain --description');
  }
}

/** `url` without a trailing slash, lower-case scheme and host, default port dropped; undefined when it is no http(s) URL. */
export function normalizeGitlabUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') return undefined;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * The worker's own GITLAB_URL when `requested` names the same GitLab; a job that names another GitLab
 * is refused, so a token never goes to, and no runner ever polls, a server this host was not set up for.
 */
export function checkSameGitlab(requested: string, own: string): string {
  const ownUrl = normalizeGitlabUrl(own);
  if (ownUrl === undefined || normalizeGitlabUrl(requested) !== ownUrl) {
    throw new PermanentJobError(
      `the runner is for another GitLab than this worker's GITLAB_URL (${own}); nothing was written; register it from a bot whose GITLAB_URL is ${own}`,
    );
  }
  if (!isSourceSafe(ownUrl)) throw new PermanentJobError(`GITLAB_URL (${own}) has characters a shell would expand; fix it in the worker's configuration`);
  return ownUrl;
}
