import type { ControlContext } from '../job-context.js';
import { toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { classifyGitlabError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { listGitlabRunners, readRunner } from '../../src/clients/gitlab/list-runners.js';
import type { RetryOptions } from '../../src/clients/gitlab/retry-idempotent.js';
import { keys } from '../../src/queue/names.js';
import { joinRunners, type HostRunners, type RunnersView } from '../../src/reports/runner-view.js';
import { runnersLines } from '../../src/present/runners.js';
import { saveRunnersSummary } from '../../src/reports/runners-summary.js';
import type { Payload } from '../../src/queue/payloads/list-runners.js';

export { name, payloadSchema, retry, type Payload } from '../../src/queue/payloads/list-runners.js';

export type Result = RunnersView;

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'enrolledHost' | 'progress' | 'redis' | 'prefix'>;

const CALL_RETRY: RetryOptions = { attempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 };

/** Every enrolled host's runner entries and system id, as their workers published them. */
async function enrolledHosts(ctx: Context): Promise<HostRunners[]> {
  const names = (await ctx.redis.smembers(keys.hostIndex(ctx.prefix))).sort();
  const hosts = await Promise.all(names.map((name) => ctx.enrolledHost(name)));
  return hosts.filter((h) => h !== undefined).map((h) => ({ name: h.name, systemId: h.systemId ?? null, runners: h.runners ?? [] }));
}

/**
 * `runners [host|all]`: GitLab's runners (every runner for an admin's token, else those its user
 * manages) with their details and managers, joined with the runner entries and system ids the hosts
 * published; flags entries GitLab does not know, runners no host carries and tokens on several hosts.
 */
export async function run(payload: Payload, ctx: Context): Promise<Result> {
  await ctx.progress({ phase: 'reading runners', detail: 'GitLab and the hosts' });
  const hosts = await enrolledHosts(ctx);
  let listed;
  try {
    listed = await listGitlabRunners(ctx.gitlab, CALL_RETRY);
  } catch (err) {
    throw toGitlabJobError(err, { action: 'list the runners', gitlabUrl: ctx.gitlabUrl, userToken: true });
  }
  // Ids hosts carry that the list lacks: gone in GitLab (404), or only not visible to this token (403).
  const listedIds = new Set(listed.runners.map((r) => r.id));
  const carried = [...new Set(hosts.flatMap((h) => h.runners.map((r) => r.id)).filter((id): id is number => id !== undefined && !listedIds.has(id)))];
  const missing: number[] = [];
  for (const id of carried) {
    try {
      await readRunner(ctx.gitlab, id, CALL_RETRY);
    } catch (err) {
      const kind = classifyGitlabError(err).kind;
      if (kind === 'not-found') missing.push(id);
      else if (kind !== 'forbidden') throw toGitlabJobError(err, { action: `read runner #${id}`, gitlabUrl: ctx.gitlabUrl, userToken: true });
    }
  }
  const view = joinRunners({ ...listed, missing }, hosts, payload.host !== undefined ? { host: payload.host } : {});
  if (payload.host === undefined) {
    await saveRunnersSummary(ctx.redis, ctx.prefix, view);
  }
  return view;
}

export function summarize(result: Result): string {
  return runnersLines(result).join('\n');
}

/** The card's total: every runner and mismatch below the headline the row shows. */
export function summarizeAll(results: Result[]): string {
  return results.map((r) => runnersLines(r).slice(1).join('\n')).join('\n');
}
