import type { KnownBlock } from '@slack/types';
import type { HostStatus } from '../queue/host-registry.js';
import { LIMITS, context, section } from '../slack/blocks.js';
import { fallbackText, md } from '../slack/mrkdwn.js';

export const REQUEST_ROTATION_ACTION = 'runnerops.request-rotation';

export interface ExpiringToken {
  host: string;
  runner: string;
  runnerId?: number;
  expiresAt: number;
  expired: boolean;
}

/** Runner tokens that expire within `withinSeconds` (or already did), soonest first. */
export function findExpiringTokens(hosts: HostStatus[], now: number, withinSeconds: number): ExpiringToken[] {
  const found: ExpiringToken[] = [];
  for (const host of hosts) {
    for (const runner of host.runners ?? []) {
      const at = runner.tokenExpiresAt ? Date.parse(runner.tokenExpiresAt) : NaN;
      if (Number.isNaN(at) || at - now > withinSeconds * 1000) continue;
      found.push({ host: host.name, runner: runner.name, ...(runner.id !== undefined ? { runnerId: runner.id } : {}), expiresAt: at, expired: at <= now });
    }
  }
  return found.sort((a, b) => a.expiresAt - b.expiresAt);
}

/** The rotate command a "Request rotation" button stands for. */
export function rotationCommand(token: Pick<ExpiringToken, 'host' | 'runner' | 'runnerId'>): string {
  return `rotate ${token.host} --runner ${token.runnerId ?? `"${token.runner}"`}`;
}

/** The warning: one line per token, each with a button that starts the approval flow for its rotation. */
export function expiryWarningBlocks(tokens: ExpiringToken[], now: number): { text: string; blocks: KnownBlock[] } {
  const text = `${tokens.length} runner token${tokens.length === 1 ? '' : 's'} expire soon or have expired`;
  const shown = tokens.slice(0, LIMITS.blocksPerMessage - 5);
  const blocks: KnownBlock[] = [section(md`:hourglass: *${text}*`)];
  for (const token of shown) {
    const when = token.expired ? md`*EXPIRED*` : md`expires in ${Math.max(1, Math.round((token.expiresAt - now) / 3_600_000))}h`;
    // Runner names come from a host's config.toml: escaped like anything a person typed.
    const id = token.runnerId ? md` #${token.runnerId}` : md``;
    const command = rotationCommand(token);
    blocks.push({
      ...section(md`${token.host} / ${token.runner}${id}: ${when}`),
      // A command that does not fit a button's value would be cut into another command: no button then.
      ...(command.length <= LIMITS.buttonValue
        ? { accessory: { type: 'button', action_id: REQUEST_ROTATION_ACTION, text: { type: 'plain_text', text: 'Request rotation' }, value: command } }
        : {}),
    } as KnownBlock);
  }
  if (tokens.length > shown.length) blocks.push(context(md`…and ${tokens.length - shown.length} more; see /runner hosts`));
  return { text: fallbackText(text), blocks };
}
