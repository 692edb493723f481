import { parseDuration } from '../commands/duration.js';
import { listTrustedHosts } from '../queue/bot-trust.js';
import type { BotCore } from './bot-core.js';
import { rotationCommand } from '../present/token-expiry.js';
import { findExpiringTokens } from './find-expiring-tokens.js';

/**
 * The daily token-expiry check: finds tokens expiring within the policy's window and posts them to the
 * reports channel (each with a "Request rotation" button in Slack). Returns how many it found. For a
 * token that has already expired the same request revives it through the bot once approved (the
 * planner turns it into revive-runner-token: a reset by id with GITLAB_TOKEN, sealed to the host).
 */
export async function checkTokenExpiry(core: BotCore, now = Date.now()): Promise<number> {
  const within = parseDuration(core.policy.tokenExpiry.warnWithin, 'tokenExpiry.warnWithin');
  const tokens = findExpiringTokens(await listTrustedHosts(core.redis, core.prefix, core.trust, now), now, within);
  if (tokens.length === 0) return 0;
  await core.surface.postExpiryWarning(core.policy.channels.reports, tokens, now);
  await core.audit.append({
    kind: 'watch',
    actor: 'runnerops',
    action: 'token expiry check',
    outcome: tokens.map((t) => `${rotationCommand(t)}${t.expired ? ' (expired: revived through the bot)' : ''}`).join('; '),
  });
  return tokens.length;
}
