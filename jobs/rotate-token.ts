import type { JobContext } from './job-context.js';
import { PermanentJobError, TransientJobError } from '../src/errors.js';
import { createGitlabClient, type GitlabApi } from '../src/clients/gitlab/create-gitlab-client.js';
import { classifyGitlabError, toGitlabJobError, type GitlabCallContext } from '../src/clients/gitlab/describe-gitlab-error.js';
import { sleep } from '../src/clients/gitlab/retry-idempotent.js';
import { resetRunnerToken, verifyRunnerToken, type VerifiedRunner } from '../src/clients/gitlab/runner-token-api.js';
import { clearRecovery, readRecovery, recoveryPath, writeRecovery, type RecoveryRecord } from '../src/clients/runner-config/rotation-recovery.js';
import { readAgainOnParseError, type ReadAgainHooks } from '../src/clients/runner-config/read-again.js';
import {
  findHostRunner,
  needsReload,
  reloadRunner,
  syncTokenFiles,
  writeRotatedToken,
  type HostRunner,
  type StoreHooks,
} from '../src/clients/runner-config/runner-store.js';
import { readOrCreateSystemId } from '../src/clients/runner-config/system-id.js';
import { publishRunners } from './install-runner.js';
import type { Payload } from '../src/queue/payloads/rotate-token.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/rotate-token.js';

export interface Result {
  host: string;
  runner: string;
  runnerId?: number;
  /** RFC 3339, or null when the new token does not expire. */
  tokenExpiresAt: string | null;
  /** Files the new token was written to. */
  written: string[];
  /** True when this run finished an interrupted rotation from the recovery file instead of resetting. */
  resumed: boolean;
  /** True when gitlab-runner had just rotated the token itself (GitLab refused the old one): nothing was reset again. */
  rotatedByRunner?: boolean;
  /** True when the token was an expired one the bot reset with its GitLab token; this host only wrote it. */
  revived?: boolean;
}

export type Context = Pick<JobContext, 'host' | 'settings' | 'log' | 'progress' | 'redis' | 'prefix' | 'patchHost'> &
  Partial<Pick<JobContext, 'keys'>> & {
    hooks?: StoreHooks;
    /** Test hook: a read of config.toml found it half-written. */
    readHooks?: ReadAgainHooks;
    /** Waits between reset attempts after a 429; tests pass a faster one. @defaultValue setTimeout */
    sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  };

/** Resets after a 429 at most this many times, each wait at most MAX_WAIT_MS. */
const RESET_ATTEMPTS = 3;
const MAX_WAIT_MS = 30_000;

type Recovered = Extract<RecoveryRecord, { state: 'reset' }>;

/**
 * Host side of `/runner rotate`: resets the runner's token with its current one, saves the new token
 * to a 0600 recovery file before anything else can fail, writes token + token_obtained_at +
 * token_expires_at atomically everywhere the host keeps it, verifies it and reports the new expiry.
 * The new token never leaves the host. A rerun finishes an interrupted rotation from the recovery
 * file; a reset is only ever repeated after proving (verify with the old token) that the first did not happen.
 */
export async function run(payload: Payload, ctx: Context, signal: AbortSignal): Promise<Result> {
  const { settings } = ctx;
  if (!settings.gitlabUrl) throw new PermanentJobError(`GITLAB_URL is not set for the worker on ${ctx.host}; the rotation needs it`);
  const api = createGitlabClient({ url: settings.gitlabUrl });
  const systemId = await readOrCreateSystemId(settings.runnerConfigPath);
  const runner = await readAgainOnParseError(() => findHostRunner(settings, payload.runner), ctx.readHooks);
  const call = (action: string): GitlabCallContext => ({ action, gitlabUrl: settings.gitlabUrl, runnerToken: { runnerId: runner.id, host: ctx.host } });

  const pending = await readRecovery(settings.stateDir, runner);
  if (payload.revived) {
    // The bot's reset by id killed whatever token an older rotation left in the recovery file; a rerun
    // of this same job finishes from the file (it holds this revived token).
    const record = pending?.state === 'reset' && pending.jobId === payload.jobId ? pending : await saveRevived(payload.jobId, payload.revived, ctx, runner);
    return { ...(await finishRotation(ctx, api, systemId, runner, record, signal, call)), resumed: record === pending, revived: true };
  }
  if (pending?.state === 'reset') {
    const result = await finishRotation(ctx, api, systemId, runner, pending, signal, call);
    if (pending.jobId === payload.jobId) return { ...result, resumed: true };
    // An older, interrupted rotation: its token is now in place; go on with this one.
    return rotate(payload, ctx, api, systemId, await readAgainOnParseError(() => findHostRunner(settings, payload.runner), ctx.readHooks), signal, call);
  }
  if (pending?.state === 'resetting') await checkInterruptedReset(ctx, api, systemId, runner, signal);
  return rotate(payload, ctx, api, systemId, runner, signal, call);
}

