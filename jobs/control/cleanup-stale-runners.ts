import type { ControlContext } from '../job-context.js';
import { classifyGitlabError, toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { readRunner } from '../../src/clients/gitlab/list-runners.js';
import type { RetryOptions } from '../../src/clients/gitlab/retry-idempotent.js';
import { deleteRunner } from '../../src/clients/gitlab/runners.js';
import { findStaleRunners, isStaleSince, type StaleRunner } from '../../src/clients/gitlab/stale-runners.js';
import type { Payload } from '../../src/queue/payloads/cleanup-stale-runners.js';

export { name, payloadSchema, retry, timeoutMs, type Payload } from '../../src/queue/payloads/cleanup-stale-runners.js';

export interface Result {
  dryRun: boolean;
  cutoff: number;
  /** Deleted (or, in a dry run, would be deleted). */
  deleted: StaleRunner[];
  /** On the approved list, but contacted GitLab since the approval: kept. */
  kept: number[];
  /** On the approved list, already gone from GitLab. */
  gone: number[];
}

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'progress'>;

const CALL_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

const gitlabError = (ctx: Context, err: unknown, action: string) => toGitlabJobError(err, { action, gitlabUrl: ctx.gitlabUrl, userToken: true });

/**
 * `cleanup-stale [--older-than 90d] [--dry-run]`: a dry run lists the stale runners (findStaleRunners);
 * the approved run deletes exactly the runners of the list the approval froze, each only if it is
 * still stale (a runner that came back since is kept) and treats one already gone as gone.
 */
export async function run(payload: Payload, ctx: Context): Promise<Result> {
  if (payload.dryRun) {
    await ctx.progress({ phase: 'listing stale runners' });
    try {
      const { runners } = await findStaleRunners(ctx.gitlab, payload.cutoff, CALL_RETRY);
      return { dryRun: true, cutoff: payload.cutoff, deleted: runners, kept: [], gone: [] };
    } catch (err) {
      throw gitlabError(ctx, err, 'list the stale runners');
    }
  }
  const deleted: StaleRunner[] = [];
  const kept: number[] = [];
  const gone: number[] = [];
  const approved = payload.runners ?? [];
  for (const [i, runner] of approved.entries()) {
    await ctx.progress({ phase: 'deleting', detail: `#${runner.id} (${i + 1} of ${approved.length})` });
    try {
      const now = await readRunner(ctx.gitlab, runner.id, CALL_RETRY);
      if (!isStaleSince(now, payload.cutoff)) {
        kept.push(runner.id);
        continue;
      }
      if ((await deleteRunner(ctx.gitlab, runner.id, CALL_RETRY)) === 'deleted') deleted.push(runner);
      else gone.push(runner.id);
    } catch (err) {
      if (classifyGitlabError(err).kind === 'not-found') {
        gone.push(runner.id);
        continue;
      }
      const done = deleted.length > 0 ? ` (deleted before it: ${deleted.map((r) => `#${r.id}`).join(', ')})` : '';
      const error = gitlabError(ctx, err, `delete stale runner #${runner.id}`);
      error.message = `${error.message}${done}`;
      throw error;
    }
  }
  return { dryRun: false, cutoff: payload.cutoff, deleted, kept, gone };
}

/** One runner as the list shows it. */
export function staleLine(r: StaleRunner): string {
  const last = r.contactedAt ? `last contact ${r.contactedAt.slice(0, 10)}` : `never contacted, created ${r.createdAt?.slice(0, 10) ?? '?'}`;
  return `#${r.id} ${r.type.replace(/_type$/, '')} "${r.description}": ${last}`;
}

export function summarize(result: Result): string {
  const since = new Date(result.cutoff).toISOString().slice(0, 10);
  const head = result.dryRun
    ? `would delete ${result.deleted.length} runner${result.deleted.length === 1 ? '' : 's'} without contact since ${since} (dry run: nothing deleted)`
    : `deleted ${result.deleted.length} runner${result.deleted.length === 1 ? '' : 's'} without contact since ${since}`;
  const notes = [
    ...(result.kept.length > 0 ? [`kept ${result.kept.map((id) => `#${id}`).join(', ')}: contacted GitLab since the approval`] : []),
    ...(result.gone.length > 0 ? [`already gone: ${result.gone.map((id) => `#${id}`).join(', ')}`] : []),
  ];
  return [notes.length > 0 ? `${head}; ${notes.join('; ')}` : head, ...result.deleted.map(staleLine)].join('\n');
}

/** The card's total: every runner of the list, below the count the row shows. */
export function summarizeAll(results: Result[]): string {
  return results.map((r) => summarize(r).split('\n').slice(1).join('\n')).join('\n');
}
