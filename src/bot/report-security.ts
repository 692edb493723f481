import type { AuditSink } from '../audit/audit-log.js';
import type { Logger } from '../logger.js';
import type { Policy } from '../policy/schema.js';
import type { Surface } from './surface.js';

export interface SecurityDeps {
  audit: AuditSink;
  surface: Pick<Surface, 'post'>;
  policy: Pick<Policy, 'channels'>;
  log: Logger;
  /** Counts refusals by kind for /metrics. */
  refusals: Map<string, number>;
}

/**
 * Something the bot refused because it was not what the bot signed or a person confirmed (a forged
 * event, a tampered approval, a changed host key): logged, counted, audited, and posted to the
 * security channel (or the reports channel). Never throws: a failed post is logged.
 */
export async function reportSecurity(deps: SecurityDeps, what: string, message: string): Promise<void> {
  deps.refusals.set(what, (deps.refusals.get(what) ?? 0) + 1);
  deps.log.warn({ what }, `security: ${message}`);
  try {
    await deps.audit.append({ kind: 'security', actor: 'runnerops', action: what, outcome: message });
    await deps.surface.post(deps.policy.channels.security ?? deps.policy.channels.reports, `:rotating_light: security: ${message}`);
  } catch (err) {
    deps.log.warn({ err, what }, 'could not report a security refusal');
  }
}