/**
 * An expired token the bot has already reset (it needs the user token): opens the new one and keeps
 * it in the recovery file before anything else can fail, so a rerun finishes from there.
 */
async function saveRevived(jobId: string, revived: NonNullable<Payload['revived']>, ctx: Context, runner: HostRunner): Promise<Recovered> {
  if (!ctx.keys) throw new PermanentJobError(`the worker on ${ctx.host} runs without host keys, so it cannot open the revived token; upgrade runnerops there`);
  if (revived.sealedTo !== ctx.keys.fingerprint) {
    throw new PermanentJobError(
      `the revived token was sealed to key ${revived.sealedTo} but ${ctx.host} now has key ${ctx.keys.fingerprint}; request the rotation again`,
    );
  }
  const token = await ctx.keys.openSealed(revived.sealedToken);
  const now = new Date().toISOString();
  const record: Recovered = {
    state: 'reset',
    jobId,
    ...(runner.id !== undefined ? { runnerId: runner.id } : {}),
    runnerName: runner.name,
    at: now,
    token,
    obtainedAt: now,
    tokenExpiresAt: revived.tokenExpiresAt,
  };
  await writeRecovery(ctx.settings.stateDir, record);
  return record;
}

async function rotate(
  payload: Payload,
  ctx: Context,
  api: GitlabApi,
  systemId: string,
  runner: HostRunner,
  signal: AbortSignal,
  call: (action: string) => GitlabCallContext,
): Promise<Result> {
  const { settings } = ctx;
  const label = runner.id !== undefined ? `runner #${runner.id}` : `runner "${runner.name}"`;
  await ctx.progress({ phase: 'checking the current token' });
  const checked = call(`verify ${label} before the reset`);
  const check = await verifyOrRefusal(api, runner.token, systemId, signal, checked);
  if ('refusal' in check) return tokenRefused(ctx, api, systemId, runner, signal, checked, check.refusal);
  const base = { jobId: payload.jobId, ...(runner.id !== undefined ? { runnerId: runner.id } : {}), runnerName: runner.name };

  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new TransientJobError(`rotation of ${label} on ${ctx.host} was stopped before the reset; nothing changed`);
    await writeRecovery(settings.stateDir, { state: 'resetting', ...base, at: new Date().toISOString() });
    await ctx.progress({ phase: 'resetting the token' });
    let reset;
    try {
      reset = await resetRunnerToken(api, runner.token, signal);
    } catch (err) {
      const failure = classifyGitlabError(err);
      if (failure.kind !== 'rate-limited' && failure.kind !== 'server' && failure.kind !== 'timeout' && failure.kind !== 'network') {
        await clearRecovery(settings.stateDir, runner);
        if (failure.kind === 'forbidden') return tokenRefused(ctx, api, systemId, runner, signal, call(`reset the token of ${label}`), err);
        throw toGitlabJobError(err, call(`reset the token of ${label}`));
      }
      // The answer is missing or an error that may come after the reset took effect: look before trying again.
      const oldStillValid = await oldTokenState(api, runner.token, systemId, signal);
      if (oldStillValid === 'unknown') {
        throw new TransientJobError(
          `reset of ${label} got no clear answer (${failure.status ?? failure.detail}) and GitLab cannot be asked whether it happened; the next try checks first`,
        );
      }
      if (oldStillValid === 'dead') {
        await clearRecovery(settings.stateDir, runner);
        throw new PermanentJobError(
          `GitLab reset the token of ${label} but its answer was lost (${failure.status ?? failure.detail}): the runner must be re-registered with /runner register ${ctx.host} --type ... and its old entry removed`,
        );
      }
      await clearRecovery(settings.stateDir, runner);
      const waitMs = (failure.retryAfterSeconds ?? 2 ** attempt) * 1000;
      if (failure.kind !== 'rate-limited' || attempt >= RESET_ATTEMPTS || waitMs > MAX_WAIT_MS) {
        throw new TransientJobError(`${toGitlabJobError(err, call(`reset the token of ${label}`)).message}; the old token still works, nothing changed`);
      }
      await ctx.progress({ phase: 'rate limited', detail: `waiting ${Math.round(waitMs / 1000)} s` });
      await (ctx.sleep ?? sleep)(waitMs, signal);
      continue;
    }
    // From here the old token is dead: the new one goes to disk before anything else can fail.
    const record: Recovered = {
      state: 'reset',
      ...base,
      at: new Date().toISOString(),
      token: reset.token,
      obtainedAt: new Date().toISOString(),
      tokenExpiresAt: reset.tokenExpiresAt,
    };
    await writeRecovery(settings.stateDir, record);
    ctx.log.info(
      { runner: runner.name, runnerId: runner.id, recoveryFile: recoveryPath(settings.stateDir, runner) },
      'token reset; new token saved on the host',
    );
    await ctx.progress({ phase: 'new token saved on the host' });
    if (signal.aborted) {
      throw new TransientJobError(
        `rotation of ${label} on ${ctx.host} was stopped after the reset; the new token is saved on the host and the next run finishes the write`,
      );
    }
    return { ...(await finishRotation(ctx, api, systemId, runner, record, signal, call)), resumed: false };
  }
}

