import type { KnownBlock } from '@slack/types';
import { rotationCommand, type ExpiringToken } from './token-expiry.js';
import { LIMITS, context, section } from './blocks.js';
import { fallbackText, md } from './mrkdwn.js';

/** The action id of a warning's "Request rotation" button. */
export const REQUEST_ROTATION_ACTION = 'runnerops.request-rotation';

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
