import type { ControlContext } from '../job-context.js';
import { PermanentJobError, UserError, firstLine } from '../../src/errors.js';
import { classifyGitlabError, toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { resetRunnerTokenById } from '../../src/clients/gitlab/runners.js';
import { redact } from '../../src/secrets/redact.js';
import * as rotateToken from '../rotate-token.js';
import { sealForHost } from './seal-for-host.js';
import type { Payload } from '../../src/queue/payloads/revive-runner-token.js';

export { name, payloadSchema, type Payload } from '../../src/queue/payloads/revive-runner-token.js';

export type Result = rotateToken.Result;

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'runOnHost' | 'enrolledHost' | 'log' | 'progress'>;

/**
 * `/runner rotate` for a runner whose token has expired: the token cannot reset itself any more (GitLab
 * answers 403), so the bot resets it by id with its user token (`POST /runners/:id/reset_authentication_token`),
 * seals the new token to the host's public key as register does, and the host writes it in place of
 * the dead one (rotate-token with `revived`), reloads and verifies. Refused for a token that has not
 * expired: that one rotates on the host and never leaves it.
 */
export async function run(payload: Payload, ctx: Context, _signal?: AbortSignal, now = Date.now()): Promise<Result> {
  // Sealed only to keys a person enrolled, as register does: a key someone wrote into the registry gets nothing.
  const host = await ctx.enrolledHost(payload.host);
  if (!host) throw new UserError(`${payload.host} is not an enrolled host; "hosts" shows its state (an operator enrols it with "enroll ${payload.host}")`);
  if (!host.publicKey) throw new UserError(`${payload.host} has not published a public key; upgrade or restart its worker`);
  const known = host.runners?.find((r) => r.id === payload.runnerId);
  if (!known) throw new UserError(`${payload.host} does not report runner #${payload.runnerId}; check "/runner hosts" for its runners`);
  const expiresAt = known.tokenExpiresAt ? Date.parse(known.tokenExpiresAt) : NaN;
  if (!(expiresAt <= now)) {
    throw new UserError(
      `the token of runner #${payload.runnerId} on ${payload.host} has not expired (${known.tokenExpiresAt ? `expires ${known.tokenExpiresAt}` : 'it does not expire'}); "rotate ${payload.host} --runner ${payload.runnerId}" rotates it on the host`,
    );
  }

  await ctx.progress({ phase: 'resetting the expired token in GitLab', detail: `runner #${payload.runnerId}` });
  let reset;
  try {
    reset = await resetRunnerTokenById(ctx.gitlab, payload.runnerId);
  } catch (err) {
    const failure = classifyGitlabError(err);
    if (failure.kind === 'server' || failure.kind === 'timeout' || failure.kind === 'network') {
      // Maybe reset, maybe not: the token was dead either way and nothing uses a lost new one.
      throw new PermanentJobError(
        `reset of the expired token of runner #${payload.runnerId} got no clear answer from GitLab (${failure.status ?? failure.detail}); nothing changed on ${payload.host}: request the rotation again`,
      );
    }
    throw toGitlabJobError(err, { action: `reset the expired token of runner #${payload.runnerId}`, gitlabUrl: ctx.gitlabUrl, userToken: true });
  }
  ctx.log.info({ runnerId: payload.runnerId, host: payload.host }, 'expired runner token reset in GitLab; sealing it to the host');
  const sealed = await sealForHost(reset.token, host.publicKey);
  await ctx.progress({ phase: 'writing the new token on the host', detail: `runner #${payload.runnerId}` });
  const hostPayload: rotateToken.Payload = {
    jobId: payload.requestId,
    runner: String(payload.runnerId),
    revived: { ...sealed, tokenExpiresAt: reset.tokenExpiresAt },
  };
  try {
    return (await ctx.runOnHost(payload.host, rotateToken.name, hostPayload)) as Result;
  } catch (err) {
    const reason = redact(firstLine(err instanceof Error ? err.message : String(err)));
    throw new PermanentJobError(
      `runner #${payload.runnerId}'s token was reset in GitLab but ${payload.host} did not put it in place: ${reason}; the runner stays offline until the rotation is requested again`,
    );
  }
}

export function summarize(result: Result): string {
  return rotateToken.summarize(result);
}
