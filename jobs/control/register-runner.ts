import type { ControlContext } from '../job-context.js';
import { PermanentJobError, UserError, firstLine } from '../../src/errors.js';
import { classifyGitlabError, toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { createRunner, deleteRunner, findRunnersByNote, type CreatedRunner } from '../../src/clients/gitlab/runners.js';
import { waitForRunnerPickup } from '../../src/clients/gitlab/runner-managers.js';
import type { GitlabApi } from '../../src/clients/gitlab/create-gitlab-client.js';
import { redact } from '../../src/secrets/redact.js';
import { sealForHost } from './seal-for-host.js';
import * as installRunner from '../install-runner.js';
import { keys } from '../../src/queue/names.js';
import type { Payload } from '../../src/queue/payloads/register-runner.js';

export { name, payloadSchema, type Payload } from '../../src/queue/payloads/register-runner.js';

export interface Result extends installRunner.Result {
  description?: string;
  /**
   * Whether gitlab-runner on the host asked GitLab for jobs with the token (its manager for the host's
   * system id has a version). The install's verify alone makes GitLab show the runner online; this does not.
   */
  pickedUp?: boolean;
}

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'redis' | 'prefix' | 'runOnHost' | 'enrolledHost' | 'log' | 'progress'> & {
  /** Pause between looks at the runner's managers while waiting for gitlab-runner, in ms. @defaultValue 2000 */
  pickupIntervalMs?: number;
};

/**
 * Control side of `/runner register`: creates the runner in GitLab with the bot's user token, seals
 * its token to the host's public key, and has the host install it (install-runner). The plaintext
 * token lives only in this function's memory. If anything after the creation fails, the runner is
 * deleted in GitLab again, or the message says exactly what is left and how to remove it.
 */
export async function run(payload: Payload, ctx: Context): Promise<Result> {
  // Sealed only to keys a person enrolled: a key someone wrote into the registry gets nothing.
  const host = await ctx.enrolledHost(payload.host);
  if (!host) throw new UserError(`${payload.host} is not an enrolled host; "hosts" shows its state (an operator enrols it with "enroll ${payload.host}")`);
  if (!host.publicKey) throw new UserError(`${payload.host} has not published a public key; upgrade or restart its worker`);
  // The bot died after the host had installed the runner (while waiting for gitlab-runner): that stands.
  const done = payload.requestId ? await installedBefore(ctx, payload.requestId) : undefined;
  if (done) return finish(payload, ctx, done);
  const clash = payload.description !== undefined ? host.runners?.find((r) => r.name === payload.description) : undefined;
  if (clash) throw new UserError(`${payload.host} already has a runner named "${clash.name}"; pick another --description`);

  await clearEarlierAttempt(payload, ctx);
  await ctx.progress({ phase: 'creating the runner in GitLab' });
  let created: CreatedRunner;
  try {
    // A runner without tags must take untagged jobs (GitLab refuses it otherwise).
    created = await createRunner(ctx.gitlab, {
      ...payload,
      untagged: payload.untagged || payload.tags.length === 0,
      ...(payload.requestId ? { maintenanceNote: noteFor(payload.requestId) } : {}),
    });
  } catch (err) {
    throw creationError(err, payload);
  }
  if (payload.requestId) await ctx.redis.set(attemptKey(ctx, payload.requestId), JSON.stringify({ runnerId: created.id }), 'EX', 7 * 86400);
  const runnerName = payload.description ?? `${payload.host}-${created.id}`;
  ctx.log.info({ runnerId: created.id, host: payload.host }, 'runner created in GitLab');
  let installed: installRunner.Result;
  try {
    const sealed = await sealForHost(created.token, host.publicKey);
    await ctx.progress({ phase: 'installing on the host', detail: `runner #${created.id}` });
    const hostPayload: installRunner.Payload = {
      ...sealed,
      runnerId: created.id,
      name: runnerName,
      gitlabUrl: ctx.gitlabUrl,
      tokenExpiresAt: created.tokenExpiresAt,
    };
    installed = (await ctx.runOnHost(payload.host, installRunner.name, hostPayload)) as installRunner.Result;
  } catch (err) {
    const reason = redact(firstLine(err instanceof Error ? err.message : String(err)));
    throw await removeOrphan(ctx.gitlab, ctx.gitlabUrl, created.id, payload.host, reason);
  }
  if (payload.requestId) await ctx.redis.set(attemptKey(ctx, payload.requestId), JSON.stringify({ runnerId: created.id, installed }), 'EX', 7 * 86400);
  return finish(payload, ctx, installed);
}

async function finish(payload: Payload, ctx: Context, installed: installRunner.Result): Promise<Result> {
  const pickedUp = await pickedUpByRunner(ctx, installed, payload.pickupSeconds);
  return { ...installed, ...(payload.description !== undefined ? { description: payload.description } : {}), ...(pickedUp !== undefined ? { pickedUp } : {}) };
}

/** Whether gitlab-runner took the installed token up; undefined when GitLab cannot tell us (the install stands). */
async function pickedUpByRunner(ctx: Context, installed: installRunner.Result, waitSeconds: number): Promise<boolean | undefined> {
  await ctx.progress({ phase: 'waiting for gitlab-runner to use the token', detail: `manager ${installed.systemId}` });
  try {
    return await waitForRunnerPickup(ctx.gitlab, installed.runnerId, installed.systemId, {
      waitMs: waitSeconds * 1000,
      ...(ctx.pickupIntervalMs ? { intervalMs: ctx.pickupIntervalMs } : {}),
    });
  } catch (err) {
    ctx.log.warn({ runnerId: installed.runnerId, failure: classifyGitlabError(err) }, 'could not read the runner managers');
    return undefined;
  }
}

const noteFor = (requestId: string) => `created by runnerops, request ${requestId}`;
const attemptKey = (ctx: Context, requestId: string) => keys.registerAttempt(ctx.prefix, requestId);

/**
 * A rerun of the same command (the bot died mid-way): the first run's runner, whose token died with
 * it, is deleted before a new one is created, so one command never leaves two runners. (One the
 * host had already installed is kept: see installedBefore.) The first
 * run's runner id is in Redis once GitLab answered; if the bot died before the answer, the runner is
 * found by the request id in its maintenance note.
 */
async function clearEarlierAttempt(payload: Payload, ctx: Context): Promise<void> {
  if (!payload.requestId) return;
  const key = attemptKey(ctx, payload.requestId);
  if ((await ctx.redis.set(key, JSON.stringify({}), 'EX', 7 * 86400, 'NX')) === 'OK') return;
  const earlier = JSON.parse((await ctx.redis.get(key)) ?? '{}') as { runnerId?: number };
  await ctx.progress({ phase: 'cleaning up an interrupted attempt' });
  let ids: number[];
  try {
    ids = earlier.runnerId !== undefined ? [earlier.runnerId] : await findRunnersByNote(ctx.gitlab, payload, noteFor(payload.requestId), payload.description);
  } catch (err) {
    const f = classifyGitlabError(err);
    const why = f.kind === 'insufficient-scope' ? 'GITLAB_TOKEN needs the read_api (or api) scope to list runners' : `${f.status ?? f.detail}`;
    throw new PermanentJobError(
      `an earlier attempt of this registration was interrupted and its runner cannot be looked up (${why}); look for a runner noted "${noteFor(payload.requestId)}" in GitLab (CI/CD > Runners), delete it, then register again`,
    );
  }
  for (const id of ids) {
    const failure = await removeOrphan(ctx.gitlab, ctx.gitlabUrl, id, payload.host, 'the bot stopped during the registration');
    if (failure.message.includes('deleting it in GitLab failed')) throw failure;
    ctx.log.info({ runnerId: id }, 'deleted the runner of an interrupted registration');
  }
}

/** What the host installed for this command before the bot died, if it got that far (no token in it). */
async function installedBefore(ctx: Context, requestId: string): Promise<installRunner.Result | undefined> {
  const earlier = JSON.parse((await ctx.redis.get(attemptKey(ctx, requestId))) ?? '{}') as { installed?: installRunner.Result };
  return earlier.installed;
}

function creationError(err: unknown, payload: Payload): Error {
  const failure = classifyGitlabError(err);
  const action = `create the ${payload.type} runner for ${payload.host}`;
  if (failure.kind === 'server' || failure.kind === 'timeout' || failure.kind === 'network') {
    // The answer is lost, not necessarily the runner: never create again blindly.
    return new PermanentJobError(
      `${action}: no clear answer from GitLab (${failure.status ?? failure.detail}); a runner may have been created anyway: look for ${payload.description ? `"${payload.description}"` : 'a new runner'} in GitLab (CI/CD > Runners), delete it if present, then register again`,
    );
  }
  return toGitlabJobError(err, { action, gitlabUrl: undefined, userToken: true });
}

async function removeOrphan(gitlab: GitlabApi, gitlabUrl: string, runnerId: number, host: string, reason: string): Promise<PermanentJobError> {
  try {
    const outcome = await deleteRunner(gitlab, runnerId);
    return new PermanentJobError(
      `runner #${runnerId} was not installed on ${host}: ${reason}; it was ${outcome === 'deleted' ? 'deleted in GitLab again' : 'already gone from GitLab'}, nothing is left`,
    );
  } catch (err) {
    const f = classifyGitlabError(err);
    return new PermanentJobError(
      `runner #${runnerId} was not installed on ${host}: ${reason}; deleting it in GitLab failed too (${f.status ?? f.detail}): delete runner #${runnerId} in GitLab (CI/CD > Runners) or with DELETE ${gitlabUrl.replace(/\/+$/, '')}/api/v4/runners/${runnerId}`,
    );
  }
}

export function summarize(result: Result): string {
  const expiry = result.tokenExpiresAt ? `token expires ${result.tokenExpiresAt}` : 'token does not expire';
  const pickup =
    result.pickedUp === false
      ? `; gitlab-runner on ${result.host} has not asked GitLab for jobs with it yet (GitLab may still show it online from the install's verify): check that gitlab-runner runs there and loaded ${result.written[0] ?? 'the token'}`
      : '';
  return `registered runner #${result.runnerId} "${result.name}" on ${result.host}, written to ${result.written.join(', ')} (${result.tokenMode}); ${expiry}${pickup}`;
}
