import type { ControlContext } from '../job-context.js';
import { PermanentJobError, UserError, firstLine } from '../../src/errors.js';
import { toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { retryIdempotent, sleep, type RetryOptions } from '../../src/clients/gitlab/retry-idempotent.js';
import { countRunningJobs, setRunnerPaused } from '../../src/clients/gitlab/runners.js';
import { readRunnerAccess, type RunnerAccess } from '../../src/clients/gitlab/runner-access.js';
import { formatMs } from '../../src/present/format.js';
import * as readSystemId from '../read-system-id.js';
import * as restartNixDaemon from '../restart-nix-daemon.js';
import { keys } from '../../src/queue/names.js';
import type { Payload } from '../../src/queue/payloads/restart-drained.js';

export { name, payloadSchema, type Payload } from '../../src/queue/payloads/restart-drained.js';

export interface Result {
  host: string;
  /** Runners this job paused (and unpaused again). */
  pausedRunners: number[];
  /** Runners that were paused already: left paused. */
  alreadyPaused: number[];
  /** Runners whose token other hosts use too (their managers are online): not paused, only this host's jobs counted. */
  sharedRunners: number[];
  /** Runners whose jobs in projects where the GITLAB_TOKEN user is below Reporter GitLab does not list: the count may be short. */
  unseenRunners: number[];
  /** This host's runner-manager id the jobs were counted by; null: unknown, all the runners' jobs counted. */
  systemId: string | null;
  /** Milliseconds from pausing until no runner had a running job (or the timeout). */
  drainMs: number;
  /** Jobs still running when the drain timed out and the restart went ahead (0 normally). */
  jobsStillRunning: number;
  restart: restartNixDaemon.Result;
}

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'runOnHost' | 'progress' | 'log'> & Partial<Pick<ControlContext, 'redis' | 'prefix'>>;

/**
 * Which runners this drain paused, kept in Redis before each pause: if the bot dies mid-drain, the
 * rerun of the same command unpauses them too instead of taking them for "already paused".
 */
function pauseLedger(ctx: Context, requestId: string | undefined) {
  const key = ctx.redis && ctx.prefix && requestId ? keys.drainPaused(ctx.prefix, requestId) : undefined;
  return {
    async earlier(): Promise<number[]> {
      return key ? (await ctx.redis!.smembers(key)).map(Number) : [];
    },
    async add(id: number): Promise<void> {
      if (key)
        await ctx
          .redis!.multi()
          .sadd(key, String(id))
          .expire(key, 7 * 86400)
          .exec();
    },
    async clear(): Promise<void> {
      if (key) await ctx.redis!.del(key);
    },
  };
}

/** GitLab retries: a few quick ones while draining, more patience for the unpause that must not be lost. */
const CALL_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };
const UNPAUSE_RETRY: RetryOptions = { attempts: 8, baseDelayMs: 1000, maxDelayMs: 30_000 };

const label = (ids: number[]): string => ids.map((id) => `#${id}`).join(', ');

async function isPaused(ctx: Context, runnerId: number): Promise<boolean> {
  const runner = (await retryIdempotent(() => ctx.gitlab.Runners.show(runnerId), CALL_RETRY)) as unknown as { paused?: boolean; active?: boolean };
  return runner.paused ?? runner.active === false;
}

/** Jobs still running on this host: by its system id when known (a shared token's other hosts are not counted). */
async function countAllRunning(ctx: Context, runnerIds: number[], systemId: string | null): Promise<number> {
  const counts = await Promise.all(runnerIds.map((id) => countRunningJobs(ctx.gitlab, id, CALL_RETRY, systemId ?? undefined)));
  return counts.reduce((a, b) => a + b, 0);
}

/** This host's system id from its worker; null when it has none yet or its worker does not know the job. */
async function hostSystemId(ctx: Context, host: string): Promise<string | null> {
  try {
    const result = (await ctx.runOnHost(host, readSystemId.name, {}, { timeoutMs: 60_000 })) as Partial<readSystemId.Result> | undefined;
    return typeof result?.systemId === 'string' ? result.systemId : null;
  } catch (err) {
    ctx.log.warn({ host, err }, "could not read the host's system id; counting all jobs of its runners");
    return null;
  }
}

/** Unpauses every runner it can; returns the ids it could not unpause, with the first reason. */
async function unpauseAll(ctx: Context, runnerIds: number[]): Promise<{ failed: number[]; reason?: string }> {
  const outcomes = await Promise.allSettled(runnerIds.map((id) => setRunnerPaused(ctx.gitlab, id, false, UNPAUSE_RETRY)));
  const failed = runnerIds.filter((_, i) => outcomes[i]?.status === 'rejected');
  const firstFailure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  return {
    failed,
    ...(firstFailure ? { reason: toGitlabJobError(firstFailure.reason, { action: 'unpause', gitlabUrl: ctx.gitlabUrl, userToken: true }).message } : {}),
  };
}

/**
 * `/runner restart-daemon <host> --drain`: pauses the host's runners in GitLab, waits until none has a
 * running job (or the timeout), restarts the nix-daemon container on the host (restart-nix-daemon), and
 * ALWAYS unpauses the runners it paused, whatever happened in between.
 */
