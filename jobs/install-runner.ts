import type { JobContext } from './job-context.js';
import { PermanentJobError } from '../src/errors.js';
import { createGitlabClient } from '../src/clients/gitlab/create-gitlab-client.js';
import { classifyGitlabError, toGitlabJobError } from '../src/clients/gitlab/describe-gitlab-error.js';
import { verifyRunnerToken, type VerifiedRunner } from '../src/clients/gitlab/runner-token-api.js';
import { checkRunnerName, checkRunnerToken, checkSameGitlab } from '../src/clients/runner-config/check-install-input.js';
import { restoreSnapshots, snapshotFiles } from '../src/clients/runner-config/file-snapshot.js';
import { parseRunnerConfig, summarizeRunners } from '../src/clients/runner-config/config-toml.js';
import { readRunnerTemplate } from '../src/clients/runner-config/runner-template.js';
import {
  checkInstallable,
  confirmRunnerLoaded,
  filesOfInstall,
  heldToken,
  installRunnerToken,
  needsReload,
  reloadRunner,
  type StoreHooks,
} from '../src/clients/runner-config/runner-store.js';
import { peekSystemId, storeSystemId } from '../src/clients/runner-config/system-id.js';
import { readIfExists } from '../src/clients/runner-config/write-file-atomic.js';
import type { TokenMode } from '../src/config.js';
import type { Payload } from '../src/queue/payloads/install-runner.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/install-runner.js';

export interface Result {
  host: string;
  runnerId: number;
  name: string;
  tokenMode: TokenMode;
  /** Files the token was written to. */
  written: string[];
  tokenExpiresAt: string | null;
  /** The runner-manager id this host verified with. */
  systemId: string;
}

export type Context = Pick<JobContext, 'host' | 'settings' | 'keys' | 'log' | 'progress' | 'redis' | 'prefix' | 'patchHost'> & {
  /** Test hooks into the atomic writes. */
  hooks?: StoreHooks;
};

/**
 * Host side of `/runner register`: opens the sealed token and checks everything before it writes a
 * byte (token format, the worker's own GITLAB_URL, the token verified with GitLab for this runner id,
 * the runner declared where the mode needs it), writes it where this host keeps runner tokens
 * (RUNNEROPS_TOKEN_MODE), reloads gitlab-runner when the mode needs it, and succeeds only once
 * gitlab-runner's config.toml carries the token. On any failure after the first write every file it
 * touched gets its exact previous bytes back (files it created are removed), so the control job can
 * delete the runner in GitLab without leaving a dead entry here.
 */
export async function run(payload: Payload, ctx: Context, signal: AbortSignal): Promise<Result> {
  const { settings } = ctx;
  if (!ctx.keys) throw new PermanentJobError(`the worker on ${ctx.host} runs without host keys; upgrade runnerops there`);
  if (!settings.gitlabUrl) throw new PermanentJobError(`GITLAB_URL is not set for the worker on ${ctx.host}; set it to ${payload.gitlabUrl}`);
  if (payload.sealedTo !== ctx.keys.fingerprint) {
    throw new PermanentJobError(
      `the token was sealed to key ${payload.sealedTo} but ${ctx.host} now has key ${ctx.keys.fingerprint}; register the runner again`,
    );
  }
  const gitlabUrl = checkSameGitlab(payload.gitlabUrl, settings.gitlabUrl);
  checkRunnerName(payload.name);
  const token = await ctx.keys.openSealed(payload.sealedToken);
  checkRunnerToken(token);
  const systemId = await peekSystemId(settings.runnerConfigPath);

  const template = await readRunnerTemplate(settings.stateDir, settings.nixDaemonContainer);
  const replaces = await deadTokenOwner(settings, payload, systemId.id, ctx.host, signal);
  const planned = {
    id: payload.runnerId,
    name: payload.name,
    url: gitlabUrl,
    token,
    obtainedAt: new Date().toISOString(),
    expiresAt: payload.tokenExpiresAt,
    ...(replaces === undefined ? {} : { replaces }),
  };
  await checkInstallable(settings, planned, template);

  await ctx.progress({ phase: 'verifying' });
  const verified = await verifyBeforeWriting(settings.gitlabUrl, token, systemId.id, payload.runnerId, ctx.host, signal);
  // GitLab's verify answer, not the job, says when the token expires.
  const runner = { ...planned, expiresAt: verified.tokenExpiresAt };

  const before = await snapshotFiles([systemId.file, ...filesOfInstall(settings, payload.name)]);
  let written: string[];
  try {
    await storeSystemId(systemId);
    await ctx.progress({ phase: 'writing token', detail: settings.tokenMode });
    written = await installRunnerToken(settings, runner, template, ctx.hooks);
    if (needsReload(settings)) {
      await ctx.progress({ phase: 'reloading gitlab-runner' });
      await reloadRunner(settings);
      await confirmRunnerLoaded(settings, runner);
    }
  } catch (err) {
    const notRestored = await restoreSnapshots(before);
    if (needsReload(settings)) await reloadRunner(settings).catch(() => undefined);
    if (notRestored.length > 0) ctx.log.warn({ runnerId: payload.runnerId, notRestored }, 'could not put every host file back as it was');
    throw err;
  }
  await publishRunners(ctx);
  ctx.log.info({ runnerId: payload.runnerId, name: payload.name, written }, 'runner installed');
  return {
    host: ctx.host,
    runnerId: payload.runnerId,
    name: payload.name,
    tokenMode: settings.tokenMode,
    written,
    tokenExpiresAt: runner.expiresAt,
    systemId: systemId.id,
  };
}