/** Writes the recovered token everywhere, reloads when needed, verifies, then deletes the recovery file. */
async function finishRotation(
  ctx: Context,
  api: GitlabApi,
  systemId: string,
  runner: HostRunner,
  record: Recovered,
  signal: AbortSignal,
  call: (action: string) => GitlabCallContext,
): Promise<Omit<Result, 'resumed'>> {
  const { settings } = ctx;
  await ctx.progress({ phase: 'writing the new token', detail: settings.tokenMode });
  const creds = { token: record.token, obtainedAt: record.obtainedAt, expiresAt: record.tokenExpiresAt };
  const written = await readAgainOnParseError(() => writeRotatedToken(settings, runner, runner.token, creds, ctx.hooks), ctx.readHooks);
  if (needsReload(settings)) {
    await ctx.progress({ phase: 'reloading gitlab-runner' });
    await reloadRunner(settings);
  }
  await ctx.progress({ phase: 'verifying the new token' });
  const label = record.runnerId !== undefined ? `runner #${record.runnerId}` : `runner "${record.runnerName}"`;
  const verified = await verifyOrThrow(api, record.token, systemId, signal, call(`verify the new token of ${label}`));
  await clearRecovery(settings.stateDir, runner);
  await publishRunners(ctx);
  ctx.log.info({ runner: runner.name, runnerId: runner.id, written }, 'token rotated');
  return {
    host: ctx.host,
    runner: runner.name,
    ...(runner.id !== undefined ? { runnerId: runner.id } : {}),
    tokenExpiresAt: verified.tokenExpiresAt ?? record.tokenExpiresAt,
    written,
  };
}

/**
 * GitLab refused the runner's token (403). gitlab-runner rotates tokens itself and saves config.toml
 * in place, so read it again first: a new token that works means the rotation already happened.
 * Otherwise the token is dead: expired (the bot can revive it) or reset elsewhere (re-register).
 */