export async function run(payload: Payload, ctx: Context, signal: AbortSignal = new AbortController().signal): Promise<Result> {
  const { host, runnerIds } = payload;
  if (runnerIds.length === 0) {
    throw new UserError(
      `no runner ids are known for ${host} yet, so there is nothing to drain; wait for its worker to report its runners (host-facts) or restart without --drain`,
    );
  }
  const gitlabError = (err: unknown, action: string): Error =>
    err instanceof PermanentJobError || err instanceof UserError ? err : toGitlabJobError(err, { action, gitlabUrl: ctx.gitlabUrl, userToken: true });

  const systemId = await hostSystemId(ctx, host);
  let access: RunnerAccess[];
  try {
    access = await readRunnerAccess(ctx.gitlab, runnerIds, systemId, CALL_RETRY);
  } catch (err) {
    throw gitlabError(err, `read the runners of ${host}`);
  }
  const states = access.map((a) => a.paused);
  const sharedRunners = access.filter((a) => a.sharedWith.length > 0).map((a) => a.id);
  const unseenRunners = access.filter((a) => !a.allJobsVisible).map((a) => a.id);
  if (sharedRunners.length > 0) ctx.log.info({ host, sharedRunners }, 'runners shared with other hosts are not paused');
  if (unseenRunners.length > 0) ctx.log.warn({ host, unseenRunners }, 'GITLAB_TOKEN cannot see every job of these runners');
  const ledger = pauseLedger(ctx, payload.requestId);
  const ours = new Set(await ledger.earlier());
  const alreadyPaused = runnerIds.filter((id, i) => states[i] && !ours.has(id));
  // Pausing a shared runner would stop the other hosts too: only this host's jobs are waited for.
  const toPause = runnerIds.filter((id, i) => !states[i] && !sharedRunners.includes(id));
  // Paused by an earlier run of this same command (the bot died): ours to unpause.
  const paused: number[] = runnerIds.filter((id, i) => states[i] && ours.has(id));
  let outcome: { result?: Result; error?: unknown } = {};
  try {
    await ctx.progress({ phase: 'pausing runners', detail: label(toPause) || 'all already paused' });
    for (const id of toPause) {
      try {
        // Counted as paused before the call: an answer lost after GitLab paused it must still be undone.
        paused.push(id);
        await ledger.add(id);
        await setRunnerPaused(ctx.gitlab, id, true, CALL_RETRY);
      } catch (err) {
        // Only what GitLab really paused needs undoing (and only that may be reported as still paused).
        if (!(await isPaused(ctx, id).catch(() => true))) paused.pop();
        throw gitlabError(err, `pause runner #${id}`);
      }
    }

    const drainStarted = performance.now();
    const deadline = drainStarted + payload.timeoutSeconds * 1000;
    let running: number;
    for (;;) {
      signal.throwIfAborted();
      try {
        running = await countAllRunning(ctx, runnerIds, systemId);
      } catch (err) {
        throw gitlabError(err, `list the running jobs of ${host}'s runners`);
      }
      if (running === 0) break;
      await ctx.progress({ phase: 'waiting for running jobs', detail: `${running} running` });
      if (performance.now() + payload.pollIntervalMs > deadline) break;
      await sleep(payload.pollIntervalMs, signal);
    }
    const drainMs = Math.round(performance.now() - drainStarted);
    if (running > 0) ctx.log.warn({ host, running }, 'drain timed out; restarting with jobs still running');

    await ctx.progress({ phase: 'restarting', detail: running > 0 ? `${running} jobs still running after ${formatMs(drainMs)}` : host });
    const restart = (await ctx.runOnHost(
      host,
      restartNixDaemon.name,
      { timeoutSeconds: payload.timeoutSeconds },
      { timeoutMs: (payload.timeoutSeconds + 120) * 1000 },
    )) as restartNixDaemon.Result;
    outcome = {
      result: { host, pausedRunners: [...paused], alreadyPaused, sharedRunners, unseenRunners, systemId, drainMs, jobsStillRunning: running, restart },
    };
  } catch (err) {
    outcome = { error: err };
  } finally {
    if (paused.length > 0) {
      await ctx.progress({ phase: 'unpausing runners', detail: label(paused) }).catch(() => undefined);
      const { failed, reason } = await unpauseAll(ctx, paused);
      if (failed.length === 0) await ledger.clear().catch(() => undefined);
      if (failed.length > 0) {
        const before = outcome.error ? `${firstLine(errorText(outcome.error))}; also ` : '';
        outcome = {
          error: new PermanentJobError(
            `${before}runners ${label(failed)} are STILL PAUSED (${reason ?? 'unpause failed'}); unpause them in GitLab (Admin > Runners, or PUT /runners/:id paused=false)`,
          ),
        };
      }
    }
  }
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.result!;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function summarize(result: Result): string {
  const drained = result.pausedRunners.length > 0 ? `paused runners ${label(result.pausedRunners)}` : 'runners were already paused';
  const waited =
    result.jobsStillRunning > 0
      ? `gave up waiting after ${formatMs(result.drainMs)} with ${result.jobsStillRunning} jobs running`
      : `drained in ${formatMs(result.drainMs)}`;
  const unpaused = result.pausedRunners.length > 0 ? '; runners unpaused' : '';
  // Older results (before shared and unseen runners were reported) have neither list.
  const shared = (result.sharedRunners ?? []).map((id) => `; runner #${id} is shared with other hosts: not paused, only this host's jobs waited for`).join('');
  const unseen = (result.unseenRunners ?? [])
    .map((id) => `; cannot see jobs of runner #${id} in projects where the GITLAB_TOKEN user is below Reporter: some may still have been running`)
    .join('');
  return `${drained}, ${waited}; ${restartNixDaemon.summarize(result.restart)}${unpaused}${shared}${unseen}`;
}
