import type { KnownBlock } from '@slack/types';
import type { HostStatus } from '../queue/host-registry.js';

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
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: `:hourglass: *${text}*` } }];
  for (const token of tokens.slice(0, 45)) {
    const when = token.expired ? '*EXPIRED*' : `expires in ${Math.max(1, Math.round((token.expiresAt - now) / 3_600_000))}h`;
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `${token.host} / ${token.runner}${token.runnerId ? ` #${token.runnerId}` : ''}: ${when}` },
      accessory: {
        type: 'button',
        action_id: REQUEST_ROTATION_ACTION,
        text: { type: 'plain_text', text: 'Request rotation' },
        value: rotationCommand(token).slice(0, 2000),
      },
    });
  }
  if (tokens.length > 45) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${tokens.length - 45} more; see /runner hosts` }] });
  return { text, blocks };
}
