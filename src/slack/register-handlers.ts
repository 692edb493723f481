import type { App, BlockButtonAction } from '@slack/bolt';
import type { BotCore } from '../bot/bot-core.js';
import { handleCommandLine } from '../bot/handle-command-line.js';
import { handleDecision } from '../bot/handle-decision.js';
import { APPROVE_ACTION, DENY_ACTION } from './approval-blocks.js';
import { homeBlocks } from './app-home.js';

/** Only the slash command this app owns. */
export const SLASH_COMMAND = '/runner';

/**
 * Wires Slack to the bot: every handler acks first (Slack's 3 s deadline), then works. Failures end in
 * the log and, where someone waits, a one-line private note; never a stack trace in Slack.
 */
export function registerHandlers(app: App, core: BotCore): void {
  app.command(SLASH_COMMAND, async ({ ack, command }) => {
    await ack();
    await handleCommandLine(core, command.text, { via: 'slack', user: command.user_id, channel: command.channel_id });
  });

  for (const [actionId, decision] of [
    [APPROVE_ACTION, 'approve'],
    [DENY_ACTION, 'deny'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action }) => {
      await ack();
      await handleDecision(core, decision, action.value ?? '', body.user.id, body.channel?.id);
    });
  }

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await client.views.publish({ user_id: event.user, view: { type: 'home', blocks: await homeBlocks(core, event.user) } });
  });

  app.error(async (err) => {
    core.log.error({ err: err.original ?? err }, 'slack handler failed');
  });
}