/**
 * Re-registering a declared runner (nixos-module): its token file still holds another runner's token.
 * When GitLab refuses that token (403: the runner was deleted or its token expired) the file may be
 * taken over; nixpkgs' configure script then drops the dead entry (`verify --delete`) and registers
 * the new token. A token that still works keeps its file.
 */
async function deadTokenOwner(
  settings: Context['settings'],
  payload: Payload,
  systemId: string,
  host: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  const held = await heldToken(settings, payload.name, payload.runnerId);
  if (held === undefined || !settings.gitlabUrl) return undefined;
  try {
    await verifyRunnerToken(createGitlabClient({ url: settings.gitlabUrl }), held.token, systemId, { signal });
    return undefined;
  } catch (err) {
    const failure = classifyGitlabError(err);
    if (failure.kind === 'forbidden') return held.id;
    throw toGitlabJobError(err, {
      action: `check the token of runner #${held.id} in ${payload.name}'s token file`,
      gitlabUrl: settings.gitlabUrl,
      runnerToken: { runnerId: held.id, host },
    });
  }
}

/** `POST /runners/verify` with this host's system id; the token must belong to the runner the job names. */
async function verifyBeforeWriting(
  gitlabUrl: string,
  token: string,
  systemId: string,
  runnerId: number,
  host: string,
  signal: AbortSignal,
): Promise<VerifiedRunner> {
  const api = createGitlabClient({ url: gitlabUrl });
  let verified: VerifiedRunner;
  try {
    verified = await verifyRunnerToken(api, token, systemId, { signal });
  } catch (err) {
    throw toGitlabJobError(err, { action: `verify runner #${runnerId}`, gitlabUrl, runnerToken: { runnerId, host } });
  }
  if (verified.id !== runnerId) {
    throw new PermanentJobError(`GitLab says the token belongs to runner #${verified.id}, not #${runnerId}; nothing was written; register the runner again`);
  }
  return verified;
}

/** Refreshes this host's runner list in the registry (names, ids, expiry; never tokens). */
export async function publishRunners(ctx: Pick<JobContext, 'settings' | 'patchHost' | 'log'>): Promise<void> {
  try {
    const config = parseRunnerConfig(await readIfExists(ctx.settings.runnerConfigPath), ctx.settings.runnerConfigPath);
    await ctx.patchHost({ runners: summarizeRunners(config) });
  } catch (err) {
    ctx.log.warn({ err }, 'could not refresh the runner list in the host registry');
  }
}

export function summarize(result: Result): string {
  const expiry = result.tokenExpiresAt ? `token expires ${result.tokenExpiresAt}` : 'token does not expire';
  return `runner #${result.runnerId} "${result.name}" installed on ${result.host} (${result.tokenMode}: ${result.written.join(', ')}); ${expiry}`;
}

/** One runner-config writer at a time on a host (shared with rotate-token). */
export const exclusive = 'runner-config';
