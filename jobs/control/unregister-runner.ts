import type { ControlContext } from '../job-context.js';
import { PermanentJobError } from '../../src/errors.js';
import { classifyGitlabError, toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { readRunner, type GitlabRunner } from '../../src/clients/gitlab/list-runners.js';
import type { RetryOptions } from '../../src/clients/gitlab/retry-idempotent.js';
import { deleteRunner } from '../../src/clients/gitlab/runners.js';
import * as removeRunner from '../remove-runner.js';
import type { Payload } from '../../src/queue/payloads/unregister-runner.js';

export { name, payloadSchema, type Payload } from '../../src/queue/payloads/unregister-runner.js';

export interface Result {
  host: string;
  runnerId: number;
  runner: string;
  dryRun: boolean;
  /** What GitLab had (or has, in a dry run): `deleted`/`would-delete`, or `already-gone`. */
  gitlab: 'deleted' | 'would-delete' | 'already-gone';
  /** The runner as GitLab showed it before; absent when already gone. */
  before?: Omit<GitlabRunner, 'managers'>;
  /** The host's part; in a dry run the entry the host publishes, which it would remove. */
  removed?: removeRunner.Result;
  wouldRemove?: string;
  /** Other hosts that carried the runner too (its token stops working there). */
  alsoOn?: string[];
}

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'progress' | 'runOnHost' | 'enrolledHost'>;

const CALL_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * `unregister <host> --runner X [--dry-run]`, after an approval: deletes the runner in GitLab
 * (`DELETE /runners/:id`; a 404 counts as already deleted, so a rerun finishes the host's part), then
 * has the host remove its entry (remove-runner, which the host refuses without the approval). The dry
 * run reads the same runner in GitLab and the host's published entry and changes nothing.
 */
export async function run(payload: Payload, ctx: Context): Promise<Result> {
  const base = {
    host: payload.host,
    runnerId: payload.runnerId,
    runner: payload.runner,
    dryRun: payload.dryRun,
    ...(payload.alsoOn.length > 0 ? { alsoOn: payload.alsoOn } : {}),
  };
  let before: Omit<GitlabRunner, 'managers'> | undefined;
  try {
    before = await readRunner(ctx.gitlab, payload.runnerId, CALL_RETRY);
  } catch (err) {
    if (classifyGitlabError(err).kind !== 'not-found')
      throw toGitlabJobError(err, { action: `read runner #${payload.runnerId}`, gitlabUrl: ctx.gitlabUrl, userToken: true });
  }
  if (payload.dryRun) {
    const host = await ctx.enrolledHost(payload.host);
    const entry = host?.runners?.find((r) => r.id === payload.runnerId);
    return {
      ...base,
      gitlab: before ? 'would-delete' : 'already-gone',
      ...(before ? { before } : {}),
      wouldRemove: entry ? `"${entry.name}" from ${payload.host}'s config.toml` : `nothing on ${payload.host} (it publishes no entry for #${payload.runnerId})`,
    };
  }
  await ctx.progress({ phase: 'deleting in GitLab', detail: `#${payload.runnerId}` });
  let gitlab: Result['gitlab'] = 'already-gone';
  if (before) {
    try {
      gitlab = await deleteRunner(ctx.gitlab, payload.runnerId, CALL_RETRY);
    } catch (err) {
      throw toGitlabJobError(err, { action: `delete runner #${payload.runnerId}`, gitlabUrl: ctx.gitlabUrl, userToken: true });
    }
  }
  await ctx.progress({ phase: 'removing from the host', detail: payload.host });
  try {
    const removed = (await ctx.runOnHost(
      payload.host,
      removeRunner.name,
      { runnerId: payload.runnerId, runner: payload.runner },
      { timeoutMs: 5 * 60_000 },
    )) as removeRunner.Result;
    return { ...base, gitlab, ...(before ? { before } : {}), removed };
  } catch (err) {
    throw new PermanentJobError(
      `runner #${payload.runnerId} is ${gitlab === 'deleted' ? 'deleted' : 'already gone'} in GitLab, but ${payload.host} did not remove its entry (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); run the same unregister again`,
    );
  }
}

export function summarize(result: Result): string {
  const what = `runner "${result.runner}" (#${result.runnerId})`;
  const others = result.alsoOn ?? [];
  if (result.dryRun) {
    const gitlab =
      result.gitlab === 'would-delete'
        ? `would delete ${what} in GitLab (${result.before?.status ?? '?'}${result.before?.paused ? ', paused' : ''})`
        : `${what} is already gone in GitLab`;
    const stops = others.length > 0 ? `\nit would stop working on ${others.join(', ')} too, which carry it` : '';
    return `${gitlab}; would remove ${result.wouldRemove ?? 'its entry'} (dry run: nothing changed)${stops}`;
  }
  const gitlab = result.gitlab === 'deleted' ? `deleted ${what} in GitLab` : `${what} was already gone in GitLab`;
  const stops = others
    .map((h) => `\n${h} still has it in config.toml with a dead token: "unregister ${h} --runner ${result.runnerId}" removes it there`)
    .join('');
  return `${gitlab}; ${result.removed ? removeRunner.summarize(result.removed) : 'host not asked'}${stops}`;
}

/** The card's total: the other hosts the runner stopped on, below the line the row shows. */
export function summarizeAll(results: Result[]): string {
  return results.map((r) => summarize(r).split('\n').slice(1).join('\n')).join('\n');
}