async function tokenRefused(
  ctx: Context,
  api: GitlabApi,
  systemId: string,
  runner: HostRunner,
  signal: AbortSignal,
  context: GitlabCallContext,
  refusal: unknown,
): Promise<Result> {
  const { settings } = ctx;
  const selector = runner.id !== undefined ? String(runner.id) : runner.name;
  const current = await readAgainOnParseError(() => findHostRunner(settings, selector), ctx.readHooks);
  const label = runner.id !== undefined ? `runner #${runner.id}` : `runner "${runner.name}"`;
  const again =
    current.token !== runner.token
      ? await verifyOrRefusal(api, current.token, systemId, signal, { ...context, action: `verify the token gitlab-runner rotated for ${label}` })
      : undefined;
  if (again && 'verified' in again) {
    const { verified } = again;
    ctx.log.info({ runner: runner.name, runnerId: runner.id }, 'gitlab-runner had rotated the token itself');
    const written = await syncTokenFiles(settings);
    await publishRunners(ctx);
    return {
      host: ctx.host,
      runner: runner.name,
      ...(runner.id !== undefined ? { runnerId: runner.id } : {}),
      tokenExpiresAt: verified.tokenExpiresAt ?? current.tokenExpiresAt ?? null,
      written,
      resumed: false,
      rotatedByRunner: true,
    };
  }
  const expiredAt = current.tokenExpiresAt !== undefined ? Date.parse(current.tokenExpiresAt) : NaN;
  // Revival goes by the runner's GitLab id: an entry without one can only be re-registered.
  if (current.token === runner.token && expiredAt <= Date.now() && runner.id !== undefined) {
    throw new PermanentJobError(
      `${context.action} failed: the token of ${label} expired at ${current.tokenExpiresAt} (403), so it cannot be reset with itself; request the rotation again (rotate ${ctx.host} --runner ${selector}): for an expired token the bot resets it with its GitLab token and seals the new one to ${ctx.host}`,
    );
  }
  throw toGitlabJobError(refusal, context);
}

/** The verify's answer, or GitLab's refusal of the token (403); other failures are thrown. */
async function verifyOrRefusal(
  api: GitlabApi,
  token: string,
  systemId: string,
  signal: AbortSignal,
  context: GitlabCallContext,
): Promise<{ verified: VerifiedRunner } | { refusal: unknown }> {
  try {
    return { verified: await verifyRunnerToken(api, token, systemId, { signal }) };
  } catch (err) {
    if (classifyGitlabError(err).kind === 'forbidden') return { refusal: err };
    throw toGitlabJobError(err, context);
  }
}

/** A previous run died while a reset was in flight: go on only if the old token still works. */
async function checkInterruptedReset(ctx: Context, api: GitlabApi, systemId: string, runner: HostRunner, signal: AbortSignal): Promise<void> {
  const state = await oldTokenState(api, runner.token, systemId, signal);
  if (state === 'unknown') {
    throw new TransientJobError(
      `an earlier rotation of runner "${runner.name}" on ${ctx.host} was interrupted during the reset and GitLab cannot be asked whether it happened; retrying later`,
    );
  }
  await clearRecovery(ctx.settings.stateDir, runner);
  if (state === 'dead') {
    throw new PermanentJobError(
      `an earlier rotation of runner "${runner.name}" on ${ctx.host} was interrupted during the reset and the old token is no longer valid: re-register the runner with /runner register ${ctx.host} --type ... and remove its old entry`,
    );
  }
}

async function verifyOrThrow(api: GitlabApi, token: string, systemId: string, signal: AbortSignal, context: GitlabCallContext): Promise<VerifiedRunner> {
  try {
    return await verifyRunnerToken(api, token, systemId, { signal });
  } catch (err) {
    throw toGitlabJobError(err, context);
  }
}

/** Whether the old token still works (the reset did not happen), is dead (it did), or GitLab cannot tell us. */
async function oldTokenState(api: GitlabApi, token: string, systemId: string, signal: AbortSignal): Promise<'valid' | 'dead' | 'unknown'> {
  try {
    await verifyRunnerToken(api, token, systemId, { signal });
    return 'valid';
  } catch (err) {
    return classifyGitlabError(err).kind === 'forbidden' ? 'dead' : 'unknown';
  }
}

export function summarize(result: Result): string {
  const expiry = result.tokenExpiresAt ? `new token expires ${result.tokenExpiresAt}` : 'new token does not expire';
  const id = result.runnerId !== undefined ? ` (#${result.runnerId})` : '';
  if (result.revived) {
    return `revived the expired token of ${result.runner}${id} on ${result.host} (reset by the bot, sealed to the host); ${expiry}; written to ${result.written.join(', ')}`;
  }
  if (result.rotatedByRunner) {
    return `gitlab-runner had just rotated the token of ${result.runner}${id} on ${result.host} itself; the new token works, nothing was reset again; ${expiry.replace('new token', 'token')}`;
  }
  return `${result.resumed ? 'finished the interrupted rotation of' : 'rotated the token of'} ${result.runner}${id} on ${result.host}; ${expiry}; written to ${result.written.join(', ')}`;
}

/** One runner-config writer at a time on a host. */
export const exclusive = 'runner-config';
